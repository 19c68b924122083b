/**
 * What the CLI on the hub's own machine needs to talk to it without setup: the hub URL and an
 * admin token, written to the data folder (`hub.json`, `admin-token`, both mode 0600).
 */
import { chmod } from "node:fs/promises";
import { join } from "node:path";
import { readJsonFile, writeFileAtomic } from "../lib/files.js";

export interface LocalHubInfo {
  url: string;
  mqttUrl: string;
  pid: number;
  startedAt: string;
}

export const ADMIN_TOKEN_FILE = "admin-token";
export const HUB_INFO_FILE = "hub.json";

/** Records where the running hub listens. */
export async function writeLocalHubInfo(dataDir: string, info: LocalHubInfo): Promise<void> {
  const path = join(dataDir, HUB_INFO_FILE);
  await writeFileAtomic(path, `${JSON.stringify(info, null, 2)}\n`);
  await chmod(path, 0o600);
}

/** Reads the running hub's address from the data folder, if any. */
export function readLocalHubInfo(dataDir: string): Promise<LocalHubInfo | undefined> {
  return readJsonFile<LocalHubInfo>(join(dataDir, HUB_INFO_FILE));
}

/** Stores the first admin token's secret for the local CLI. */
export async function writeAdminToken(dataDir: string, token: string): Promise<void> {
  const path = join(dataDir, ADMIN_TOKEN_FILE);
  await writeFileAtomic(path, `${token}\n`);
  await chmod(path, 0o600);
}
