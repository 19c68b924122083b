/** `edgefleet runs list|show|logs|cancel` and `edgefleet workers list`: training runs and who runs them. */
import type { Command } from "commander";
import type { Run } from "../../hub-api/training.js";
import { resolveHubClient } from "../hub-target.js";
import { headlineMetric } from "../metric-format.js";
import { positiveInt } from "../number-flags.js";
import { printObject, printTable } from "../output.js";
import { fetchLogLines } from "../run-follow.js";
import { followAndReport, printMetricGroups } from "../run-view.js";
import { short } from "./datasets.js";
import { type HubOptions, withHubOptions } from "./operator-options.js";

/** Registers the runs and workers command groups. */
export function registerRunsCommands(program: Command): void {
  const runs = program.command("runs").description("training runs: list, inspect, follow, cancel");

  withHubOptions(runs.command("list"))
    .description("list training runs, newest first")
    .option("--experiment <name>", "only this experiment")
    .option(
      "--status <status>",
      "only this status (queued, running, succeeded, failed, cancelling, cancelled)",
    )
    .option("--limit <n>", "at most this many")
    .action(async (options: HubOptions & { experiment?: string; status?: string; limit?: string }) => {
      const client = await resolveHubClient(options, process.env);
      const query = new URLSearchParams();
      if (options.experiment) query.set("experiment", options.experiment);
      if (options.status) query.set("status", options.status);
      const limit = positiveInt(options.limit, "--limit");
      if (limit !== undefined) query.set("limit", String(limit));
      const { runs: rows } = await client.get<{ runs: Run[] }>(
        `/api/v1/runs${query.size > 0 ? `?${query}` : ""}`,
      );
      const view = rows.map((r) => ({
        id: r.id,
        experiment: r.experiment,
        status: r.status,
        recipe: r.spec?.recipe,
        dataset: r.spec?.dataset
          ? `${r.spec.dataset.name}@${short(r.spec.dataset.version ?? "latest")}`
          : undefined,
        attempt: r.attempt,
        metric: headlineMetric(r.metrics),
        model: r.outputs?.model ? `${r.outputs.model.name}@${r.outputs.model.version}` : undefined,
        createdAt: r.createdAt,
      }));
      printTable(
        view,
        ["id", "experiment", "status", "recipe", "dataset", "attempt", "metric", "model", "createdAt"],
        Boolean(options.json),
        rows,
      );
    });

  withHubOptions(runs.command("show <id>"))
    .description("one run: spec, attempts, metrics, outputs and lineage")
    .action(async (id: string, options: HubOptions) => {
      const client = await resolveHubClient(options, process.env);
      const run = await client.get<Run>(`/api/v1/runs/${encodeURIComponent(id)}`);
      if (options.json) return printObject(run);
      printRun(run);
    });

  withHubOptions(runs.command("logs <id>"))
    .description("a run's log lines; --follow streams them (with progress) until the run ends")
    .option("--follow", "keep streaming until the run ends; exit 0 only if it succeeded")
    .action(async (id: string, options: HubOptions & { follow?: boolean }) => {
      const client = await resolveHubClient(options, process.env);
      if (options.follow) {
        process.exitCode = await followAndReport(client, id, Boolean(options.json));
        return;
      }
      const lines = await fetchLogLines(client, id);
      if (options.json) return printObject({ lines });
      for (const line of lines) {
        process.stdout.write(
          `${line.stream === "stderr" ? "! " : line.stream === "system" ? "# " : ""}${line.text}\n`,
        );
      }
    });

  withHubOptions(runs.command("cancel <id>"))
    .description("cancel a run: a queued run stops at once, a running one when its worker hears of it")
    .action(async (id: string, options: HubOptions) => {
      const client = await resolveHubClient(options, process.env);
      const run = await client.post<Run>(`/api/v1/runs/${encodeURIComponent(id)}/cancel`, {});
      if (options.json) return printObject(run);
      process.stdout.write(`run ${run.id ?? id}: ${run.status}\n`);
    });

  const workers = program.command("workers").description("training workers");
  withHubOptions(workers.command("list"))
    .description("trainer workers: state, capacity, labels, current run")
    .action(async (options: HubOptions) => {
      const client = await resolveHubClient(options, process.env);
      const { workers: rows } = await client.get<{ workers: WorkerView[] }>("/api/v1/workers");
      const view = rows.map((w) => ({
        id: w.id,
        name: w.name,
        status: w.status,
        cpus: w.capabilities?.cpus,
        memoryMb: w.capabilities?.memoryMb,
        gpus: w.capabilities?.gpus?.length ?? 0,
        kinds: w.capabilities?.kinds?.join(","),
        labels: w.capabilities?.labels,
        currentRun: w.currentRun,
        lastSeenAt: w.lastSeenAt,
      }));
      printTable(
        view,
        ["id", "name", "status", "cpus", "memoryMb", "gpus", "kinds", "labels", "currentRun", "lastSeenAt"],
        Boolean(options.json),
        rows,
      );
    });
}

