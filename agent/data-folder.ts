/**
 * The agent's data folder must take writes before the agent does anything else: its state, module
 * downloads and the telemetry spool all live there. Started on a read-only or otherwise unusable
 * folder, an agent that went on would serve from disk but could record nothing (issue 14, defect
 * 4: half alive, offline on the hub, never restarted by a service manager). So the agent probes
 * the folder and the subfolders it writes into at start, and stops with a clear message when one
 * refuses; `edgefleet agent` then exits with a non-zero status.
 */
import { randomBytes } from "node:crypto";
import { mkdir, open, readdir, rm } from "node:fs/promises";
import { join } from "node:path";

/** Subfolders the agent creates entries in, probed when they exist (new ones are made in the probed root). */
export const WRITTEN_SUBFOLDERS = ["modules", "downloads", "telemetry-spool"] as const;

/** The data folder (or one of its subfolders) refuses writes. */
export class DataFolderError extends Error {
  override name = "DataFolderError";
  constructor(
    readonly folder: string,
    readonly reason: string,
  ) {
    super(
      `the agent's data folder cannot be written (${folder}: ${reason}); it holds the agent's state, downloads and telemetry spool, so the agent stops: make it writable or point EDGEFLEET_DATA / --data elsewhere`,
    );
  }
}

const reasonOf = (error: unknown) => {
  const { code, message } = error as NodeJS.ErrnoException;
  return code ? `${code}: ${message}` : String(message ?? error);
};

/** Creates, syncs and deletes a probe file in `folder`; throws DataFolderError when any step fails. */
async function probe(folder: string): Promise<void> {
  const file = join(folder, `.write-probe-${randomBytes(6).toString("hex")}`);
  try {
    const handle = await open(file, "wx");
    try {
      await handle.writeFile("probe");
      await handle.sync();
    } finally {
      await handle.close();
    }
    await rm(file);
  } catch (error) {
    await rm(file, { force: true }).catch(() => {});
    throw new DataFolderError(folder, reasonOf(error));
  }
}

/** Makes sure the data folder exists and takes writes (it and the subfolders the agent writes into). */
export async function assertWritableDataFolder(dataDir: string): Promise<void> {
  try {
    await mkdir(dataDir, { recursive: true });
  } catch (error) {
    throw new DataFolderError(dataDir, reasonOf(error));
  }
  await probe(dataDir);
  const present = new Set(await readdir(dataDir).catch(() => [] as string[]));
  for (const sub of WRITTEN_SUBFOLDERS) if (present.has(sub)) await probe(join(dataDir, sub));
}
