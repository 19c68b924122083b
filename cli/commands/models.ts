/** `edgefleet models list|register|show`. */
import { readFile } from "node:fs/promises";
import type { Command } from "commander";
import { CliError, resolveHubClient } from "../hub-target.js";
import { printObject, printTable } from "../output.js";
import { type HubOptions, withHubOptions } from "./operator-options.js";

/** Registers the models command group. */
export function registerModelsCommand(program: Command): void {
  const models = program.command("models").description("register ONNX models and list versions");

  withHubOptions(models.command("list [name]"))
    .description("list models, or the versions of one model")
    .action(async (name: string | undefined, options: HubOptions) => {
      const client = await resolveHubClient(options, process.env);
      if (name) {
        const { versions } = await client.get<{ versions: Record<string, unknown>[] }>(
          `/api/v1/models/${encodeURIComponent(name)}/versions`,
        );
        return printTable(
          versions,
          ["modelName", "version", "sha256", "size", "createdAt"],
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

  withHubOptions(models.command("show <name> <version>"))
    .description("show one model version: signature, opsets, hash")
    .action(async (name: string, version: string, options: HubOptions) => {
      const client = await resolveHubClient(options, process.env);
      printObject(
        await client.get(
          `/api/v1/models/${encodeURIComponent(name)}/versions/${encodeURIComponent(version)}`,
        ),
      );
    });
}
