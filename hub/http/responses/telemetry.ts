/** What the telemetry and event routes answer: stored telemetry windows and device events. */
import { z } from "zod";
import { ModuleWindowSchema } from "../../../wire/messages.js";
import { Timestamp } from "./common.js";

export const TelemetryWindowSchema = z
  .object({
    id: z.number().int(),
    deviceId: z.string(),
    epoch: z.string().meta({
      description:
        "the agent start that sent it (empty from older agents); with seq, a repeat is stored once",
    }),
    seq: z.number().int().meta({ description: "the device's window sequence within its epoch" }),
    module: z.string(),
    moduleVersion: z.string(),
    windowStart: Timestamp,
    windowEnd: Timestamp,
    requests: z.number().int(),
    errors: z.number().int(),
    latencySumMs: z.number(),
    payload: ModuleWindowSchema.meta({ description: "the window as received (histograms, input summaries)" }),
    receivedAt: Timestamp,
  })
  .meta({ id: "TelemetryWindow" });

export const DeviceEventSchema = z
  .object({
    id: z.number().int(),
    deviceId: z.string(),
    kind: z.string(),
    module: z.string().nullable(),
    version: z.string().nullable(),
    message: z.string(),
    details: z
      .record(z.string(), z.unknown())
      .nullable()
      .meta({ description: "what the device sent with the event (error codes, progress)" }),
    at: Timestamp,
  })
  .meta({ id: "DeviceEvent" });
