/**
 * From an MQTT message to a handler call: which device, which kind, which schema. One route per
 * message kind, so adding a kind is adding a row (like aedes' lib/handlers/index.js).
 */
import { z } from "zod";
import { findUnstorable } from "../../lib/storable-text.js";
import {
  type DeviceEvent,
  DeviceEventSchema,
  parsePayload,
  type ReportedState,
  ReportedStateSchema,
  type Status,
  StatusSchema,
  type TelemetryWindow,
  TelemetryWindowSchema,
} from "../../wire/messages.js";
import { parseDeviceTopic } from "../../wire/topics.js";
import type { MessageGate } from "./device-message-gate.js";

/** What a handler may want to know beyond the payload. */
export interface MessageMeta {
  topic: string;
  /** True when the broker replayed a retained message on (re)subscribe; handlers must be idempotent. */
  retained: boolean;
}

/** The hub's reactions to device messages, injected by whoever owns storage. */
export interface DeviceMessageHandlers {
  onStatus(deviceId: string, status: Status, meta: MessageMeta): Promise<void>;
  onReported(deviceId: string, reported: ReportedState, meta: MessageMeta): Promise<void>;
  onTelemetry(deviceId: string, window: TelemetryWindow, meta: MessageMeta): Promise<void>;
  onEvent(deviceId: string, event: DeviceEvent, meta: MessageMeta): Promise<void>;
  /** Command responses (`responses/{requestId}`); their payloads are JSON without a shared schema yet. */
  onResponse?(deviceId: string, requestId: string, payload: unknown, meta: MessageMeta): Promise<void>;
}

/** A validated message, ready to hand to its handler. */
export interface RoutedMessage {
  deviceId: string;
  kind: string;
  call: (handlers: DeviceMessageHandlers) => Promise<void>;
}

export type RouteResult =
  | { ok: true; message: RoutedMessage }
  | {
      ok: false;
      drop: "not-ours" | "empty" | "invalid";
      deviceId?: string;
      /** The message kind when the topic named one this hub routes. */
      kind?: string;
      reason: string;
    };

type Route = {
  schema: z.ZodType<unknown>;
  call: (
    handlers: DeviceMessageHandlers,
    deviceId: string,
    value: unknown,
    meta: MessageMeta,
    rest: string,
  ) => Promise<void>;
};

const ROUTES: Record<string, Route> = {
  status: { schema: StatusSchema, call: (h, id, v, m) => h.onStatus(id, v as Status, m) },
  reported: { schema: ReportedStateSchema, call: (h, id, v, m) => h.onReported(id, v as ReportedState, m) },
  telemetry: {
    schema: TelemetryWindowSchema,
    call: (h, id, v, m) => h.onTelemetry(id, v as TelemetryWindow, m),
  },
  events: { schema: DeviceEventSchema, call: (h, id, v, m) => h.onEvent(id, v as DeviceEvent, m) },
  responses: {
    schema: z.unknown(),
    call: async (h, id, v, m, rest) => h.onResponse?.(id, rest.slice("responses/".length), v, m),
  },
};

/**
 * Parses topic and payload of one incoming message; never throws. With a gate, a schema-valid
 * message must also pass its quota and data checks, and every refusal is counted for its device.
 */
export function routeMessage(
  topic: string,
  payload: Buffer,
  retained: boolean,
  gate?: MessageGate,
): RouteResult {
  const parsed = parseDeviceTopic(topic);
  if (!parsed) return { ok: false, drop: "not-ours", reason: "not a device topic" };
  const { deviceId, rest } = parsed;
  const kind = rest.startsWith("responses/") ? "responses" : rest;
  const route = ROUTES[kind];
  if (!route) return { ok: false, drop: "not-ours", deviceId, reason: `no route for "${rest}"` };
  // An empty retained payload is how a retained message is deleted, not a message.
  if (payload.length === 0) return { ok: false, drop: "empty", deviceId, kind, reason: "empty payload" };
  const result = parsePayload(route.schema, payload);
  if (!result.ok) {
    gate?.refused(deviceId, kind, { reason: "schema", detail: result.error });
    return { ok: false, drop: "invalid", deviceId, kind, reason: result.error };
  }
  // The HTTP input guard's rule (lib/storable-text.ts): a NUL or lone surrogate would fail the
  // statement, and with it every other device's message written in the same batch.
  const unstorable = findUnstorable(result.value);
  if (unstorable) {
    const reason = `the payload at ${unstorable.path} ${unstorable.reason}`;
    gate?.refused(deviceId, kind, { reason: "unstorable", detail: reason });
    return { ok: false, drop: "invalid", deviceId, kind, reason };
  }
  const refusal = gate?.admit(deviceId, kind, result.value);
  if (refusal) return { ok: false, drop: "invalid", deviceId, kind, reason: refusal.detail };
  const meta: MessageMeta = { topic, retained };
  return {
    ok: true,
    message: { deviceId, kind, call: (handlers) => route.call(handlers, deviceId, result.value, meta, rest) },
  };
}
