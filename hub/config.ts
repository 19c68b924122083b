/**
 * Hub configuration, parsed once at start-up. Precedence: explicit options (CLI flags) > environment > defaults.
 * Nothing else in the hub reads process.env.
 */
import { isIP } from "node:net";
import { resolve } from "node:path";
import { z } from "zod";

export const HUB_DEFAULTS = {
  dataDir: "./.edgefleet",
  host: "127.0.0.1",
  /** HTTP API, dashboard and blob downloads. */
  port: 8470,
  /** Embedded MQTT broker (plain TCP). */
  mqttPort: 1883,
  /** Plaintext listeners stay on loopback unless the operator says `insecure`. */
  mqttHost: "127.0.0.1",
  /** Allow plaintext HTTP and MQTT listeners on addresses other than loopback. */
  insecure: false,
  /**
   * TLS on the HTTP API and the embedded broker: `auto` makes the hub's own CA and server
   * certificate in the data folder, `off` keeps plaintext. Unset: on with `tlsCert`/`tlsKey`,
   * `auto` when a listener is bound beyond loopback without `insecure`, otherwise off.
   */
  tls: undefined,
  /** Largest ONNX file the hub accepts, in bytes (512 MiB). */
  maxModelBytes: 512 * 1024 * 1024,
  /** Largest JSON request body, in bytes (1 MiB); uploads have their own limits. */
  maxJsonBytes: 1024 * 1024,
  /** Largest dataset (and script snapshot) upload, in bytes (256 MiB). */
  maxDatasetBytes: 256 * 1024 * 1024,
  /** How long a trainer worker's claim on a run lasts without a heartbeat (workers beat every lease/6). */
  trainerLeaseMs: 30_000,
  /** Run a trainer worker inside the hub process (built-in recipes and scripts with zero setup). */
  trainer: true,
  /** Days of telemetry windows, drift summaries and samples, and monitor evaluations kept; 0 keeps all. */
  retentionDays: 30,
  /** CIDRs monitor webhooks may reach although private, loopback or link-local; none by default. */
  webhookAllow: [] as readonly string[],
  /** Events one device may send per minute (token bucket, a minute's worth as burst); more are refused. */
  deviceEventsPerMinute: 300,
} as const;

/** "0", "false", "no", "off" (any case) are false; "1", "true", "yes", "on" are true. */
const booleanish = z.preprocess((value) => {
  if (typeof value !== "string") return value;
  const text = value.trim().toLowerCase();
  if (["0", "false", "no", "off"].includes(text)) return false;
  if (["1", "true", "yes", "on"].includes(text)) return true;
  return value;
}, z.boolean());

const port = z.coerce.number().int().min(0).max(65535);

export const HubConfigSchema = z.object({
  dataDir: z
    .string()
    .min(1)
    .transform((dir) => resolve(dir)),
  host: z.string().min(1),
  port,
  /** External broker; when unset the hub embeds aedes. */
  mqttUrl: z.string().url().optional(),
  mqttHost: z.string().min(1),
  mqttPort: port,
  /** PostgreSQL; when unset the hub uses PGlite in the data folder. */
  databaseUrl: z.string().min(1).optional(),
  /** URL devices use to reach the hub's HTTP API (module downloads); defaults to http://host:port. */
  publicUrl: z.string().url().optional(),
  /** URL devices use to reach the broker; defaults to the embedded broker's address. */
  publicMqttUrl: z.string().url().optional(),
  maxModelBytes: z.coerce.number().int().positive(),
  maxDatasetBytes: z.coerce.number().int().positive(),
  maxJsonBytes: z.coerce.number().int().positive(),
  trainerLeaseMs: z.coerce.number().int().min(100),
  trainer: booleanish,
  /** Who the in-hub worker runs scripts as when the hub runs as root (trainer/script-user.ts; default nobody). */
  scriptUser: z.string().min(1).max(64).optional(),
  retentionDays: z.coerce.number().min(0).max(36_500),
  deviceEventsPerMinute: z.coerce.number().int().min(1).max(1_000_000),
  insecure: booleanish,
  webhookAllow: z.preprocess(
    (value) =>
      typeof value === "string"
        ? value
            .split(",")
            .map((entry) => entry.trim())
            .filter((entry) => entry !== "")
        : value,
    z.array(
      z
        .string()
        .refine(
          (entry) => /^[0-9a-f:.]+(\/\d{1,3})?$/i.test(entry) && isIP(entry.split("/")[0]!) !== 0,
          "an IP address or CIDR (e.g. 10.0.0.0/8)",
        ),
    ),
  ),
  tls: z.enum(["auto", "off"]).optional(),
  /** PEM server certificate (chain) for HTTPS and MQTTS; with `tlsKey`. */
  tlsCert: z.string().min(1).optional(),
  /** PEM private key of `tlsCert`. */
  tlsKey: z.string().min(1).optional(),
  /**
   * PEM CA bundle handed to devices (provisioning bundles) and trusted by the hub's own clients;
   * defaults to the hub's CA with `tls: auto`. Client certificates are checked against the hub's CA.
   */
  tlsCa: z.string().min(1).optional(),
  logLevel: z.enum(["fatal", "error", "warn", "info", "debug", "trace", "silent"]),
});
export type HubConfig = z.infer<typeof HubConfigSchema>;
export type HubConfigInput = Partial<z.input<typeof HubConfigSchema>>;

