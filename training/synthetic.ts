/**
 * Seeded synthetic tabular problems with known answers, for tests and benchmarks: every row is
 * the same on every run. Each includes a categorical and a few missing values, so the exported
 * preprocessing (imputation, one-hot) is exercised.
 */
import { seededRandom } from "../modules/onnx/random.js";
import type { Cell } from "./dataset/jsonl.js";

type Row = Record<string, Cell>;

/** Standard normal draws (Box–Muller). */
function gaussian(random: () => number): () => number {
  return () => Math.sqrt(-2 * Math.log(1 - random())) * Math.cos(2 * Math.PI * random());
}

const COLORS = ["red", "green", "blue"] as const;

/** Two classes split by a margin along x1 + x2 (+1 when red): linearly separable up to the gap. */
export function separableBinary(rows: number, seed: number): Row[] {
  const random = seededRandom(seed);
  const normal = gaussian(random);
  const out: Row[] = [];
  while (out.length < rows) {
    const x1 = normal();
    const x2 = normal();
    const color = COLORS[Math.floor(random() * 3)]!;
    const score = x1 + x2 + (color === "red" ? 1 : 0);
    if (Math.abs(score) < 0.3) continue;
    out.push({
      x1,
      x2: out.length % 37 === 0 ? null : x2,
      color,
      noise: normal(),
      label: score > 0 ? "yes" : "no",
    });
  }
  // The missing x2 values were drawn and labelled before being hidden: a few labels look noisy.
  return out;
}

/** Three well-separated Gaussian blobs in (x1, x2), classes "a", "b", "c". */
export function blobs(rows: number, seed: number): Row[] {
  const random = seededRandom(seed);
  const normal = gaussian(random);
  const centres = [
    [0, 4],
    [4, -2],
    [-4, -2],
  ];
  return Array.from({ length: rows }, (_, i) => {
    const k = i % 3;
    return {
      x1: centres[k]![0]! + normal(),
      x2: centres[k]![1]! + normal(),
      shade: COLORS[Math.floor(random() * 3)]!,
      label: ["a", "b", "c"][k]!,
    };
  });
}

/** y = 3·x1 - 2·x2 + 5·[red] + 10 + N(0, 0.1²). */
export function linearRegression(rows: number, seed: number): Row[] {
  const random = seededRandom(seed);
  const normal = gaussian(random);
  return Array.from({ length: rows }, () => {
    const x1 = normal();
    const x2 = normal() * 2;
    const color = COLORS[Math.floor(random() * 3)]!;
    return { x1, x2, color, y: 3 * x1 - 2 * x2 + (color === "red" ? 5 : 0) + 10 + 0.1 * normal() };
  });
}

/** Two interleaved rings: class "inner" within radius 1, "outer" beyond 1.5 (not linearly separable). */
export function rings(rows: number, seed: number): Row[] {
  const random = seededRandom(seed);
  return Array.from({ length: rows }, (_, i) => {
    const inner = i % 2 === 0;
    const radius = inner ? random() : 1.5 + random();
    const angle = 2 * Math.PI * random();
    return { x1: radius * Math.cos(angle), x2: radius * Math.sin(angle), label: inner ? "inner" : "outer" };
  });
}
