/**
 * The in-hub trainer worker's credential: a `trainer` token (the worker protocol only, never the
 * admin token), kept in the data folder (0600) so restarts reuse it instead of piling up tokens.
 * Each hub replica has its own data folder and so its own token.
 */
import { chmod, readFile } from "node:fs/promises";
import { join } from "node:path";
import { writeFileAtomic } from "../lib/files.js";
import type { Logger } from "../lib/log.js";
import type { TokenRepo } from "./repos/index.js";

export const TRAINER_TOKEN_FILE = "trainer-token";
const TOKEN_NAME = "in-hub-trainer";

/** Returns a working trainer token for the in-hub worker, creating one when the stored one is gone. */
export async function ensureTrainerToken(tokens: TokenRepo, dataDir: string, log: Logger): Promise<string> {
  const path = join(dataDir, TRAINER_TOKEN_FILE);
  const stored = (await readFile(path, "utf8").catch(() => "")).trim();
  if (stored && (await tokens.verify(stored))?.role === "trainer") return stored;
  const created = await tokens.create(TOKEN_NAME, "trainer");
  await writeFileAtomic(path, `${created.token}\n`);
  await chmod(path, 0o600);
  log.info({ event: "hub.trainer-token.created", tokenId: created.id, file: path });
  return created.token;
}
