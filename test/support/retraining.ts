/**
 * Fixtures for retraining tests on a real hub (PGlite, embedded broker, the in-hub trainer): a
 * `churn` dataset (label = x1 + x2 > 0), a gbt champion trained on it and packaged as churn@1.0.0
 * with samples allowed, devices that are real MQTT clients (they record the commands the hub sends
 * and publish telemetry windows carrying labelled sample rows), and a stepper that runs the
 * retraining driver's passes by hand.
 */
import type { MqttClient } from "mqtt";
import type { ManualClock } from "../../lib/clock.js";
import { commandTopic, deviceTopic } from "../../wire/topics.js";
import { seeded } from "./drift-windows.js";
import type { TestHub } from "./hub.js";
import { connectClient, type ReceivedMessage, recordMessages } from "./mqtt-clients.js";
import { waitFor } from "./wait.js";

export const MODULE = "churn";

export interface SampleRow {
  x1: number;
  x2: number;
  label?: string;
}

/** Seeded rows: x1 around `x1Mean`, x2 standard normal, labelled by `rule`. */
export function rowsNear(
  seed: number,
  count: number,
  x1Mean: number,
  rule: (x1: number, x2: number) => boolean,
): SampleRow[] {
  const random = seeded(seed);
  const normal = (mean: number) =>
    mean + Math.sqrt(-2 * Math.log(Math.max(random(), 1e-12))) * Math.cos(2 * Math.PI * random());
  return Array.from({ length: count }, () => {
    const x1 = normal(x1Mean);
    const x2 = normal(0);
    return { x1, x2, label: rule(x1, x2) ? "yes" : "no" };
  });
}

/** The training concept. */
export const trainingConcept = (x1: number, x2: number) => x1 + x2 > 0;
/** The concept on the devices after the shift, where x1 is far from the training range. */
export const shiftedConcept = (_x1: number, x2: number) => x2 > 0;

async function waitForRun(hub: TestHub, id: string) {
  return waitFor(
    `run ${id}`,
    async () => {
      const view = await hub.client.get<{ status: string; error?: unknown }>(`/api/v1/runs/${id}`);
      if (view.status === "failed") throw new Error(`run failed: ${JSON.stringify(view.error)}`);
      return view.status === "succeeded" ? view : undefined;
    },
    120_000,
    200,
  );
}

/** Uploads the dataset, trains the champion (alias `champion`), packages it as churn@1.0.0. */
export async function setUpChampion(hub: TestHub): Promise<{ champion: number }> {
  const rows = rowsNear(7, 600, 0, trainingConcept);
  const csv = `x1,x2,label\n${rows.map((r) => `${r.x1},${r.x2},${r.label}`).join("\n")}\n`;
  await hub.client.request(
    "POST",
    `/api/v1/datasets/${MODULE}/versions?format=csv&target=label&task=classification`,
    new TextEncoder().encode(csv),
    { "content-type": "text/csv" },
  );
  const run = await hub.client.post<{ id: string }>("/api/v1/runs", {
    experiment: MODULE,
    dataset: { name: MODULE },
    task: "classification",
    target: "label",
    recipe: "gbt",
    register: { model: MODULE, aliases: ["champion"] },
  });
  await waitForRun(hub, run.id);
  await hub.client.post(`/api/v1/models/${MODULE}/versions/champion/package`, {
    samples: { allowed: true, maxPerWindow: 500 },
    minRows: 1,
  });
  return { champion: await championVersion(hub) };
}

/** The version the `champion` alias points at. */
export async function championVersion(hub: TestHub): Promise<number> {
  return (await hub.client.get<{ version: number }>(`/api/v1/models/${MODULE}/versions/champion`)).version;
}

export interface TestDevice {
  id: string;
  client: MqttClient;
  /** Every message received on the device's command and desired topics. */
  received: ReceivedMessage[];
  seq: number;
  /** The device's secret, to connect it again (to a restarted hub's broker). */
  secret: string;
}

/** Registers a device with tags and connects it over MQTT, listening to its commands. */
export async function connectDevice(
  hub: TestHub,
  id: string,
  tags: Record<string, string>,
): Promise<TestDevice> {
  const { secret } = await hub.client.post<{ secret: string }>("/api/v1/devices", { id, tags });
  return attachDevice(hub, id, secret);
}

/** Connects a provisioned device again (a restarted hub listens on new ports); the old client is closed. */
export async function reconnectDevice(hub: TestHub, device: TestDevice): Promise<TestDevice> {
  await device.client.endAsync(true).catch(() => undefined);
  return { ...(await attachDevice(hub, device.id, device.secret)), seq: device.seq };
}

async function attachDevice(hub: TestHub, id: string, secret: string): Promise<TestDevice> {
  const client = await connectClient(hub.mqttUrl, { clientId: id, username: id, password: secret });
  const received = recordMessages(client);
  // Online and reporting every desired module active, as an agent that loads them would: a
  // rollout is judged only on what its devices report.
  await client.publishAsync(
    deviceTopic(id, "status"),
    JSON.stringify({ protocol: 1, online: true, at: new Date().toISOString() }),
    { qos: 1, retain: true },
  );
  client.on("message", (topic, payload) => {
    if (topic !== deviceTopic(id, "desired") || payload.length === 0) return;
    const desired = JSON.parse(payload.toString()) as {
      revision: number;
      modules: { name: string; version: string }[];
    };
    const at = new Date().toISOString();
    const reported = {
      protocol: 1,
      revision: desired.revision,
      modules: desired.modules.map((m) => ({
        name: m.name,
        version: m.version,
        state: "active",
        servingVersion: m.version,
        since: at,
      })),
      at,
    };
    void client.publishAsync(deviceTopic(id, "reported"), JSON.stringify(reported), { qos: 1, retain: true });
  });
  await client.subscribeAsync([commandTopic(id, "#"), deviceTopic(id, "desired")], { qos: 1 });
  return { id, client, received, seq: 0, secret };
}

