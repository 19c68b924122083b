/**
 * Fuzzes every operation of the hub's OpenAPI document with malformed path, query and body
 * values: NUL, lone surrogates, broken percent-encoding, integers past int4 and 2^53, huge and
 * non-finite numbers, wrong types, malformed selectors, bodies that are not JSON, and oversized
 * bodies with and without Content-Length. Each answer must be under 500 and, when an error, in
 * the API's shape; an operation whose every case was refused must leave every list endpoint as
 * it was. Runs in process on `app.request()` over a real PGlite store.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type ApiTestApp, createApiTestApp } from "../support/api-app.js";

type Schema = {
  type?: string;
  properties?: Record<string, Schema>;
  items?: Schema;
  required?: string[];
  $ref?: string;
  enum?: unknown[];
};
type Operation = {
  responses?: Record<string, { content?: Record<string, unknown> }>;
  parameters?: { name: string; in: "path" | "query"; schema?: Schema; required?: boolean }[];
  requestBody?: { content: Record<string, { schema?: Schema }> };
};
type Case = { label: string; path: string; init: RequestInit & { duplex?: "half" } };

/** An operation that answers with an endless event stream: fuzzed only for refusals (see below). */
function streams(op: Operation): boolean {
  return Object.values(op.responses ?? {}).some((r) =>
    Object.keys(r.content ?? {}).includes("text/event-stream"),
  );
}

/** Upload limits kept small so the oversized cases stay cheap. */
const SMALL = 64 * 1024;

const PATH_VALUES = [
  "%00",
  "a%00b",
  "%ED%A0%80",
  "%E0%A4%A",
  "99999999999999999999",
  "2147483648",
  "-1",
  "x".repeat(3000),
  "..%2F..%2Fetc%2Fpasswd",
];
const QUERY_VALUES = [
  "%00",
  "%ED%A0%80",
  "%E0%A4%A",
  "2147483648",
  "9007199254740993",
  "1e308",
  "NaN",
  "-Infinity",
  "=",
  ",,",
  "a=b=c",
  "=v",
  "k=",
  "x".repeat(5000),
];
const LONE = '"\\ud800"';

function fill(template: string, value = "fuzz"): string {
  return template.replace(/\{[^}]+\}/g, value);
}

/** Wrong-typed and unstorable values for one property of a JSON body. */
function badValues(schema: Schema | undefined): string[] {
  const values = [
    '"\\u0000"',
    LONE,
    '"\\udc00x"',
    "1e308",
    "-1e308",
    "2147483648",
    "9007199254740993",
    "null",
    "[]",
    "{}",
    "true",
    '"x"',
    "-1",
  ];
  if (schema?.type === "object") values.push('{"k\\u0000":1}', '{"k":"\\u0000"}');
  if (schema?.type === "array") values.push('["\\u0000"]', "[1e308]");
  return values;
}

function casesFor(method: string, template: string, op: Operation, token: string): Case[] {
  const auth = { authorization: `Bearer ${token}` };
  const cases: Case[] = [];
  const send = (label: string, path: string, init: Case["init"] = {}) =>
    cases.push({
      label,
      path,
      init: { method: method.toUpperCase(), ...init, headers: { ...auth, ...(init.headers as object) } },
    });
  for (const param of op.parameters ?? []) {
    if (param.in === "path") {
      for (const value of PATH_VALUES)
        send(
          `path ${param.name}=${value.slice(0, 20)}`,
          template.replace(`{${param.name}}`, value).replace(/\{[^}]+\}/g, "fuzz"),
        );
    } else {
      for (const value of QUERY_VALUES)
        send(`query ${param.name}=${value.slice(0, 20)}`, `${fill(template)}?${param.name}=${value}`);
    }
  }
  if (["post", "put", "patch", "delete"].includes(method)) {
    const path = fill(template);
    const json = op.requestBody?.content["application/json"]?.schema;
    const jsonBody = (label: string, body: string) =>
      send(label, path, { body, headers: { "content-type": "application/json" } });
    jsonBody("body: not JSON", "{not json");
    jsonBody("body: NUL string", '"\\u0000"');
    jsonBody("body: lone surrogate", LONE);
    jsonBody("body: huge number", "1e308");
    jsonBody("body: array", "[1,2,3]");
    jsonBody("body: deep nesting", `${"[".repeat(5000)}${"]".repeat(5000)}`);
    for (const [name, property] of Object.entries(json?.properties ?? {})) {
      for (const value of badValues(property))
        jsonBody(`body ${name}=${value.slice(0, 24)}`, `{"${name}":${value}}`);
      jsonBody(`body key ${name} with NUL`, `{"${name}\\u0000":1}`);
    }
    const oversized = new Uint8Array(2 * 1024 * 1024).fill(0x20);
    send("oversized body with Content-Length", path, {
      body: oversized,
      headers: { "content-type": "application/json", "content-length": String(oversized.byteLength) },
    });
    send("oversized chunked body", path, {
      body: new ReadableStream({
        start(controller) {
          for (let i = 0; i < 32; i++) controller.enqueue(new Uint8Array(64 * 1024).fill(0x20));
          controller.close();
        },
      }),
      duplex: "half",
      headers: { "content-type": "application/octet-stream" },
    });
  }
  return cases;
}

