/**
 * The training API's shared vocabulary (trainer/README.md, hub/jobs/README.md): run and attempt
 * statuses, the worker protocol's messages (capabilities, claim, heartbeat, logs, metrics, failure),
 * and the hub's answers as clients read them (runs, datasets, model versions: the fields clients
 * use; `--json` prints whatever the hub sent). The hub's tables and the worker both import these, so
 * the two sides cannot drift apart.
 */
import { z } from "zod";
import type { RunStatus } from "./run-statuses.js";

export * from "./run-statuses.js";

export type JobKind = "builtin" | "script";

export interface GpuInfo {
  index: number;
  name: string;
  memoryMb: number;
}

/** What a worker advertises; runs go only to workers whose capabilities match their compute selector. */
export interface WorkerCapabilities {
  cpus: number;
  memoryMb: number;
  gpus: GpuInfo[];
  labels: Record<string, string>;
  kinds: JobKind[];
  version: string;
}

/** What a worker gets from a successful claim. */
export const ClaimSchema = z.object({
  runId: z.string().min(1),
  attempt: z.number().int().positive(),
  leaseMs: z.number().positive(),
  heartbeatMs: z.number().positive(),
  /**
   * This attempt's own bearer token, for its script (EDGEFLEET_TOKEN): it may write only this
   * attempt's logs, metrics and model and read its inputs, and dies with the attempt.
   */
  attemptToken: z.string().min(1).optional(),
  spec: z
    .object({
      experiment: z.string(),
      task: z.enum(["classification", "regression"]),
      target: z.string(),
      recipe: z.string(),
      params: z
        .record(z.string(), z.unknown())
        .optional()
        .meta({ description: "the recipe's hyperparameters as submitted" }),
      seed: z.number().optional(),
      split: z.object({ validation: z.number(), test: z.number() }).optional(),
      maxCategories: z.number().int().positive().optional(),
      overrides: z.record(z.string(), z.string()).optional(),
      script: z.object({ snapshot: z.string(), command: z.string() }).optional(),
    })
    .passthrough(),
  dataset: z
    .object({
      name: z.string(),
      version: z.string(),
      format: z.enum(["csv", "jsonl"]),
      url: z.string(),
    })
    .passthrough(),
  snapshot: z.object({ sha256: z.string(), url: z.string() }).optional(),
  extraRows: z.object({ url: z.string() }).optional(),
});
export type Claim = z.infer<typeof ClaimSchema>;
export type RunSpec = Claim["spec"];

/** The hub's answer to a heartbeat. */
export const HeartbeatSchema = z.object({
  leaseMs: z.number().optional(),
  cancel: z.array(z.string()).default([]),
  /** Runs whose attempt is no longer ours (swept, replaced): the worker stops them. */
  lost: z.array(z.string()).default([]),
});
export type HeartbeatAnswer = z.infer<typeof HeartbeatSchema>;

/** A log line as the worker posts it. */
export interface WorkerLogLine {
  stream: "stdout" | "stderr" | "system";
  text: string;
  at?: string;
}
export interface MetricPoint {
  name: string;
  value: number;
  step: number;
  at?: string;
}
export interface Progress {
  iteration: number;
  of: number;
  phase?: string;
}
export interface FailBody {
  error: { code: string; message: string };
  retryable: boolean;
}

export type MetricGroups = Partial<Record<"test" | "validation" | "train", Record<string, number>>>;

export interface Attempt {
  n: number;
  workerId: string;
  status: string;
  leaseExpiresAt?: string;
  startedAt?: string;
  finishedAt?: string;
  error?: { code: string; message: string };
}

export interface Run {
  id: string;
  experiment: string;
  status: RunStatus;
  spec: {
    recipe: string;
    task?: string;
    target?: string;
    dataset: { name: string; version?: string };
    params?: Record<string, unknown>;
    seed?: number;
    script?: { snapshot: string; command: string };
    register?: { model: string; aliases?: string[] };
    compute?: Record<string, unknown>;
    maxAttempts?: number;
    [key: string]: unknown;
  };
  attempts: Attempt[];
  attempt: number;
  metrics: MetricGroups;
  outputs: {
    model?: { name: string; version: number | string };
    onnxSha256?: string;
    leaderboard?: unknown;
    parity?: unknown;
  };
  error?: { code: string; message: string };
  createdAt: string;
  startedAt?: string;
  finishedAt?: string;
  durationMs?: number;
}

export interface DatasetColumn {
  name: string;
  kind: string;
  note?: string;
  stats?: Record<string, unknown>;
}

export interface DatasetVersion {
  name: string;
  version: string;
  format: string;
  bytes: number;
  rows: number;
  target?: string;
  task?: string;
  columns: DatasetColumn[];
  createdAt: string;
}

export interface LogLine {
  seq: number;
  attempt: number;
  stream: string;
  text: string;
  at?: string;
}

export interface ModelVersionView {
  modelName?: string;
  version: number;
  sha256?: string;
  aliases?: string[];
  lineage?: Record<string, unknown> | null;
  metrics?: MetricGroups | null;
  [key: string]: unknown;
}
