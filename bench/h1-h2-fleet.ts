/**
 * H1: deployment → all active for 1000 simulated agents, embedded aedes vs Mosquitto, same run.
 * H2: devices notified per second (POST /deployments → the last agent has its desired state),
 *     against AWS IoT Jobs' documented 1000 devices/minute.
 *
 * The hub runs as a child process (`edgefleet hub`, pinned to CPU 1 when bench/main.ts pins this
 * process to CPU 0); the simulated fleet (the load generator) runs here. One data folder serves
 * both phases: devices are provisioned once while the hub uses its embedded broker (the
 * credential cache makes their first connect cheap), then the same hub restarts on Mosquitto.
 * Each phase measures several deployments of a new version to all 1000 agents; "all active" is
 * when the hub's deployment status counts every target active.
 */
import { type ChildProcess, spawn } from "node:child_process";
import { randomBytes } from "node:crypto";
import { mkdtemp, readFile, rm } from "node:fs/promises";
import { createConnection } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import mqtt from "mqtt";
import { openDatabase } from "../hub/db/connect.js";
import { devices as devicesTable } from "../hub/db/schema/index.js";
import { ADMIN_TOKEN_FILE, HUB_INFO_FILE, type LocalHubInfo } from "../hub/local-access.js";
import { DEVICE_SECRET_PREFIX } from "../hub/repos/devices.js";
import { hashSecret, newSecret } from "../hub/repos/secret-hash.js";
import { HubClient } from "../hub-api/client.js";
import { readJsonFile } from "../lib/files.js";
import { silentLogger } from "../lib/log.js";
import { buildMlpClassifier } from "../modules/onnx/models.js";
import { type SimCredentials, type SimulatedFleet, startSimulatedFleet } from "../simulator/fleet.js";
import { deviceTopic } from "../wire/topics.js";
import { type BenchResult, quantile, round } from "./stats.js";

const AGENTS = 1000;
const DEPLOYMENTS_PER_PHASE = 2;
const AWS_IOT_JOBS_PER_SECOND = 1000 / 60; // maximumPerMinute ceiling (AWS IoT Jobs' documented rollout ceiling)
const MOSQUITTO = { host: "127.0.0.1", port: 1883 };

interface HubProcess {
  client: HubClient;
  info: LocalHubInfo;
  stop(): Promise<void>;
}

function answers(host: string, port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = createConnection({ host, port });
    const done = (up: boolean) => {
      socket.destroy();
      resolve(up);
    };
    socket.setTimeout(1000, () => done(false));
    socket.once("connect", () => done(true));
    socket.once("error", () => done(false));
  });
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

async function startHubProcess(
  dataDir: string,
  cpus: string | undefined,
  mqttUrl?: string,
): Promise<HubProcess> {
  const bin = new URL("../../bin/edgefleet.js", import.meta.url).pathname;
  const args = [bin, "hub", "--data", dataDir, "--port", "0", "--mqtt-port", "0", "--mqtt-host", "127.0.0.1"];
  if (mqttUrl) args.push("--mqtt-url", mqttUrl);
  const [command, argv] = cpus
    ? ["taskset", ["-c", cpus, process.execPath, ...args]]
    : [process.execPath, args];
  const child: ChildProcess = spawn(command, argv, {
    env: { ...process.env, EDGEFLEET_LOG_LEVEL: "warn" },
    stdio: ["ignore", "ignore", "inherit"],
  });
  const exited = new Promise<void>((resolve) => child.once("exit", () => resolve()));
  const deadline = Date.now() + 60_000;
  let info: LocalHubInfo | undefined;
  while (Date.now() < deadline) {
    info = await readJsonFile<LocalHubInfo>(join(dataDir, HUB_INFO_FILE)).catch(() => undefined);
    if (
      info &&
      info.pid !== undefined &&
      (await fetch(`${info.url}/api/v1/health`).then(
        (r) => r.ok,
        () => false,
      ))
    ) {
      // hub.json may be left from the previous phase: trust it only when it is the child's (taskset execs node).
      if (info.pid === child.pid) break;
    }
    info = undefined;
    if (child.exitCode !== null) throw new Error("the hub process exited during start-up");
    await sleep(100);
  }
  if (!info) throw new Error("the hub did not start within 60 s");
  const token = (await readFile(join(dataDir, ADMIN_TOKEN_FILE), "utf8")).trim();
  return {
    client: new HubClient({ url: info.url, token }),
    info,
    async stop() {
      child.kill("SIGTERM");
      await exited;
    },
  };
}

interface Measured {
  /** POST → every agent reported active (seen at the agents). */
  agentsActiveMs: number;
  /** POST → the hub's deployment status counts every target active; NaN when it never did. */
  hubActiveMs: number;
  /** POST → the last agent received its desired state. */
  notifiedMs: number;
}

