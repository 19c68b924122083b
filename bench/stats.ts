/** Statistics and result records for benchmarks (medians, p95, the spread of per-pair ratios). */
import { cpus } from "node:os";

export interface BenchResult {
  id: string;
  what: string;
  ours: number;
  peer: number;
  unit: string;
  ratio: number;
  goal: string;
  met: boolean;
  /** Extra figures (p95s, spread of per-pair ratios, sample counts). */
  details?: Record<string, number | string>;
}

/** The q-quantile (0..1) of samples, by nearest rank. */
export function quantile(samples: number[], q: number): number {
  if (samples.length === 0) return Number.NaN;
  const sorted = [...samples].sort((a, b) => a - b);
  const index = Math.min(sorted.length - 1, Math.max(0, Math.ceil(q * sorted.length) - 1));
  return sorted[index]!;
}

/** Rounds for printing. */
export function round(value: number, digits = 1): number {
  const f = 10 ** digits;
  return Math.round(value * f) / f;
}

/** Machine facts printed beside the results. */
export async function machineFacts(): Promise<Record<string, string | number>> {
  const ort = (await import("onnxruntime-node")) as unknown as { env?: { versions?: { node?: string } } };
  return {
    // os.cpus() counts the machine's cores; availableParallelism() would count this pinned process's.
    cores: cpus().length,
    node: process.version,
    onnxruntime: ort.env?.versions?.node ?? "unknown",
    platform: `${process.platform}-${process.arch}`,
  };
}

/** Prints one result line. */
export function printResult(result: BenchResult): void {
  const details = result.details
    ? `  (${Object.entries(result.details)
        .map(([k, v]) => `${k} ${v}`)
        .join(", ")})`
    : "";
  process.stdout.write(
    `${result.id.padEnd(4)} ${result.what}: ours ${result.ours} ${result.unit}, peer ${result.peer} ${result.unit}, ` +
      `ratio ${result.ratio}x, goal ${result.goal}: ${result.met ? "met" : "NOT met"}${details}\n`,
  );
}
