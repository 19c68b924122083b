/** What the hub does with each kind of device message: update the twin, store telemetry and events. */

import type { Logger } from "../../lib/log.js";
import type { DeviceEvent, ReportedState, Status, TelemetryWindow } from "../../wire/messages.js";
import type { Repositories, TelemetryWriter } from "../repos/index.js";
import { DriftUnpacker } from "./drift-unpack.js";

/** Handlers for the hub's MQTT link, bound to a running hub. */
export function deviceMessageHandlers(
  hub: {
    repos: Pick<Repositories, "devices" | "events" | "modules">;
    telemetry: Pick<TelemetryWriter, "store">;
    log: Logger;
  },
  /** Told after a device's twin changed (reported state, online); the rollout controller listens. */
  onDeviceChanged: (deviceId: string) => Promise<void> = async () => {},
) {
  // Packed drift summaries are decoded here, where the module versions' specs can be looked up.
  const drift = new DriftUnpacker(hub.repos.modules, hub.log);
  return {
    async onStatus(deviceId: string, status: Status) {
      await hub.repos.devices.setStatus(deviceId, status, new Date());
      hub.log.info({ event: status.online ? "device.online" : "device.offline", deviceId });
      await onDeviceChanged(deviceId);
    },
    async onReported(deviceId: string, reported: ReportedState) {
      await hub.repos.devices.setReported(deviceId, reported, new Date());
      await onDeviceChanged(deviceId);
    },
    /** Resolves once the window is committed: the embedded broker acknowledges it only then. */
    async onTelemetry(deviceId: string, window: TelemetryWindow) {
      await hub.telemetry.store(deviceId, await drift.unpack(deviceId, window));
    },
    async onEvent(deviceId: string, event: DeviceEvent) {
      await hub.repos.events.insertFromWire(deviceId, event);
    },
    /** Packed drift summaries decoded and refused so far. */
    driftStats: () => drift.stats(),
  };
}