/** The collect-samples commands a device received. */
export function collectCommands(device: TestDevice): Record<string, unknown>[] {
  return device.received
    .filter((m) => m.topic === commandTopic(device.id, "collect-samples"))
    .map((m) => JSON.parse(m.payload.toString()) as Record<string, unknown>);
}

/** Publishes one telemetry window of churn@version carrying `rows` as sampled rows; waits until stored. */
export async function sendSamples(
  hub: TestHub,
  device: TestDevice,
  rows: SampleRow[],
  version = "1.0.0",
): Promise<void> {
  const seq = ++device.seq;
  const at = new Date().toISOString();
  const window = {
    protocol: 1,
    seq,
    windowStart: at,
    windowEnd: at,
    modules: [
      {
        name: MODULE,
        version,
        requests: rows.length,
        errors: 0,
        latencyBucketsMs: [],
        latencyCounts: [rows.length],
        latencySumMs: 0,
        inputs: [],
        samples: {
          rows: rows.map((row, i) => ({
            id: `${device.id}-${seq}-${i}`,
            at,
            inputs: { x1: row.x1, x2: row.x2 },
            outputs: {},
            ...(row.label !== undefined ? { label: row.label } : {}),
          })),
        },
      },
    ],
  };
  await device.client.publishAsync(deviceTopic(device.id, "telemetry"), JSON.stringify(window), { qos: 1 });
  const store = hub.parts.drift.store;
  await waitFor(`${device.id}'s samples stored`, async () => {
    const stored = await store.data.samples({ module: MODULE, deviceIds: [device.id], limit: 100_000 });
    return stored.some((s) => s.sampleId === `${device.id}-${seq}-${rows.length - 1}`);
  });
}

export interface CycleView {
  id: string;
  status: string;
  error: string | null;
  state: Record<string, unknown>;
  steps: { step: string; status: string; message: string; details: Record<string, unknown> | null }[];
}

/** A monitor's cycles, newest first. */
export async function cyclesOf(hub: TestHub, monitorId: string): Promise<CycleView[]> {
  return (await hub.client.get<{ cycles: CycleView[] }>(`/api/v1/monitors/${monitorId}/retraining`)).cycles;
}

/**
 * Runs driver passes until the monitor's newest cycle reaches one of `statuses` (a run in
 * training is waited for in between); a cycle that ends elsewhere fails at once with its steps.
 */
export async function driveCycle(
  hub: TestHub,
  monitorId: string,
  until: string[] | ((cycle: CycleView) => boolean),
  options: { timeoutMs?: number; clock?: ManualClock } = {},
): Promise<CycleView> {
  const { timeoutMs = 120_000, clock } = options;
  const finished = ["succeeded", "rejected", "failed", "rolled-back", "aborted"];
  const reached = typeof until === "function" ? until : (cycle: CycleView) => until.includes(cycle.status);
  const deadline = Date.now() + timeoutMs;
  let last: CycleView | undefined;
  while (Date.now() < deadline) {
    await hub.parts.drift.retraining.kick();
    [last] = await cyclesOf(hub, monitorId);
    if (last && reached(last)) return last;
    if (last && finished.includes(last.status))
      throw new Error(`cycle ended ${last.status}: ${JSON.stringify(last.steps, null, 1)}`);
    // A step waiting out its retry backoff: move a manual clock to the retry time.
    const retryAt = (last?.state.transient as { retryAt?: string } | null | undefined)?.retryAt;
    if (clock && retryAt && Date.parse(retryAt) > clock.now().getTime()) {
      clock.advance(Date.parse(retryAt) - clock.now().getTime());
    }
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
  throw new Error(`timed out waiting for the cycle; last: ${JSON.stringify(last, null, 1)}`);
}

/** Starts a cycle by hand and runs passes until the devices were asked for samples. */
export async function startCycle(hub: TestHub, monitorId: string): Promise<CycleView> {
  await hub.client.post(`/api/v1/monitors/${monitorId}/retrain`, {});
  return driveCycle(hub, monitorId, (c) => c.steps.at(-1)?.step === "samples-requested");
}

/** Module versions of churn that exist. */
export async function moduleVersions(hub: TestHub): Promise<string[]> {
  const { modules } = await hub.client.get<{ modules: { name: string; version: string }[] }>(
    `/api/v1/modules?name=${MODULE}`,
  );
  return modules
    .filter((m) => m.name === MODULE)
    .map((m) => m.version)
    .sort();
}

/** Deployments of churn, newest first. */
export async function deploymentsOf(hub: TestHub) {
  const { deployments } = await hub.client.get<{
    deployments: { id: string; moduleVersion: string; status: string; createdBy: string }[];
  }>(`/api/v1/deployments?module=${MODULE}`);
  return deployments;
}
