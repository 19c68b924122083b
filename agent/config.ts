/**
 * Agent configuration, parsed once at start-up. Precedence: flags > environment > JSON config file >
 * defaults. Nothing else in the agent reads process.env. The device secret never leaves this object
 * except as MQTT password and Basic auth; log `redactAgentConfig(config)` instead of the config.
 */
import { readFileSync } from "node:fs";
import { dirname, resolve } from "node:path";
import { z } from "zod";
import { DEVICE_ID_PATTERN } from "../wire/topics.js";
import { FAULT_POINTS } from "./faults.js";

export const AGENT_DEFAULTS = {
  dataDir: "./.edgefleet-agent",
  host: "127.0.0.1",
  /** Local scoring endpoint (the hub uses 8470). */
  port: 8480,
  /** One telemetry window every 10 s. */
  telemetryIntervalMs: 10_000,
  /** One hour of 10 s windows on disk while offline. */
  telemetrySpoolWindows: 360,
  logLevel: "info",
  /** Trust on first use only when the operator asks for it. */
  trustOnFirstUse: false,
  /** Per-request deadline (queue wait plus run) unless a module's manifest sets its own. */
  requestTimeoutMs: 10_000,
  /** Inference worker threads (agent/runtime/inference-pool.ts); 1 suits a 2-core device. */
  inferenceWorkers: 1,
  /** Models whose warm-up run takes at most this many ms stay on the main thread. */
  inlineMaxMs: 1,
  /** Recycle an inference worker after this many model swaps on it (0: never; see inference-pool.ts). */
  workerRecycleAfter: 0,
  /** Recycle an inference worker after a swap when the agent's RSS is above this many MiB (0: never). */
  workerRecycleRssMb: 0,
  /** Largest scoring request body (16 MiB: a 3×640×640 FP32 image tensor with room); modules may set their own. */
  maxBodyBytes: 16 * 1024 * 1024,
} as const;

const port = z.coerce.number().int().min(0).max(65535);
/** "0", "false", "no", "off" (any case) are false; "1", "true", "yes", "on" are true. */
const booleanish = z.preprocess((value) => {
  if (typeof value !== "string") return value;
  const text = value.trim().toLowerCase();
  if (["0", "false", "no", "off"].includes(text)) return false;
  if (["1", "true", "yes", "on"].includes(text)) return true;
  return value;
}, z.boolean());
const pem = z
  .string()
  .refine(
    (value) => value.includes("-----BEGIN PUBLIC KEY-----"),
    "a PEM public key (-----BEGIN PUBLIC KEY-----)",
  );

export const AgentConfigSchema = z.object({
  /** Hub HTTP API: module downloads and the signing key. */
  hubUrl: z.url({ protocol: /^https?$/ }),
  /** Broker the hub uses, e.g. mqtt://hub.local:1883. */
  mqttUrl: z.url({ protocol: /^(mqtts?|wss?|tcp|ssl)$/ }),
  deviceId: z.string().regex(DEVICE_ID_PATTERN, "lowercase letters, digits and '-', 1-64 long"),
  /** The device secret; optional with a device certificate (`certFile`, `keyFile`). */
  deviceSecret: z.string().min(1).optional(),
  /** PEM CA bundle to verify the hub's HTTPS and MQTTS certificates (the provisioning bundle's `ca`). */
  ca: z
    .string()
    .refine((value) => value.includes("-----BEGIN CERTIFICATE-----"), "a PEM certificate bundle")
    .optional(),
  /** PEM device certificate the hub's CA signed (mutual TLS), with `keyFile`. */
  certFile: z.string().min(1).optional(),
  /** PEM private key of `certFile` (keep it 0600). */
  keyFile: z.string().min(1).optional(),
  dataDir: z
    .string()
    .min(1)
    .transform((dir) => resolve(dir)),
  host: z.string().min(1),
  port,
  /** The hub's module signing key (from the provisioning bundle); pinned in dataDir once used. */
  trustKey: pem.optional(),
  /**
   * Without a configured or pinned key, believe the first `/api/v1/signing-key` answer and pin it.
   * Off by default: whoever answers first (a fake hub on the path) would own the device.
   */
  trustOnFirstUse: booleanish,
  /** Milliseconds between telemetry windows; at least 100 so a typo cannot flood the broker. */
  telemetryIntervalMs: z.coerce.number().int().min(100),
  /** Firmware profile name this device runs (informational for the hub). */
  profile: z.string().min(1).optional(),
  logLevel: z.enum(["fatal", "error", "warn", "info", "debug", "trace", "silent"]),
  /** Telemetry windows kept on disk while offline; the oldest are dropped (and counted) past it. */
  telemetrySpoolWindows: z.coerce.number().int().min(1).max(100_000),
  requestTimeoutMs: z.coerce.number().int().min(1).max(600_000),
  inferenceWorkers: z.coerce.number().int().min(1).max(64),
  inlineMaxMs: z.coerce.number().min(0).max(1000),
  workerRecycleAfter: z.coerce.number().int().min(0),
  workerRecycleRssMb: z.coerce.number().int().min(0),
  maxBodyBytes: z.coerce
    .number()
    .int()
    .min(1024)
    .max(1024 * 1024 * 1024),
  /** TEST-ONLY: SIGKILL the agent the first time a reconcile reaches this step (faults.ts). */
  faultKillAt: z.enum(FAULT_POINTS).optional(),
});
export type AgentConfig = z.infer<typeof AgentConfigSchema>;