let api: ApiTestApp;
let doc: { paths: Record<string, Record<string, Operation>> };
/** Parameterless GET operations: the state a refused call must leave as it was. */
let listPaths: string[] = [];

beforeAll(async () => {
  api = await createApiTestApp({ maxModelBytes: SMALL, maxDatasetBytes: SMALL, maxJsonBytes: SMALL });
  await api.call("POST", "/api/v1/devices", { json: { id: "fuzz", tags: { site: "a" } } });
  doc = (await (await api.app.request("/api/v1/openapi.json")).json()) as typeof doc;
  listPaths = Object.entries(doc.paths)
    .filter(([path, ops]) => !path.includes("{") && ops.get && !streams(ops.get) && path !== "/api/v1/audit")
    .map(([path]) => path);
}, 60_000);
afterAll(async () => {
  await api?.close();
});

/** Every list endpoint's answer, without the fields reads themselves move (last use, last seen). */
async function snapshot(): Promise<string> {
  const parts: string[] = [];
  for (const path of listPaths) {
    const response = await api.call("GET", path);
    const text = await response.text();
    parts.push(`${path} ${response.status} ${text.replace(/"last(Used|Seen)At":"[^"]*"/g, "")}`);
  }
  return parts.join("\n");
}

describe("the hub API under malformed input", () => {
  it("covers the whole OpenAPI document", () => {
    const operations = Object.values(doc.paths).flatMap((ops) => Object.keys(ops));
    expect(operations.length).toBeGreaterThanOrEqual(60);
  });

  it("answers every malformed request with a 4xx in the API's shape and changes nothing", async () => {
    const failures: string[] = [];
    const changed: string[] = [];
    let sent = 0;
    for (const [template, ops] of Object.entries(doc.paths)) {
      for (const [method, op] of Object.entries(ops)) {
        const hono = template.replace(/\{([^}]+)\}/g, "{$1}");
        const before = await snapshot();
        let accepted = 0;
        for (const c of casesFor(method, hono, op, api.tokens.admin)) {
          sent++;
          // An event stream that accepted a case never ends: its status is the answer.
          const stream = streams(op) ? new AbortController() : undefined;
          const response = await api.app.request(c.path, {
            ...c.init,
            ...(stream ? { signal: stream.signal } : {}),
          });
          const text = stream && response.status < 400 ? (stream.abort(), "") : await response.text();
          const where = `${method.toUpperCase()} ${template} [${c.label}] → ${response.status}`;
          if (response.status >= 500) failures.push(`${where}: ${text.slice(0, 200)}`);
          else if (response.status >= 400) {
            let body: { error?: { code?: unknown; message?: unknown } } = {};
            try {
              body = JSON.parse(text);
            } catch {}
            if (typeof body.error?.code !== "string" || typeof body.error?.message !== "string") {
              failures.push(`${where}: not the error shape: ${text.slice(0, 200)}`);
            }
          } else accepted++;
        }
        if (accepted === 0 && (await snapshot()) !== before)
          changed.push(`${method.toUpperCase()} ${template}`);
      }
    }
    expect(failures, `${failures.length} of ${sent} requests`).toEqual([]);
    expect(changed).toEqual([]);
  }, 240_000);
});
