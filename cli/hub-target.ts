/**
 * Which hub an operator command talks to: --hub/--token flags, then EDGEFLEET_HUB_URL/EDGEFLEET_TOKEN,
 * then the data folder of a hub on this machine (hub.json and admin-token).
 */
import { randomUUID } from "node:crypto";
import { readFile } from "node:fs/promises";
import { join, resolve } from "node:path";
import { ADMIN_TOKEN_FILE, readLocalHubInfo } from "../hub/local-access.js";
import { CA_CERT_FILE, TLS_DIR } from "../hub/tls/files.js";
import { HubClient } from "../hub-api/client.js";

export interface HubTargetFlags {
  hub?: string;
  /** PEM CA bundle file for an https:// hub. */
  ca?: string;
  token?: string;
  data?: string;
}

export class CliError extends Error {
  constructor(
    message: string,
    readonly exitCode = 1,
  ) {
    super(message);
    this.name = "CliError";
  }
}

/** Resolves hub URL and token for operator commands. */
export async function resolveHubClient(flags: HubTargetFlags, env: NodeJS.ProcessEnv): Promise<HubClient> {
  const dataDir = resolve(flags.data ?? env.EDGEFLEET_DATA ?? "./.edgefleet");
  const local = await readLocalHubInfo(dataDir).catch(() => undefined);
  const url = flags.hub ?? env.EDGEFLEET_HUB_URL ?? local?.url;
  if (!url) {
    throw new CliError(
      `no hub to talk to: pass --hub URL (or set EDGEFLEET_HUB_URL), or run this where the hub's data folder is (${dataDir})`,
    );
  }
  let token = flags.token ?? env.EDGEFLEET_TOKEN;
  if (!token)
    token = (await readFile(join(dataDir, ADMIN_TOKEN_FILE), "utf8").catch(() => "")).trim() || undefined;
  if (!token) throw new CliError("no API token: pass --token or set EDGEFLEET_TOKEN");
  // One random key prefix per invocation: its creating POSTs are keyed, and resent with the same
  // key when an answer is lost, so a retry never creates twice.
  return new HubClient({
    url,
    token,
    tls: await hubCa(flags, env, dataDir),
    idempotency: { prefix: randomUUID() },
  });
}

/** The CA to verify the hub with: --ca, EDGEFLEET_CA_FILE, or the local hub's own CA; none: the system's. */
async function hubCa(
  flags: HubTargetFlags,
  env: NodeJS.ProcessEnv,
  dataDir: string,
): Promise<{ ca: string } | undefined> {
  const file = flags.ca ?? env.EDGEFLEET_CA_FILE;
  if (file) {
    try {
      return { ca: await readFile(file, "utf8") };
    } catch (error) {
      throw new CliError(`--ca ${file}: ${(error as Error).message}`);
    }
  }
  const local = await readFile(join(dataDir, TLS_DIR, CA_CERT_FILE), "utf8").catch(() => undefined);
  return local === undefined ? undefined : { ca: local };
}
