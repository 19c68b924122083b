/**
 * A simulated fleet in one process: provisions N devices through the hub API (or takes existing
 * credentials), connects one SimulatedDevice per device, and lets tests and benchmarks change
 * behaviour at run time and wait on the states the devices report.
 */

import { findProfile } from "../firmware-profiles/index.js";
import { HubClient } from "../hub-api/client.js";
import { seededRandom } from "../modules/onnx/random.js";
import type { DesiredState, ReportedModule } from "../wire/messages.js";
import { type Behaviour, checkBehaviour, DEFAULT_BEHAVIOUR, type FleetBehaviour } from "./behaviour.js";
import { SimulatedDevice } from "./sim-device.js";

export interface SimCredentials {
  id: string;
  secret: string;
}

export interface SimulatedFleetOptions {
  hubUrl: string;
  /** Operator token, to provision devices; not needed with `credentials`. */
  token?: string;
  /** Broker URL; defaults to the one the hub hands out at provisioning. */
  mqttUrl?: string;
  /** Devices to provision (ids `${prefix}-0000` …); ignored with `credentials`. */
  count?: number;
  prefix?: string;
  /** Use these devices instead of provisioning. */
  credentials?: SimCredentials[];
  /** Firmware profile id the devices are provisioned with and report. */
  profile?: string;
  /** Tags for provisioned devices; `sim: <prefix>` is always added. */
  tags?: Record<string, string>;
  behaviour?: Partial<Behaviour> & { versions?: FleetBehaviour["versions"] };
  /** Connections opened at once (each costs the hub one credential check). */
  connectConcurrency?: number;
  /** Told on every module state a device reports. */
  onState?: (deviceId: string, module: ReportedModule) => void;
  /** Told on every desired state a device receives. */
  onDesired?: (deviceId: string, desired: DesiredState) => void;
  /** Seed for the failure draws, so a run can be repeated. */
  seed?: number;
}

export interface SimulatedFleet {
  devices: SimCredentials[];
  mqttUrl: string;
  /** Changes behaviour for every device, or only for versions via `versions`. */
  setBehaviour(
    patch: Partial<Behaviour> & {
      versions?: FleetBehaviour["versions"];
      devices?: FleetBehaviour["devices"];
    },
  ): void;
  /** Devices whose MQTT session is up. */
  connected(): number;
  /** Per device, the state its agent reports for one module (undefined when none). */
  states(module: string): Map<string, ReportedModule | undefined>;
  /** Resolves when `predicate` holds for every device's report of `module` (checked on each state change). */
  waitFor(
    module: string,
    predicate: (m: ReportedModule | undefined) => boolean,
    timeoutMs?: number,
  ): Promise<void>;
  /** Takes one device offline for a while (power-cut style: the will fires). */
  goOffline(deviceId: string, forMs: number): void;
  stop(): Promise<void>;
}

/** Runs `fn` over items with at most `limit` in flight. */
export async function mapLimit<T, R>(
  items: readonly T[],
  limit: number,
  fn: (item: T, i: number) => Promise<R>,
): Promise<R[]> {
  const results = new Array<R>(items.length);
  let next = 0;
  const worker = async () => {
    while (next < items.length) {
      const i = next++;
      results[i] = await fn(items[i]!, i);
    }
  };
  await Promise.all(Array.from({ length: Math.min(limit, items.length) }, worker));
  return results;
}

/** Provisions `count` devices through the hub API; returns their credentials and the hub's broker URL. */
export async function provisionSimulatedDevices(options: {
  hubUrl: string;
  token: string;
  count: number;
  prefix: string;
  profile?: string;
  tags?: Record<string, string>;
}): Promise<{ devices: SimCredentials[]; mqttUrl: string }> {
  const client = new HubClient({ url: options.hubUrl, token: options.token });
  const width = Math.max(4, String(options.count - 1).length);
  let mqttUrl = "";
  const devices = await mapLimit(
    Array.from({ length: options.count }, (_, i) => `${options.prefix}-${String(i).padStart(width, "0")}`),
    8,
    async (id) => {
      const answer = await client.post<{ secret: string; mqttUrl: string }>("/api/v1/devices", {
        id,
        tags: { ...options.tags, sim: options.prefix },
        ...(options.profile ? { profile: options.profile } : {}),
      });
      mqttUrl = answer.mqttUrl;
      return { id, secret: answer.secret };
    },
  );
  return { devices, mqttUrl };
}

