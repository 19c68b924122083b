/**
 * What `train --wait` and `runs logs --follow` show: a progress bar (cli-progress) for progress
 * events with the latest metrics beside it, log lines above it, status changes as lines, and at the
 * end the run's outcome (metrics and the registered model version) with an exit code.
 */
import { MultiBar, Presets, type SingleBar } from "cli-progress";
import type { HubClient } from "../hub-api/client.js";
import type { LogLine, MetricGroups, Run } from "../hub-api/training.js";
import { formatMetric } from "./metric-format.js";
import { printObject, printTable } from "./output.js";
import { followRun, type RunEventHandlers } from "./run-follow.js";

/** Exit codes of a followed run. */
export const RUN_EXIT = { succeeded: 0, failed: 1, cancelled: 2, detached: 130 } as const;

/** The worker's stdout protocol (trainer/README.md): `EDGEFLEET_METRIC …` and `EDGEFLEET_PROGRESS …`. */
const PROTOCOL_LINE = /^EDGEFLEET_(METRIC|PROGRESS)\s/;

interface ViewOptions {
  /** Where log and status lines go when they cannot sit above a bar (stdout; stderr with --json). */
  lines: NodeJS.WritableStream;
  /** Where the bar is drawn. */
  bar: NodeJS.WriteStream;
  /** Log lines go above the bar: both streams are the same terminal. */
  aboveBar: boolean;
}

/** Draws one run's events; `stop()` before printing anything else. */
export class RunView implements RunEventHandlers {
  private multi: MultiBar | undefined;
  private bar: SingleBar | undefined;
  private lastStatus = "";
  private attempt = 0;
  private readonly latest = new Map<string, number>();

  constructor(private readonly options: ViewOptions) {}

  status(event: { status: string; attempt?: number; workerId?: string }): void {
    const attempt = event.attempt ?? this.attempt;
    if (event.status === this.lastStatus && attempt === this.attempt) return;
    if (attempt !== this.attempt) this.latest.clear();
    this.lastStatus = event.status;
    this.attempt = attempt;
    const where = attempt ? ` (attempt ${attempt}${event.workerId ? ` on ${event.workerId}` : ""})` : "";
    this.line(`[status] ${event.status}${where}`);
  }

  log(line: LogLine): void {
    // A script's metric and progress lines already move the bar; `runs logs` (without --follow) keeps them.
    if (line.stream === "stdout" && PROTOCOL_LINE.test(line.text)) return;
    const prefix = line.stream === "stderr" ? "! " : line.stream === "system" ? "# " : "";
    for (const text of String(line.text ?? "").split("\n")) this.line(`${prefix}${text}`);
  }

  metric(point: { name: string; value: number }): void {
    if (typeof point.value !== "number") return;
    this.latest.set(point.name, point.value);
    this.bar?.update({ metrics: this.metricsText() });
  }

  progress(progress: { iteration: number; of: number; phase?: string }): void {
    const total = Math.max(1, Number(progress.of) || 1);
    const payload = { phase: progress.phase ?? "training", metrics: this.metricsText() };
    if (!this.bar) {
      this.multi = new MultiBar(
        {
          format: " {phase} |{bar}| {value}/{total} {metrics}",
          hideCursor: true,
          clearOnComplete: false,
          stream: this.options.bar,
          // Pipes and CI logs get a line every few seconds instead of nothing.
          noTTYOutput: true,
          notTTYSchedule: 5_000,
        },
        Presets.shades_classic,
      );
      this.bar = this.multi.create(total, 0, payload);
    }
    this.bar.setTotal(total);
    this.bar.update(Math.min(total, Number(progress.iteration) || 0), payload);
  }

  /**
   * Stops drawing. The bar stays on screen as it was, or full when the run succeeded: the last
   * progress event may precede the final iterations (evaluation, export), and a finished run
   * should not read 87%.
   */
  stop(options: { succeeded?: boolean } = {}): void {
    if (options.succeeded && this.bar) this.bar.update(this.bar.getTotal());
    this.multi?.stop();
    this.multi = undefined;
  }

  private line(text: string): void {
    if (this.multi && this.options.aboveBar) this.multi.log(`${text}\n`);
    else this.options.lines.write(`${text}\n`);
  }

  private metricsText(): string {
    return [...this.latest]
      .slice(-3)
      .map(([name, value]) => `${name} ${formatMetric(value)}`)
      .join("  ");
  }
}

