/**
 * Shadow scoring on the hub: the candidate's and the serving version's figures on the same
 * requests, side by side (from the shadow summaries on telemetry windows [WIRE-5.4] and the
 * candidates' reported states [WIRE-4.3]), and the gates that promote the candidate or drop it.
 * `shadowFigures` and `judgeShadow` are pure; `observeShadow` reads the store.
 */
import type { ModuleWindow } from "../../wire/messages.js";
import type { ShadowSpec } from "../db/schema/deployments.js";
import type { Deployment } from "../repos/index.js";
import { rolloutWindows } from "../repos/rollout-telemetry.js";
import type { ObserveDeps } from "./observe.js";
import { p95 } from "./stats.js";

/** One version's figures over the shadowed requests. */
export interface VersionFigures {
  version: string;
  requests: number;
  errors: number;
  latencyP95Ms: number | null;
  latencyMeanMs: number | null;
  /** Predicted label counts (classifiers). */
  labels: Record<string, number>;
}

/** Serving and candidate side by side, plus how the candidate compares. */
export interface ShadowFigures {
  serving: Omit<VersionFigures, "version"> & { versions: string[] };
  candidate: VersionFigures & {
    /** Requests skipped because the candidate was busy. */
    dropped: number;
    compared: number;
    agreed: number;
    /** agreed ÷ compared; null before any row was compared. */
    agreement: number | null;
    /** Mean |candidate − serving| of the numeric outputs per compared row; null without numbers. */
    meanAbsShift: number | null;
  };
  devices: {
    targeted: number;
    scoring: number;
    loading: number;
    failed: { deviceId: string; error: string }[];
  };
}

/** What each target reports for the candidate. */
export interface ShadowReport {
  deviceId: string;
  state?: "loading" | "scoring" | "failed" | undefined;
  error?: string | undefined;
}

/** Adds up the windows that carry this candidate's shadow summary. */
export function shadowFigures(
  candidateVersion: string,
  windows: readonly ModuleWindow[],
  reports: readonly ShadowReport[],
): ShadowFigures {
  const servingLatency: number[] = [];
  const candidateLatency: number[] = [];
  const servingLabels: Record<string, number> = {};
  const candidateLabels: Record<string, number> = {};
  const versions = new Set<string>();
  let requests = 0;
  let errors = 0;
  let servingSum = 0;
  let scored = 0;
  let candidateErrors = 0;
  let candidateSum = 0;
  let dropped = 0;
  let compared = 0;
  let agreed = 0;
  let shiftSum = 0;
  let shiftRows = 0;
  const add = (into: number[], counts: readonly number[]) =>
    counts.forEach((c, i) => {
      into[i] = (into[i] ?? 0) + c;
    });
  const addLabels = (into: Record<string, number>, outputs: ModuleWindow["outputs"]) => {
    for (const [label, count] of Object.entries(outputs?.find((o) => o.name === "label")?.labels ?? {}))
      into[label] = (into[label] ?? 0) + count;
  };
  for (const w of windows) {
    const s = w.shadow;
    if (!s || s.version !== candidateVersion) continue;
    versions.add(w.version);
    requests += w.requests;
    errors += w.errors;
    servingSum += w.latencySumMs;
    add(servingLatency, w.latencyCounts);
    addLabels(servingLabels, w.outputs);
    scored += s.scored;
    candidateErrors += s.errors;
    candidateSum += s.latencySumMs;
    dropped += s.dropped;
    compared += s.compared;
    agreed += s.agreed;
    shiftSum += s.shiftSum;
    shiftRows += s.shiftRows;
    add(candidateLatency, s.latencyCounts);
    addLabels(candidateLabels, s.outputs);
  }
  const runs = scored + candidateErrors;
  return {
    serving: {
      versions: [...versions].sort(),
      requests,
      errors,
      latencyP95Ms: p95(servingLatency),
      latencyMeanMs: requests > 0 ? servingSum / requests : null,
      labels: servingLabels,
    },
    candidate: {
      version: candidateVersion,
      requests: runs,
      errors: candidateErrors,
      latencyP95Ms: p95(candidateLatency),
      latencyMeanMs: runs > 0 ? candidateSum / runs : null,
      labels: candidateLabels,
      dropped,
      compared,
      agreed,
      agreement: compared > 0 ? agreed / compared : null,
      meanAbsShift: shiftRows > 0 ? shiftSum / shiftRows : null,
    },
    devices: {
      targeted: reports.length,
      scoring: reports.filter((r) => r.state === "scoring").length,
      loading: reports.filter((r) => r.state === "loading").length,
      failed: reports
        .filter((r) => r.state === "failed")
        .map((r) => ({ deviceId: r.deviceId, error: r.error ?? "failed" })),
    },
  };
}

