/** The script form of `train`: snapshot a folder (tar.gz) and upload it to `POST /snapshots`. */
import { stat } from "node:fs/promises";
import { resolve } from "node:path";
import type { HubClient } from "../hub-api/client.js";
import { ScriptError } from "../trainer/errors.js";
import { createSnapshot } from "../trainer/snapshot.js";
import { CliError } from "./hub-target.js";

/** Uploads `dir` as a snapshot blob; returns its sha256 and size. */
export async function uploadScriptSnapshot(
  client: HubClient,
  dir: string,
): Promise<{ sha256: string; size: number }> {
  const folder = resolve(dir);
  const info = await stat(folder).catch(() => undefined);
  if (!info?.isDirectory()) throw new CliError(`--script ${dir}: not a folder`);
  // The worker's own format: same files → same bytes → same blob, so resubmitting uploads nothing new.
  const bytes = await createSnapshot(folder).catch((error: unknown) => {
    if (error instanceof ScriptError) throw new CliError(`--script ${dir}: ${error.message}`);
    throw error;
  });
  return client.request<{ sha256: string; size: number }>(
    "POST",
    "/api/v1/snapshots",
    new Uint8Array(bytes),
    {
      "content-type": "application/gzip",
    },
  );
}
