/**
 * Payload schemas of the device protocol (wire/README.md). Hub, agent, simulator and Node-RED nodes
 * parse with these and nothing else redefines them [WIRE-1.2]. Every payload is JSON, MQTT 3.1.1 compatible:
 * correlation and versions live in the payload, never in MQTT 5 properties.
 */
import { z } from "zod";
import { PackedDriftSummarySchema } from "../drift-summary/codec.js";
import { DriftSummarySchema } from "../drift-summary/summary.js";
import { SHA256_HEX_PATTERN } from "../lib/files.js";
import { WindowSamplesSchema } from "./samples.js";

export const PROTOCOL_VERSION = 1;

/** A sha256 in lowercase hex; the one schema every payload, manifest and route uses. */
export const Sha256HexSchema = z.string().regex(SHA256_HEX_PATTERN, "sha256 as 64 lowercase hex characters");
const isoTime = z.string().datetime({ offset: true });

/** One module the hub wants on a device. */
export const DesiredModuleSchema = z.object({
  name: z.string().min(1),
  version: z.string().min(1),
  /** Absolute URL of the signed module tarball (a hub blob). */
  url: z.string().url(),
  /** sha256 of the tarball bytes; checked before unpacking. */
  sha256: Sha256HexSchema,
  size: z.number().int().nonnegative(),
  /**
   * A candidate version to load beside the serving one and score every request with, off the
   * request path, without answering with it (shadow scoring) [WIRE-3.4].
   */
  shadow: z
    .object({
      version: z.string().min(1),
      url: z.string().url(),
      sha256: Sha256HexSchema,
      size: z.number().int().nonnegative(),
    })
    .optional(),
});
export type DesiredModule = z.infer<typeof DesiredModuleSchema>;
export type ShadowArtifact = NonNullable<DesiredModule["shadow"]>;

/** `desired` (hub → agent, QoS 1, retained): the full module set, never a patch. */
export const DesiredStateSchema = z.object({
  protocol: z.literal(PROTOCOL_VERSION),
  /** Monotonic per device; an agent ignores a revision lower than the one it already applied [WIRE-3.2]. */
  revision: z.number().int().nonnegative(),
  issuedAt: isoTime,
  modules: z.array(DesiredModuleSchema),
});
export type DesiredState = z.infer<typeof DesiredStateSchema>;

/** Lifecycle of one module on a device, as reported. */
export const MODULE_STATES = [
  "downloading",
  "verifying",
  "loading",
  "active",
  "failed",
  "rolled-back",
] as const;
export const ModuleStateSchema = z.enum(MODULE_STATES);
export type ModuleState = z.infer<typeof ModuleStateSchema>;

export const ReportedModuleSchema = z.object({
  name: z.string(),
  /** The version this entry is about (the target while updating, the serving one when active). */
  version: z.string(),
  state: ModuleStateSchema,
  /** Version still serving while `version` is being applied or after it failed. */
  servingVersion: z.string().nullable().optional(),
  error: z.string().optional(),
  since: isoTime,
  /** The shadow candidate of this module, when the desired state names one [WIRE-4.3]. */
  shadow: z
    .object({
      version: z.string(),
      state: z.enum(["loading", "scoring", "failed"]),
      error: z.string().optional(),
    })
    .optional(),
});
export type ReportedModule = z.infer<typeof ReportedModuleSchema>;

/** `reported` (agent → hub, QoS 1, retained). */
export const ReportedStateSchema = z.object({
  protocol: z.literal(PROTOCOL_VERSION),
  /** Highest desired revision the agent has seen and acted on. */
  revision: z.number().int().nonnegative(),
  modules: z.array(ReportedModuleSchema),
  at: isoTime,
});
export type ReportedState = z.infer<typeof ReportedStateSchema>;

export const CapabilitiesSchema = z.object({
  arch: z.string(),
  platform: z.string(),
  cpus: z.number().int().positive(),
  memoryMb: z.number().int().nonnegative(),
  executionProviders: z.array(z.string()),
  onnxruntimeVersion: z.string().optional(),
});
export type Capabilities = z.infer<typeof CapabilitiesSchema>;

/** `status` (agent → hub, QoS 1, retained); the last will carries `online: false`. */
export const StatusSchema = z.object({
  protocol: z.literal(PROTOCOL_VERSION),
  online: z.boolean(),
  agentVersion: z.string().optional(),
  profile: z.string().optional(),
  capabilities: CapabilitiesSchema.optional(),
  /** Local scoring endpoint, for operators; loopback unless configured otherwise. */
  scoringUrl: z.string().optional(),
  at: isoTime,
});
export type Status = z.infer<typeof StatusSchema>;

/** Fixed latency buckets (ms, upper bounds) so windows from any device add up. */
export const LATENCY_BUCKETS_MS = [0.5, 1, 2, 5, 10, 20, 50, 100, 200, 500, 1000, 2000, 5000] as const;

export const InputSummarySchema = z.object({
  name: z.string(),
  count: z.number().int().nonnegative(),
  missing: z.number().int().nonnegative(),
  min: z.number().nullable(),
  max: z.number().nullable(),
  sum: z.number(),
  sumSquares: z.number(),
});
export type InputSummary = z.infer<typeof InputSummarySchema>;

/**
 * One postprocessed output over a window, for prediction-shift gates and drift: label counts for
 * classifiers (softmax, argmax, top-1, threshold), moments for numeric outputs (raw).
 */