/**
 * Follows a run until it ends and prints its outcome; Ctrl-C stops following (not the run) and
 * says how to pick it up again. Returns the exit code.
 */
export async function followAndReport(client: HubClient, runId: string, json: boolean): Promise<number> {
  const stdoutTty = Boolean(process.stdout.isTTY);
  const view = new RunView({
    lines: json ? process.stderr : process.stdout,
    bar: process.stderr,
    aboveBar: stdoutTty && Boolean(process.stderr.isTTY),
  });
  const controller = new AbortController();
  const detach = () => controller.abort();
  process.once("SIGINT", detach);
  let run: Run | undefined;
  try {
    run = await followRun(client, runId, view, { signal: controller.signal });
  } finally {
    process.off("SIGINT", detach);
    view.stop({ succeeded: run?.status === "succeeded" });
  }
  if (!run) {
    process.stderr.write(
      `\nstopped following run ${runId}; it keeps running. Follow it again with: edgefleet runs logs ${runId} --follow\n`,
    );
    return RUN_EXIT.detached;
  }
  if (json) printObject(run);
  else printOutcome(run);
  return run.status === "succeeded"
    ? RUN_EXIT.succeeded
    : run.status === "cancelled"
      ? RUN_EXIT.cancelled
      : RUN_EXIT.failed;
}

/** The end of a run in words: status, duration, error, metrics table, registered model. */
export function printOutcome(run: Run): void {
  const took = run.durationMs !== undefined ? ` in ${(run.durationMs / 1000).toFixed(1)} s` : "";
  process.stdout.write(`run ${run.id} ${run.status}${took}\n`);
  if (run.error) process.stdout.write(`error: ${run.error.code}: ${run.error.message}\n`);
  printMetricGroups(run.metrics);
  printLeaderboard(run.outputs?.leaderboard);
  const model = run.outputs?.model;
  if (model) {
    process.stdout.write(`model: ${model.name} version ${model.version}\n`);
    process.stdout.write(`  see it with: edgefleet models show ${model.name}@${model.version}\n`);
  }
}

/** An `auto` run's candidates, best first, and the winning recipe with its parameters. */
export function printLeaderboard(leaderboard: unknown): void {
  if (!Array.isArray(leaderboard) || leaderboard.length === 0) return;
  type Entry = {
    rank?: number;
    recipe?: string;
    params?: Record<string, unknown>;
    evaluation?: string;
    metric?: { name?: string; value?: number; sd?: number; folds?: number };
    durationMs?: number;
  };
  const entries = leaderboard as Entry[];
  const first = entries[0]?.metric;
  const metricName = first?.name ?? "metric";
  const crossValidated = entries[0]?.evaluation === "cross-validation";
  process.stdout.write(
    crossValidated
      ? `\nleaderboard (${first?.folds ?? "k"}-fold cross-validation on the training rows, mean ± sd):\n`
      : "\nleaderboard (validation):\n",
  );
  printTable(
    entries.map((e) => ({
      rank: e.rank,
      recipe: e.recipe,
      [metricName]:
        typeof e.metric?.sd === "number"
          ? `${formatMetric(e.metric.value)} ± ${formatMetric(e.metric.sd)}`
          : formatMetric(e.metric?.value),
      seconds: typeof e.durationMs === "number" ? (e.durationMs / 1000).toFixed(1) : undefined,
      params: e.params && Object.keys(e.params).length > 0 ? JSON.stringify(e.params) : "-",
    })),
    ["rank", "recipe", metricName, "seconds", "params"],
    false,
  );
  const best = entries[0]!;
  process.stdout.write(
    `winner: ${best.recipe}${best.params && Object.keys(best.params).length > 0 ? ` ${JSON.stringify(best.params)}` : ""}\n`,
  );
}

/** Metrics as a table: one row per metric, one column per split. */
export function printMetricGroups(metrics: MetricGroups | null | undefined): void {
  const groups = (["test", "validation", "train"] as const).filter(
    (g) => Object.keys(metrics?.[g] ?? {}).length > 0,
  );
  if (groups.length === 0) return;
  const names = [...new Set(groups.flatMap((g) => Object.keys(metrics![g]!)))];
  const rows = names.map((metric) =>
    Object.fromEntries([["metric", metric], ...groups.map((g) => [g, formatMetric(metrics![g]![metric])])]),
  );
  printTable(rows, ["metric", ...groups], false);
}
