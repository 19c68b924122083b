/** Test set-up shared by the agent process tests: a small tabular module on the hub, and a device. */
import { buildMlpClassifier } from "../../modules/onnx/models.js";
import type { TestHub } from "./hub.js";
import { getJson } from "./wait.js";

/** Feature names of the module `publishTabularModule` creates. */
export const TABULAR_FEATURES = ["f0", "f1", "f2", "f3"];

/** Registers a 4-feature MLP classifier as model `name` and packs it as module `name@version`. */
export async function publishTabularModule(hub: TestHub, name: string, version = "1.0.0"): Promise<void> {
  const model = buildMlpClassifier({ inputSize: 4, hiddenSizes: [8], classes: 3, seed: 3 });
  const registered = await hub.client.request<{ version: number }>(
    "POST",
    `/api/v1/models/${name}/versions`,
    model.bytes,
  );
  await hub.client.post("/api/v1/modules", {
    name,
    version,
    model: { name, version: registered.version },
    preprocessing: {
      kind: "tabular",
      input: "features",
      features: TABULAR_FEATURES.map((f) => ({ name: f })),
    },
    postprocessing: { kind: "argmax", output: "logits" },
  });
}

/** Creates device `id`; returns its id and secret. */
export async function createDevice(hub: TestHub, id: string): Promise<{ id: string; secret: string }> {
  const created = await hub.client.post<{ device: { id: string }; secret: string }>("/api/v1/devices", {
    id,
  });
  return { id: created.device.id, secret: created.secret };
}

/** Sums the requests of every telemetry window the hub stored for `deviceId`. */
export async function storedRequests(hub: TestHub, deviceId: string): Promise<number> {
  const { windows } = await hub.client.get<{ windows: { requests: number }[] }>(
    `/api/v1/telemetry?device=${deviceId}&limit=10000`,
  );
  return windows.reduce((sum, window) => sum + window.requests, 0);
}

/** The version of `module` the agent at `scoringUrl` serves, or undefined (a `waitFor` probe). */
export async function servedVersion(scoringUrl: string, module: string): Promise<string | undefined> {
  const body = await getJson<{ modules: { name: string; version: string }[] }>(`${scoringUrl}/v1/modules`);
  return body?.modules.find((m) => m.name === module)?.version;
}