/** Provisions (unless given credentials) and connects a simulated fleet. */
export async function startSimulatedFleet(options: SimulatedFleetOptions): Promise<SimulatedFleet> {
  const { versions, ...global } = options.behaviour ?? {};
  checkBehaviour(global);
  let behaviour: FleetBehaviour = { ...DEFAULT_BEHAVIOUR, ...global, versions: { ...versions } };
  let credentials = options.credentials;
  let mqttUrl = options.mqttUrl;
  if (!credentials) {
    if (!options.token) throw new Error("a token is needed to provision simulated devices");
    if (!options.count || options.count < 1) throw new Error("count must be at least 1");
    const provisioned = await provisionSimulatedDevices({
      hubUrl: options.hubUrl,
      token: options.token,
      count: options.count,
      prefix: options.prefix ?? "sim",
      ...(options.profile ? { profile: options.profile } : {}),
      ...(options.tags ? { tags: options.tags } : {}),
    });
    credentials = provisioned.devices;
    mqttUrl ??= provisioned.mqttUrl;
  }
  if (!mqttUrl) throw new Error("mqttUrl is needed when credentials are given");
  const profile = findProfile(options.profile);
  const random = seededRandom(options.seed ?? 1);
  const waiters = new Set<() => void>();
  const devices = credentials.map(
    (c) =>
      new SimulatedDevice({
        id: c.id,
        secret: c.secret,
        mqttUrl: mqttUrl!,
        profile,
        behaviour: () => behaviour,
        random,
        authorization: `Basic ${Buffer.from(`${c.id}:${c.secret}`).toString("base64")}`,
        ...(options.onDesired ? { onDesired: options.onDesired } : {}),
        onState: (deviceId, module) => {
          options.onState?.(deviceId, module);
          for (const check of waiters) check();
        },
      }),
  );
  const byId = new Map(devices.map((d) => [d.id, d]));
  try {
    await mapLimit(devices, options.connectConcurrency ?? 50, (device) => device.start());
  } catch (error) {
    await Promise.all(devices.map((d) => d.stop()));
    throw error;
  }

  const reportOf = (device: SimulatedDevice, module: string) => device.modules.find((m) => m.name === module);
  return {
    devices: credentials,
    mqttUrl,
    setBehaviour(patch) {
      const { versions: versionPatch, devices: devicePatch, ...rest } = patch;
      checkBehaviour(rest);
      for (const value of Object.values(versionPatch ?? {})) checkBehaviour(value);
      for (const { versions: perVersion, ...value } of Object.values(devicePatch ?? {})) {
        checkBehaviour(value);
        for (const v of Object.values(perVersion ?? {})) checkBehaviour(v);
      }
      behaviour = {
        ...behaviour,
        ...rest,
        versions: { ...behaviour.versions, ...versionPatch },
        devices: { ...behaviour.devices, ...devicePatch },
      };
      for (const device of devices) device.reschedule();
    },
    connected: () => devices.filter((d) => d.connected).length,
    states: (module) => new Map(devices.map((d) => [d.id, reportOf(d, module)])),
    waitFor(module, predicate, timeoutMs = 60_000) {
      return new Promise((resolve, reject) => {
        const check = () => {
          if (devices.every((d) => predicate(reportOf(d, module)))) {
            waiters.delete(check);
            clearTimeout(timer);
            resolve();
          }
        };
        const timer = setTimeout(() => {
          waiters.delete(check);
          const counts: Record<string, number> = {};
          for (const d of devices) {
            const state = reportOf(d, module)?.state ?? "none";
            counts[state] = (counts[state] ?? 0) + 1;
          }
          reject(
            new Error(`simulated fleet: timed out waiting on ${module}; states ${JSON.stringify(counts)}`),
          );
        }, timeoutMs);
        waiters.add(check);
        check();
      });
    },
    goOffline(deviceId, forMs) {
      const device = byId.get(deviceId);
      if (!device) throw new Error(`no simulated device ${deviceId}`);
      device.goOffline(forMs);
    },
    async stop() {
      await mapLimit(devices, 100, (d) => d.stop());
    },
  };
}
