/**
 * `edgefleet train`: submit a training run (a built-in recipe, or a script folder snapshotted and
 * uploaded), optionally following it to the end with `--wait`.
 */
import type { Command } from "commander";
import type { HubClient } from "../../hub-api/client.js";
import type { DatasetColumn, DatasetVersion, Run } from "../../hub-api/training.js";
import { CliError, resolveHubClient } from "../hub-target.js";
import { collect, keyValues, paramValues, splitAt } from "../key-values.js";
import { positiveInt } from "../number-flags.js";
import { printObject } from "../output.js";
import { followAndReport } from "../run-view.js";
import { type HubOptions, withHubOptions } from "./operator-options.js";

const RECIPES = ["logistic", "ridge", "mlp", "gbt", "forest", "auto"];
const TASKS = ["classification", "regression"];
/** Recipes that fit one task only, so `--task` can be left out. */
const RECIPE_TASK: Record<string, string> = { logistic: "classification", ridge: "regression" };

export type TrainOptions = HubOptions & {
  experiment?: string;
  dataset?: string;
  target?: string;
  task?: string;
  recipe?: string;
  param?: string[];
  params?: string;
  seed?: string;
  split?: string;
  label?: string[];
  gpus?: string;
  model?: string;
  alias?: string[];
  maxAttempts?: string;
  script?: string;
  command?: string;
  wait?: boolean;
};

/** Registers the train command. */
export function registerTrainCommand(program: Command): void {
  withHubOptions(program.command("train"))
    .description("train a model on a dataset with a built-in recipe or your own script; --wait follows it")
    .requiredOption("--experiment <name>", "experiment the run belongs to (also the default model name)")
    .requiredOption("--dataset <name[@version]>", "dataset and version (default latest)")
    .option("--target <column>", "column to predict (default: the dataset version's target)")
    .option("--task <task>", "classification | regression (default: the dataset's, or the recipe's)")
    .option("--recipe <recipe>", "logistic | ridge | mlp | gbt | forest | auto (default auto)")
    .option("--param <k=v>", "a recipe parameter; values are JSON when they parse (repeatable)", collect)
    .option("--params <json>", "recipe parameters as a JSON object (--param wins per key)")
    .option("--seed <n>", "seed for the split and the trainer (default 1)")
    .option(
      "--split <validation,test>",
      "fractions of rows held out for validation and test, e.g. 0.1,0.2 (default the hub's)",
    )
    .option("--label <k=v>", "run only on workers with this label (repeatable)", collect)
    .option("--gpus <n>", "GPUs the worker must have")
    .option("--model <name>", "register the trained model under this name (default: the experiment)")
    .option("--alias <alias>", "point this alias at the new model version (repeatable)", collect)
    .option("--max-attempts <n>", "attempts before the run fails (default 3)")
    .option("--script <dir>", "train with your own code: this folder is snapshotted and uploaded")
    .option("--command <command>", 'how to run the script, e.g. "python train.py" (with --script)')
    .option("--wait", "follow the run (progress, logs) until it ends; exit 0 only if it succeeded")
    .action(async (options: TrainOptions) => {
      const client = await resolveHubClient(options, process.env);
      const body = trainRequest(options, await datasetDefaults(client, options));
      if (options.script) {
        const { uploadScriptSnapshot } = await import("../script-snapshot.js");
        const snapshot = await uploadScriptSnapshot(client, options.script);
        body.script = { snapshot: snapshot.sha256, command: options.command! };
      }
      const run = await client.post<Run>("/api/v1/runs", body);
      if (!options.wait) {
        if (options.json) return printObject(run);
        process.stdout.write(
          `run ${run.id} ${run.status} (experiment ${run.experiment}, recipe ${run.spec?.recipe ?? body.recipe})\n` +
            `follow it with: edgefleet runs logs ${run.id} --follow\n`,
        );
        return;
      }
      if (!options.json) process.stdout.write(`run ${run.id} ${run.status}\n`);
      process.exitCode = await followAndReport(client, run.id, Boolean(options.json));
    });
}

/**
 * The `POST /runs` body from the flags (the script snapshot is added after upload). Refuses
 * contradictory or malformed flags before anything reaches the hub.
 */
