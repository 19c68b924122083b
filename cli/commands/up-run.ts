/**
 * `edgefleet up` (= `npm start`): the whole loop on one machine. Starts the hub on embedded defaults,
 * provisions a local device, builds and registers a demo model, packages and deploys it, starts an
 * agent process, waits until it serves the model, then prints where to score.
 */
import { mkdir } from "node:fs/promises";
import { join } from "node:path";
import { parseHubConfig } from "../../hub/config.js";
import { startHub } from "../../hub/main.js";
import { HubClient } from "../../hub-api/client.js";
import { type AgentProcess, spawnAgent } from "../../lib/agent-process.js";
import { readJsonFile, writeFileAtomic } from "../../lib/files.js";
import { createLogger } from "../../lib/log.js";
import { preferredOrFreePort } from "../../lib/ports.js";
import { untilSignal } from "../../lib/signals.js";
import { buildDemoModel, DEMO_FEATURES, DEMO_LABELS, DEMO_MODEL, DEMO_MODULE } from "../demo-model.js";
import { CliError } from "../hub-target.js";

const LOCAL_DEVICE = "local-1";
const AGENT_PORT = 8480;

export interface UpFlags {
  data?: string;
  exit?: boolean;
}

/** Runs `edgefleet up` (registered in up.ts, which loads this module only when the command runs). */
export async function runUp(flags: UpFlags): Promise<void> {
  const step = (text: string) => process.stdout.write(`• ${text}\n`);
  const base = parseHubConfig({ dataDir: flags.data }, process.env);
  await mkdir(join(base.dataDir, "logs"), { recursive: true });

  const port = await pickPort(base.port, base.host, "HTTP API", step);
  const mqttPort = base.mqttUrl
    ? base.mqttPort
    : await pickPort(base.mqttPort, "127.0.0.1", "MQTT broker", step);
  const config = { ...base, port, mqttPort };
  const hubLogPath = join(config.dataDir, "logs", "hub.log");
  const log = createLogger({ component: "hub", level: config.logLevel, destination: hubLogPath });
  step(`starting the hub (data ${config.dataDir}, log ${hubLogPath})`);
  const hub = await startHub(config, { log });
  let agent: AgentProcess | undefined;
  const stopAll = async () => {
    await agent?.stop();
    await hub.close();
  };
  try {
    const client = new HubClient({ url: hub.url, token: hub.adminToken });
    const device = await ensureLocalDevice(client, config.dataDir);
    step(`device ${LOCAL_DEVICE} ready`);
    const moduleVersion = await ensureDemoDeployed(client, step);
    const agentPort = await pickPort(AGENT_PORT, "127.0.0.1", "agent scoring", step);
    const agentLog = join(config.dataDir, "logs", `agent-${LOCAL_DEVICE}.log`);
    agent = await spawnAgent({
      hubUrl: hub.url,
      mqttUrl: hub.mqttUrl,
      deviceId: device.id,
      secret: device.secret,
      dataDir: join(config.dataDir, "agents", LOCAL_DEVICE),
      port: agentPort,
      trustKey: hub.parts.signing.publicKeyPem,
      telemetryIntervalMs: 5000,
      logLevel: "info",
      logFile: agentLog,
    });
    const scoringUrl = agent.scoringUrl;
    step(`agent ${LOCAL_DEVICE} starting (log ${agentLog})`);
    await waitForModule(scoringUrl, DEMO_MODULE, moduleVersion, agent);
    printReady(hub.url, hub.mqttUrl, scoringUrl, join(config.dataDir, "admin-token"));
    if (!flags.exit) await untilSignal();
  } finally {
    await stopAll();
  }
}

async function pickPort(
  preferred: number,
  host: string,
  what: string,
  step: (t: string) => void,
): Promise<number> {
  const port = await preferredOrFreePort(preferred, host === "0.0.0.0" ? "127.0.0.1" : host);
  if (port !== preferred) step(`port ${preferred} (${what}) is taken; using ${port} instead`);
  return port;
}

