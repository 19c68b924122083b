/** `edgefleet models list|register|show|alias|compare`. */
import { readFile } from "node:fs/promises";
import type { Command } from "commander";
import type { HubClient } from "../../hub-api/client.js";
import type { ModelVersionView } from "../../hub-api/training.js";
import { CliError, resolveHubClient } from "../hub-target.js";
import { splitAt } from "../key-values.js";
import { flattenMetrics, formatMetric, headlineMetric } from "../metric-format.js";
import { printObject, printTable } from "../output.js";
import { printMetricGroups } from "../run-view.js";
import { downloadModel } from "./model-download.js";
import { type Int8View, int8Lines } from "./model-quantize.js";
import { type HubOptions, withHubOptions } from "./operator-options.js";

/** Registers the models command group. */
export function registerModelsCommand(program: Command): void {
  const models = program.command("models").description("register ONNX models and list versions");

  withHubOptions(models.command("list [name]"))
    .description("list models, or the versions of one model")
    .action(async (name: string | undefined, options: HubOptions) => {
      const client = await resolveHubClient(options, process.env);
      if (name) {
        const base = `/api/v1/models/${encodeURIComponent(name)}`;
        const [{ versions }, { aliases }] = await Promise.all([
          client.get<{ versions: ModelVersionView[] }>(`${base}/versions`),
          // Registries from before aliases existed answer 404 here: no aliases then.
          client.get<{ aliases: { alias: string; version: number }[] }>(`${base}/aliases`).catch(() => ({
            aliases: [],
          })),
        ]);
        const view = versions.map((v) => ({
          ...v,
          aliases:
            aliases
              .filter((a) => a.version === v.version)
              .map((a) => a.alias)
              .join(",") || undefined,
          recipe: v.lineage?.recipe,
          metric: headlineMetric(v.metrics),
        }));
        return printTable(
          view,
          ["modelName", "version", "aliases", "recipe", "metric", "sha256", "size", "createdAt"],
          Boolean(options.json),
          versions,
        );
      }
      const { models: rows } = await client.get<{ models: Record<string, unknown>[] }>("/api/v1/models");
      printTable(rows, ["name", "latestVersion", "description", "createdAt"], Boolean(options.json), rows);
    });

  withHubOptions(models.command("register <name> <file>"))
    .description("upload an ONNX file as the next version of a model")
    .option("--description <text>", "what this version is")
    .action(async (name: string, file: string, options: HubOptions & { description?: string }) => {
      const client = await resolveHubClient(options, process.env);
      const bytes = await readFile(file).catch((error: Error) => {
        throw new CliError(`cannot read ${file}: ${error.message}`);
      });
      const query = options.description ? `?description=${encodeURIComponent(options.description)}` : "";
      const version = await client.request<{ version: number; sha256: string }>(
        "POST",
        `/api/v1/models/${encodeURIComponent(name)}/versions${query}`,
        new Uint8Array(bytes),
      );
      if (options.json) return printObject(version);
      process.stdout.write(`registered ${name} version ${version.version} (sha256 ${version.sha256})\n`);
    });

  withHubOptions(models.command("show <name[@version|@alias]> [version]"))
    .description("one model version (a number or an alias; default the latest): metrics, lineage, signature")
    .action(async (target: string, positional: string | undefined, options: HubOptions) => {
      const client = await resolveHubClient(options, process.env);
      const { name, version: fromAt } = splitAt(target);
      const base = `/api/v1/models/${encodeURIComponent(name)}`;
      const version = positional ?? fromAt ?? (await latestVersion(client, name));
      const v = await client.get<ModelVersionView>(`${base}/versions/${encodeURIComponent(version)}`);
      if (options.json) return printObject(v);
      printVersion(name, v);
    });

  withHubOptions(models.command("download <name[@version|@alias]> [version]"))
    .description("save a model version's ONNX bytes (default the latest) to a file, checking its sha256")
    .option("-o, --output <file>", "where to write it (default NAME-VERSION.onnx; - for stdout)")
    .option("--force", "overwrite an existing file")
    .action(
      async (
        target: string,
        positional: string | undefined,
        options: HubOptions & { output?: string; force?: boolean },
      ) => {
        const client = await resolveHubClient(options, process.env);
        const { name, version: fromAt } = splitAt(target);
        const ref = positional ?? fromAt ?? (await latestVersion(client, name));
        const saved = await downloadModel(client, {
          name,
          ref,
          output: options.output,
          force: options.force,
        });
        if (options.output === "-") return;
        if (options.json) return printObject(saved);
        process.stderr.write(
          `saved ${name} version ${saved.version} to ${saved.file} (${saved.size} bytes, sha256 ${saved.sha256})\n`,
        );
      },
    );

  withHubOptions(models.command("alias <name> <alias> [version]"))
    .description("point an alias (e.g. champion) at a version, or remove it with --delete")
    .option("--delete", "remove the alias")
    .action(
      async (
        name: string,
        alias: string,
        version: string | undefined,
        options: HubOptions & { delete?: boolean },
      ) => {
        const path = `/api/v1/models/${encodeURIComponent(name)}/aliases/${encodeURIComponent(alias)}`;
        if (options.delete && version !== undefined)
          throw new CliError("give a version or --delete, not both");
        if (!options.delete && version === undefined) {
          throw new CliError(`say which version ${alias} points at: models alias ${name} ${alias} VERSION`);
        }
        const client = await resolveHubClient(options, process.env);
        if (options.delete) {
          const answer = await client.request("DELETE", path);
          if (options.json) return printObject(answer ?? { deleted: alias });
          process.stdout.write(`${name}: alias ${alias} removed\n`);
          return;
        }
        const n = Number(version);
        const answer = await client.request("PUT", path, { version: Number.isInteger(n) ? n : version });
        if (options.json) return printObject(answer);
        process.stdout.write(`${name}: ${alias} -> version ${version}\n`);
      },
    );

  withHubOptions(models.command("compare <name> <versions...>"))
    .description("metrics of two or more versions (numbers or aliases) side by side")
    .action(async (name: string, versions: string[], options: HubOptions) => {
      if (versions.length < 2) throw new CliError("compare needs at least two versions");
      const client = await resolveHubClient(options, process.env);
      const answer = await client.get<{ versions: ModelVersionView[] }>(
        `/api/v1/models/${encodeURIComponent(name)}/compare?versions=${versions.map(encodeURIComponent).join(",")}`,
      );
      if (options.json) return printObject(answer);
      const flat = answer.versions.map((v) => flattenMetrics(v.metrics));
      const names = [...new Set(flat.flatMap((m) => Object.keys(m)))];
      const headers = answer.versions.map(
        (v) => `v${v.version}${v.aliases?.length ? ` (${v.aliases.join(",")})` : ""}`,
      );
      const rows = names.map((metric) =>
        Object.fromEntries([
          ["metric", metric],
          ...headers.map((h, i) => [h, formatMetric(flat[i]![metric])]),
        ]),
      );
      const lineage = (key: string) =>
        Object.fromEntries([
          ["metric", key],
          ...headers.map((h, i) => [h, describe(answer.versions[i]!.lineage?.[key])]),
        ]);
      printTable([...rows, lineage("recipe"), lineage("run")], ["metric", ...headers], false);
    });
}

