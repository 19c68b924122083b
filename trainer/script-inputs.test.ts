import { mkdtemp, readFile, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import type { RunSpec } from "../hub-api/training.js";
import { loadRunDataset, testSplit } from "../training/run-data.js";
import { separableBinary } from "../training/synthetic.js";
import { ScriptError } from "./errors.js";
import { startMetricsEndpoint } from "./metrics-endpoint.js";
import { writeScriptInputs } from "./script-inputs.js";
import { flattenPredictions } from "./script-job.js";

let dir: string;
beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), "edgefleet-script-inputs-"));
});
afterEach(async () => {
  await rm(dir, { recursive: true, force: true });
});

const spec = {
  experiment: "x",
  task: "classification",
  target: "label",
  recipe: "script",
  seed: 7,
  split: { validation: 0.2, test: 0.2 },
} as RunSpec;

describe("script job inputs", () => {
  it("agree with the hub's own test split, vocabulary and vector feeds", async () => {
    const rows = separableBinary(120, 3);
    const bytes = new TextEncoder().encode(`${rows.map((r) => JSON.stringify(r)).join("\n")}\n`);
    const extra = new TextEncoder().encode(`${JSON.stringify(rows[0])}\n${JSON.stringify(rows[1])}\n`);
    const runSpec = { task: "classification" as const, target: "label", seed: 7, split: spec.split };
    const dataset = await loadRunDataset({ bytes, format: "jsonl" }, runSpec, { extraRows: extra });
    const inputs = await writeScriptInputs(dir, { bytes, format: "jsonl", extraRows: extra, dataset }, spec);

    const hub = testSplit(dataset, runSpec);
    const split = JSON.parse(await readFile(inputs.splitPath, "utf8"));
    expect(split.test).toEqual(Array.from(hub.rows));
    expect(split.train.length + split.validation.length + split.test.length).toBe(122);
    expect(inputs.classes).toEqual(hub.classes);
    expect(inputs.features).toEqual(hub.moduleFeatures);

    const schema = JSON.parse(await readFile(inputs.schemaPath, "utf8"));
    expect(schema).toMatchObject({
      task: "classification",
      target: "label",
      classes: hub.classes,
      rows: 122,
      seed: 7,
      split: { validation: 0.2, test: 0.2, rows: { test: hub.rows.length } },
      input: { name: "features", datatype: "FP32", shape: ["batch", hub.features.length] },
      outputs: [{ name: "label" }, { name: "probabilities", shape: ["batch", hub.classes.length] }],
    });
    const categorical = hub.features.find((f) => f.kind === "categorical");
    expect(categorical).toBeDefined();
    expect(schema.features.find((f: { name: string }) => f.name === categorical!.name).vocabulary).toEqual(
      (categorical as { vocabulary: string[] }).vocabulary,
    );

    // vectors.csv holds exactly the hub's vector feed for the test rows (NaN written as "nan").
    const [header, ...lines] = (await readFile(inputs.vectorsPath, "utf8")).trim().split("\n");
    expect(header!.split(",").map((h) => JSON.parse(h))).toEqual([
      ...hub.features.map((f) => f.name),
      "__target__",
    ]);
    const width = hub.features.length;
    const feed = hub.feeds.features!.data as Float32Array;
    hub.rows.forEach((row, i) => {
      const cells = lines[row]!.split(",").map(Number);
      for (let j = 0; j < width; j++) {
        const expected = feed[i * width + j]!;
        if (Number.isNaN(expected)) expect(cells[j]).toBeNaN();
        else expect(cells[j]).toBeCloseTo(expected, 5);
      }
      expect(cells[width]).toBe(hub.y[i]);
    });
    expect(await readFile(inputs.extraRowsPath!, "utf8")).toBe(new TextDecoder().decode(extra));
  });
});

describe("predictions.json", () => {
  it("flattens probabilities row-major and regression values as they are", () => {
    expect(
      flattenPredictions(
        {
          probabilities: [
            [0.1, 0.9],
            [0.8, 0.2],
          ],
        },
        2,
        2,
      ),
    ).toEqual([0.1, 0.9, 0.8, 0.2]);
    expect(flattenPredictions({ prediction: [1.5, 2] }, 2, 0)).toEqual([1.5, 2]);
    expect(flattenPredictions([1, 2, 3], 3, 0)).toEqual([1, 2, 3]);
  });

  it("refuses the wrong shape with a message that names the sizes", () => {
    const refusal = (fn: () => unknown) => {
      try {
        fn();
      } catch (error) {
        expect(error).toBeInstanceOf(ScriptError);
        return (error as ScriptError).message;
      }
      throw new Error("not refused");
    };
    expect(refusal(() => flattenPredictions({ probabilities: [[1, 0]] }, 2, 2))).toContain(
      "holds 2 values; the test split has 2 rows × 2 classes",
    );
    expect(refusal(() => flattenPredictions({ probabilities: [[1, 0, 0]] }, 1, 2))).toContain(
      "row 0 has 3 probabilities",
    );
    expect(refusal(() => flattenPredictions({ prediction: [1] }, 1, 2))).toContain("writes `probabilities`");
  });
});

describe("the local metrics endpoint", () => {
  it("takes points, lists and progress, and refuses bad bodies and other paths", async () => {
    const points: [string, number, number | undefined][] = [];
    const progress: unknown[] = [];
    const endpoint = await startMetricsEndpoint({
      point: (name, value, step) => points.push([name, value, step]),
      progress: (p) => progress.push(p),
    });
    try {
      expect(endpoint.url).toMatch(/^http:\/\/127\.0\.0\.1:\d+\/[0-9a-f]{24}\/metrics$/);
      const post = (body: unknown, url = endpoint.url) =>
        fetch(url, { method: "POST", body: JSON.stringify(body) }).then(async (r) => ({
          status: r.status,
          text: await r.text(),
        }));
      expect((await post({ name: "loss", value: 0.5, step: 1 })).status).toBe(204);
      expect((await post([{ name: "acc", value: 0.9 }])).status).toBe(204);
      expect((await post({ progress: { iteration: 2, of: 4 } })).status).toBe(204);
      const bad = await post({ name: "loss", value: "high" });
      expect(bad.status).toBe(400);
      expect(bad.text).toContain("value");
      expect((await post({ name: "x", value: 1 }, endpoint.url.replace("/metrics", "/other"))).status).toBe(
        404,
      );
      expect(points).toEqual([
        ["loss", 0.5, 1],
        ["acc", 0.9, undefined],
      ]);
      expect(progress).toEqual([{ iteration: 2, of: 4 }]);
    } finally {
      await endpoint.close();
    }
  });
});