export const OutputSummarySchema = z.object({
  /** "label" for a classifier's predicted label, else the raw output's name. */
  name: z.string(),
  /** Predictions summarised (count). */
  count: z.number().int().nonnegative(),
  labels: z.record(z.string(), z.number().int().nonnegative()).optional(),
  sum: z.number().optional(),
  sumSquares: z.number().optional(),
  min: z.number().nullable().optional(),
  max: z.number().nullable().optional(),
});
export type OutputSummary = z.infer<typeof OutputSummarySchema>;

/**
 * What a shadow candidate did over one window, beside the serving version the window is about
 * [WIRE-5.4]: requests it scored, failed or skipped, how often it agreed with the answer given,
 * how far its numeric outputs moved, its latency on the fixed buckets and its label counts.
 */
export const ShadowSummarySchema = z.object({
  version: z.string(),
  /** Requests the candidate scored (rows are compared; this counts requests). */
  scored: z.number().int().nonnegative(),
  /** Candidate runs that threw. */
  errors: z.number().int().nonnegative(),
  /** Requests not scored because the candidate was still busy with earlier ones. */
  dropped: z.number().int().nonnegative(),
  /** Rows compared with the serving answer, and of those the ones that agreed. */
  compared: z.number().int().nonnegative(),
  agreed: z.number().int().nonnegative(),
  /** Sum over compared rows of the mean |candidate − serving| of their numeric outputs, and the rows counted. */
  shiftSum: z.number().nonnegative(),
  shiftRows: z.number().int().nonnegative(),
  latencyCounts: z.array(z.number().int().nonnegative()),
  latencySumMs: z.number().nonnegative(),
  outputs: z.array(OutputSummarySchema).optional(),
});
export type ShadowSummary = z.infer<typeof ShadowSummarySchema>;

export const ModuleWindowSchema = z.object({
  name: z.string(),
  version: z.string(),
  requests: z.number().int().nonnegative(),
  errors: z.number().int().nonnegative(),
  /** counts[i] = requests with latency <= LATENCY_BUCKETS_MS[i]; the last extra slot is the overflow. */
  latencyBucketsMs: z.array(z.number()),
  latencyCounts: z.array(z.number().int().nonnegative()),
  latencySumMs: z.number().nonnegative(),
  inputs: z.array(InputSummarySchema),
  /** Postprocessed output summaries (optional so agents from before it still validate). */
  outputs: z.array(OutputSummarySchema).optional(),
  /** Predictions of this version that received ground-truth feedback in the window (absent: none). */
  labelled: z.number().int().nonnegative().optional(),
  /** Of those, the ones whose predicted label matched the feedback label. */
  correct: z.number().int().nonnegative().optional(),
  /** Drift summary on the manifest's monitoring bins (drift-summary/summary.ts); absent: not monitored or held back. */
  drift: DriftSummarySchema.optional(),
  /**
   * The same summary in its compact form (drift-summary/codec.ts), decoded by the hub on the
   * module version's monitoring spec: what current agents send. At most one of drift / driftPacked.
   */
  driftPacked: PackedDriftSummarySchema.optional(),
  /** Raw sample rows the hub asked for (wire/samples.ts, wire/commands.ts collect-samples). */
  samples: WindowSamplesSchema.optional(),
  /** The shadow candidate's figures for the same requests (absent: no candidate) [WIRE-5.4]. */
  shadow: ShadowSummarySchema.optional(),
});
export type ModuleWindow = z.infer<typeof ModuleWindowSchema>;

/** `telemetry` (agent → hub, QoS 1): one window of per-module statistics. */
/** A telemetry epoch: 1–64 URL-safe characters (agents send 16 hex digits). */
export const TelemetryEpochSchema = z.string().regex(/^[A-Za-z0-9_-]{1,64}$/);

export const TelemetryWindowSchema = z.object({
  protocol: z.literal(PROTOCOL_VERSION),
  /** Per-agent sequence number so the hub can drop duplicates after a QoS 1 redelivery [WIRE-5.2]. */
  seq: z.number().int().nonnegative(),
  /**
   * The agent run that numbered the window: a random id chosen at every start [WIRE-5.5]. The hub
   * de-duplicates on (device, epoch, seq), so a seq that restarts (lost state file) is not a
   * duplicate. Absent from older agents: their windows share the empty epoch.
   */
  epoch: TelemetryEpochSchema.optional(),
  windowStart: isoTime,
  windowEnd: isoTime,
  modules: z.array(ModuleWindowSchema),
});
export type TelemetryWindow = z.infer<typeof TelemetryWindowSchema>;

/** `events` (agent → hub, QoS 1): deployment progress and errors, for the operator's timeline. */
export const DeviceEventSchema = z.object({
  protocol: z.literal(PROTOCOL_VERSION),
  at: isoTime,
  kind: z.string().min(1),
  module: z.string().optional(),
  version: z.string().optional(),
  message: z.string(),
  details: z.record(z.string(), z.unknown()).optional(),
});
export type DeviceEvent = z.infer<typeof DeviceEventSchema>;

/** Parses a JSON MQTT payload with a schema; returns a readable error instead of throwing. */
export function parsePayload<T>(
  schema: z.ZodType<T>,
  payload: Buffer | string,
): { ok: true; value: T } | { ok: false; error: string } {
  let json: unknown;
  try {
    json = JSON.parse(typeof payload === "string" ? payload : payload.toString("utf8"));
  } catch (error) {
    return { ok: false, error: `payload is not JSON: ${(error as Error).message}` };
  }
  const result = schema.safeParse(json);
  if (!result.success) return { ok: false, error: z.prettifyError(result.error) };
  return { ok: true, value: result.data };
}
