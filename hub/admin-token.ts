/** The first admin token: created on first start and left in the data folder for the local CLI. */
import { readFile } from "node:fs/promises";
import { join } from "node:path";
import type { Logger } from "../lib/log.js";
import { ADMIN_TOKEN_FILE, writeAdminToken } from "./local-access.js";
import type { TokenRepo } from "./repos/index.js";

/** Returns a working admin token, creating one (and its file) when the stored one is missing or revoked. */
export async function ensureAdminToken(tokens: TokenRepo, dataDir: string, log: Logger): Promise<string> {
  const stored = (await readFile(join(dataDir, ADMIN_TOKEN_FILE), "utf8").catch(() => "")).trim();
  if (stored && (await tokens.verify(stored))?.role === "admin") return stored;
  const created = await tokens.create("local-admin", "admin");
  await writeAdminToken(dataDir, created.token);
  log.info({ event: "hub.admin-token.created", tokenId: created.id, file: join(dataDir, ADMIN_TOKEN_FILE) });
  return created.token;
}
