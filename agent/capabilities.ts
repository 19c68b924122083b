/** What this device can run, for the birth `status` message. */
import { arch, availableParallelism, platform, totalmem } from "node:os";
import { listSupportedBackends, env as ortEnv } from "onnxruntime-node";
import type { Capabilities } from "../wire/messages.js";

/** Hardware facts and the execution providers this onnxruntime-node build offers. */
export function deviceCapabilities(): Capabilities {
  const capabilities: Capabilities = {
    arch: arch(),
    platform: platform(),
    cpus: Math.max(1, availableParallelism()),
    memoryMb: Math.round(totalmem() / (1024 * 1024)),
    // Providers whose libraries are not bundled (CUDA, TensorRT on linux/x64) may still be absent;
    // the hub treats the list as "compiled in", and loading reports the real failure.
    executionProviders: listSupportedBackends().map((backend) => backend.name),
  };
  if (ortEnv.versions?.common) capabilities.onnxruntimeVersion = ortEnv.versions.common;
  return capabilities;
}
