/**
 * The inputs hash of a step: sha256 of the canonical JSON of its kind and inputs (object keys
 * sorted at every depth, so the same inputs hash the same whatever order a spec wrote them in).
 */
import { createHash } from "node:crypto";

/** JSON with object keys sorted at every depth; `undefined` members are left out as JSON does. */
export function canonicalJson(value: unknown): string {
  if (value === null || typeof value !== "object") return JSON.stringify(value) ?? "null";
  if (Array.isArray(value))
    return `[${value.map((v) => canonicalJson(v === undefined ? null : v)).join(",")}]`;
  const entries = Object.entries(value as Record<string, unknown>)
    .filter(([, v]) => v !== undefined)
    .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
  return `{${entries.map(([k, v]) => `${JSON.stringify(k)}:${canonicalJson(v)}`).join(",")}}`;
}

/** sha256 (hex) of a step kind and its inputs. */
export function inputsHash(kind: string, inputs: Record<string, unknown>): string {
  return createHash("sha256").update(canonicalJson({ kind, inputs })).digest("hex");
}
