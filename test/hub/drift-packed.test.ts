/**
 * Packed drift summaries through the hub's telemetry handler (real hub, PGlite): a packed summary is
 * decoded on the module version's monitoring spec and stored exactly as the plain one an older agent
 * sends; damaged data, an unknown module version, a foreign baseline or both forms at once are
 * refused — no summary row, nothing partial — while the window's serving statistics are still stored.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { encodeSummary } from "../../drift-summary/codec.js";
import { baselineIdOf, type Monitoring, MonitoringSchema } from "../../drift-summary/monitoring.js";
import type { DriftSummary } from "../../drift-summary/summary.js";
import { deviceMessageHandlers } from "../../hub/services/device-messages.js";
import { buildMlpClassifier } from "../../modules/onnx/models.js";
import type { ModuleWindow } from "../../wire/messages.js";
import { driftWindow, summaryFor } from "../support/drift-windows.js";
import { startTestHub, type TestHub } from "../support/hub.js";

const MODULE = { name: "packed", version: "1.0.0" };
const body = {
  columns: ["f0", "f1"].map((name, index) => ({
    name,
    kind: "numeric" as const,
    source: { input: "features", index },
    edges: [-3, -1, 0, 1, 3],
    reference: { counts: [1, 2, 2, 1], missing: 0, below: 0, above: 0, count: 6, mean: 0, std: 1 },
  })),
  outputs: [
    {
      name: "predicted",
      kind: "categorical" as const,
      source: { output: "logits", argmax: true as const },
      vocabulary: ["a", "b"],
      reference: { counts: [1, 1], unseen: 0, missing: 0, count: 2 },
    },
  ],
};
const spec: Monitoring = MonitoringSchema.parse({ baselineId: baselineIdOf(body), ...body });

let hub: TestHub;
let handlers: ReturnType<typeof deviceMessageHandlers>;
const deviceId = "packed-edge";
let seq = 0;

beforeAll(async () => {
  hub = await startTestHub();
  await hub.client.post("/api/v1/devices", { id: deviceId });
  const model = buildMlpClassifier({ inputSize: 2, hiddenSizes: [4], classes: 2, seed: 1 });
  const registered = await hub.client.request<{ version: number }>(
    "POST",
    "/api/v1/models/packed/versions",
    model.bytes,
  );
  await hub.client.post("/api/v1/modules", {
    ...MODULE,
    model: { name: "packed", version: registered.version },
    preprocessing: { kind: "tabular", input: "features", features: [{ name: "f0" }, { name: "f1" }] },
    postprocessing: { kind: "softmax", output: "logits", labels: ["a", "b"] },
    monitoring: spec,
  });
  handlers = deviceMessageHandlers(hub.parts);
});

afterAll(async () => {
  await hub?.dispose();
});

/** Sends one window through the telemetry handler; returns its seq once written. */
async function send(entry: (drift: DriftSummary) => Partial<ModuleWindow>, module = MODULE): Promise<number> {
  seq++;
  const drift = summaryFor(spec, 40 + seq, {
    seed: seq,
    shift: seq % 2 ? ["f1"] : [],
    at: new Date(seq * 60_000),
  });
  const window = driftWindow(seq, module, drift);
  const { drift: _plain, ...rest } = window.modules[0]!;
  window.modules[0] = { ...rest, ...entry(drift) } as ModuleWindow;
  await handlers.onTelemetry(deviceId, window);
  await hub.parts.telemetry.flush();
  return seq;
}

async function storedSummary(at: number): Promise<unknown> {
  const rows = await hub.parts.drift.store.data.summaries({ deviceId, limit: 1000 });
  return rows.find((row) => row.seq === at)?.summary;
}

async function storedWindow(at: number): Promise<Record<string, unknown> | undefined> {
  const { windows } = await hub.client.get<{ windows: { seq: number; payload: Record<string, unknown> }[] }>(
    `/api/v1/telemetry?device=${deviceId}&limit=1000`,
  );
  return windows.find((w) => w.seq === at);
}

describe("packed drift summaries at the hub", () => {
  it("decodes a packed summary and stores what a plain one stores", async () => {
    let sent: DriftSummary | undefined;
    const packed = await send((drift) => {
      sent = drift;
      return { driftPacked: encodeSummary(drift, spec) };
    });
    expect(await storedSummary(packed)).toEqual(sent);
    let plainSent: DriftSummary | undefined;
    const plain = await send((drift) => {
      plainSent = drift;
      return { drift };
    });
    expect(await storedSummary(plain)).toEqual(plainSent);
    const window = await storedWindow(packed);
    expect(window).toBeDefined();
    expect(JSON.stringify(window)).not.toContain("driftPacked");
    expect(handlers.driftStats()).toMatchObject({ decoded: 1, refused: 0 });
  });

  it("refuses what it cannot decode whole, stores the serving statistics, and goes on", async () => {
    const cases: ((drift: DriftSummary) => Partial<ModuleWindow>)[] = [
      // Damaged: cut short.
      (drift) => {
        const p = encodeSummary(drift, spec);
        return {
          driftPacked: { ...p, packed: Buffer.from(p.packed, "base64").subarray(0, 5).toString("base64") },
        };
      },
      // A baseline that is not this version's.
      (drift) => ({ driftPacked: { ...encodeSummary(drift, spec), baselineId: "e".repeat(64) } }),
      // Both forms.
      (drift) => ({ drift, driftPacked: encodeSummary(drift, spec) }),
    ];
    for (const [i, entry] of cases.entries()) {
      const at = await send(entry);
      expect(await storedSummary(at)).toBeUndefined();
      expect(await storedWindow(at)).toBeDefined();
      expect(handlers.driftStats().refused).toBe(i + 1);
    }
    // A module version the hub does not know.
    const unknown = await send((drift) => ({ driftPacked: encodeSummary(drift, spec) }), {
      name: "packed",
      version: "9.9.9",
    });
    expect(await storedSummary(unknown)).toBeUndefined();
    expect(handlers.driftStats().refused).toBe(cases.length + 1);
    // The next good window still decodes.
    let sent: DriftSummary | undefined;
    const good = await send((drift) => {
      sent = drift;
      return { driftPacked: encodeSummary(drift, spec) };
    });
    expect(await storedSummary(good)).toEqual(sent);
  });
});
