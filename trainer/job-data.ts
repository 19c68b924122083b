/**
 * A claimed run's data: the dataset version's bytes and optional extra rows, typed by
 * training's `loadRunDataset` (the same function the hub uses to re-derive the test split, so
 * both sides see the same rows in the same order: dataset rows first, then the extra rows).
 */

import type { TrainerHubApi } from "../hub-api/trainer-api.js";
import type { Claim, RunSpec } from "../hub-api/training.js";
import type { Dataset } from "../training/dataset/dataset.js";
import { NO_DATASET_LIMITS } from "../training/dataset/read.js";
import type { ColumnOverride } from "../training/dataset/schema.js";
import { loadRunDataset, type RunDataSpec } from "../training/run-data.js";

export interface JobBytes {
  /** The dataset version's bytes, in `format`. */
  bytes: Uint8Array;
  format: "csv" | "jsonl";
  /** JSON Lines rows appended after the dataset's, when the run has any. */
  extraRows?: Uint8Array;
}

export interface JobData extends JobBytes {
  dataset: Dataset;
}

/** Downloads the dataset version and any extra rows. */
export async function downloadJobBytes(
  claim: Claim,
  api: TrainerHubApi,
  signal?: AbortSignal,
): Promise<JobBytes> {
  const [bytes, extraRows] = await Promise.all([
    api.download(claim.dataset.url, signal),
    claim.extraRows ? api.download(claim.extraRows.url, signal) : Promise.resolve(undefined),
  ]);
  return { bytes, format: claim.dataset.format, ...(extraRows ? { extraRows } : {}) };
}

/** The spec fields that decide data and split, with the hub's defaults for any left out. */
export function runDataSpec(spec: RunSpec): RunDataSpec {
  return {
    task: spec.task,
    target: spec.target,
    seed: spec.seed ?? 1,
    ...(spec.split ? { split: spec.split } : {}),
    ...(spec.overrides ? { overrides: spec.overrides as Record<string, ColumnOverride> } : {}),
    ...(spec.maxCategories !== undefined ? { maxCategories: spec.maxCategories } : {}),
  };
}

/** Types the bytes with the run's target, task and overrides; DatasetError when they do not fit. */
export function parseJobBytes(data: JobBytes, spec: RunSpec): Promise<Dataset> {
  return loadRunDataset({ bytes: data.bytes, format: data.format }, runDataSpec(spec), {
    ...(data.extraRows ? { extraRows: data.extraRows } : {}),
    limits: NO_DATASET_LIMITS,
  });
}

/** Downloads and types. */
export async function loadJobData(claim: Claim, api: TrainerHubApi, signal?: AbortSignal): Promise<JobData> {
  const data = await downloadJobBytes(claim, api, signal);
  return { ...data, dataset: await parseJobBytes(data, claim.spec) };
}
