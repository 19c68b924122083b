/** `edgefleet datasets upload|list|show`: versioned training data on the hub. */
import { readFile } from "node:fs/promises";
import { extname } from "node:path";
import type { Command } from "commander";
import type { DatasetColumn, DatasetVersion } from "../../hub-api/training.js";
import { CliError, resolveHubClient } from "../hub-target.js";
import { collect, keyValues, splitAt } from "../key-values.js";
import { formatMetric } from "../metric-format.js";
import { printObject, printTable } from "../output.js";
import { type HubOptions, withHubOptions } from "./operator-options.js";

const FORMATS = ["csv", "jsonl"] as const;
const TASKS = ["classification", "regression"] as const;
/** Kinds a caller may force a column to (training's ColumnOverride). */
const OVERRIDE_KINDS = ["numeric", "boolean", "categorical", "ignore"];
const CONTENT_TYPES: Record<string, string> = { csv: "text/csv", jsonl: "application/x-ndjson" };

type UploadOptions = HubOptions & { target?: string; task?: string; override?: string[]; format?: string };

/** Registers the datasets command group. */
export function registerDatasetsCommand(program: Command): void {
  const datasets = program.command("datasets").description("upload and inspect versioned training data");

  withHubOptions(datasets.command("upload <name> <file>"))
    .description(
      "upload a CSV or JSON Lines file as a new version of a dataset (refused files store nothing)",
    )
    .option("--target <column>", "the column to predict")
    .option("--task <task>", "classification | regression")
    .option(
      "--override <col=kind>",
      "force a column's kind: numeric|boolean|categorical|ignore (repeatable)",
      collect,
    )
    .option("--format <format>", "csv | jsonl (default: from the file's extension)")
    .action(async (name: string, file: string, options: UploadOptions) => {
      const query = uploadQuery(file, options);
      const bytes = await readFile(file).catch((error: Error) => {
        throw new CliError(`cannot read ${file}: ${error.message}`);
      });
      const client = await resolveHubClient(options, process.env);
      const answer = await client.request<{ dataset: DatasetVersion; taskInferred?: boolean }>(
        "POST",
        `/api/v1/datasets/${encodeURIComponent(name)}/versions?${query}`,
        new Uint8Array(bytes),
        { "content-type": CONTENT_TYPES[query.get("format") ?? ""] ?? "application/octet-stream" },
      );
      if (options.json) return printObject(answer);
      const d = answer.dataset;
      process.stdout.write(
        `dataset ${d.name}@${short(d.version)}: ${d.rows} rows, ${d.columns.length} columns (${d.format}, ${d.bytes} bytes)\n`,
      );
      if (d.target) {
        const how = answer.taskInferred ? " (inferred from its values; override with --task)" : "";
        process.stdout.write(`target ${d.target}: ${d.task ?? "task not known"}${how}\n`);
      }
      printSchema(d.columns);
    });

  withHubOptions(datasets.command("list"))
    .description("list datasets with their latest version")
    .action(async (options: HubOptions) => {
      const client = await resolveHubClient(options, process.env);
      const { datasets: rows } = await client.get<{ datasets: Record<string, unknown>[] }>(
        "/api/v1/datasets",
      );
      const view = rows.map((r) => ({ ...r, latestVersion: short(String(r.latestVersion ?? "")) }));
      printTable(
        view,
        ["name", "versions", "latestVersion", "rows", "latestAt"],
        Boolean(options.json),
        rows,
      );
    });

  withHubOptions(datasets.command("show <name[@version]>"))
    .description("one dataset version (default latest): its schema with each column's kind and statistics")
    .option("--versions", "list the dataset's versions instead")
    .action(async (target: string, options: HubOptions & { versions?: boolean }) => {
      const { name, version } = splitAt(target);
      const client = await resolveHubClient(options, process.env);
      const base = `/api/v1/datasets/${encodeURIComponent(name)}`;
      if (options.versions) {
        const { versions } = await client.get<{ versions: DatasetVersion[] }>(base);
        const view = versions.map((v) => ({ ...v, version: short(v.version), columns: v.columns.length }));
        return printTable(
          view,
          ["version", "rows", "columns", "target", "task", "format", "createdAt"],
          Boolean(options.json),
          versions,
        );
      }
      const d = await client.get<DatasetVersion>(
        `${base}/versions/${encodeURIComponent(version ?? "latest")}`,
      );
      if (options.json) return printObject(d);
      process.stdout.write(
        `dataset ${d.name} version ${d.version}\n${d.rows} rows, ${d.bytes} bytes, ${d.format}, created ${d.createdAt}\n`,
      );
      if (d.target) process.stdout.write(`target ${d.target}${d.task ? ` (${d.task})` : ""}\n`);
      printSchema(d.columns);
    });
}

/** The upload route's query, checked here so a typo is refused before any bytes are sent. */
function uploadQuery(file: string, options: UploadOptions): URLSearchParams {
  const query = new URLSearchParams();
  const format = options.format ?? formatFromName(file);
  if (format !== undefined) {
    if (!(FORMATS as readonly string[]).includes(format)) {
      throw new CliError(`--format takes ${FORMATS.join(" or ")}, got "${format}"`);
    }
    query.set("format", format);
  }
  if (options.task !== undefined) {
    if (!(TASKS as readonly string[]).includes(options.task)) {
      throw new CliError(`--task takes ${TASKS.join(" or ")}, got "${options.task}"`);
    }
    query.set("task", options.task);
  }
  if (options.target !== undefined) query.set("target", options.target);
  const overrides = keyValues(options.override, "--override");
  for (const [column, kind] of Object.entries(overrides)) {
    if (!OVERRIDE_KINDS.includes(kind)) {
      throw new CliError(
        `--override ${column}=${kind}: the kind must be one of ${OVERRIDE_KINDS.join(", ")}`,
      );
    }
  }
  if (Object.keys(overrides).length > 0) {
    query.set(
      "overrides",
      Object.entries(overrides)
        .map(([column, kind]) => `${column}:${kind}`)
        .join(","),
    );
  }
  return query;
}

function formatFromName(file: string): string | undefined {
  const ext = extname(file).toLowerCase();
  if (ext === ".csv") return "csv";
  if (ext === ".jsonl" || ext === ".ndjson") return "jsonl";
  return undefined;
}

/** The schema table: kind and the key statistics of each column. */
function printSchema(columns: DatasetColumn[]): void {
  printTable(
    columns.map((c) => ({
      column: c.name,
      kind: c.kind,
      missing: c.stats?.missing,
      summary: summary(c),
      note: c.note,
    })),
    ["column", "kind", "missing", "summary", "note"],
    false,
  );
}

function summary(column: DatasetColumn): string {
  const s = column.stats as Record<string, unknown> | undefined;
  if (!s) return "";
  if (typeof s.mean === "number" || s.min !== undefined) {
    const n = (v: unknown) => (typeof v === "number" ? formatMetric(v) : "-");
    return `min ${n(s.min)}  mean ${n(s.mean)}  max ${n(s.max)}  std ${n(s.std)}`;
  }
  if (Array.isArray(s.frequencies)) {
    const top = (s.frequencies as { value: string; count: number }[])
      .slice(0, 3)
      .map((f) => `${f.value} ${f.count}`)
      .join(", ");
    return `${s.distinct ?? "?"} distinct: ${top}${(s.frequencies as unknown[]).length > 3 ? ", …" : ""}`;
  }
  return "";
}

/** The first 12 characters of a sha256 version, as git shows commits. */
export function short(version: string): string {
  return /^[0-9a-f]{64}$/.test(version) ? version.slice(0, 12) : version;
}