/** A device authenticates with a secret, a certificate, or both; a certificate needs its key. */
function credentialProblems(config: AgentConfig): string[] {
  const problems: string[] = [];
  if ((config.certFile === undefined) !== (config.keyFile === undefined))
    problems.push("certFile and keyFile go together (EDGEFLEET_DEVICE_CERT_FILE, EDGEFLEET_DEVICE_KEY_FILE)");
  if (config.deviceSecret === undefined && config.certFile === undefined)
    problems.push("deviceSecret: a device secret or a device certificate (certFile, keyFile) is required");
  return problems;
}

/** Keys a flag, an environment variable or the config file may set (trustKeyFile, caFile resolve to the PEM). */
export type AgentConfigKey = keyof AgentConfig | "trustKeyFile" | "caFile";
export type AgentConfigInput = Partial<Record<AgentConfigKey, string | number | boolean | undefined>>;

/** Environment variables the agent reads, and the config key each one sets. */
export const AGENT_ENV = {
  EDGEFLEET_HUB_URL: "hubUrl",
  EDGEFLEET_MQTT_URL: "mqttUrl",
  EDGEFLEET_DEVICE_ID: "deviceId",
  EDGEFLEET_DEVICE_SECRET: "deviceSecret",
  EDGEFLEET_DATA: "dataDir",
  EDGEFLEET_AGENT_HOST: "host",
  EDGEFLEET_AGENT_PORT: "port",
  EDGEFLEET_TRUST_KEY: "trustKey",
  EDGEFLEET_TRUST_KEY_FILE: "trustKeyFile",
  EDGEFLEET_TRUST_ON_FIRST_USE: "trustOnFirstUse",
  EDGEFLEET_CA: "ca",
  EDGEFLEET_CA_FILE: "caFile",
  EDGEFLEET_DEVICE_CERT_FILE: "certFile",
  EDGEFLEET_DEVICE_KEY_FILE: "keyFile",
  EDGEFLEET_TELEMETRY_INTERVAL_MS: "telemetryIntervalMs",
  EDGEFLEET_PROFILE: "profile",
  EDGEFLEET_LOG_LEVEL: "logLevel",
  EDGEFLEET_TELEMETRY_SPOOL_WINDOWS: "telemetrySpoolWindows",
  EDGEFLEET_REQUEST_TIMEOUT_MS: "requestTimeoutMs",
  EDGEFLEET_INFERENCE_WORKERS: "inferenceWorkers",
  EDGEFLEET_INLINE_MAX_MS: "inlineMaxMs",
  EDGEFLEET_WORKER_RECYCLE_AFTER: "workerRecycleAfter",
  EDGEFLEET_WORKER_RECYCLE_RSS_MB: "workerRecycleRssMb",
  EDGEFLEET_MAX_BODY_BYTES: "maxBodyBytes",
  EDGEFLEET_FAULT_KILL_AT: "faultKillAt",
} as const satisfies Record<string, AgentConfigKey>;

/** Environment variable naming the optional JSON config file (when `file` is not passed). */
export const AGENT_CONFIG_FILE_ENV = "EDGEFLEET_AGENT_CONFIG";

const KNOWN_KEYS = new Set<string>([...Object.keys(AgentConfigSchema.shape), "trustKeyFile", "caFile"]);

