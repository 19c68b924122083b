/**
 * Hub commands the agent understands (wire/commands.ts): today `collect-samples`. A payload that
 * does not parse is logged and answered when it names a requestId; unknown commands are logged.
 */
import type { Logger } from "../../lib/log.js";
import { COLLECT_SAMPLES, CollectSamplesCommandSchema, type CommandResponse } from "../../wire/commands.js";
import { PROTOCOL_VERSION, parsePayload } from "../../wire/messages.js";
import type { DriftMonitor, ServedModule } from "./drift-monitor.js";

export interface CommandContext {
  name: string;
  payload: Buffer;
  drift: DriftMonitor;
  table: { get(name: string): ServedModule | undefined };
  log: Logger;
  respond: (requestId: string, response: CommandResponse) => void;
}

/** Acts on one command message and answers it. Never throws. */
export function handleCommand({ name, payload, drift, table, log, respond }: CommandContext): void {
  if (name !== COLLECT_SAMPLES) {
    log.warn({ event: "command.unknown", command: name });
    return;
  }
  const parsed = parsePayload(CollectSamplesCommandSchema, payload);
  if (!parsed.ok) {
    log.warn({ event: "command.invalid", command: name, error: parsed.error });
    const requestId = requestIdOf(payload);
    if (requestId !== undefined) {
      respond(requestId, {
        protocol: PROTOCOL_VERSION,
        requestId,
        command: name,
        ok: false,
        message: `invalid ${name} command: ${parsed.error}`,
      });
    }
    return;
  }
  const response = drift.collectSamples(parsed.value, table.get(parsed.value.module));
  log.info({ event: "command.handled", command: name, requestId: response.requestId, ok: response.ok });
  respond(response.requestId, response);
}

/** The requestId of a payload that failed validation, when it is a safe topic level. */
function requestIdOf(payload: Buffer): string | undefined {
  try {
    const id = (JSON.parse(payload.toString("utf8")) as { requestId?: unknown }).requestId;
    return typeof id === "string" && /^[A-Za-z0-9._-]{1,64}$/.test(id) ? id : undefined;
  } catch {
    return undefined;
  }
}
