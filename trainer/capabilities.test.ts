import { describe, expect, it } from "vitest";
import { detectCapabilities, parseLabels, parseNvidiaSmi } from "./capabilities.js";

describe("parseNvidiaSmi", () => {
  it("reads one GPU per line: index, name, memory in MiB", () => {
    const output = "0, NVIDIA H100 80GB HBM3, 81559\n1, NVIDIA H100 80GB HBM3, 81559\n";
    expect(parseNvidiaSmi(output)).toEqual([
      { index: 0, name: "NVIDIA H100 80GB HBM3", memoryMb: 81559 },
      { index: 1, name: "NVIDIA H100 80GB HBM3", memoryMb: 81559 },
    ]);
  });

  it("keeps commas inside a name and accepts CRLF", () => {
    expect(parseNvidiaSmi("0, Tesla T4, rev. A, 15360\r\n")).toEqual([
      { index: 0, name: "Tesla T4, rev. A", memoryMb: 15360 },
    ]);
  });

  it("skips lines it cannot read instead of failing", () => {
    const output = [
      "NVIDIA-SMI has failed because it couldn't communicate with the NVIDIA driver.",
      "0, Quadro P1000, [N/A]",
      "",
      "1, GeForce RTX 3090, 24576",
    ].join("\n");
    expect(parseNvidiaSmi(output)).toEqual([{ index: 1, name: "GeForce RTX 3090", memoryMb: 24576 }]);
  });

  it("reads nothing from empty output", () => {
    expect(parseNvidiaSmi("")).toEqual([]);
  });
});

describe("capabilities", () => {
  it("reports cores, memory, labels, both kinds and the version", async () => {
    const caps = await detectCapabilities({ labels: { pool: "a" }, gpus: [] });
    expect(caps.cpus).toBeGreaterThan(0);
    expect(caps.memoryMb).toBeGreaterThan(0);
    expect(caps).toMatchObject({ gpus: [], labels: { pool: "a" }, kinds: ["builtin", "script"] });
    expect(caps.version).toMatch(/^\d+\.\d+\.\d+/);
  });

  it("parses k=v labels and refuses anything else", () => {
    expect(parseLabels(["gpu=a100", "zone = eu=1"])).toEqual({ gpu: "a100", zone: "eu=1" });
    expect(() => parseLabels(["novalue"])).toThrow('label "novalue" is not key=value');
    expect(() => parseLabels(["=x"])).toThrow("not key=value");
  });
});
