/**
 * The hub's module signing key. Configured (EDGEFLEET_TRUST_KEY / _FILE, or the provisioning
 * bundle) it is used as is. A key pinned in `${dataDir}/trust-key.pem` by an earlier run is used
 * next. Only with `trustOnFirstUse` does the agent ask the hub (`GET /api/v1/signing-key`, device
 * Basic auth) and pin the answer: the first contact must then be trusted, so it is off by default
 * and an agent with no key refuses to start (`requireTrustSource`). Resolved lazily: an agent
 * restarting without its hub never needs the key to serve what it already verified.
 */
import { createPublicKey } from "node:crypto";
import { readFile } from "node:fs/promises";
import { join } from "node:path";
import { writeFileAtomic } from "../lib/files.js";
import type { Logger } from "../lib/log.js";

export const PINNED_KEY_FILE = "trust-key.pem";

export interface TrustKeyOptions {
  /** PEM from config, when the operator provisioned it. */
  configured?: string | undefined;
  /** Fetch and pin the hub's answer when no key is configured or pinned. */
  trustOnFirstUse: boolean;
  /** How to reach the hub (TLS trust, client certificate); global fetch by default. */
  fetch?: typeof fetch;
  dataDir: string;
  hubUrl: string;
  /** `Authorization` header for the hub (device Basic auth); none with a device certificate. */
  authorization: string | undefined;
  log: Logger;
}

/** A signing key could not be obtained; transient, since the hub may simply be unreachable. */
export class TrustKeyError extends Error {
  override readonly name = "TrustKeyError";
  constructor(
    message: string,
    readonly transient = true,
  ) {
    super(message);
  }
}

/** Returns a function that yields the trusted PEM, fetching and pinning it on first need. */
export function trustKeyProvider(options: TrustKeyOptions): () => Promise<string> {
  let cached: string | undefined;
  return async () => {
    if (options.configured) return checkedPem(options.configured, "configured trust key");
    if (cached) return cached;
    const pinnedPath = join(options.dataDir, PINNED_KEY_FILE);
    const pinned = await readFile(pinnedPath, "utf8").catch(() => undefined);
    if (pinned !== undefined) {
      cached = checkedPem(pinned, pinnedPath);
      return cached;
    }
    if (!options.trustOnFirstUse) {
      throw new TrustKeyError(`no trust key: ${NO_TRUST_SOURCE}`, false);
    }
    const fetched = await fetchSigningKey(options);
    await writeFileAtomic(pinnedPath, fetched);
    options.log.warn({
      event: "trust.tofu",
      path: pinnedPath,
      message:
        "pinned the hub's signing key on first use; provision EDGEFLEET_TRUST_KEY to avoid trusting the first answer",
    });
    cached = fetched;
    return cached;
  };
}

const NO_TRUST_SOURCE =
  "configure the hub's signing key (EDGEFLEET_TRUST_KEY_FILE, --trust-key-file, or the provisioning bundle with --config); --trust-on-first-use pins whatever the hub answers first";

/**
 * Refuses to start an agent that could never verify a module: no configured key, none pinned, and
 * trust on first use not asked for.
 */
export async function requireTrustSource(
  options: Pick<TrustKeyOptions, "configured" | "trustOnFirstUse" | "dataDir">,
): Promise<void> {
  if (options.configured || options.trustOnFirstUse) return;
  const pinned = await readFile(join(options.dataDir, PINNED_KEY_FILE), "utf8").catch(() => undefined);
  if (pinned === undefined) throw new TrustKeyError(`the agent has no trust key: ${NO_TRUST_SOURCE}`, false);
}

/** The configured or pinned key, without asking the hub; undefined when there is neither. */
export async function localTrustKey(
  configured: string | undefined,
  dataDir: string,
): Promise<string | undefined> {
  if (configured) return checkedPem(configured, "configured trust key");
  const pinnedPath = join(dataDir, PINNED_KEY_FILE);
  const pinned = await readFile(pinnedPath, "utf8").catch(() => undefined);
  return pinned === undefined ? undefined : checkedPem(pinned, pinnedPath);
}

async function fetchSigningKey(options: TrustKeyOptions): Promise<string> {
  const url = new URL("/api/v1/signing-key", options.hubUrl).toString();
  let response: Response;
  try {
    response = await (options.fetch ?? fetch)(url, {
      headers: {
        ...(options.authorization ? { authorization: options.authorization } : {}),
        accept: "application/json",
      },
    });
  } catch (error) {
    throw new TrustKeyError(`cannot reach ${url} for the signing key: ${(error as Error).message}`);
  }
  const body = await response.text();
  if (!response.ok) {
    throw new TrustKeyError(`GET ${url} answered ${response.status}`, response.status >= 500);
  }
  return checkedPem(extractPem(body), url);
}

/** Accepts a PEM body or a JSON object with the PEM in one of its string fields. */
function extractPem(body: string): string {
  const trimmed = body.trim();
  if (!trimmed.startsWith("{")) return trimmed;
  try {
    const json = JSON.parse(trimmed) as Record<string, unknown>;
    const field = Object.values(json).find((v) => typeof v === "string" && v.includes("BEGIN PUBLIC KEY"));
    return typeof field === "string" ? field : trimmed;
  } catch {
    return trimmed;
  }
}

function checkedPem(pem: string, source: string): string {
  try {
    const key = createPublicKey(pem);
    if (key.asymmetricKeyType !== "ed25519")
      throw new Error(`expected an ed25519 key, got ${key.asymmetricKeyType}`);
  } catch (error) {
    throw new TrustKeyError(`${source} is not a usable signing key: ${(error as Error).message}`, false);
  }
  return pem.endsWith("\n") ? pem : `${pem}\n`;
}
