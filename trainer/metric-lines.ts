/**
 * The metric line protocol a script prints on stdout (any language can print a line):
 *
 *   EDGEFLEET_METRIC name=value [name=value ...] [step=N]
 *   EDGEFLEET_PROGRESS i/n [phase]
 *
 * Names are letters, digits and `_ . / -`; values are decimal numbers (nan/inf are refused, the
 * hub stores finite numbers only). Without `step`, each name counts its own steps from 0. A line
 * that starts with a keyword but does not parse is reported back as a problem, not dropped silently.
 */
import type { MetricPoint, Progress } from "../hub-api/training.js";

export type MetricLine =
  | { kind: "metrics"; points: Omit<MetricPoint, "at">[] }
  | { kind: "progress"; progress: Progress }
  | { kind: "invalid"; reason: string }
  | { kind: "text" };

/** The hub keeps progress phases short. */
export const MAX_PHASE_CHARS = 64;
const NAME = /^[A-Za-z0-9_./-]{1,128}$/;
const NUMBER = /^[+-]?(?:\d+\.?\d*|\.\d+)(?:[eE][+-]?\d+)?$/;

/** Parses lines; keeps per-name step counters for points without `step=`. */
export class MetricLineParser {
  readonly #nextStep = new Map<string, number>();

  parse(line: string): MetricLine {
    const text = line.trim();
    if (text.startsWith("EDGEFLEET_METRIC")) return this.#metric(text.slice("EDGEFLEET_METRIC".length));
    if (text.startsWith("EDGEFLEET_PROGRESS")) return progressOf(text.slice("EDGEFLEET_PROGRESS".length));
    return { kind: "text" };
  }

  #metric(rest: string): MetricLine {
    if (rest !== "" && !/^\s/.test(rest)) return { kind: "text" };
    const pairs = rest.trim().split(/\s+/).filter(Boolean);
    const values: { name: string; value: number }[] = [];
    let step: number | undefined;
    for (const pair of pairs) {
      const at = pair.indexOf("=");
      const name = pair.slice(0, at);
      const raw = pair.slice(at + 1);
      if (at <= 0 || !NAME.test(name)) return { kind: "invalid", reason: `"${pair}" is not name=value` };
      if (!NUMBER.test(raw))
        return { kind: "invalid", reason: `"${name}" has no finite number value (${raw})` };
      if (name === "step") {
        step = Number(raw);
        if (!Number.isInteger(step) || step < 0)
          return { kind: "invalid", reason: `step must be a whole number >= 0 (${raw})` };
      } else {
        values.push({ name, value: Number(raw) });
      }
    }
    if (values.length === 0) return { kind: "invalid", reason: "no name=value pair" };
    const points = values.map(({ name, value }) => {
      const s = step ?? this.#nextStep.get(name) ?? 0;
      this.#nextStep.set(name, s + 1);
      return { name, value, step: s };
    });
    return { kind: "metrics", points };
  }
}

function progressOf(rest: string): MetricLine {
  const match = /^\s+(\d+)\s*\/\s*(\d+)(?:\s+(.+))?$/.exec(rest);
  if (!match) return { kind: "invalid", reason: "progress must read `EDGEFLEET_PROGRESS i/n [phase]`" };
  const iteration = Number(match[1]);
  const of = Number(match[2]);
  if (of <= 0 || iteration > of)
    return { kind: "invalid", reason: `progress ${iteration}/${of} is out of range` };
  return {
    kind: "progress",
    progress: { iteration, of, ...(match[3] ? { phase: match[3].trim().slice(0, MAX_PHASE_CHARS) } : {}) },
  };
}
