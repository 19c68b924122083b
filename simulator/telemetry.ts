/** The telemetry window a simulated agent reports for one active module, shaped by its behaviour. */
import { LATENCY_BUCKETS_MS, type ModuleWindow } from "../wire/messages.js";
import type { Behaviour } from "./behaviour.js";

/** Baseline probability of the second label; predictionShift moves it. */
const BASELINE_P = 0.3;
export const SIM_LABELS = ["normal", "anomaly"] as const;

/** One module's window: request and error counts, a latency histogram around latencyMs, label counts. */
export function simulatedWindow(
  module: { name: string; version: string },
  behaviour: Behaviour,
  random: () => number,
): ModuleWindow {
  const requests = behaviour.requestsPerWindow;
  const counts = new Array<number>(LATENCY_BUCKETS_MS.length + 1).fill(0);
  let latencySumMs = 0;
  let anomalies = 0;
  const p = Math.min(1, Math.max(0, BASELINE_P + behaviour.predictionShift));
  for (let i = 0; i < requests; i++) {
    // ±20% jitter around the configured latency.
    const latency = behaviour.latencyMs * (0.8 + 0.4 * random());
    latencySumMs += latency;
    const bucket = LATENCY_BUCKETS_MS.findIndex((bound) => latency <= bound);
    counts[bucket === -1 ? LATENCY_BUCKETS_MS.length : bucket]! += 1;
    if (random() < p) anomalies++;
  }
  return {
    name: module.name,
    version: module.version,
    requests,
    errors: Math.round(requests * behaviour.errorRate),
    latencyBucketsMs: [...LATENCY_BUCKETS_MS],
    latencyCounts: counts,
    latencySumMs,
    inputs: [],
    outputs: [
      {
        name: "label",
        count: requests,
        labels: { [SIM_LABELS[0]]: requests - anomalies, [SIM_LABELS[1]]: anomalies },
      },
    ],
  };
}