interface WorkerView {
  id: string;
  name: string;
  status: string;
  lastSeenAt?: string;
  currentRun?: string | null;
  capabilities?: {
    cpus?: number;
    memoryMb?: number;
    gpus?: unknown[];
    kinds?: string[];
    labels?: Record<string, string>;
  };
}

function printRun(run: Run): void {
  const out = (text: string) => process.stdout.write(`${text}\n`);
  const s = run.spec ?? ({} as Run["spec"]);
  out(`run ${run.id}: ${run.status} (experiment ${run.experiment})`);
  out(
    `recipe ${s.recipe}, ${s.task ?? "?"} on ${s.target ?? "?"}, dataset ${s.dataset?.name}@${s.dataset?.version ?? "latest"}, seed ${s.seed ?? 1}`,
  );
  if (s.params && Object.keys(s.params).length > 0) out(`params ${JSON.stringify(s.params)}`);
  if (s.script) out(`script snapshot ${s.script.snapshot}, command: ${s.script.command}`);
  const times = [
    `created ${run.createdAt}`,
    run.startedAt ? `started ${run.startedAt}` : "",
    run.finishedAt ? `finished ${run.finishedAt}` : "",
    run.durationMs !== undefined ? `took ${(run.durationMs / 1000).toFixed(1)} s` : "",
  ].filter(Boolean);
  out(times.join(", "));
  if (run.error) out(`error: ${run.error.code}: ${run.error.message}`);
  out("\nattempts:");
  printTable(
    (run.attempts ?? []).map((a) => ({
      ...a,
      error: a.error ? `${a.error.code}: ${a.error.message}` : undefined,
    })),
    ["n", "workerId", "status", "startedAt", "finishedAt", "error"],
    false,
  );
  if (Object.keys(run.metrics ?? {}).length > 0) {
    out("\nmetrics:");
    printMetricGroups(run.metrics);
  }
  const o = run.outputs ?? {};
  if (o.model || o.onnxSha256) {
    out("\noutputs:");
    if (o.model) out(`  model ${o.model.name} version ${o.model.version}`);
    if (o.onnxSha256) out(`  onnx sha256 ${o.onnxSha256}`);
  }
  const workers = [...new Set((run.attempts ?? []).map((a) => a.workerId).filter(Boolean))];
  out("\nlineage:");
  out(`  dataset ${s.dataset?.name}@${s.dataset?.version ?? "latest"}`);
  if (s.script) out(`  snapshot ${s.script.snapshot}`);
  if (workers.length > 0) out(`  worker(s) ${workers.join(", ")}`);
  if (s.register)
    out(
      `  registers as ${s.register.model}${s.register.aliases?.length ? ` (aliases ${s.register.aliases.join(", ")})` : ""}`,
    );
}