/** How long to wait for the hub's counts after the agents are all active (reports lost on the way never come). */
const HUB_COUNT_TIMEOUT_MS = 5_000;

/** Deploys `version` to every simulated device and times notification and all-active. */
async function measureDeployment(
  hub: HubProcess,
  fleet: SimulatedFleet,
  version: string,
  tag: string,
  notified: Map<string, number>,
): Promise<Measured> {
  notified.clear();
  const started = performance.now();
  const deployment = await hub.client.post<{ id: string; targetDeviceIds: string[] }>("/api/v1/deployments", {
    module: "bench-fleet",
    version,
    selector: { tags: { sim: tag } },
  });
  await fleet.waitFor("bench-fleet", (m) => m?.version === version && m.state === "active", 60_000);
  const agentsActiveMs = performance.now() - started;
  let hubActiveMs = Number.NaN;
  const deadline = performance.now() + HUB_COUNT_TIMEOUT_MS;
  while (performance.now() < deadline) {
    const status = await hub.client.get<{ counts: Record<string, number> }>(
      `/api/v1/deployments/${deployment.id}`,
    );
    if ((status.counts.active ?? 0) >= deployment.targetDeviceIds.length) {
      hubActiveMs = performance.now() - started;
      break;
    }
    await sleep(100);
  }
  const last = Math.max(...notified.values());
  const notifiedMs = notified.size >= AGENTS ? last - started : Number.NaN;
  process.stderr.write(
    `  ${version}: notified ${round(notifiedMs, 0)} ms, agents active ${round(agentsActiveMs, 0)} ms, hub counts active ${round(hubActiveMs, 0)} ms\n`,
  );
  return { agentsActiveMs, hubActiveMs, notifiedMs };
}

/**
 * Seeds the devices straight into the hub's database with cheap scrypt parameters (N=1024): the
 * benchmark is about rollouts, and 1000 default-cost hashes would take ~50 s of one core. The
 * hashes carry their parameters, so the hub verifies them as it verifies any other.
 */
async function seedDevices(dataDir: string, prefix: string): Promise<SimCredentials[]> {
  const database = await openDatabase({ dataDir, log: silentLogger });
  try {
    const devices = Array.from({ length: AGENTS }, (_, i) => ({
      id: `${prefix}-${String(i).padStart(4, "0")}`,
      secret: newSecret(DEVICE_SECRET_PREFIX),
    }));
    const rows = await Promise.all(
      devices.map(async ({ id, secret }) => ({
        id,
        name: id,
        tags: { sim: prefix },
        secretHash: await hashSecret(secret, { N: 1024, r: 8, p: 1 }),
        createdAt: new Date(),
      })),
    );
    for (let i = 0; i < rows.length; i += 200)
      await database.db.insert(devicesTable).values(rows.slice(i, i + 200));
    return devices;
  } finally {
    await database.close();
  }
}

async function registerVersions(client: HubClient, versions: string[]): Promise<void> {
  const model = buildMlpClassifier({ inputSize: 4, hiddenSizes: [8], classes: 2, seed: 5 });
  const registered = await client.request<{ version: number }>(
    "POST",
    "/api/v1/models/bench-fleet/versions",
    model.bytes,
  );
  for (const version of versions) {
    await client.post("/api/v1/modules", {
      name: "bench-fleet",
      version,
      model: { name: "bench-fleet", version: registered.version },
    });
  }
}

/** Clears what the run left retained on Mosquitto (it keeps retained messages across runs). */
async function clearRetained(url: string, devices: SimCredentials[]): Promise<void> {
  const client = await mqtt.connectAsync(url, {
    protocolVersion: 4,
    clientId: `edgefleet-bench-clean-${randomBytes(3).toString("hex")}`,
  });
  for (const { id } of devices)
    for (const kind of ["desired", "reported", "status"] as const)
      await client.publishAsync(deviceTopic(id, kind), "", { qos: 1, retain: true });
  await client.endAsync();
}

async function phase(
  hub: HubProcess,
  mqttUrl: string,
  devices: SimCredentials[],
  tag: string,
  versions: string[],
): Promise<Measured[]> {
  const notified = new Map<string, number>();
  const fleet = await startSimulatedFleet({
    hubUrl: hub.info.url,
    mqttUrl,
    credentials: devices,
    behaviour: { telemetryIntervalMs: 0 },
    connectConcurrency: 100,
    onDesired: (id) => {
      if (!notified.has(id)) notified.set(id, performance.now());
    },
  });
  try {
    // Warm-up: the first version (or whatever a restarted hub republishes) goes active first.
    const [warm, ...measured] = versions;
    await measureDeployment(hub, fleet, warm!, tag, notified);
    const results: Measured[] = [];
    for (const version of measured) results.push(await measureDeployment(hub, fleet, version, tag, notified));
    return results;
  } finally {
    await fleet.stop();
    // Let the hub write the offline statuses before it is stopped (it closes its store first).
    const deadline = Date.now() + 10_000;
    while (Date.now() < deadline) {
      const { devices: rows } = await hub.client
        .get<{ devices: { online: boolean }[] }>(`/api/v1/devices?tag=sim=${tag}`)
        .catch(() => ({ devices: [] }));
      if (rows.every((d) => !d.online)) break;
      await sleep(200);
    }
  }
}

