/**
 * `edgefleet deploy` with strategy flags, and `edgefleet deployments list|show|pause|resume|abort|rollback`
 * (show --watch draws the rollout's waves live).
 */
import type { Command } from "commander";
import { CliError, resolveHubClient } from "../hub-target.js";
import { printObject, printTable } from "../output.js";
import { watchDeployment } from "./deployment-watch.js";
import { type HubOptions, withHubOptions } from "./operator-options.js";
import { type RolloutFlags, rolloutRequest } from "./rollout-flags.js";

type DeployOptions = HubOptions & RolloutFlags & { devices?: string; selector?: string; watch?: boolean };

/** Registers deploy and deployments. */
export function registerDeployCommands(program: Command): void {
  withHubOptions(program.command("deploy <module@version>"))
    .description("deploy a module version to devices by id or tag selector, with a rollout strategy")
    .option("--devices <ids>", "comma-separated device ids")
    .option("--selector <tags>", "devices with these tags, e.g. site=plant-1")
    .option("--strategy <name>", "all-at-once | canary | waves (implied by --canary / --waves)")
    .option("--canary <N|N%>", "release to the first N devices (or N%) first, then everyone")
    .option("--waves <percents>", "cumulative wave sizes in %, the last 100, e.g. 10,50,100")
    .option(
      "--bake <time>",
      "watch each wave this long before its gates decide (e.g. 5m; or one per wave: 5m,10m,0)",
    )
    .option("--rate <N/min>", "release at most N devices per minute")
    .option(
      "--priority <P>",
      "layering: where deployments overlap, the highest priority wins per module (default 0)",
    )
    .option(
      "--max-failure-rate <r>",
      "gate: largest fraction of released devices failing activation (default 0.05)",
    )
    .option(
      "--max-error-rate <r>",
      "gate: largest fraction of errored requests on the new version (default 0.05)",
    )
    .option("--max-latency-ratio <x>", "gate: largest p95 latency ratio new/previous (default 1.5)")
    .option(
      "--max-prediction-shift <d>",
      "gate: largest total variation distance of label distributions (default 0.2)",
    )
    .option(
      "--max-mean-shift <s>",
      "gate: largest numeric output mean shift in previous std devs (default 1)",
    )
    .option("--min-requests <n>", "requests each side needs before telemetry gates judge (default 50)")
    .option(
      "--on-no-data <pass|wait|fail>",
      "a bake with fewer than --min-requests requests on the new version: pass (default), wait (bake again) or fail (roll back)",
    )
    .option(
      "--max-int8-loss <r|N%>",
      "an int8 variant reaches int8 profiles only if its test metric is at most this much worse than float (default 1%)",
    )
    .option(
      "--activation-timeout <time>",
      "a released, online device that has not reported active or failed this long after its wave is out counts as failed (default 10m)",
    )
    .option(
      "--on-offline <exclude|fail>",
      "released devices that are offline: exclude (default: not waited for, not counted; they get it on reconnect) or fail (held to the activation deadline)",
    )
    .option(
      "--shadow",
      "shadow-score first: every target scores copies of its requests with this version beside the serving one (answers unchanged), then the shadow gates promote it to an ordinary rollout or drop it",
    )
    .option("--shadow-bake <time>", "how long the candidate shadows before it is judged (default 10m)")
    .option("--shadow-min-scored <n>", "requests the candidate must score before it is judged (default 200)")
    .option("--min-agreement <r>", "shadow gate: smallest share of rows answered the same (default 0.95)")
    .option(
      "--shadow-max-error-rate <r>",
      "shadow gate: largest share of failed candidate runs (default 0.01)",
    )
    .option(
      "--shadow-max-latency-ratio <x>",
      "shadow gate: largest candidate/serving p95 latency on the same requests (default 1.5)",
    )
    .option(
      "--watch",
      "show the rollout's progress until it stops; exits 1 unless every targeted device ended active",
    )
    .action(async (target: string, options: DeployOptions & { maxInt8Loss?: string }) => {
      const at = target.lastIndexOf("@");
      if (at <= 0) throw new CliError("give the module as name@version, e.g. demo-iris@1.0.0");
      if (!options.devices && !options.selector)
        throw new CliError("choose devices with --devices or --selector");
      const rollout = rolloutRequest(options);
      const selector: Record<string, unknown> = {};
      if (options.devices) selector.deviceIds = options.devices.split(",").map((d) => d.trim());
      if (options.selector) {
        selector.tags = Object.fromEntries(
          options.selector.split(",").map((p) => [p.split("=")[0], p.split("=").slice(1).join("=")]),
        );
      }
      const maxVariantLoss = lossFraction(options.maxInt8Loss);
      const client = await resolveHubClient(options, process.env);
      const deployment = await client.post<DeployAnswer>("/api/v1/deployments", {
        module: target.slice(0, at),
        version: target.slice(at + 1),
        selector,
        ...rollout,
        ...(maxVariantLoss !== undefined ? { maxVariantLoss } : {}),
      });
      if (options.json && !options.watch) return printObject(deployment);
      process.stdout.write(
        `deployment ${deployment.id}: ${target} to ${deployment.targetDeviceIds.length} device(s), ${deployment.strategy}\n`,
      );
      for (const line of preflightLines(deployment)) process.stdout.write(`${line}\n`);
      if (options.watch) finish(await watchDeployment(client, deployment.id));
    });

  const deployments = program
    .command("deployments")
    .description("inspect and steer deployments and rollouts");
  withHubOptions(deployments.command("list"))
    .description("list deployments, newest first")
    .option("--status <status>", "only this status (active, paused, completed, aborted, rolled-back, …)")
    .option("--module <name>", "only this module")
    .action(async (options: HubOptions & { status?: string; module?: string }) => {
      const client = await resolveHubClient(options, process.env);
      const query = new URLSearchParams();
      if (options.status) query.set("status", options.status);
      if (options.module) query.set("module", options.module);
      const { deployments: rows } = await client.get<{ deployments: Record<string, unknown>[] }>(
        `/api/v1/deployments${query.size > 0 ? `?${query}` : ""}`,
      );
      const view = rows.map((r) => ({
        ...r,
        progress: progressText(r.progress as Progress),
        wave: Number(r.wave) + 1,
      }));
      printTable(
        view,
        [
          "id",
          "moduleName",
          "moduleVersion",
          "strategy",
          "priority",
          "status",
          "wave",
          "progress",
          "createdAt",
        ],
        Boolean(options.json),
        rows,
      );
    });
  withHubOptions(deployments.command("show <id>"))
    .description("one deployment: waves, gates, per-device state and counts")
    .option("--watch", "live progress bars per wave until the rollout stops")
    .action(async (id: string, options: HubOptions & { watch?: boolean }) => {
      const client = await resolveHubClient(options, process.env);
      if (options.watch) return finish(await watchDeployment(client, id));
      printObject(await client.get(`/api/v1/deployments/${encodeURIComponent(id)}`));
    });
  withHubOptions(deployments.command("shadow <id>"))
    .description("a shadow deployment's serving and candidate figures on the same requests, side by side")
    .action(async (id: string, options: HubOptions) => {
      const client = await resolveHubClient(options, process.env);
      const d = await client.get<ShadowDeployment>(`/api/v1/deployments/${encodeURIComponent(id)}`);
      if (!d.shadow) throw new CliError(`deployment ${id} has no shadow phase (deploy with --shadow)`);
      if (options.json) return printObject(d.shadow);
      process.stdout.write(shadowText(d));
    });
  const commands = {
    pause: "pause an active rollout (no more devices, no gate decisions)",
    resume: "resume a paused rollout (the current wave's bake starts again)",
    abort: "stop a rollout for good; released devices keep the version",
    rollback: "take the version back from every released device",
  } as const;
  for (const [command, description] of Object.entries(commands)) {
    withHubOptions(deployments.command(`${command} <id>`))
      .description(description)
      .action(async (id: string, options: HubOptions) => {
        const client = await resolveHubClient(options, process.env);
        const d = await client.post<{ status: string; counts: Record<string, number> }>(
          `/api/v1/deployments/${encodeURIComponent(id)}/${command}`,
          {},
        );
        if (options.json) return printObject(d);
        process.stdout.write(`deployment ${id}: ${d.status}\n`);
      });
  }
}

