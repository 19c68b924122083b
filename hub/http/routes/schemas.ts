/** Schemas shared by several hub routes. */
import { z } from "zod";
import { ValidationError } from "../../../lib/errors.js";
import { TagsSchema } from "../../fleet/selector.js";
import { ErrorBodySchema } from "../errors.js";

export { DeviceIdSchema, TagsSchema } from "../../fleet/selector.js";

/** `key=value,key2=value2` as used in query strings and the CLI's --selector. */
export function parseTagSelector(text: string | undefined): Record<string, string> | undefined {
  if (!text) return undefined;
  const tags: Record<string, string> = {};
  for (const pair of text.split(",")) {
    const eq = pair.indexOf("=");
    // A ValidationError, not a hand-made ZodError: that one is no Error instance, so Hono's
    // onError never saw it and the request died as an empty 500.
    if (eq <= 0) throw new ValidationError(`tag selector "${pair}" is not key=value`, { tag: text });
    tags[pair.slice(0, eq).trim()] = pair.slice(eq + 1).trim();
  }
  return TagsSchema.parse(tags);
}

/** The largest value of a PostgreSQL `integer` column; bigger numbers are refused at the edge. */
export const INT4_MAX = 2_147_483_647;

export const NameParam = z.object({ name: z.string().min(1).max(128) });

const errorContent = { "application/json": { schema: ErrorBodySchema } };

/** The error answers every authenticated route may give, for the OpenAPI document. */
export const ErrorResponses = {
  400: { description: "Bad input", content: errorContent },
  401: { description: "Missing or invalid credentials", content: errorContent },
  403: { description: "The token's role does not allow this", content: errorContent },
  404: { description: "Not found", content: errorContent },
} as const;

/** A JSON 200 response for the OpenAPI document. */
export function jsonOk<T extends z.ZodType>(schema: T, description: string) {
  return { 200: { description, content: { "application/json": { schema } } }, ...ErrorResponses } as const;
}
