/**
 * Hub → device commands (`edgefleet/v1/devices/{id}/commands/{name}`, QoS 1, not retained) and
 * the device's answer on `responses/{requestId}`. A device acts on a command at most once per
 * requestId and answers every one it can parse, accepted or not [WIRE-7.1].
 */
import { z } from "zod";
import { PROTOCOL_VERSION } from "./messages.js";

export const COLLECT_SAMPLES = "collect-samples";

/**
 * Ask a device for raw sample rows of one module (wire/samples.ts): up to `maxPerWindow` rows
 * (capped by the manifest's `monitoring.samples.maxPerWindow`) on each of the next `windows`
 * telemetry windows of that module. Refused unless the manifest allows samples. `version`
 * restricts it to one version; absent, whatever version serves.
 */
export const CollectSamplesCommandSchema = z.object({
  protocol: z.literal(PROTOCOL_VERSION),
  requestId: z.string().regex(/^[A-Za-z0-9._-]{1,64}$/, "letters, digits, '.', '_' or '-', 1-64 long"),
  module: z.string().min(1),
  version: z.string().min(1).optional(),
  maxPerWindow: z.number().int().min(1).max(1000),
  windows: z.number().int().min(1).max(10_000),
});
export type CollectSamplesCommand = z.infer<typeof CollectSamplesCommandSchema>;

export const CommandResponseSchema = z.object({
  protocol: z.literal(PROTOCOL_VERSION),
  requestId: z.string(),
  command: z.string(),
  ok: z.boolean(),
  message: z.string(),
  details: z.record(z.string(), z.unknown()).optional(),
});
export type CommandResponse = z.infer<typeof CommandResponseSchema>;
