/**
 * Which ONNX opset and IR version an onnxruntime release implements, from the version matrix in
 * https://onnxruntime.ai/docs/reference/compatibility.html ("ONNX opset support"). A release runs
 * models stamped with any opset from 7 up to its own; a newer opset may use operators it lacks.
 * Releases newer than the last row are assumed to support at least that row.
 */
import semver from "semver";

export interface OrtLimits {
  /** Highest default-domain (ai.onnx) opset the release implements. */
  maxOpset: number;
  /** Highest ONNX IR version it loads. */
  maxIrVersion: number;
}

/** [minor release, opset, IR version], newest first; patch releases share their minor's row. */
const MATRIX: readonly (readonly [string, number, number])[] = [
  ["1.23.0", 23, 11],
  ["1.21.0", 22, 10],
  ["1.18.0", 21, 10],
  ["1.17.0", 20, 9],
  ["1.15.0", 19, 9],
  ["1.14.0", 18, 8],
  ["1.12.0", 17, 8],
  ["1.11.0", 16, 8],
  ["1.9.0", 15, 7],
  ["1.8.0", 14, 7],
  ["1.6.0", 13, 7],
  ["1.3.0", 12, 7],
  ["1.0.0", 11, 6],
];

/** Lowest opset every onnxruntime release accepts. */
export const MIN_OPSET = 7;

/** The limits of an onnxruntime version ("1.30.0"), or null when it is not a version we can place. */
export function ortLimits(version: string): OrtLimits | null {
  const parsed = semver.coerce(version);
  if (!parsed) return null;
  for (const [release, maxOpset, maxIrVersion] of MATRIX) {
    if (semver.gte(parsed, release)) return { maxOpset, maxIrVersion };
  }
  return null;
}
