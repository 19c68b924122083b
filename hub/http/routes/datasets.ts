/**
 * Datasets (versioned by the sha256 of their bytes) and script snapshots (tar.gz blobs). An upload
 * is parsed and typed with training's loadDataset before anything is stored: a refused file
 * leaves no blob and no version behind.
 */
import { Readable } from "node:stream";
import { createRoute } from "@hono/zod-openapi";
import { z } from "zod";
import type { Logger } from "../../../lib/log.js";
import { findUnstorable } from "../../../lib/storable-text.js";
import { ModuleNameSchema } from "../../../modules/manifest.js";
import { loadDataset } from "../../../training/dataset/dataset.js";
import { COLUMN_OVERRIDES, type ColumnOverride } from "../../../training/dataset/schema.js";
import { inferTask } from "../../../training/dataset/task.js";
import { DatasetError } from "../../../training/errors.js";
import { Sha256HexSchema } from "../../../wire/messages.js";
import type { BlobStore } from "../../blobs/blob-store.js";
import type { HubConfig } from "../../config.js";
import type { DatasetVersion } from "../../repos/datasets.js";
import type { Repositories } from "../../repos/index.js";
import { allowRunInputReaders, requireRole } from "../auth.js";
import { ApiError, found } from "../errors.js";
import { DatasetSummarySchema, DatasetVersionSchema } from "../responses/datasets.js";
import { type ApiApp, createRouter } from "../router.js";
import { assertRunInputReadable } from "../run-input-scope.js";
import { ErrorResponses, jsonOk } from "./schemas.js";

const UploadedSchema = z.object({ dataset: DatasetVersionSchema });

const NameParam = z.object({ name: ModuleNameSchema });
const VersionParam = z.object({ name: ModuleNameSchema, version: z.string().min(1).max(64) });

const rawBody = (description: string) => ({
  description,
  content: {
    "text/csv": { schema: z.string() },
    "application/x-ndjson": { schema: z.string() },
    "application/octet-stream": { schema: z.string().meta({ format: "binary" }) },
  },
});

const upload = createRoute({
  method: "post",
  path: "/api/v1/datasets/{name}/versions",
  summary:
    "Upload a CSV or JSON Lines file as a dataset version (sha256 = version); refused files store nothing",
  middleware: [requireRole("operator")] as const,
  request: {
    params: NameParam,
    query: z.object({
      format: z.enum(["csv", "jsonl"]).optional(),
      target: z.string().min(1).max(256).optional(),
      task: z.enum(["classification", "regression"]).optional(),
      overrides: z
        .string()
        .max(4096)
        .optional()
        .describe("col:kind,col:kind (numeric|boolean|categorical|ignore)"),
    }),
    body: rawBody("The file's bytes"),
  },
  responses: {
    200: {
      description: "These bytes were already this version",
      content: { "application/json": { schema: UploadedSchema } },
    },
    201: { description: "The new version", content: { "application/json": { schema: UploadedSchema } } },
    ...ErrorResponses,
  },
});

const list = createRoute({
  method: "get",
  path: "/api/v1/datasets",
  summary: "List datasets with their latest version",
  middleware: [requireRole("viewer")] as const,
  responses: jsonOk(z.object({ datasets: z.array(DatasetSummarySchema) }), "Datasets"),
});

const show = createRoute({
  method: "get",
  path: "/api/v1/datasets/{name}",
  summary: "A dataset's versions, newest first",
  middleware: [requireRole("viewer")] as const,
  request: { params: NameParam },
  responses: jsonOk(z.object({ name: z.string(), versions: z.array(DatasetVersionSchema) }), "The dataset"),
});

const showVersion = createRoute({
  method: "get",
  path: "/api/v1/datasets/{name}/versions/{version}",
  summary: "One dataset version (`latest`, a sha256 or a unique prefix of 8+): columns, kinds, statistics",
  middleware: [requireRole("viewer")] as const,
  request: { params: VersionParam },
  responses: jsonOk(DatasetVersionSchema, "The dataset version"),
});

const content = createRoute({
  method: "get",
  path: "/api/v1/datasets/{name}/versions/{version}/content",
  summary: "The dataset version's bytes (trainer workers download this)",
  middleware: [allowRunInputReaders("viewer")] as const,
  request: { params: VersionParam },
  responses: {
    200: { description: "The file", content: { "application/octet-stream": { schema: z.any() } } },
    ...ErrorResponses,
  },
});

