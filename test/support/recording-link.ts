/**
 * A HubLink that records what the hub would send to devices instead of sending it: the broker
 * boundary for tests that drive the hub's API without sockets. Everything behind it (rollout
 * controller, repositories, PGlite) is the real thing.
 */
import type { HubLink } from "../../hub/mqtt/hub-link.js";
import type { DesiredState } from "../../wire/messages.js";

export interface RecordingLink extends HubLink {
  /** Desired states published, in order. */
  readonly desired: { deviceId: string; state: DesiredState }[];
  /** Commands published, in order. */
  readonly commands: { deviceId: string; name: string; payload: unknown }[];
  /** Alerts published, in order. */
  readonly alerts: { monitorId: string; payload: unknown }[];
}

/** A connected link whose publishes resolve at once and are kept for the test to read. */
export function recordingLink(): RecordingLink {
  const desired: RecordingLink["desired"] = [];
  const commands: RecordingLink["commands"] = [];
  const alerts: RecordingLink["alerts"] = [];
  return {
    connected: true,
    pending: 0,
    desired,
    commands,
    alerts,
    async publishDesired(deviceId, state) {
      desired.push({ deviceId, state });
    },
    async clearDesired() {},
    async publishCommand(deviceId, name, payload) {
      commands.push({ deviceId, name, payload });
    },
    async publishAlert(monitorId, payload) {
      alerts.push({ monitorId, payload });
    },
    async drain() {},
    async close() {},
  };
}