interface DeployAnswer {
  id: string;
  strategy: string;
  targetDeviceIds: string[];
  skipped?: { deviceId: string; reasons: string[] }[];
  variants?: {
    variant: string | null;
    devices: number;
    trade?: {
      metric: string;
      reference: number;
      value: number;
      relativeLoss: number;
      size: number;
      baseSize: number;
    };
  }[];
}

/** `--max-int8-loss`: "1%" or 0.01 → 0.01; CliError outside 0…100 %. */
export function lossFraction(value: string | undefined): number | undefined {
  if (value === undefined) return undefined;
  const trimmed = value.trim();
  const fraction = trimmed.endsWith("%") ? Number(trimmed.slice(0, -1)) / 100 : Number(trimmed);
  if (!Number.isFinite(fraction) || fraction < 0 || fraction > 1 || trimmed === "" || trimmed === "%")
    throw new CliError(`--max-int8-loss takes a fraction 0…1 or a percentage such as 1%, got "${value}"`);
  return fraction;
}

/** The preflight's say: which file the devices load, what an int8 variant trades, who was skipped. */
export function preflightLines(deployment: DeployAnswer): string[] {
  const lines: string[] = [];
  for (const v of deployment.variants ?? []) {
    const file = v.variant ? `variant ${v.variant}` : "base model";
    const trade = v.trade
      ? `: ${v.trade.metric} ${v.trade.reference.toPrecision(4)} → ${v.trade.value.toPrecision(4)} (${(v.trade.relativeLoss * 100).toFixed(2)} % loss), ${v.trade.size} vs ${v.trade.baseSize} bytes`
      : "";
    lines.push(`  ${v.devices} device(s) load the ${file}${trade}`);
  }
  for (const s of deployment.skipped ?? []) lines.push(`  skipped ${s.deviceId}: ${s.reasons.join("; ")}`);
  return lines;
}

