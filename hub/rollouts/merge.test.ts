import { describe, expect, it } from "vitest";
import { type Layer, mergeLayers } from "./merge.js";

const layer = (id: string, module: string, version: string, priority: number, minute: number): Layer => ({
  deploymentId: id,
  moduleName: module,
  moduleVersion: version,
  priority,
  createdAt: new Date(Date.UTC(2025, 0, 1, 0, minute)),
});

describe("mergeLayers", () => {
  it("picks the highest priority per module and lists what it overrode", () => {
    const merged = mergeLayers([
      layer("base", "det", "1.0.0", 0, 1),
      layer("overlay", "det", "2.0.0", 10, 0),
      layer("other", "cls", "3.0.0", 0, 2),
    ]);
    expect(merged).toEqual([
      { name: "cls", version: "3.0.0", deploymentId: "other", priority: 0, overrides: [] },
      {
        name: "det",
        version: "2.0.0",
        deploymentId: "overlay",
        priority: 10,
        overrides: [{ deploymentId: "base", version: "1.0.0", priority: 0 }],
      },
    ]);
  });

  it("breaks priority ties by the newest deployment, whatever the input order", () => {
    const a = layer("a", "m", "1.0.0", 0, 1);
    const b = layer("b", "m", "1.1.0", 0, 2);
    expect(mergeLayers([a, b])[0]?.version).toBe("1.1.0");
    expect(mergeLayers([b, a])[0]?.version).toBe("1.1.0");
    expect(mergeLayers([])).toEqual([]);
  });
});
