import { describe, expect, it } from "vitest";
import { canonicalJson, type MonitoringInput, MonitoringSchema } from "./monitoring.js";
import { monitoringSpec as spec } from "./monitoring-fixture.js";

describe("monitoring section", () => {
  it("parses with defaults (minRows 20, samples off unless given)", () => {
    const parsed = MonitoringSchema.parse(spec());
    expect(parsed.minRows).toBe(20);
    expect(parsed.samples).toBeUndefined();
    expect(MonitoringSchema.parse({ ...spec(), samples: { allowed: true } }).samples).toEqual({
      allowed: true,
      maxPerWindow: 20,
    });
  });

  it("refuses bins that do not line up, unordered edges, a numeric argmax and a wrong baselineId", () => {
    const bad = (overrides: Partial<MonitoringInput>, message: RegExp) => {
      const result = MonitoringSchema.safeParse(spec(overrides));
      expect(result.success).toBe(false);
      expect(result.error?.message).toMatch(message);
    };
    const x = spec().columns[0]!;
    bad({ columns: [{ ...x, edges: [0, 2, 1] } as typeof x] }, /increase strictly/);
    bad({ columns: [{ ...x, edges: [0, 1, 2, 3] } as typeof x] }, /reference.counts needs 3/);
    bad({ columns: [{ ...x, source: { output: "logits", argmax: true } }] }, /must be categorical/);
    bad({ columns: [x, x] }, /appears twice/);
    expect(MonitoringSchema.safeParse({ ...spec(), baselineId: "b".repeat(64) }).error?.message).toMatch(
      /baselineId/,
    );
  });

  it("canonical JSON sorts keys at every level and drops undefined", () => {
    expect(canonicalJson({ b: 1, a: [{ d: 2, c: undefined, b: null }] })).toBe(
      '{"a":[{"b":null,"d":2}],"b":1}',
    );
  });
});
