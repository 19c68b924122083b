/** A small valid monitoring section for tests: one numeric input column, one argmax output. */
import { baselineIdOf, type MonitoringInput } from "./monitoring.js";

/** The fixture with `overrides` applied and its baselineId recomputed. */
export function monitoringSpec(overrides: Partial<MonitoringInput> = {}): MonitoringInput {
  const body = {
    columns: [
      {
        name: "x",
        kind: "numeric" as const,
        source: { input: "features", index: 0 },
        edges: [0, 1, 2],
        reference: { counts: [5, 5], missing: 0, below: 0, above: 0, count: 10, mean: 1, std: 0.5 },
      },
    ],
    outputs: [
      {
        name: "predicted",
        kind: "categorical" as const,
        source: { output: "logits", argmax: true as const },
        vocabulary: ["a", "b"],
        reference: { counts: [4, 6], unseen: 0, missing: 0, count: 10 },
      },
    ],
  };
  const merged = { ...body, ...overrides };
  return { baselineId: baselineIdOf(merged), ...merged };
}