export interface ShadowGateResult {
  gate: "shadow-load" | "shadow-scored" | "shadow-agreement" | "shadow-error-rate" | "shadow-latency-p95";
  status: "pass" | "fail" | "no-data";
  value: number | null;
  threshold: number;
  message: string;
}

/** pass: promote; fail: drop; waiting: too few scored requests, shadow again. */
export interface ShadowVerdict {
  passed: boolean;
  waiting: boolean;
  results: ShadowGateResult[];
  figures: ShadowFigures;
}

/** Judges the candidate on its figures. */
export function judgeShadow(figures: ShadowFigures, spec: ShadowSpec): ShadowVerdict {
  const { candidate, serving, devices } = figures;
  const results: ShadowGateResult[] = [];
  const loadRate = devices.targeted === 0 ? 0 : devices.failed.length / devices.targeted;
  results.push({
    gate: "shadow-load",
    status: loadRate > spec.maxLoadFailureRate ? "fail" : "pass",
    value: loadRate,
    threshold: spec.maxLoadFailureRate,
    message: `${devices.failed.length} of ${devices.targeted} targets failed to load the candidate${devices.failed[0] ? ` (${devices.failed[0].deviceId}: ${devices.failed[0].error})` : ""}`,
  });
  const enough = candidate.requests >= spec.minScored;
  results.push({
    gate: "shadow-scored",
    status: enough ? "pass" : "no-data",
    value: candidate.requests,
    threshold: spec.minScored,
    message: `${candidate.requests} requests scored by the candidate (${candidate.dropped} skipped while it was busy)`,
  });
  if (enough) {
    const agreement = candidate.agreement ?? 0;
    results.push({
      gate: "shadow-agreement",
      status: agreement < spec.minAgreement ? "fail" : "pass",
      value: candidate.agreement,
      threshold: spec.minAgreement,
      message: `${candidate.agreed} of ${candidate.compared} rows got the serving version's answer${candidate.meanAbsShift !== null ? `; mean output shift ${candidate.meanAbsShift.toPrecision(3)}` : ""}`,
    });
    const errorRate = candidate.errors / candidate.requests;
    results.push({
      gate: "shadow-error-rate",
      status: errorRate > spec.maxErrorRate ? "fail" : "pass",
      value: errorRate,
      threshold: spec.maxErrorRate,
      message: `${candidate.errors} of ${candidate.requests} candidate runs failed`,
    });
    const ratio =
      candidate.latencyP95Ms !== null && serving.latencyP95Ms !== null
        ? candidate.latencyP95Ms / serving.latencyP95Ms
        : null;
    results.push({
      gate: "shadow-latency-p95",
      status: ratio === null ? "no-data" : ratio > spec.maxLatencyRatio ? "fail" : "pass",
      value: ratio,
      threshold: spec.maxLatencyRatio,
      message: `p95 ${candidate.latencyP95Ms ?? "?"} ms (candidate) vs ${serving.latencyP95Ms ?? "?"} ms (serving), same requests`,
    });
  }
  const failed = results.some((r) => r.status === "fail");
  return { passed: !failed && enough, waiting: !failed && !enough, results, figures };
}

/** Reads the candidate's figures for a deployment: its targets' windows since shadowing began. */
export async function observeShadow(deps: ObserveDeps, d: Deployment): Promise<ShadowFigures> {
  await deps.flushTelemetry();
  const windows = await rolloutWindows(deps.db, {
    module: d.moduleName,
    deviceIds: d.targetDeviceIds,
    since: d.createdAt,
  });
  const rows = new Map((await deps.repos.devices.list({ ids: d.targetDeviceIds })).map((r) => [r.id, r]));
  const reports = d.targetDeviceIds.map((deviceId): ShadowReport => {
    const shadow = rows.get(deviceId)?.reported?.modules.find((m) => m.name === d.moduleName)?.shadow;
    return shadow?.version === d.moduleVersion
      ? { deviceId, state: shadow.state, error: shadow.error }
      : { deviceId };
  });
  return shadowFigures(d.moduleVersion, windows, reports);
}
