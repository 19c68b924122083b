/** Helpers shared by the scoring routes: JSON bodies, schema checks, module lookup, timing. */
import type { Context } from "hono";
import { type ZodType, z } from "zod";
import type { LoadedModule } from "../runtime/loaded-module.js";
import type { ServingTable } from "../runtime/serving-table.js";
import { ScoringError, toScoringError } from "./errors.js";

/** Reads the body as JSON; a body that is not JSON is the client's error, not ours. */
export async function readJsonBody(c: Context): Promise<unknown> {
  const text = await c.req.text();
  if (text.trim() === "")
    throw new ScoringError("invalid_input", "request body is empty; send a JSON object");
  try {
    return JSON.parse(text);
  } catch (error) {
    throw new ScoringError("invalid_input", `request body is not valid JSON: ${(error as Error).message}`);
  }
}

/** Parses a value with a schema, turning problems into one invalid_input message that names the fields. */
export function parseWith<T>(schema: ZodType<T>, value: unknown): T {
  const result = schema.safeParse(value);
  if (result.success) return result.data;
  throw new ScoringError("invalid_input", z.prettifyError(result.error).replaceAll("\n", " "));
}

/**
 * The module serving `name` (at `version` when given). Unknown names are not_found; a known name
 * at a version this agent does not serve is version_not_served.
 */
export function resolveModule(table: ServingTable, name: string, version?: string): LoadedModule {
  const module = table.get(name);
  if (module === undefined) throw new ScoringError("not_found", `model "${name}" is not served here`);
  if (version !== undefined && module.version !== version) {
    throw new ScoringError(
      "version_not_served",
      `model "${name}" version "${version}" is not served here; serving version "${module.version}"`,
    );
  }
  return module;
}

/** Wraps a failure of the session itself, so clients see onnxruntime's reason instead of a bare 500. */
export function inferenceFailed(error: unknown): ScoringError {
  // Overload, timeout and draining keep their own codes; only the session's own failures are 500s.
  const known = toScoringError(error);
  if (known) return known;
  return new ScoringError("internal", `inference failed: ${(error as Error).message}`);
}
