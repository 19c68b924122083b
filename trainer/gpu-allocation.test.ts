import { describe, expect, it } from "vitest";
import { ScriptError } from "./errors.js";
import { cudaVisibleDevices, requestedGpus } from "./gpu-allocation.js";

const gpus = [
  { index: 1, name: "NVIDIA H100", memoryMb: 81559 },
  { index: 0, name: "NVIDIA H100", memoryMb: 81559 },
  { index: 2, name: "NVIDIA H100", memoryMb: 81559 },
];

describe("GPU allocation for script jobs", () => {
  it("gives a run the N GPUs it holds, by index", () => {
    expect(cudaVisibleDevices(1, gpus.slice(0, 1), 3)).toBe("1");
    expect(cudaVisibleDevices(2, gpus, 3)).toBe("0,1");
    expect(cudaVisibleDevices(3, gpus, 3)).toBe("0,1,2");
  });

  it("hides the worker's GPUs from a run that asked for none", () => {
    expect(cudaVisibleDevices(0, [], 3)).toBe("");
  });

  it("leaves the variable alone on a worker without GPUs", () => {
    expect(cudaVisibleDevices(0, [], 0)).toBeUndefined();
  });

  it("refuses a run asking for more GPUs than it holds (retryable: another worker may fit)", () => {
    expect(() => cudaVisibleDevices(4, gpus, 3)).toThrow(ScriptError);
    expect(() => cudaVisibleDevices(1, [], 0)).toThrow(/asks for 1 GPUs; this worker has 0 free of 0/);
  });

  it("reads the count from the compute selector", () => {
    expect(requestedGpus(undefined)).toBe(0);
    expect(requestedGpus({ gpus: 2 })).toBe(2);
    expect(requestedGpus({ gpus: 0, labels: { gpu: "true" } })).toBe(0);
  });
});
