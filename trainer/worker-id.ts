/** A worker's stable id: chosen once (host name + random suffix) and kept in its data folder. */
import { randomBytes } from "node:crypto";
import { mkdir, readFile, writeFile } from "node:fs/promises";
import { hostname } from "node:os";
import { join } from "node:path";

export const WORKER_ID_FILE = "worker.json";
const ID_PATTERN = /^[a-z0-9][a-z0-9._-]{0,62}$/;

/** Reads the id saved in `dataDir`, or makes and saves one. */
export async function loadOrCreateWorkerId(dataDir: string): Promise<string> {
  const path = join(dataDir, WORKER_ID_FILE);
  const saved = await readFile(path, "utf8").then(
    (text) => (JSON.parse(text) as { id?: unknown }).id,
    () => undefined,
  );
  if (typeof saved === "string" && ID_PATTERN.test(saved)) return saved;
  const host =
    hostname()
      .toLowerCase()
      .replace(/[^a-z0-9-]+/g, "-")
      .replace(/^-+|-+$/g, "")
      .slice(0, 40) || "worker";
  const id = `${host}-${randomBytes(4).toString("hex")}`;
  await mkdir(dataDir, { recursive: true });
  await writeFile(path, `${JSON.stringify({ id }, null, 2)}\n`);
  return id;
}
