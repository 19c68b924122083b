/** `edgefleet modules list|create|show`. */
import { readFile } from "node:fs/promises";
import type { Command } from "commander";
import { CliError, resolveHubClient } from "../hub-target.js";
import { printObject, printTable } from "../output.js";
import { type HubOptions, withHubOptions } from "./operator-options.js";

interface CreateOptions extends HubOptions {
  model: string;
  description?: string;
  features?: string;
  labels?: string;
  post?: string;
  spec?: string;
}

/** Registers the modules command group. */
export function registerModulesCommand(program: Command): void {
  const modules = program.command("modules").description("package model versions into signed modules");

  withHubOptions(modules.command("list [name]"))
    .description("list module versions")
    .action(async (name: string | undefined, options: HubOptions) => {
      const client = await resolveHubClient(options, process.env);
      const query = name ? `?name=${encodeURIComponent(name)}` : "";
      const { modules: rows } = await client.get<{ modules: Record<string, unknown>[] }>(
        `/api/v1/modules${query}`,
      );
      printTable(
        rows,
        ["name", "version", "tarballSha256", "tarballSize", "createdAt"],
        Boolean(options.json),
        rows,
      );
    });

  withHubOptions(modules.command("create <name> <version>"))
    .description("package a model version (--model name@version) into a signed module")
    .requiredOption("--model <name@version>", "the registered model version to package")
    .option("--description <text>", "what this module does")
    .option("--features <list>", "tabular preprocessing: feature names in model input order, comma-separated")
    .option("--labels <list>", "class labels, comma-separated")
    .option("--post <kind>", "postprocessing: raw, softmax, argmax, topk:K, threshold:T")
    .option(
      "--spec <file>",
      "JSON file with preprocessing/postprocessing/runtime/resources (overrides the flags)",
    )
    .action(async (name: string, version: string, options: CreateOptions) => {
      const client = await resolveHubClient(options, process.env);
      const body = await buildCreateBody(name, version, options, client);
      const created = await client.post<Record<string, unknown>>("/api/v1/modules", body);
      if (options.json) return printObject(created);
      process.stdout.write(
        `packaged and signed ${name}@${version} (tarball sha256 ${created.tarballSha256})\n`,
      );
    });

  withHubOptions(modules.command("show <name> <version>"))
    .description("show one module version with its manifest")
    .action(async (name: string, version: string, options: HubOptions) => {
      const client = await resolveHubClient(options, process.env);
      printObject(
        await client.get(
          `/api/v1/modules/${encodeURIComponent(name)}/versions/${encodeURIComponent(version)}`,
        ),
      );
    });
}

async function buildCreateBody(
  name: string,
  version: string,
  options: CreateOptions,
  client: { get<T>(p: string): Promise<T> },
) {
  const at = options.model.lastIndexOf("@");
  const modelVersion = Number(options.model.slice(at + 1));
  if (at <= 0 || !Number.isInteger(modelVersion))
    throw new CliError("--model must look like name@version, e.g. iris@3");
  const model = { name: options.model.slice(0, at), version: modelVersion };
  const body: Record<string, unknown> = { name, version, description: options.description, model };
  const labels = options.labels?.split(",").map((l) => l.trim());
  if (options.features || options.post) {
    const info = await client.get<{ inputs: { name: string }[]; outputs: { name: string }[] }>(
      `/api/v1/models/${encodeURIComponent(model.name)}/versions/${model.version}`,
    );
    if (options.features) {
      body.preprocessing = {
        kind: "tabular",
        input: info.inputs[0]?.name,
        features: options.features.split(",").map((f) => ({ name: f.trim() })),
      };
    }
    if (options.post) body.postprocessing = parsePost(options.post, info.outputs[0]?.name ?? "", labels);
  }
  if (options.spec) {
    const spec = JSON.parse(await readFile(options.spec, "utf8")) as Record<string, unknown>;
    Object.assign(body, spec);
  }
  return body;
}

function parsePost(text: string, output: string, labels: string[] | undefined): Record<string, unknown> {
  const [kind, arg] = text.split(":");
  switch (kind) {
    case "raw":
      return { kind: "raw" };
    case "softmax":
    case "argmax":
      return { kind, output, labels };
    case "topk":
      return { kind, output, labels, k: Number(arg ?? 3) };
    case "threshold":
      return { kind, output, threshold: Number(arg ?? 0.5), labels };
    default:
      throw new CliError(`--post ${text}: use raw, softmax, argmax, topk:K or threshold:T`);
  }
}
