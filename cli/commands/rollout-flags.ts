/**
 * `edgefleet deploy` strategy flags → the API's rollout request: --canary N|N%, --waves a,b,100,
 * --bake 5m[,10m…], --rate N/min, --priority P and the gate thresholds. Pure, so tests check
 * every refusal without a hub.
 */
import { CliError } from "../hub-target.js";
import { numberFlag } from "../number-flags.js";

export interface RolloutFlags {
  strategy?: string;
  canary?: string;
  waves?: string;
  bake?: string;
  rate?: string;
  priority?: string;
  maxFailureRate?: string;
  maxErrorRate?: string;
  maxLatencyRatio?: string;
  maxPredictionShift?: string;
  maxMeanShift?: string;
  minRequests?: string;
  onNoData?: string;
  activationTimeout?: string;
  onOffline?: string;
  shadow?: boolean;
  shadowBake?: string;
  shadowMinScored?: string;
  minAgreement?: string;
  shadowMaxErrorRate?: string;
  shadowMaxLatencyRatio?: string;
}

const UNITS_MS: Record<string, number> = { ms: 1, s: 1000, m: 60_000, h: 3_600_000 };

/** "90s", "5m", "1h", "250ms" or "0" → milliseconds. */
export function parseDuration(text: string): number {
  const match = /^(\d+(?:\.\d+)?)(ms|s|m|h)?$/.exec(text.trim());
  if (!match || (match[2] === undefined && Number(match[1]) !== 0))
    throw new CliError(`not a duration: "${text}" (use e.g. 30s, 5m, 1h)`);
  return Math.round(Number(match[1]) * UNITS_MS[match[2] ?? "ms"]!);
}

/** An optional number flag. */
function optionalNumber(flag: string, text: string | undefined): number | undefined {
  return text === undefined ? undefined : numberFlag(flag, text);
}

/** Builds the rollout part of POST /api/v1/deployments; CliError on malformed or conflicting flags. */
export function rolloutRequest(flags: RolloutFlags): Record<string, unknown> {
  const body: Record<string, unknown> = {};
  if (flags.canary !== undefined && flags.waves !== undefined)
    throw new CliError("--canary and --waves conflict: a canary is one small wave, then everyone");
  if (flags.strategy !== undefined) body.strategy = flags.strategy;
  if (flags.canary !== undefined) {
    const text = flags.canary.trim();
    const percent = text.endsWith("%");
    const value = Number(percent ? text.slice(0, -1) : text);
    if (!Number.isFinite(value) || value <= 0 || (!percent && !Number.isInteger(value)))
      throw new CliError(
        `--canary takes a device count or a percentage, e.g. 5 or 10%; got "${flags.canary}"`,
      );
    body.canary = percent ? { percent: value } : { count: value };
  }
  const bakes = flags.bake?.split(",").map(parseDuration);
  if (flags.waves !== undefined) {
    const percents = flags.waves.split(",").map((p) => numberFlag("--waves", p.replace(/%$/, "")));
    if (bakes && bakes.length > 1 && bakes.length !== percents.length)
      throw new CliError(
        `--bake has ${bakes.length} times for ${percents.length} waves; give one, or one per wave`,
      );
    body.waves = percents.map((percent, i) => ({
      percent,
      ...(bakes && bakes.length > 1 ? { bakeMs: bakes[i] } : {}),
    }));
  } else if (bakes && bakes.length > 1) {
    throw new CliError("several --bake times need --waves");
  }
  if (bakes?.length === 1) body.bakeMs = bakes[0];
  if (flags.rate !== undefined) {
    const match = /^(\d+(?:\.\d+)?)(?:\/min)?$/.exec(flags.rate.trim());
    if (!match) throw new CliError(`--rate takes devices per minute, e.g. 20/min; got "${flags.rate}"`);
    body.ratePerMinute = Number(match[1]);
  }
  const priority = optionalNumber("--priority", flags.priority);
  if (priority !== undefined) body.priority = priority;
  const gates: Record<string, unknown> = Object.fromEntries(
    (
      [
        ["maxFailureRate", "--max-failure-rate"],
        ["maxErrorRate", "--max-error-rate"],
        ["maxLatencyRatio", "--max-latency-ratio"],
        ["maxPredictionShift", "--max-prediction-shift"],
        ["maxMeanShift", "--max-mean-shift"],
        ["minRequests", "--min-requests"],
      ] as const
    ).flatMap(([key, flag]) => {
      const value = optionalNumber(flag, flags[key]);
      return value === undefined ? [] : [[key, value]];
    }),
  );
  if (flags.onNoData !== undefined) {
    if (!["pass", "wait", "fail"].includes(flags.onNoData))
      throw new CliError(`--on-no-data takes pass, wait or fail; got "${flags.onNoData}"`);
    gates.onNoData = flags.onNoData;
  }
  if (flags.activationTimeout !== undefined)
    gates.activationTimeoutMs = parseDuration(flags.activationTimeout);
  if (flags.onOffline !== undefined) {
    if (!["exclude", "fail"].includes(flags.onOffline))
      throw new CliError(`--on-offline takes exclude or fail; got "${flags.onOffline}"`);
    gates.onOffline = flags.onOffline;
  }
  if (Object.keys(gates).length > 0) body.gates = gates;
  const shadowFlags = [
    flags.shadowBake,
    flags.shadowMinScored,
    flags.minAgreement,
    flags.shadowMaxErrorRate,
    flags.shadowMaxLatencyRatio,
  ];
  if (!flags.shadow && shadowFlags.some((f) => f !== undefined))
    throw new CliError(
      "--shadow-bake, --shadow-min-scored, --min-agreement and the other shadow gates need --shadow",
    );
  if (flags.shadow) {
    const shadow: Record<string, unknown> = {};
    if (flags.shadowBake !== undefined) shadow.bakeMs = parseDuration(flags.shadowBake);
    const minScored = optionalNumber("--shadow-min-scored", flags.shadowMinScored);
    if (minScored !== undefined) shadow.minScored = minScored;
    const minAgreement = optionalNumber("--min-agreement", flags.minAgreement);
    if (minAgreement !== undefined) shadow.minAgreement = minAgreement;
    const maxErrorRate = optionalNumber("--shadow-max-error-rate", flags.shadowMaxErrorRate);
    if (maxErrorRate !== undefined) shadow.maxErrorRate = maxErrorRate;
    const maxLatencyRatio = optionalNumber("--shadow-max-latency-ratio", flags.shadowMaxLatencyRatio);
    if (maxLatencyRatio !== undefined) shadow.maxLatencyRatio = maxLatencyRatio;
    body.shadow = shadow;
  }
  return body;
}