/** Environment variables the hub reads, and the config key each one sets. */
export const HUB_ENV = {
  EDGEFLEET_DATA: "dataDir",
  EDGEFLEET_HOST: "host",
  EDGEFLEET_PORT: "port",
  MQTT_URL: "mqttUrl",
  EDGEFLEET_MQTT_HOST: "mqttHost",
  EDGEFLEET_MQTT_PORT: "mqttPort",
  DATABASE_URL: "databaseUrl",
  EDGEFLEET_PUBLIC_URL: "publicUrl",
  EDGEFLEET_PUBLIC_MQTT_URL: "publicMqttUrl",
  EDGEFLEET_MAX_MODEL_BYTES: "maxModelBytes",
  EDGEFLEET_MAX_DATASET_BYTES: "maxDatasetBytes",
  EDGEFLEET_MAX_JSON_BYTES: "maxJsonBytes",
  EDGEFLEET_TRAINER_LEASE_MS: "trainerLeaseMs",
  EDGEFLEET_TRAINER: "trainer",
  EDGEFLEET_SCRIPT_USER: "scriptUser",
  EDGEFLEET_RETENTION_DAYS: "retentionDays",
  EDGEFLEET_DEVICE_EVENTS_PER_MINUTE: "deviceEventsPerMinute",
  EDGEFLEET_INSECURE: "insecure",
  EDGEFLEET_WEBHOOK_ALLOW: "webhookAllow",
  EDGEFLEET_TLS: "tls",
  EDGEFLEET_TLS_CERT: "tlsCert",
  EDGEFLEET_TLS_KEY: "tlsKey",
  EDGEFLEET_TLS_CA: "tlsCa",
  EDGEFLEET_LOG_LEVEL: "logLevel",
} as const satisfies Record<string, keyof HubConfig>;

/** Parses hub config from options and an environment; throws one error listing every problem. */
export function parseHubConfig(options: HubConfigInput = {}, env: NodeJS.ProcessEnv = {}): HubConfig {
  const fromEnv: Record<string, string> = {};
  for (const [name, key] of Object.entries(HUB_ENV)) {
    const value = env[name];
    if (value !== undefined && value !== "") fromEnv[key] = value;
  }
  const defined = Object.fromEntries(Object.entries(options).filter(([, value]) => value !== undefined));
  const result = HubConfigSchema.safeParse({ ...HUB_DEFAULTS, logLevel: "info", ...fromEnv, ...defined });
  if (!result.success) throw new Error(`invalid hub configuration:\n${z.prettifyError(result.error)}`);
  const config = result.data;
  if ((config.tlsCert === undefined) !== (config.tlsKey === undefined))
    throw new Error(
      "invalid hub configuration:\n--tls-cert and --tls-key go together (EDGEFLEET_TLS_CERT, EDGEFLEET_TLS_KEY)",
    );
  if (config.tls === "off" && config.tlsCert !== undefined)
    throw new Error("invalid hub configuration:\n--tls off contradicts --tls-cert; drop one");
  const exposed = plaintextBeyondLoopback(config);
  // Asked to listen beyond this machine with nothing said about TLS: TLS with the hub's own CA.
  if (exposed.length > 0 && !config.insecure && config.tls === undefined) return { ...config, tls: "auto" };
  if (exposed.length > 0 && !config.insecure) {
    throw new Error(
      `invalid hub configuration:\n${exposed.join("; ")} would speak plaintext beyond this machine (device secrets and tokens in the clear); bind to 127.0.0.1, or pass --insecure (EDGEFLEET_INSECURE=1) on a network you trust`,
    );
  }
  return config;
}

/** How the hub's listeners speak: with the operator's certificate files, its own CA, or plaintext. */
export type HubTlsMode = "files" | "auto" | "off";

/** The TLS mode a parsed config asks for. */
export function hubTlsMode(config: Pick<HubConfig, "tls" | "tlsCert">): HubTlsMode {
  if (config.tlsCert !== undefined) return "files";
  return config.tls === "auto" ? "auto" : "off";
}

/** True for addresses only this machine can reach. */
export function isLoopbackHost(host: string): boolean {
  const bare = host.replace(/^\[|\]$/g, "").toLowerCase();
  return (
    bare === "localhost" || bare === "::1" || /^127(\.\d{1,3}){3}$/.test(bare) || bare === "::ffff:127.0.0.1"
  );
}

/** The plaintext listeners this config opens on a non-loopback address. */
function plaintextBeyondLoopback(config: HubConfig): string[] {
  const exposed: string[] = [];
  if (hubTlsMode(config) !== "off") return exposed;
  if (!isLoopbackHost(config.host)) exposed.push(`HTTP on ${config.host}:${config.port}`);
  if (!config.mqttUrl && !isLoopbackHost(config.mqttHost))
    exposed.push(`the embedded MQTT broker on ${config.mqttHost}:${config.mqttPort}`);
  return exposed;
}