const uploadSnapshot = createRoute({
  method: "post",
  path: "/api/v1/snapshots",
  summary: "Upload a tar.gz of a training script folder (content-addressed, idempotent)",
  middleware: [requireRole("operator")] as const,
  request: {
    body: {
      content: {
        "application/gzip": { schema: z.string().meta({ format: "binary" }) },
        "application/octet-stream": { schema: z.string().meta({ format: "binary" }) },
      },
    },
  },
  responses: {
    201: {
      description: "Stored",
      content: { "application/json": { schema: z.object({ sha256: z.string(), size: z.number() }) } },
    },
    ...ErrorResponses,
  },
});

const downloadSnapshot = createRoute({
  method: "get",
  path: "/api/v1/snapshots/{sha256}",
  summary: "A script snapshot's bytes",
  middleware: [allowRunInputReaders("viewer")] as const,
  request: { params: z.object({ sha256: Sha256HexSchema }) },
  responses: {
    200: { description: "The tar.gz", content: { "application/gzip": { schema: z.any() } } },
    ...ErrorResponses,
  },
});

/** The API shape of a dataset version. */
export function datasetView(v: DatasetVersion) {
  return {
    name: v.name,
    version: v.version,
    format: v.format,
    bytes: v.bytes,
    rows: v.rows,
    ...(v.target ? { target: v.target } : {}),
    ...(v.task ? { task: v.task } : {}),
    overrides: v.overrides,
    columns: v.columns,
    createdAt: v.createdAt.toISOString(),
  };
}

function parseOverrides(text: string | undefined): Record<string, ColumnOverride> | undefined {
  if (!text) return undefined;
  const overrides: Record<string, ColumnOverride> = {};
  for (const pair of text.split(",")) {
    const colon = pair.lastIndexOf(":");
    const column = pair.slice(0, colon).trim();
    const kind = pair.slice(colon + 1).trim() as ColumnOverride;
    if (colon <= 0 || column === "" || !COLUMN_OVERRIDES.includes(kind)) {
      throw new ApiError(
        "bad_request",
        `override "${pair}" is not column:kind (kinds: ${COLUMN_OVERRIDES.join(", ")})`,
      );
    }
    overrides[column] = kind;
  }
  return overrides;
}

function formatOf(query: string | undefined, contentType: string | undefined): "csv" | "jsonl" | undefined {
  if (query) return query as "csv" | "jsonl";
  if (contentType?.includes("csv")) return "csv";
  if (contentType && /ndjson|jsonl|jsonlines/.test(contentType)) return "jsonl";
  return undefined;
}

/** Reads a raw request body, refusing (413) past `limit` bytes whether declared or streamed. */
async function readBody(
  request: { header(name: string): string | undefined; arrayBuffer(): Promise<ArrayBuffer> },
  limit: number,
  what: string,
): Promise<Uint8Array> {
  const declared = Number(request.header("content-length") ?? "0");
  const tooLarge = (size: number) =>
    new ApiError("payload_too_large", `the ${what} is ${size} bytes; the limit is ${limit}`, {
      code: "too_large",
    });
  if (declared > limit) throw tooLarge(declared);
  const bytes = new Uint8Array(await request.arrayBuffer());
  if (bytes.byteLength > limit) throw tooLarge(bytes.byteLength);
  return bytes;
}

async function resolveVersion(deps: DatasetRouteDeps, name: string, ref: string): Promise<DatasetVersion> {
  return found(await deps.repos.datasets.resolve(name, ref), `dataset ${name} version ${ref}`);
}

/** What the dataset routes use: the datasets repository, the blob store, the upload limit, a log. */
export interface DatasetRouteDeps {
  repos: Pick<Repositories, "datasets" | "attemptTokens">;
  blobs: BlobStore;
  config: Pick<HubConfig, "maxDatasetBytes">;
  log: Logger;
}