interface Figures {
  requests: number;
  errors: number;
  latencyP95Ms: number | null;
  latencyMeanMs: number | null;
  labels: Record<string, number>;
}

interface ShadowDeployment {
  id: string;
  moduleName: string;
  moduleVersion: string;
  status: string;
  outcome: { message: string } | null;
  gateResults: { results: { gate: string; status: string; message: string }[] } | null;
  shadow?: {
    phase: string;
    judgedAt?: string;
    gates: { gate: string; status: string; message: string }[];
    serving: Figures & { versions: string[] };
    candidate: Figures & {
      version: string;
      dropped: number;
      agreement: number | null;
      meanAbsShift: number | null;
      compared: number;
    };
    devices: {
      targeted: number;
      scoring: number;
      loading: number;
      failed: { deviceId: string; error: string }[];
    };
  };
}

/** Serving and candidate in two columns, then agreement, devices and the gates. */
export function shadowText(d: ShadowDeployment): string {
  const s = d.shadow!;
  const ms = (v: number | null) => (v === null ? "-" : `${Number(v.toFixed(2))} ms`);
  const labels = (l: Record<string, number>) =>
    Object.entries(l)
      .sort(([, a], [, b]) => b - a)
      .slice(0, 5)
      .map(([k, v]) => `${k} ${v}`)
      .join(", ") || "-";
  const rows: [string, string, string][] = [
    ["", `serving ${s.serving.versions.join(",") || "-"}`, `candidate ${s.candidate.version}`],
    ["requests", String(s.serving.requests), `${s.candidate.requests} (${s.candidate.dropped} skipped)`],
    ["errors", String(s.serving.errors), String(s.candidate.errors)],
    ["latency p95", ms(s.serving.latencyP95Ms), ms(s.candidate.latencyP95Ms)],
    ["latency mean", ms(s.serving.latencyMeanMs), ms(s.candidate.latencyMeanMs)],
    ["labels", labels(s.serving.labels), labels(s.candidate.labels)],
  ];
  const w0 = Math.max(...rows.map((r) => r[0].length));
  const w1 = Math.max(...rows.map((r) => r[1].length));
  const lines = [
    `deployment ${d.id}: ${d.moduleName}@${d.moduleVersion} ${d.status}, shadow ${s.phase}${s.judgedAt ? ` (judged at ${s.judgedAt})` : ""}`,
    ...rows.map(([a, b, c]) => `  ${a.padEnd(w0)}  ${b.padEnd(w1)}  ${c}`),
    `  agreement ${s.candidate.agreement === null ? "-" : `${(s.candidate.agreement * 100).toFixed(1)}% of ${s.candidate.compared} rows`}, mean output shift ${s.candidate.meanAbsShift === null ? "-" : s.candidate.meanAbsShift.toPrecision(3)}`,
    `  devices: ${s.devices.scoring} scoring, ${s.devices.loading} loading, ${s.devices.failed.length} failed of ${s.devices.targeted}`,
    ...s.devices.failed.slice(0, 10).map((f) => `    ${f.deviceId}: ${f.error}`),
    ...s.gates.map((r) => `  gate ${r.gate}: ${r.status} — ${r.message}`),
    ...(d.outcome ? [`  ${d.outcome.message}`] : []),
  ];
  return `${lines.join("\n")}\n`;
}

interface Progress {
  active: number;
  targeted: number;
  released: number;
  failed: number;
}

/** "3/4 active (4 released, 1 failed)": devices running the version, never just the released count. */
function progressText(p: Progress): string {
  const extra = [
    ...(p.released !== p.targeted ? [`${p.released} released`] : []),
    ...(p.failed > 0 ? [`${p.failed} failed`] : []),
  ];
  return `${p.active}/${p.targeted} active${extra.length > 0 ? ` (${extra.join(", ")})` : ""}`;
}

interface Finished {
  id: string;
  status: string;
  outcome: { message: string } | null;
  devices: { deviceId: string; state: string; error?: string; verdict?: string; reason?: string }[];
}

/**
 * Prints how a watched rollout ended and every targeted device that did not end active, with why;
 * anything but `completed` (every targeted, non-skipped device active) exits 1.
 */
function finish(d: Finished): void {
  process.stdout.write(`deployment ${d.id}: ${d.status}${d.outcome ? ` (${d.outcome.message})` : ""}\n`);
  if (d.status === "completed") return;
  const notActive = d.devices.filter((x) => x.state !== "active" || x.verdict !== undefined);
  for (const x of notActive) {
    const why = x.reason ?? x.error ?? x.state;
    process.stdout.write(
      `  ${x.deviceId}: ${x.verdict ?? x.state}${why !== (x.verdict ?? x.state) ? ` — ${why}` : ""}\n`,
    );
  }
  process.exitCode = 1;
}
