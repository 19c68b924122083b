/**
 * Shadow scoring end to end on real agents (two agent processes, a real hub, onnxruntime): a
 * candidate loads beside the serving version on every target and scores copies of the requests
 * while every answer still comes from the serving version; its agreement, output shift and latency
 * reach the hub in telemetry and show side by side with the serving version's (API and CLI). A
 * candidate that answers like the serving one is promoted and rolled out; one that disagrees is
 * dropped, and no client ever got an answer from it.
 */
import { execFile } from "node:child_process";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type AgentProcess, spawnAgent } from "../../lib/agent-process.js";
import { projectRoot } from "../../lib/paths.js";
import { buildMlpClassifier } from "../../modules/onnx/models.js";
import { seededRandom } from "../../modules/onnx/random.js";
import { startTestHub, type TestHub } from "../support/hub.js";
import { getJson, waitFor } from "../support/wait.js";

const MODULE = "shadowed";
const FEATURES = ["f0", "f1", "f2", "f3"];
const LABELS = ["a", "b", "c"];
const same = buildMlpClassifier({ inputSize: 4, hiddenSizes: [8], classes: 3, seed: 1 });
const other = buildMlpClassifier({ inputSize: 4, hiddenSizes: [8], classes: 3, seed: 9 });

interface View {
  status: string;
  outcome: { reason: string; message: string } | null;
  gateResults: { results: { gate: string; status: string; value: number | null }[] } | null;
  shadow?: {
    phase: string;
    gates: { gate: string; status: string; value: number | null }[];
    serving: { versions: string[]; requests: number; latencyP95Ms: number | null };
    candidate: {
      version: string;
      requests: number;
      errors: number;
      compared: number;
      agreement: number | null;
      meanAbsShift: number | null;
      latencyP95Ms: number | null;
    };
    devices: { targeted: number; scoring: number; failed: unknown[] };
  };
}

let hub: TestHub;
const agents: AgentProcess[] = [];
const random = seededRandom(5);

async function register(version: string, model: { bytes: Uint8Array }) {
  const registered = await hub.client.request<{ version: number }>(
    "POST",
    `/api/v1/models/${MODULE}/versions`,
    model.bytes,
  );
  await hub.client.post("/api/v1/modules", {
    name: MODULE,
    version,
    model: { name: MODULE, version: registered.version },
    preprocessing: { kind: "tabular", input: "features", features: FEATURES.map((name) => ({ name })) },
    postprocessing: { kind: "softmax", output: "logits", labels: LABELS },
  });
}

const view = (id: string) => hub.client.get<View>(`/api/v1/deployments/${id}`);

/**
 * Scores batches of random rows on every agent until `done` says the phase is over; returns the
 * versions that answered in batches after which the phase was still on (a batch the phase ended
 * during proves nothing either way and is left out).
 */
async function trafficUntil(what: string, done: () => Promise<boolean>): Promise<Set<string>> {
  const answeredBy = new Set<string>();
  await waitFor(
    what,
    async () => {
      const batch = new Set<string>();
      for (let i = 0; i < 10; i++) {
        for (const agent of agents) {
          const features = Object.fromEntries(FEATURES.map((f) => [f, random() * 8 - 4]));
          const response = await fetch(`${agent.scoringUrl}/v1/modules/${MODULE}/score`, {
            method: "POST",
            headers: { "content-type": "application/json" },
            body: JSON.stringify({ features }),
          });
          expect(response.status).toBe(200);
          batch.add(((await response.json()) as { version: string }).version);
        }
      }
      if (await done()) return true;
      for (const v of batch) answeredBy.add(v);
      return false;
    },
    90_000,
  );
  return answeredBy;
}

async function serving(agent: AgentProcess): Promise<string | undefined> {
  const body = await getJson<{ modules: { name: string; version: string }[] }>(
    `${agent.scoringUrl}/v1/modules`,
  );
  return body?.modules.find((m) => m.name === MODULE)?.version;
}

function cli(...args: string[]): Promise<{ code: number; stdout: string }> {
  return new Promise((resolve) => {
    execFile(
      process.execPath,
      [join(projectRoot(), "bin", "edgefleet.js"), ...args, "--hub", hub.url, "--token", hub.adminToken],
      { timeout: 60_000 },
      (error, stdout) => resolve({ code: error ? Number(error.code ?? 1) : 0, stdout }),
    );
  });
}

