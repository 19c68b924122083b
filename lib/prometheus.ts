/**
 * The Prometheus exposition shared by the agent and the hub (prom-client): one process-wide
 * registry of Node's process metrics per name prefix (they describe the process, not an app, so
 * several apps in one test process share it), and the scrape text of that registry followed by an
 * app's own registries.
 */
import { collectDefaultMetrics, Registry } from "prom-client";

/** Latency buckets in seconds, from sub-millisecond calls up to a 10 s deadline. */
export const LATENCY_BUCKETS_S = [
  0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10,
];

const processRegistries = new Map<string, Registry>();

/** Node's process metrics (CPU, memory, event loop lag, GC) under `prefix`, registered once. */
export function processMetrics(prefix: string): Registry {
  let registry = processRegistries.get(prefix);
  if (registry === undefined) {
    registry = new Registry();
    collectDefaultMetrics({ register: registry, prefix });
    processRegistries.set(prefix, registry);
  }
  return registry;
}

/** The scrape text: the process metrics under `prefix`, then each app registry in order. */
export async function exposition(prefix: string, registries: readonly Registry[]): Promise<string> {
  const parts = [await processMetrics(prefix).metrics()];
  for (const registry of registries) parts.push(await registry.metrics());
  return parts.join("\n");
}

/** Content type of the text exposition format. */
export const EXPOSITION_CONTENT_TYPE = Registry.PROMETHEUS_CONTENT_TYPE;
