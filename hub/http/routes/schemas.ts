/** Schemas shared by several hub routes. */
import { z } from "zod";
import { DEVICE_ID_PATTERN } from "../../../wire/topics.js";
import { ErrorBodySchema } from "../errors.js";

export const DeviceIdSchema = z
  .string()
  .regex(DEVICE_ID_PATTERN, "lowercase letters, digits and '-', 1-64 long, not starting or ending with '-'");

export const TagsSchema = z.record(
  z.string().regex(/^[A-Za-z0-9_.-]{1,64}$/, "tag keys: letters, digits, '_', '.', '-'"),
  z.string().max(256),
);

/** `key=value,key2=value2` as used in query strings and the CLI's --selector. */
export function parseTagSelector(text: string | undefined): Record<string, string> | undefined {
  if (!text) return undefined;
  const tags: Record<string, string> = {};
  for (const pair of text.split(",")) {
    const eq = pair.indexOf("=");
    if (eq <= 0)
      throw new z.ZodError([
        { code: "custom", message: `tag selector "${pair}" is not key=value`, path: ["tag"], input: text },
      ]);
    tags[pair.slice(0, eq).trim()] = pair.slice(eq + 1).trim();
  }
  return TagsSchema.parse(tags);
}

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