/** The highest version number of a model, as a string; CliError when it has none. */
async function latestVersion(client: HubClient, name: string): Promise<string> {
  const { versions } = await client.get<{ versions: { version: number }[] }>(
    `/api/v1/models/${encodeURIComponent(name)}/versions`,
  );
  const latest = Math.max(0, ...versions.map((v) => v.version));
  if (latest === 0) throw new CliError(`model ${name} has no versions`);
  return String(latest);
}

/** One model version in words. */
function printVersion(name: string, v: ModelVersionView): void {
  const out = (text: string) => process.stdout.write(`${text}\n`);
  out(`model ${name} version ${v.version}${v.aliases?.length ? ` (${v.aliases.join(", ")})` : ""}`);
  if (v.sha256) out(`sha256 ${v.sha256}${typeof v.size === "number" ? `, ${v.size} bytes` : ""}`);
  if (v.description) out(`description: ${v.description}`);
  if (v.createdAt) out(`created ${v.createdAt}`);
  const signature = (list: unknown) =>
    Array.isArray(list)
      ? list
          .map(
            (t: { name?: string; datatype?: string; shape?: unknown[] }) =>
              `${t.name} ${t.datatype ?? ""}[${(t.shape ?? []).join(",")}]`,
          )
          .join(", ")
      : undefined;
  const inputs = signature(v.inputs);
  const outputs = signature(v.outputs);
  if (inputs) out(`inputs: ${inputs}`);
  if (outputs) out(`outputs: ${outputs}`);
  if (v.int8) for (const line of int8Lines(v.int8 as Int8View)) out(line);
  if (v.metrics && Object.keys(v.metrics).length > 0) {
    out("\nmetrics:");
    printMetricGroups(v.metrics);
  }
  const lineage = Object.entries(v.lineage ?? {}).filter(
    ([, value]) => value !== undefined && value !== null,
  );
  if (lineage.length > 0) {
    out("\nlineage:");
    for (const [key, value] of lineage) out(`  ${key} ${describe(value)}`);
  }
}

function describe(value: unknown): string {
  if (value === undefined || value === null) return "-";
  if (typeof value !== "object") return String(value);
  const o = value as Record<string, unknown>;
  if (typeof o.name === "string" && o.version !== undefined) return `${o.name}@${o.version}`;
  return JSON.stringify(value);
}