export interface ParseAgentConfigOptions {
  /** CLI flags (commander's opts()); undefined values are ignored. */
  flags?: AgentConfigInput;
  env?: NodeJS.ProcessEnv;
  /** Path of a JSON config file holding any of the config keys. */
  file?: string;
}

/** Parses agent config from flags, environment and an optional JSON file; throws one error listing every problem. */
export function parseAgentConfig(options: ParseAgentConfigOptions = {}): AgentConfig {
  const env = options.env ?? {};
  const problems: string[] = [];
  const filePath = options.file ?? nonEmpty(env[AGENT_CONFIG_FILE_ENV]);
  const fromFile = filePath === undefined ? {} : readConfigFile(filePath, problems);
  const fromEnv: AgentConfigInput = {};
  for (const [name, key] of Object.entries(AGENT_ENV)) {
    const value = nonEmpty(env[name]);
    if (value !== undefined) fromEnv[key] = value;
  }
  const merged: AgentConfigInput = {};
  for (const level of [
    AGENT_DEFAULTS,
    fromFile,
    fromEnv,
    defined(options.flags ?? {}),
  ] as AgentConfigInput[]) {
    // An inline key and a key file are one setting: the higher level wins whichever form it uses.
    if (level.trustKey !== undefined || level.trustKeyFile !== undefined) {
      delete merged.trustKey;
      delete merged.trustKeyFile;
    }
    if (level.ca !== undefined || level.caFile !== undefined) {
      delete merged.ca;
      delete merged.caFile;
    }
    Object.assign(merged, level);
  }
  if (merged.ca === undefined && merged.caFile !== undefined) {
    const caFile = String(merged.caFile);
    try {
      merged.ca = readFileSync(caFile, "utf8");
    } catch (error) {
      problems.push(`caFile: cannot read ${caFile}: ${(error as Error).message}`);
    }
  }
  delete merged.caFile;
  if (merged.trustKey === undefined && merged.trustKeyFile !== undefined) {
    const keyFile = String(merged.trustKeyFile);
    try {
      merged.trustKey = readFileSync(keyFile, "utf8");
    } catch (error) {
      problems.push(`trustKeyFile: cannot read ${keyFile}: ${(error as Error).message}`);
    }
  }
  delete merged.trustKeyFile;
  const result = AgentConfigSchema.safeParse(merged);
  if (!result.success) problems.push(z.prettifyError(result.error));
  else problems.push(...credentialProblems(result.data));
  if (problems.length > 0 || !result.success) {
    throw new Error(`invalid agent configuration:\n${problems.join("\n")}`);
  }
  return result.data;
}

/** The config with the secret masked, for logs and `--json` output. */
export function redactAgentConfig(
  config: AgentConfig,
): Omit<AgentConfig, "deviceSecret"> & { deviceSecret?: "***" } {
  const { deviceSecret, ...rest } = config;
  return { ...rest, ...(deviceSecret ? { deviceSecret: "***" as const } : {}) };
}

/** Config keys that name files; in a config file they are relative to the file's folder. */
const FILE_KEYS = new Set(["trustKeyFile", "caFile", "certFile", "keyFile"]);

function readConfigFile(path: string, problems: string[]): AgentConfigInput {
  let parsed: unknown;
  try {
    parsed = JSON.parse(readFileSync(path, "utf8"));
  } catch (error) {
    problems.push(`config file ${path}: ${(error as Error).message}`);
    return {};
  }
  if (parsed === null || typeof parsed !== "object" || Array.isArray(parsed)) {
    problems.push(`config file ${path}: expected a JSON object`);
    return {};
  }
  const input: AgentConfigInput = {};
  for (const [key, value] of Object.entries(parsed)) {
    if (!KNOWN_KEYS.has(key)) {
      problems.push(`config file ${path}: unknown key "${key}"`);
    } else if (typeof value !== "string" && typeof value !== "number" && typeof value !== "boolean") {
      problems.push(`config file ${path}: "${key}" must be a string, a number or a boolean`);
    } else if (FILE_KEYS.has(key) && typeof value === "string") {
      // A bundle names its files beside itself: it is copied to the device as one folder.
      input[key as AgentConfigKey] = resolve(dirname(path), value);
    } else {
      input[key as AgentConfigKey] = value;
    }
  }
  return input;
}

function defined(input: AgentConfigInput): AgentConfigInput {
  return Object.fromEntries(Object.entries(input).filter(([, value]) => value !== undefined && value !== ""));
}

function nonEmpty(value: string | undefined): string | undefined {
  return value === undefined || value === "" ? undefined : value;
}