async function ensureLocalDevice(
  client: HubClient,
  dataDir: string,
): Promise<{ id: string; secret: string }> {
  const path = join(dataDir, "local-device.json");
  const saved = await readJsonFile<{ id: string; secret: string }>(path);
  if (saved) {
    const known = await client.get(`/api/v1/devices/${saved.id}`).then(
      () => true,
      () => false,
    );
    if (known) return saved;
  }
  const provisioned = await client.post<{ device: { id: string }; secret: string }>("/api/v1/devices", {
    id: LOCAL_DEVICE,
    name: "local demo device",
    tags: { site: "local" },
  });
  const credentials = { id: provisioned.device.id, secret: provisioned.secret };
  await writeFileAtomic(path, JSON.stringify(credentials));
  return credentials;
}

/** Registers the demo model and module once; deploys it to the local device unless already desired. */
async function ensureDemoDeployed(client: HubClient, step: (t: string) => void): Promise<string> {
  const { modules } = await client.get<{ modules: { name: string; version: string }[] }>(
    `/api/v1/modules?name=${DEMO_MODULE}`,
  );
  let version = modules[0]?.version;
  if (!version) {
    const { bytes } = buildDemoModel();
    const model = await client.request<{ version: number }>(
      "POST",
      `/api/v1/models/${DEMO_MODEL}/versions?description=demo`,
      bytes,
    );
    step(`built and registered model ${DEMO_MODEL} v${model.version} (ONNX, ${bytes.byteLength} bytes)`);
    version = "1.0.0";
    await client.post("/api/v1/modules", {
      name: DEMO_MODULE,
      version,
      description: "demo classifier: 4 flower measurements to a species",
      model: { name: DEMO_MODEL, version: model.version },
      preprocessing: {
        kind: "tabular",
        input: "features",
        features: DEMO_FEATURES.map((name) => ({ name })),
      },
      postprocessing: { kind: "softmax", output: "logits", labels: DEMO_LABELS },
    });
    step(`packaged and signed module ${DEMO_MODULE}@${version}`);
  }
  const device = await client.get<{ desired?: { modules: { name: string; version: string }[] } | null }>(
    `/api/v1/devices/${LOCAL_DEVICE}`,
  );
  if (!device.desired?.modules.some((m) => m.name === DEMO_MODULE && m.version === version)) {
    await client.post("/api/v1/deployments", {
      module: DEMO_MODULE,
      version,
      selector: { deviceIds: [LOCAL_DEVICE] },
    });
    step(`deployed ${DEMO_MODULE}@${version} to ${LOCAL_DEVICE}`);
  }
  return version;
}

async function waitForModule(
  scoringUrl: string,
  name: string,
  version: string,
  agent: AgentProcess,
): Promise<void> {
  const deadline = Date.now() + 60_000;
  while (Date.now() < deadline) {
    if (agent.child.exitCode !== null)
      throw new CliError(`the agent exited with code ${agent.child.exitCode}; see its log`);
    const modules = await fetch(`${scoringUrl}/v1/modules`)
      .then((r) =>
        r.ok ? (r.json() as Promise<{ modules: { name: string; version: string }[] }>) : undefined,
      )
      .catch(() => undefined);
    if (modules?.modules.some((m) => m.name === name && m.version === version)) return;
    await new Promise((resolve) => setTimeout(resolve, 250));
  }
  throw new CliError(`the agent did not serve ${name}@${version} within 60 s; see its log`);
}

function printReady(hubUrl: string, mqttUrl: string, scoringUrl: string, tokenPath: string): void {
  const example = JSON.stringify({
    features: { sepal_length: 5.1, sepal_width: 3.5, petal_length: 1.4, petal_width: 0.2 },
  });
  process.stdout.write(
    `\nedgefleet is up.\n` +
      `  hub API       ${hubUrl}/api/v1   (OpenAPI: ${hubUrl}/api/v1/openapi.json, admin token in ${tokenPath})\n` +
      `  MQTT broker   ${mqttUrl}\n` +
      `  agent scoring ${scoringUrl}   (device ${LOCAL_DEVICE}, Open Inference Protocol v2 under /v2)\n\n` +
      `score the demo model:\n` +
      `  curl -s -X POST ${scoringUrl}/v1/modules/${DEMO_MODULE}/score -H 'content-type: application/json' -d '${example}'\n\n` +
      `list devices:   npx edgefleet devices list\n` +
      `stop:           Ctrl-C\n`,
  );
}
