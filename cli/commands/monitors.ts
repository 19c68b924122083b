/**
 * `edgefleet monitors list|create|show|evaluate|history|series|retraining|retrain|delete` and
 * `edgefleet alerts list`: the drift monitors of hub/monitors over the hub API.
 */
import { readFile } from "node:fs/promises";
import type { Command } from "commander";
import type { HubClient } from "../../hub-api/client.js";
import { CliError, resolveHubClient } from "../hub-target.js";
import { collect } from "../key-values.js";
import { positiveInt } from "../number-flags.js";
import { printObject, printTable } from "../output.js";
import { type MonitorFlags, monitorBody } from "./monitor-flags.js";
import {
  type CycleView,
  type EvaluationView,
  formatInterval,
  formatSelector,
  type MonitorView,
  printCycles,
  printEvaluation,
  printMonitor,
  type SeriesPoint,
  seriesRows,
} from "./monitor-view.js";
import { type HubOptions, withHubOptions } from "./operator-options.js";

const path = (id: string, rest = "") => `/api/v1/monitors/${encodeURIComponent(id)}${rest}`;

/** Reads the --spec file: a JSON object, the raw POST /api/v1/monitors body. */
async function readSpec(file: string | undefined): Promise<Record<string, unknown>> {
  if (file === undefined) return {};
  const text = await readFile(file, "utf8").catch((error: Error) => {
    throw new CliError(`cannot read ${file}: ${error.message}`);
  });
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch (error) {
    throw new CliError(`${file} is not JSON: ${(error as Error).message}`);
  }
  if (typeof parsed !== "object" || parsed === null || Array.isArray(parsed))
    throw new CliError(`${file} must hold a JSON object (the monitor definition)`);
  return parsed as Record<string, unknown>;
}

/** The highest version of a module, for `--module NAME` without a version. */
async function latestVersion(client: HubClient, module: string): Promise<string> {
  const { modules } = await client.get<{ modules: { version: string }[] }>(
    `/api/v1/modules?name=${encodeURIComponent(module)}`,
  );
  const { default: semver } = await import("semver");
  const versions = modules.map((m) => m.version).filter((v) => semver.valid(v));
  const latest = semver.rsort(versions)[0];
  if (!latest)
    throw new CliError(`module ${module} has no versions: package one first (edgefleet models package)`);
  return latest;
}

function monitorRow(m: MonitorView): Record<string, unknown> {
  return {
    id: m.id,
    name: m.name,
    module: `${m.module}@${m.moduleVersion}`,
    selector: formatSelector(m.selector),
    state: m.enabled ? m.state : `${m.state} (disabled)`,
    every: formatInterval(m.intervalMs),
    action: m.action.kind,
    lastEvaluatedAt: m.lastEvaluatedAt,
  };
}

