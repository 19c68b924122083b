/**
 * The OpenAPI document describes what the API returns: no 200/201 JSON response is an untyped
 * object (a free-form field must say what it holds), and real answers validate against the
 * schemas their routes declare (the route types check handlers at compile time; this checks the
 * document the clients read).
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { FirmwareProfileSchema } from "../../firmware-profiles/index.js";
import { TokenSchema } from "../../hub/http/responses/access.js";
import { WorkerSchema } from "../../hub/http/responses/runs.js";
import { type ApiTestApp, createApiTestApp } from "../support/api-app.js";

type Schema = {
  type?: string;
  properties?: object;
  $ref?: string;
  items?: Schema;
  description?: string;
  additionalProperties?: unknown;
  anyOf?: Schema[];
  oneOf?: Schema[];
  allOf?: Schema[];
};

let api: ApiTestApp;
beforeAll(async () => {
  api = await createApiTestApp();
});
afterAll(async () => {
  await api?.close();
});

/** A schema that says nothing of what it holds: an object of any values, or any value, with no description. */
function untyped(schema: Schema): boolean {
  if (schema.description) return false;
  const anyValues =
    schema.additionalProperties === undefined ||
    schema.additionalProperties === true ||
    (typeof schema.additionalProperties === "object" &&
      Object.keys(schema.additionalProperties as object).length === 0);
  if (schema.type === "object") return !schema.properties && anyValues;
  // No type, no reference, no alternatives, no enum: `unknown`.
  return Object.keys(schema).every((key) => key === "default");
}

/** Every place under `schema` (fields, items, alternatives, record values, references) that is untyped. */
function offendersIn(
  schema: Schema,
  at: string,
  components: Record<string, Schema>,
  seen: Set<string>,
  out: string[],
): void {
  if (schema.$ref) {
    const name = schema.$ref.split("/").pop()!;
    if (seen.has(name)) return;
    seen.add(name);
    offendersIn(components[name]!, `${at}<${name}>`, components, seen, out);
    return;
  }
  if (untyped(schema)) {
    out.push(at);
    return;
  }
  for (const [i, alt] of (schema.oneOf ?? schema.anyOf ?? schema.allOf ?? []).entries())
    offendersIn(alt, `${at}|${i}`, components, seen, out);
  if (schema.items) offendersIn(schema.items, `${at}[]`, components, seen, out);
  for (const [field, sub] of Object.entries((schema.properties ?? {}) as Record<string, Schema>))
    offendersIn(sub, `${at}.${field}`, components, seen, out);
  const values = schema.additionalProperties;
  // A described free-form record has said what it holds; its values are the caller's own.
  // A loose object's extra fields (beyond its listed ones) are free by design.
  const freeByDesign = schema.description !== undefined || schema.properties !== undefined;
  if (!freeByDesign && typeof values === "object" && values !== null && Object.keys(values).length > 0)
    offendersIn(values as Schema, `${at}{}`, components, seen, out);
}

describe("the OpenAPI document's responses", () => {
  it("has no untyped object or unknown anywhere in a 2xx JSON answer (free-form fields must say what they hold)", async () => {
    const doc = (await (await api.call("GET", "/api/v1/openapi.json")).json()) as {
      paths: Record<
        string,
        Record<string, { responses: Record<string, { content?: Record<string, { schema: Schema }> }> }>
      >;
      components: { schemas: Record<string, Schema> };
    };
    const offenders: string[] = [];
    for (const [path, operations] of Object.entries(doc.paths)) {
      for (const [method, op] of Object.entries(operations)) {
        for (const [status, response] of Object.entries(op.responses)) {
          if (!status.startsWith("2")) continue;
          const schema = response.content?.["application/json"]?.schema;
          if (schema)
            offendersIn(schema, `${method} ${path} ${status} `, doc.components.schemas, new Set(), offenders);
        }
      }
    }
    expect(offenders).toEqual([]);
  });

  it("real answers validate against their schemas: tokens, profiles, workers", async () => {
    await api.call("POST", "/api/v1/tokens", { json: { name: "ci", role: "viewer" } });
    const tokens = (await (await api.call("GET", "/api/v1/tokens")).json()) as { tokens: unknown[] };
    expect(tokens.tokens.length).toBeGreaterThan(0);
    for (const token of tokens.tokens) TokenSchema.parse(token);
    const profiles = (await (await api.call("GET", "/api/v1/profiles")).json()) as { profiles: unknown[] };
    expect(profiles.profiles.length).toBeGreaterThan(0);
    for (const profile of profiles.profiles) FirmwareProfileSchema.parse(profile);
    const registered = await api.call("POST", "/api/v1/workers", {
      as: "operator",
      json: {
        id: "w1",
        name: "w1",
        capabilities: { cpus: 2, memoryMb: 1024, gpus: [], labels: {}, kinds: ["builtin"], version: "0" },
      },
    });
    expect(registered.status).toBe(200);
    WorkerSchema.parse(((await registered.json()) as { worker: unknown }).worker);
  });
});
