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

/** Operations whose responses are not typed yet (monitors, pipelines, the console's fleet view): still to do. */
const NOT_YET_TYPED =
  /^(?:\/api\/v1\/monitors|\/api\/v1\/alerts|\/api\/v1\/models\/\{name\}\/versions\/\{version\}\/package|\/api\/v1\/fleet|\/api\/v1\/pipelines)/;

type Schema = {
  type?: string;
  properties?: object;
  $ref?: string;
  items?: Schema;
  description?: string;
  additionalProperties?: unknown;
  anyOf?: Schema[];
  oneOf?: Schema[];
};

let api: ApiTestApp;
beforeAll(async () => {
  api = await createApiTestApp();
});
afterAll(async () => {
  await api?.close();
});

/** An object with no properties, no description and any values: says nothing of what it holds. */
function untyped(schema: Schema, components: Record<string, Schema>): boolean {
  const s = schema.$ref ? components[schema.$ref.split("/").pop()!]! : schema;
  if (s.oneOf || s.anyOf) return (s.oneOf ?? s.anyOf)!.some((x) => untyped(x, components));
  if (s.type === "array" && s.items) return untyped(s.items, components);
  const anyValues =
    s.additionalProperties === undefined ||
    s.additionalProperties === true ||
    (typeof s.additionalProperties === "object" &&
      Object.keys(s.additionalProperties as object).length === 0);
  return s.type === "object" && !s.properties && !s.description && anyValues;
}

describe("the OpenAPI document's responses", () => {
  it("has no untyped object as an operation's JSON answer or a top-level field of one", async () => {
    const doc = (await (await api.call("GET", "/api/v1/openapi.json")).json()) as {
      paths: Record<
        string,
        Record<string, { responses: Record<string, { content?: Record<string, { schema: Schema }> }> }>
      >;
      components: { schemas: Record<string, Schema> };
    };
    const offenders: string[] = [];
    for (const [path, operations] of Object.entries(doc.paths)) {
      if (NOT_YET_TYPED.test(path)) continue;
      for (const [method, op] of Object.entries(operations)) {
        for (const status of ["200", "201"]) {
          const schema = op.responses[status]?.content?.["application/json"]?.schema;
          if (!schema) continue;
          const top = schema.$ref ? doc.components.schemas[schema.$ref.split("/").pop()!]! : schema;
          if (untyped(top, doc.components.schemas)) offenders.push(`${method} ${path} ${status}`);
          for (const [field, sub] of Object.entries((top.properties ?? {}) as Record<string, Schema>))
            if (untyped(sub, doc.components.schemas)) offenders.push(`${method} ${path} ${status} .${field}`);
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