/** The dataset and snapshot routes, as a router to mount. */
export function datasetRoutes(deps: DatasetRouteDeps): ApiApp {
  const app = createRouter();
  app.openapi(upload, async (c) => {
    const { name } = c.req.valid("param");
    const query = c.req.valid("query");
    const overrides = parseOverrides(query.overrides);
    const limit = deps.config.maxDatasetBytes;
    const bytes = await readBody(c.req, limit, "dataset");
    const format = formatOf(query.format, c.req.header("content-type"));
    let dataset: Awaited<ReturnType<typeof loadDataset>>;
    try {
      dataset = await loadDataset(
        { bytes, ...(format ? { format } : {}) },
        {
          limits: { maxBytes: limit },
          ...(query.target ? { target: query.target } : {}),
          ...(query.task ? { task: query.task } : {}),
          ...(overrides ? { overrides } : {}),
        },
      );
    } catch (error) {
      if (!(error instanceof DatasetError)) throw error;
      const details = { code: error.code, ...error.details };
      if (error.code === "too_large") throw new ApiError("payload_too_large", error.message, details);
      throw new ApiError("bad_dataset", error.message, details);
    }
    const stats = new Map(dataset.columns.map((column, i) => [column.name, dataset.stats[i]]));
    // A target without a task gets one inferred from its values (and stored: train uses it).
    const task = query.task ?? (query.target ? inferTask(dataset, query.target) : undefined);
    // Column names and categories go to jsonb, which cannot hold NUL or lone surrogates.
    const unstorable = findUnstorable({ columns: dataset.schema, stats: dataset.stats });
    if (unstorable) {
      throw new ApiError("bad_dataset", `the dataset's ${unstorable.path} ${unstorable.reason}`, unstorable);
    }
    // The blob first: a version row never points at missing bytes; a refused row takes its new blob with it.
    const blob = await deps.blobs.put(bytes, { expectedSha256: dataset.version });
    const added = await deps.repos.datasets
      .addVersion({
        name,
        version: dataset.version,
        format: dataset.format,
        bytes: dataset.bytes,
        rows: dataset.rows,
        ...(query.target ? { target: query.target } : {}),
        ...(task ? { task } : {}),
        ...(overrides ? { overrides } : {}),
        columns: dataset.schema.map((column) => ({
          name: column.name,
          kind: column.kind,
          ...(column.note ? { note: column.note } : {}),
          ...(stats.has(column.name) ? { stats: stats.get(column.name) } : {}),
        })),
      })
      .catch(async (error: unknown) => {
        if (blob.created) await deps.blobs.remove(blob.sha256);
        throw error;
      });
    const { version, created } = added;
    deps.log.info({
      event: "dataset.uploaded",
      dataset: name,
      version: version.version,
      created,
      rows: version.rows,
    });
    return c.json(
      { dataset: datasetView(version), ...(task && !query.task ? { taskInferred: true } : {}) },
      created ? 201 : 200,
    );
  });

  app.openapi(list, async (c) => {
    const datasets = await deps.repos.datasets.list();
    return c.json({ datasets: datasets.map((d) => ({ ...d, latestAt: d.latestAt.toISOString() })) }, 200);
  });

  app.openapi(show, async (c) => {
    const { name } = c.req.valid("param");
    const versions = await deps.repos.datasets.listVersions(name);
    if (versions.length === 0) throw new ApiError("not_found", `dataset ${name} does not exist`);
    return c.json({ name, versions: versions.map(datasetView) }, 200);
  });

  app.openapi(showVersion, async (c) => {
    const { name, version } = c.req.valid("param");
    return c.json(datasetView(await resolveVersion(deps, name, version)), 200);
  });

  app.openapi(content, async (c) => {
    const { name, version } = c.req.valid("param");
    const resolved = await deps.repos.datasets.resolve(name, version);
    // Scoped callers get the same 403 for another run's dataset and for one that does not exist.
    await assertRunInputReadable(c.get("principal"), resolved?.version ?? "", deps.repos.attemptTokens);
    const row = found(resolved, `dataset ${name} version ${version}`);
    const stream = await deps.blobs.createReadStream(row.version);
    return c.body(Readable.toWeb(stream) as ReadableStream, 200, {
      "content-type": row.format === "csv" ? "text/csv; charset=utf-8" : "application/x-ndjson",
      "content-length": String(row.bytes),
      etag: `"${row.version}"`,
    }) as never;
  });

  app.openapi(uploadSnapshot, async (c) => {
    const bytes = await readBody(c.req, deps.config.maxDatasetBytes, "snapshot");
    if (bytes.byteLength < 2 || bytes[0] !== 0x1f || bytes[1] !== 0x8b) {
      throw new ApiError("bad_request", "a snapshot must be a tar.gz (gzip magic bytes missing)");
    }
    const info = await deps.blobs.put(bytes);
    return c.json({ sha256: info.sha256, size: info.size }, 201);
  });

  app.openapi(downloadSnapshot, async (c) => {
    const { sha256 } = c.req.valid("param");
    await assertRunInputReadable(c.get("principal"), sha256, deps.repos.attemptTokens);
    const stat = await deps.blobs.stat(sha256);
    if (!stat) throw new ApiError("not_found", `no snapshot ${sha256}`);
    const stream = await deps.blobs.createReadStream(sha256);
    return c.body(Readable.toWeb(stream) as ReadableStream, 200, {
      "content-type": "application/gzip",
      "content-length": String(stat.size),
    }) as never;
  });
  return app;
}