export function trainRequest(
  options: TrainOptions,
  dataset: Partial<Pick<DatasetVersion, "target" | "task" | "columns">> = {},
): Record<string, unknown> {
  const { name, version } = splitAt(options.dataset ?? "");
  if (!name) throw new CliError("--dataset needs a dataset name, e.g. --dataset iris or iris@latest");
  if (options.script !== undefined || options.command !== undefined) {
    if (!options.script || !options.command) throw new CliError("--script DIR and --command CMD go together");
    if (options.recipe !== undefined && options.recipe !== "script") {
      throw new CliError(`--script runs your command; it cannot be combined with --recipe ${options.recipe}`);
    }
  } else if (options.recipe !== undefined && !RECIPES.includes(options.recipe)) {
    throw new CliError(`--recipe takes one of ${RECIPES.join(", ")}, got "${options.recipe}"`);
  }
  const recipe = options.script ? "script" : (options.recipe ?? "auto");
  const target = options.target ?? dataset.target;
  if (!target) throw new CliError("say which column to predict: --target COLUMN");
  const task = options.task ?? dataset.task ?? RECIPE_TASK[recipe] ?? taskOfColumn(dataset.columns, target);
  if (!task) {
    throw new CliError(
      `say what to learn from the numeric column "${target}": --task classification or --task regression`,
    );
  }
  if (!TASKS.includes(task)) throw new CliError(`--task takes ${TASKS.join(" or ")}, got "${task}"`);

  const body: Record<string, unknown> = {
    experiment: options.experiment,
    dataset: version ? { name, version } : { name },
    task,
    target,
    recipe,
  };
  const params = { ...jsonObject(options.params, "--params"), ...paramValues(options.param) };
  if (Object.keys(params).length > 0) body.params = params;
  const seed = positiveInt(options.seed, "--seed", true);
  if (seed !== undefined) body.seed = seed;
  if (options.split !== undefined) body.split = splitFractions(options.split);
  const labels = keyValues(options.label, "--label");
  const gpus = positiveInt(options.gpus, "--gpus", true);
  if (Object.keys(labels).length > 0 || gpus !== undefined) {
    body.compute = {
      ...(Object.keys(labels).length > 0 ? { labels } : {}),
      ...(gpus !== undefined ? { gpus } : {}),
    };
  }
  if (options.model !== undefined || (options.alias ?? []).length > 0) {
    body.register = {
      model: options.model ?? options.experiment,
      ...((options.alias ?? []).length > 0 ? { aliases: options.alias } : {}),
    };
  }
  const maxAttempts = positiveInt(options.maxAttempts, "--max-attempts");
  if (maxAttempts !== undefined) body.maxAttempts = maxAttempts;
  return body;
}

/** `--split 0.1,0.2` → { validation: 0.1, test: 0.2 }; refuses what the hub would refuse, before any request. */
export function splitFractions(text: string): { validation: number; test: number } {
  const parts = text.split(",").map((part) => part.trim());
  const numbers = parts.map(Number);
  if (parts.length !== 2 || parts.some((p) => p === "") || numbers.some((n) => !Number.isFinite(n))) {
    throw new CliError(`--split takes two fractions, validation and test, e.g. 0.1,0.2; got "${text}"`);
  }
  const [validation, test] = numbers as [number, number];
  if (validation < 0 || validation > 0.9 || test <= 0 || test > 0.9 || validation + test >= 1) {
    throw new CliError(
      `--split ${text}: validation must be 0-0.9, test above 0 and at most 0.9, and together below 1 so rows are left for training`,
    );
  }
  return { validation, test };
}

/** The dataset version's own target and task, when the flags leave them out. */
/** A text, boolean or label target can only be classified; a numeric one could be either. */
function taskOfColumn(columns: DatasetColumn[] | undefined, target: string): string | undefined {
  const kind = columns?.find((column) => column.name === target)?.kind;
  return kind === "categorical" || kind === "boolean" || kind === "label" ? "classification" : undefined;
}

async function datasetDefaults(
  client: HubClient,
  options: TrainOptions,
): Promise<Partial<Pick<DatasetVersion, "target" | "task" | "columns">>> {
  if (options.target !== undefined && options.task !== undefined) return {};
  const { name, version } = splitAt(options.dataset ?? "");
  if (!name) return {};
  return client.get<DatasetVersion>(
    `/api/v1/datasets/${encodeURIComponent(name)}/versions/${encodeURIComponent(version ?? "latest")}`,
  );
}

function jsonObject(text: string | undefined, flag: string): Record<string, unknown> {
  if (text === undefined) return {};
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch (error) {
    throw new CliError(`${flag} is not JSON: ${(error as Error).message}`);
  }
  if (!value || typeof value !== "object" || Array.isArray(value)) {
    throw new CliError(`${flag} must be a JSON object, e.g. '{"epochs": 50}'`);
  }
  return value as Record<string, unknown>;
}
