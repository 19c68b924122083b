/**
 * `edgefleet pipelines run FILE [--watch] | list | show ID`: run a pipeline spec (YAML or JSON) on
 * the hub, follow its steps, and read past runs; each step says whether it was computed or reused
 * (and from which run). See docs/training.md.
 */
import { readFile } from "node:fs/promises";
import type { Command } from "commander";
import type { HubClient } from "../../hub-api/client.js";
import type { PipelineRunSummaryView, PipelineRunView, PipelineStepView } from "../../hub-api/pipelines.js";
import { CliError, resolveHubClient } from "../hub-target.js";
import { printObject, printTable } from "../output.js";
import { type HubOptions, withHubOptions } from "./operator-options.js";

/** A spec file as an object: JSON when it parses as JSON, YAML otherwise. */
export async function readSpecFile(path: string): Promise<unknown> {
  const text = await readFile(path, "utf8").catch((error: Error) => {
    throw new CliError(`cannot read ${path}: ${error.message}`);
  });
  try {
    return JSON.parse(text);
  } catch {
    try {
      const { parse: parseYaml } = await import("yaml");
      return parseYaml(text);
    } catch (error) {
      throw new CliError(`${path} is neither JSON nor YAML: ${(error as Error).message}`);
    }
  }
}

/** One line per step: kind, status, what it produced or reused, why it failed. */
function stepLine(step: PipelineStepView): string {
  const output = step.output ?? {};
  const model = output.model as { name: string; version: number } | undefined;
  const what =
    step.kind === "package" && output.module
      ? `${output.module}@${output.version}`
      : step.kind === "deploy" && output.deploymentId
        ? `deployment ${output.deploymentId}`
        : model
          ? `${model.name} v${model.version}`
          : "";
  const reused = step.reused ? ` (reused from pipeline run ${step.reused.pipelineRun})` : "";
  const error = step.error && step.status === "failed" ? `: ${step.error}` : "";
  return `  ${step.kind.padEnd(9)} ${step.status.padEnd(9)} ${what}${reused}${error}`;
}

function printPipeline(p: PipelineRunView): void {
  process.stdout.write(`pipeline ${p.name} run ${p.id}: ${p.status}\n`);
  for (const step of p.steps ?? []) process.stdout.write(`${stepLine(step)}\n`);
  if (p.status === "failed") process.stdout.write(`failed at step ${p.failedStep}: ${p.error}\n`);
}

/** Polls a run until it ends, printing each step as its status changes; the final view. */
async function watch(client: HubClient, id: string, json: boolean): Promise<PipelineRunView> {
  const seen = new Map<string, string>();
  for (;;) {
    const p = await client.get<PipelineRunView>(`/api/v1/pipelines/${encodeURIComponent(id)}`);
    if (!json) {
      for (const step of p.steps ?? []) {
        if (seen.get(step.kind) === step.status) continue;
        seen.set(step.kind, step.status);
        if (step.status !== "pending") process.stderr.write(`${stepLine(step)}\n`);
      }
    }
    if (p.status !== "running") return p;
    await new Promise((resolve) => setTimeout(resolve, 1000));
  }
}

/** Registers the pipelines command group. */
export function registerPipelinesCommands(program: Command): void {
  const pipelines = program
    .command("pipelines")
    .description("pipelines with step reuse: dataset → train → evaluate → quantize → package → deploy");

  withHubOptions(pipelines.command("run <file>"))
    .description("run a pipeline spec (YAML or JSON); steps with unchanged inputs are reused")
    .option("--watch", "follow the steps until the run ends; exit 0 only if it completed")
    .action(async (file: string, options: HubOptions & { watch?: boolean }) => {
      const spec = await readSpecFile(file);
      const client = await resolveHubClient(options, process.env);
      const started = await client.post<PipelineRunView>("/api/v1/pipelines", spec);
      if (!options.watch) {
        if (options.json) return printObject(started);
        process.stdout.write(
          `pipeline ${started.name} run ${started.id} started; follow it with: edgefleet pipelines show ${started.id}\n`,
        );
        return;
      }
      if (!options.json) process.stderr.write(`pipeline ${started.name} run ${started.id} started\n`);
      const ended = await watch(client, started.id, Boolean(options.json));
      if (options.json) printObject(ended);
      else printPipeline(ended);
      process.exitCode = ended.status === "completed" ? 0 : 1;
    });

  withHubOptions(pipelines.command("list"))
    .description("pipeline runs, newest first")
    .option("--name <name>", "only runs of this pipeline")
    .action(async (options: HubOptions & { name?: string }) => {
      const client = await resolveHubClient(options, process.env);
      const query = options.name ? `?name=${encodeURIComponent(options.name)}` : "";
      const { pipelines: rows } = await client.get<{ pipelines: PipelineRunSummaryView[] }>(
        `/api/v1/pipelines${query}`,
      );
      printTable(
        rows.map((r) => ({ ...r, failedStep: r.failedStep ?? "" })),
        ["id", "name", "status", "failedStep", "createdAt", "finishedAt"],
        Boolean(options.json),
        rows,
      );
    });

  withHubOptions(pipelines.command("show <id>"))
    .description("one pipeline run: each step's status, output, and the run a reused step took it from")
    .action(async (id: string, options: HubOptions) => {
      const client = await resolveHubClient(options, process.env);
      const p = await client.get<PipelineRunView>(`/api/v1/pipelines/${encodeURIComponent(id)}`);
      if (options.json) return printObject(p);
      printPipeline(p);
    });
}
