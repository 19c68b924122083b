/**
 * Health gates: from what the released devices reported and the new and previous versions'
 * telemetry to pass or fail, with every gate's value and threshold kept for the API. Pure.
 */
import type { RolloutGates } from "../db/schema/deployments.js";
import { type Aggregate, meanShift, p95, totalVariation } from "./stats.js";

/** What the gates look at for one deployment at one moment. */
export interface GateObservation {
  /**
   * Released devices the failures gate divides by: when judging a wave, those that settled or
   * timed out (overridden and excluded offline devices left out, hub/rollouts/activation.ts).
   */
  released: number;
  /** Of those, devices that reported the new version failed or rolled back, or timed out. */
  failed: number;
  /** Telemetry of the new version on released devices since the rollout began. */
  next: Aggregate;
  /** Telemetry of other versions of the module on the targets (the baseline). */
  previous: Aggregate;
}

export type GateName = "failures" | "error-rate" | "latency-p95" | "prediction-shift";

export interface GateResult {
  gate: GateName;
  status: "pass" | "fail" | "no-data";
  value: number | null;
  threshold: number;
  message: string;
}

export interface GateReport {
  passed: boolean;
  /** The new version had too little traffic and `onNoData` is `wait`: bake again, judge later. */
  waiting?: boolean;
  results: GateResult[];
}

/** Evaluates the gates; `early` judges only device failures (the others need the full bake). */
export function evaluateGates(obs: GateObservation, gates: RolloutGates, early = false): GateReport {
  const results: GateResult[] = [failureGate(obs, gates)];
  if (early) return { passed: results.every((r) => r.status !== "fail"), results };
  results.push(errorRateGate(obs, gates), latencyGate(obs, gates), ...predictionGates(obs, gates));
  // Too little traffic on the new version to judge it: `onNoData` decides, not a silent pass.
  const starved = obs.next.requests < gates.minRequests;
  if (starved && gates.onNoData === "fail") {
    const errorRate = results.find((r) => r.gate === "error-rate")!;
    errorRate.status = "fail";
    errorRate.message = `${obs.next.requests} requests on the new version, fewer than the ${gates.minRequests} the gates need (onNoData: fail)`;
  }
  const passed = results.every((r) => r.status !== "fail");
  return { passed, ...(passed && starved && gates.onNoData === "wait" ? { waiting: true } : {}), results };
}

function failureGate(obs: GateObservation, gates: RolloutGates): GateResult {
  const rate = obs.released === 0 ? 0 : obs.failed / obs.released;
  const fail = rate > gates.maxFailureRate;
  return {
    gate: "failures",
    status: fail ? "fail" : "pass",
    value: rate,
    threshold: gates.maxFailureRate,
    message: `${obs.failed} of ${obs.released} released devices failed to activate or timed out`,
  };
}

function errorRateGate(obs: GateObservation, gates: RolloutGates): GateResult {
  const { requests, errors } = obs.next;
  if (requests < gates.minRequests)
    return noData("error-rate", gates.maxErrorRate, `${requests} requests on the new version`);
  const rate = errors / requests;
  return {
    gate: "error-rate",
    status: rate > gates.maxErrorRate ? "fail" : "pass",
    value: rate,
    threshold: gates.maxErrorRate,
    message: `${errors} of ${requests} requests errored`,
  };
}

function latencyGate(obs: GateObservation, gates: RolloutGates): GateResult {
  if (obs.next.requests < gates.minRequests || obs.previous.requests < gates.minRequests)
    return noData("latency-p95", gates.maxLatencyRatio, "too few requests on one side");
  const next = p95(obs.next.latencyCounts)!;
  const previous = p95(obs.previous.latencyCounts)!;
  const ratio = next / previous;
  return {
    gate: "latency-p95",
    status: ratio > gates.maxLatencyRatio ? "fail" : "pass",
    value: ratio,
    threshold: gates.maxLatencyRatio,
    message: `p95 ${next} ms vs ${previous} ms before`,
  };
}

/** One result per output both versions summarise: TVD on labels, standardised mean shift on numbers. */
function predictionGates(obs: GateObservation, gates: RolloutGates): GateResult[] {
  const results: GateResult[] = [];
  for (const [name, next] of obs.next.outputs) {
    const previous = obs.previous.outputs.get(name);
    if (!previous || next.count < gates.minRequests || previous.count < gates.minRequests) continue;
    if (next.labels.size > 0 || previous.labels.size > 0) {
      const tvd = totalVariation(next.labels, previous.labels);
      if (tvd === null) continue;
      results.push({
        gate: "prediction-shift",
        status: tvd > gates.maxPredictionShift ? "fail" : "pass",
        value: tvd,
        threshold: gates.maxPredictionShift,
        message: `output "${name}": total variation distance ${tvd.toFixed(3)} between label distributions`,
      });
    } else {
      const shift = meanShift(next, previous);
      if (shift === null) continue;
      results.push({
        gate: "prediction-shift",
        status: shift > gates.maxMeanShift ? "fail" : "pass",
        value: Number.isFinite(shift) ? shift : null,
        threshold: gates.maxMeanShift,
        message: `output "${name}": mean moved ${Number.isFinite(shift) ? shift.toFixed(2) : "∞"} standard deviations`,
      });
    }
  }
  if (results.length === 0)
    results.push(
      noData("prediction-shift", gates.maxPredictionShift, "no output summaries on both versions"),
    );
  return results;
}

function noData(gate: GateName, threshold: number, why: string): GateResult {
  return { gate, status: "no-data", value: null, threshold, message: `not judged: ${why}` };
}
