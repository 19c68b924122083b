/**
 * The firmware profile schema: what a class of device offers a model (arch, OS, execution
 * providers, memory and disk budgets, preferred precision, threads). The hub checks agents'
 * detected capabilities and module variants against it; packaging reads id, arch and os.
 */
import { z } from "zod";

export const PROFILE_ARCHES = ["x64", "arm64", "arm"] as const;
export const PROFILE_OSES = ["linux"] as const;
export const PRECISIONS = ["fp32", "fp16", "int8"] as const;

/**
 * Execution provider names as onnxruntime-node's `listSupportedBackends()` spells them, so a
 * profile compares directly with what an agent reports.
 */
export const EXECUTION_PROVIDERS = [
  "cpu",
  "cuda",
  "tensorrt",
  "webgpu",
  "xnnpack",
  "qnn",
  "coreml",
  "dml",
] as const;

export const ProfileIdSchema = z
  .string()
  .regex(/^[a-z0-9](?:[a-z0-9-]{0,62}[a-z0-9])?$/, "lowercase letters, digits and '-', 1-64 long");

export const PrecisionSchema = z.enum(PRECISIONS);
export type Precision = z.infer<typeof PrecisionSchema>;

export const FirmwareProfileSchema = z
  .object({
    id: ProfileIdSchema,
    name: z.string().min(1).max(200),
    /** Node's `os.arch()` spelling, so it compares with the agent's report as is. */
    arch: z.enum(PROFILE_ARCHES),
    os: z.enum(PROFILE_OSES),
    /** In order of preference; "cpu" last as the fallback every device has. */
    executionProviders: z.array(z.enum(EXECUTION_PROVIDERS)).min(1),
    /** Memory the device can give models (MiB): total RAM minus OS, agent and application. */
    memoryMb: z.number().int().positive(),
    /** Disk the device can give module files (MiB), the previous version kept for rollback included. */
    diskMb: z.number().int().positive(),
    preferredPrecision: PrecisionSchema,
    /** Intra-op threads a model should use on this device. */
    threads: z.number().int().positive().max(256),
    /** Why the numbers are what they are, with sources. */
    notes: z.array(z.string().min(1)).default([]),
  })
  .strict()
  .refine((p) => p.executionProviders.includes("cpu"), {
    message: "executionProviders must include cpu, the fallback every device has",
    path: ["executionProviders"],
  });
export type FirmwareProfile = z.infer<typeof FirmwareProfileSchema>;