/** Registers the monitors and alerts command groups. */
export function registerMonitorsCommands(program: Command): void {
  const monitors = program
    .command("monitors")
    .description("drift monitors: a module version × a device cohort, tested against the training reference");

  withHubOptions(monitors.command("list"))
    .description("list monitors with their state")
    .action(async (options: HubOptions) => {
      const client = await resolveHubClient(options, process.env);
      const { monitors: rows } = await client.get<{ monitors: MonitorView[] }>("/api/v1/monitors");
      printTable(
        rows.map(monitorRow),
        ["id", "name", "module", "selector", "state", "every", "action", "lastEvaluatedAt"],
        Boolean(options.json),
        rows,
      );
    });

  withHubOptions(monitors.command("create [name]"))
    .description("create a monitor (name default: MODULE-drift); flags lay over --spec")
    .option("--module <name[@version]>", "the module version watched (default version: the highest)")
    .option("--selector <tags>", "the cohort: devices with these tags, e.g. fleet=a,site=b")
    .option("--devices <ids>", "the cohort: comma-separated device ids")
    .option("--alpha <a>", "family-wise false-alarm rate of one evaluation (default 0.01)")
    .option("--min-rows <n>", "a scale with fewer rows is not tested (default 100)")
    .option("--every <time>", "evaluation period, e.g. 30s, 5m, 1h (default 1m)")
    .option("--scales <list>", "windows per device merged at each scale (default 1,4,16)")
    .option("--thresholds <k=v,...>", "fixed distance thresholds js=,psi=,wasserstein= (default calibrated)")
    .option("--no-outputs", "prediction drift is reported but does not alarm")
    .option("--disabled", "create it disabled (not scheduled)")
    .option("--webhook <url>", "POST each alert to this http(s) URL")
    .option("--action <kind>", "alert (default) or retrain")
    .option("--retrain-dataset <name>", "retrain: the dataset the challenger trains on")
    .option(
      "--retrain-recipe <recipe>",
      "retrain: logistic, ridge, mlp, gbt, forest or auto (default the champion's)",
    )
    .option("--retrain-param <k=v>", "retrain: a training parameter (repeatable)", collect)
    .option("--retrain-model <name>", "retrain: the registered model whose champion is compared and moved")
    .option("--retrain-margin <m>", "retrain: how much better the challenger must be (default 0.02)")
    .option("--retrain-min-labelled <n>", "retrain: labelled sample rows to wait for (default 50)")
    .option("--retrain-samples-per-window <n>", "retrain: rows per device per window asked for (default 20)")
    .option("--retrain-sample-windows <n>", "retrain: windows each device keeps sampling (default 5)")
    .option("--retrain-collect-timeout <time>", "retrain: give up collecting after this long (default 1h)")
    .option(
      "--retrain-retry-after <time>",
      "retrain: while still drifting, start another cycle this long after the last ended (default 24h)",
    )
    .option("--retrain-canary <N|N%>", "retrain: canary size (default 1 device)")
    .option("--retrain-bake <time>", "retrain: canary bake time (default 5m)")
    .option("--spec <file>", "JSON file with the raw monitor definition (for what the flags do not cover)")
    .action(async (name: string | undefined, options: HubOptions & MonitorFlags & { spec?: string }) => {
      const body = monitorBody(name, options, await readSpec(options.spec));
      const client = await resolveHubClient(options, process.env);
      if (body.version === undefined) body.version = await latestVersion(client, String(body.module));
      const monitor = await client.post<MonitorView>("/api/v1/monitors", body);
      if (options.json) return printObject(monitor);
      process.stdout.write(
        `created monitor ${monitor.name} (${monitor.id}): ${monitor.module}@${monitor.moduleVersion} on ${formatSelector(monitor.selector)}, every ${formatInterval(monitor.intervalMs)}, action ${monitor.action.kind}\n`,
      );
    });

  withHubOptions(monitors.command("show <id>"))
    .description("one monitor (id or name): definition and latest verdict per column")
    .action(async (id: string, options: HubOptions) => {
      const client = await resolveHubClient(options, process.env);
      const monitor = await client.get<MonitorView>(path(id));
      if (options.json) return printObject(monitor);
      printMonitor(monitor);
    });

  withHubOptions(monitors.command("evaluate <id>"))
    .description("evaluate now and print the report (exit 0 whether or not it drifted)")
    .action(async (id: string, options: HubOptions) => {
      const client = await resolveHubClient(options, process.env);
      const result = await client.post<{
        evaluation: EvaluationView;
        alert: { id: string; message: string } | null;
      }>(path(id, "/evaluate"), {});
      if (options.json) return printObject(result);
      printEvaluation(result.evaluation);
      if (result.alert) process.stdout.write(`\nalert ${result.alert.id}: ${result.alert.message}\n`);
    });

  withHubOptions(monitors.command("history <id>"))
    .description("evaluations, newest first")
    .option("--limit <n>", "at most this many")
    .action(async (id: string, options: HubOptions & { limit?: string }) => {
      const limit = positiveInt(options.limit, "--limit");
      const client = await resolveHubClient(options, process.env);
      const { evaluations } = await client.get<{ evaluations: EvaluationView[] }>(
        path(id, `/evaluations${limit ? `?limit=${limit}` : ""}`),
      );
      const view = evaluations.map((e) => ({
        at: e.at,
        version: e.moduleVersion,
        verdict: e.verdict,
        rows: e.rows,
        devices: e.devices,
        fired: [...new Set((e.report.fired ?? []).map((f) => f.column))].join(",") || "-",
        windowEnd: e.windowEnd,
      }));
      printTable(
        view,
        ["at", "version", "verdict", "rows", "devices", "fired", "windowEnd"],
        Boolean(options.json),
        evaluations,
      );
    });

  withHubOptions(monitors.command("series <id>"))
    .description("one column's p-values per scale and distance scores per evaluation, oldest first")
    .requiredOption("--column <name>", "the monitored column (input or output)")
    .option("--limit <n>", "the newest this many evaluations (default 200)")
    .action(async (id: string, options: HubOptions & { column: string; limit?: string }) => {
      const limit = positiveInt(options.limit, "--limit");
      const client = await resolveHubClient(options, process.env);
      const query = new URLSearchParams({ column: options.column });
      if (limit) query.set("limit", String(limit));
      const series = await client.get<{ alpha: number; points: SeriesPoint[] }>(path(id, `/series?${query}`));
      if (options.json) return printObject(series);
      process.stdout.write(
        `column ${options.column}, alpha ${series.alpha} (Holm across the whole family)\n`,
      );
      const rows = seriesRows(series.points);
      const headers = [...new Set(rows.flatMap((r) => Object.keys(r)))];
      printTable(rows, headers, false);
    });

  withHubOptions(monitors.command("retraining <id>"))
    .description("retraining cycles, newest first, with their steps")
    .action(async (id: string, options: HubOptions) => {
      const client = await resolveHubClient(options, process.env);
      const answer = await client.get<{ cycles: CycleView[] }>(path(id, "/retraining"));
      if (options.json) return printObject(answer);
      printCycles(answer.cycles);
    });

  withHubOptions(monitors.command("retrain <id>"))
    .description("start a retraining cycle now (monitors with action retrain)")
    .action(async (id: string, options: HubOptions) => {
      const client = await resolveHubClient(options, process.env);
      const cycle = await client.post<CycleView>(path(id, "/retrain"), {});
      if (options.json) return printObject(cycle);
      process.stdout.write(`retraining cycle ${cycle.id} started: ${cycle.status}\n`);
    });

  withHubOptions(monitors.command("delete <id>"))
    .description("delete a monitor with its evaluations, alerts and retraining history")
    .action(async (id: string, options: HubOptions) => {
      const client = await resolveHubClient(options, process.env);
      const answer = await client.request<{ deleted: boolean }>("DELETE", path(id));
      if (options.json) return printObject(answer);
      process.stdout.write(`monitor ${id} deleted\n`);
    });

  const alerts = program.command("alerts").description("drift alerts raised by monitors");
  withHubOptions(alerts.command("list"))
    .description("alerts, newest first, with webhook delivery state")
    .option("--monitor <id>", "only this monitor's (id or name)")
    .option("--limit <n>", "at most this many")
    .action(async (options: HubOptions & { monitor?: string; limit?: string }) => {
      const limit = positiveInt(options.limit, "--limit");
      const client = await resolveHubClient(options, process.env);
      const query = new URLSearchParams();
      if (options.monitor) query.set("monitor", options.monitor);
      if (limit) query.set("limit", String(limit));
      const { alerts: rows } = await client.get<{ alerts: AlertView[] }>(
        `/api/v1/alerts${query.size > 0 ? `?${query}` : ""}`,
      );
      if (options.json) return printObject(rows);
      const names = rows.length > 0 ? await monitorNames(client) : new Map<string, string>();
      const view = rows.map((a) => ({
        id: a.id,
        at: a.at,
        monitor: names.get(a.monitorId) ?? a.monitorId,
        message: a.message,
        webhook:
          a.webhookStatus === "none"
            ? "-"
            : `${a.webhookStatus} (${a.webhookAttempts} attempt(s))${a.webhookError ? `: ${a.webhookError}` : ""}`,
      }));
      printTable(view, ["id", "at", "monitor", "message", "webhook"], false);
    });
}

interface AlertView {
  id: string;
  monitorId: string;
  at: string;
  message: string;
  webhookStatus: string;
  webhookAttempts: number;
  webhookError: string | null;
}

async function monitorNames(client: HubClient): Promise<Map<string, string>> {
  const { monitors } = await client.get<{ monitors: MonitorView[] }>("/api/v1/monitors");
  return new Map(monitors.map((m) => [m.id, m.name]));
}