beforeAll(async () => {
  hub = await startTestHub();
  for (const id of ["sh-1", "sh-2"]) {
    const { secret } = await hub.client.post<{ secret: string }>("/api/v1/devices", {
      id,
      tags: { fleet: "shadow" },
    });
    agents.push(
      await spawnAgent({
        hubUrl: hub.url,
        mqttUrl: hub.mqttUrl,
        deviceId: id,
        secret,
        trustKey: hub.parts.signing.publicKeyPem,
        telemetryIntervalMs: 300,
        logLevel: "info",
      }),
    );
  }
  await register("1.0.0", same);
  await register("1.1.0", same);
  await register("2.0.0", other);
  await hub.client.post("/api/v1/deployments", {
    module: MODULE,
    version: "1.0.0",
    selector: { tags: { fleet: "shadow" } },
  });
  for (const agent of agents)
    await waitFor(`${agent.deviceId} serving 1.0.0`, async () => (await serving(agent)) === "1.0.0", 60_000);
}, 120_000);

afterAll(async () => {
  await Promise.all(agents.map((a) => a.stop()));
  await hub?.dispose();
});

describe("shadow scoring on real agents", () => {
  it("a candidate that answers like the serving version: scored beside it, figures side by side, then promoted and rolled out", async () => {
    const d = await hub.client.post<{ id: string }>("/api/v1/deployments", {
      module: MODULE,
      version: "1.1.0",
      selector: { tags: { fleet: "shadow" } },
      shadow: { bakeMs: 2_000, minScored: 40 },
    });
    // While the candidate shadows, every answer is the serving version's.
    const during = await trafficUntil("the candidate judged", async () => {
      const v = await view(d.id);
      return v.shadow?.phase !== "scoring" || v.status !== "active";
    });
    expect([...during]).toEqual(["1.0.0"]);
    const promoted = await view(d.id);
    expect(promoted.shadow?.phase).toBe("promoted");
    const gates = Object.fromEntries(promoted.shadow!.gates.map((r) => [r.gate, r]));
    expect(gates["shadow-agreement"]).toMatchObject({ status: "pass", value: 1 });
    expect(gates["shadow-scored"]!.value!).toBeGreaterThanOrEqual(40);
    // Side by side: the same requests, both versions' figures.
    const s = promoted.shadow!;
    expect(s.serving.versions).toEqual(["1.0.0"]);
    expect(s.candidate).toMatchObject({ version: "1.1.0", errors: 0, agreement: 1 });
    expect(s.candidate.meanAbsShift).toBe(0);
    expect(s.candidate.latencyP95Ms).not.toBeNull();
    expect(s.serving.latencyP95Ms).not.toBeNull();
    expect(s.candidate.compared).toBeGreaterThanOrEqual(40);
    const table = await cli("deployments", "shadow", d.id);
    expect(table.code).toBe(0);
    expect(table.stdout).toMatch(/serving 1\.0\.0\s+candidate 1\.1\.0/);
    expect(table.stdout).toMatch(/agreement 100\.0% of \d+ rows, mean output shift 0/);
    // Promoted: an ordinary rollout of the candidate follows, to completed.
    await waitFor(
      "the promoted rollout completed",
      async () => (await view(d.id)).status === "completed",
      60_000,
    );
    for (const agent of agents)
      await waitFor("1.1.0 serving", async () => (await serving(agent)) === "1.1.0");
  }, 150_000);

  it("a candidate that disagrees is dropped: rolled back without one answer from it", async () => {
    const d = await hub.client.post<{ id: string }>("/api/v1/deployments", {
      module: MODULE,
      version: "2.0.0",
      selector: { tags: { fleet: "shadow" } },
      shadow: { bakeMs: 2_000, minScored: 40, minAgreement: 0.99 },
    });
    const during = await trafficUntil(
      "the candidate judged",
      async () => (await view(d.id)).status !== "active",
    );
    expect([...during]).toEqual(["1.1.0"]);
    const dropped = await view(d.id);
    expect(dropped.status).toBe("rolled-back");
    expect(dropped.outcome?.reason).toBe("shadow-dropped");
    expect(dropped.outcome?.message).toMatch(/shadow candidate 2\.0\.0 dropped: shadow-agreement/);
    const agreement = dropped.gateResults!.results.find((r) => r.gate === "shadow-agreement")!;
    expect(agreement.status).toBe("fail");
    expect(agreement.value!).toBeLessThan(0.99);
    expect(dropped.shadow!.candidate.meanAbsShift!).toBeGreaterThan(0);
    // The candidate is unloaded and the serving version never changed.
    for (const agent of agents) expect(await serving(agent)).toBe("1.1.0");
    await waitFor("the agents report no candidate", async () => {
      const devices = await Promise.all(
        ["sh-1", "sh-2"].map((id) =>
          hub.client.get<{ reported: { modules: { name: string; shadow?: unknown }[] } }>(
            `/api/v1/devices/${id}`,
          ),
        ),
      );
      return devices.every((x) => x.reported.modules.every((m) => m.shadow === undefined));
    });
  }, 150_000);
});