/** Runs H1 and H2. */
export async function benchFleetRollout(options: { agentCpus?: string }): Promise<BenchResult[]> {
  const dataDir = await mkdtemp(join(tmpdir(), "edgefleet-bench-fleet-"));
  const run = randomBytes(3).toString("hex");
  const tag = `b${run}`;
  const perPhase = DEPLOYMENTS_PER_PHASE + 1;
  const versions = Array.from({ length: perPhase * 2 }, (_, i) => `1.0.${i}`);
  const mosquittoUp = await answers(MOSQUITTO.host, MOSQUITTO.port);
  const mosquittoUrl = `mqtt://${MOSQUITTO.host}:${MOSQUITTO.port}`;
  let hub: HubProcess | undefined;
  let devices: SimCredentials[] = [];
  try {
    devices = await seedDevices(dataDir, tag);
    hub = await startHubProcess(dataDir, options.agentCpus);
    await registerVersions(hub.client, versions);
    const embedded = await phase(hub, hub.info.mqttUrl, devices, tag, versions.slice(0, perPhase));
    await hub.stop();
    hub = undefined;

    let mosquitto: Measured[] = [];
    if (mosquittoUp) {
      hub = await startHubProcess(dataDir, options.agentCpus, mosquittoUrl);
      try {
        mosquitto = await phase(hub, mosquittoUrl, devices, tag, versions.slice(perPhase));
      } finally {
        await hub.stop();
        hub = undefined;
        await clearRetained(mosquittoUrl, devices).catch(() => undefined);
      }
    } else {
      process.stderr.write(`H1: no broker answers at ${mosquittoUrl}; the Mosquitto peer is skipped\n`);
    }

    const median = (runs: Measured[], key: keyof Measured) =>
      runs.length > 0
        ? quantile(
            runs.map((m) => m[key]),
            0.5,
          )
        : Number.NaN;
    const embeddedMs = median(embedded, "agentsActiveMs");
    const mosquittoMs = median(mosquitto, "agentsActiveMs");
    const embeddedHubMs = median(embedded, "hubActiveMs");
    const mosquittoHubMs = median(mosquitto, "hubActiveMs");
    const h1Ratio = embeddedMs / mosquittoMs;
    const notifiedMs = median(embedded, "notifiedMs");
    const perSecond = AGENTS / (notifiedMs / 1000);
    const hubView = (ms: number, runs: Measured[]) =>
      runs.length === 0 ? "n/a" : Number.isNaN(ms) ? "never (reports lost)" : round(ms, 0);
    return [
      {
        id: "H1",
        what: `deployment → all ${AGENTS} simulated agents active (agents' view), embedded aedes vs Mosquitto`,
        ours: round(embeddedMs, 0),
        peer: round(mosquittoMs, 0),
        unit: "ms",
        ratio: round(h1Ratio, 2),
        goal: "<= 3x, and hub counts all active <= 2000 ms",
        met: h1Ratio <= 3 && embeddedHubMs <= 2000,
        details: {
          deployments: `${embedded.length}+${mosquitto.length}`,
          "hub counts all active, embedded ms": hubView(embeddedHubMs, embedded),
          "hub counts all active, Mosquitto ms": hubView(mosquittoHubMs, mosquitto),
        },
      },
      {
        id: "H2",
        what: `devices notified per second (POST deployment → last of ${AGENTS} agents has its desired state)`,
        ours: round(perSecond, 0),
        peer: round(AWS_IOT_JOBS_PER_SECOND, 1),
        unit: "devices/s",
        ratio: round(perSecond / AWS_IOT_JOBS_PER_SECOND, 1),
        goal: ">= 10x",
        met: perSecond / AWS_IOT_JOBS_PER_SECOND >= 10,
        details: { "notify ms (median)": round(notifiedMs, 0), broker: "embedded aedes" },
      },
    ];
  } finally {
    await hub?.stop();
    await rm(dataDir, { recursive: true, force: true });
  }
}

let shared: Promise<BenchResult[]> | undefined;

/** H1 alone; runs the shared fleet scenario once even when H2 is asked for too. */
export function benchH1(options: { agentCpus?: string }): Promise<BenchResult[]> {
  shared ??= benchFleetRollout(options);
  return shared.then((results) => results.filter((r) => r.id === "H1"));
}

/** H2 alone; shares the scenario with H1. */
export function benchH2(options: { agentCpus?: string }): Promise<BenchResult[]> {
  shared ??= benchFleetRollout(options);
  return shared.then((results) => results.filter((r) => r.id === "H2"));
}
