/**
 * `edgefleet monitors create` flags → the body of POST /api/v1/monitors. Pure, so every refusal is
 * tested without a hub. The checks mirror hub/monitors/spec.ts where a flag maps to a field, so a
 * bad flag is refused here, before anything is sent; the hub still checks the whole body (and what
 * needs its database: the module version, the selector, the dataset).
 */
import { CliError } from "../hub-target.js";
import { keyValues, paramValues, splitAt } from "../key-values.js";
import { integerFlag, numberFlag } from "../number-flags.js";
import { parseDuration } from "./rollout-flags.js";

export interface MonitorFlags {
  module?: string;
  selector?: string;
  devices?: string;
  alpha?: string;
  minRows?: string;
  every?: string;
  scales?: string;
  thresholds?: string;
  /** false with --no-outputs (commander's negated option; true otherwise). */
  outputs?: boolean;
  disabled?: boolean;
  webhook?: string;
  action?: string;
  retrainDataset?: string;
  retrainRecipe?: string;
  retrainParam?: string[];
  retrainModel?: string;
  retrainMargin?: string;
  retrainMinLabelled?: string;
  retrainSamplesPerWindow?: string;
  retrainSampleWindows?: string;
  retrainCollectTimeout?: string;
  retrainRetryAfter?: string;
  retrainCanary?: string;
  retrainBake?: string;
}

const RECIPES = ["logistic", "ridge", "mlp", "gbt", "forest", "auto"];
const MAX_INTERVAL_MS = 7 * 24 * 3_600_000;
const MAX_RETRAIN_WAIT_MS = 30 * 24 * 3_600_000;

function duration(flag: string, text: string, min: number, max: number): number {
  let ms: number;
  try {
    ms = parseDuration(text);
  } catch {
    throw new CliError(`${flag} takes a duration such as 30s, 5m or 1h, got "${text}"`);
  }
  if (ms < min || ms > max)
    throw new CliError(`${flag} must be between ${min / 1000} s and ${max / 3_600_000} h, got "${text}"`);
  return ms;
}

/** "fleet=a,site=b" → {fleet: "a", site: "b"}. */
function tags(text: string): Record<string, string> {
  const pairs = text
    .split(",")
    .map((p) => p.trim())
    .filter(Boolean);
  if (pairs.length === 0) throw new CliError(`--selector takes k=v[,k=v…], got "${text}"`);
  return keyValues(pairs, "--selector");
}

/** The module flag: NAME or NAME@VERSION (the version is resolved later when missing). */
export function moduleRef(text: string): { name: string; version?: string } {
  const ref = splitAt(text.trim());
  if (!ref.name || text.trim().endsWith("@"))
    throw new CliError(`--module takes NAME or NAME@VERSION, got "${text}"`);
  return ref;
}

/** "1,4,16" → [1, 4, 16]: whole numbers 1–256, distinct, at most 8. */
export function parseScales(text: string): number[] {
  const scales = text.split(",").map((s) => integerFlag("--scales", s.trim(), 1, 256));
  if (new Set(scales).size !== scales.length) throw new CliError(`--scales must be distinct, got "${text}"`);
  if (scales.length > 8) throw new CliError(`--scales takes at most 8 scales, got ${scales.length}`);
  return scales;
}

function thresholds(text: string): Record<string, number> {
  const known = ["js", "psi", "wasserstein"];
  const pairs = keyValues(text.split(","), "--thresholds");
  return Object.fromEntries(
    Object.entries(pairs).map(([key, value]) => {
      if (!known.includes(key)) throw new CliError(`--thresholds knows ${known.join(", ")}; got "${key}"`);
      const n = numberFlag(`--thresholds ${key}`, value);
      if (n <= 0) throw new CliError(`--thresholds ${key} must be positive, got "${value}"`);
      return [key, n];
    }),
  );
}

function webhook(text: string): { url: string } {
  let url: URL;
  try {
    url = new URL(text);
  } catch {
    throw new CliError(`--webhook takes an http(s) URL, got "${text}"`);
  }
  if (url.protocol !== "http:" && url.protocol !== "https:")
    throw new CliError(`--webhook takes an http(s) URL, got "${text}"`);
  return { url: text };
}

function canary(text: string): { count: number } | { percent: number } {
  const trimmed = text.trim();
  const percent = trimmed.endsWith("%");
  const value = Number(percent ? trimmed.slice(0, -1) : trimmed);
  const ok = percent ? value > 0 && value < 100 : Number.isInteger(value) && value > 0;
  if (!ok)
    throw new CliError(`--retrain-canary takes a device count or a percentage, e.g. 1 or 10%; got "${text}"`);
  return percent ? { percent: value } : { count: value };
}

/** The `action.retrain` settings from the --retrain-* flags (only those given). */
function retrainSettings(flags: MonitorFlags): Record<string, unknown> {
  const r: Record<string, unknown> = {};
  if (flags.retrainDataset !== undefined) r.dataset = flags.retrainDataset;
  if (flags.retrainRecipe !== undefined) {
    if (!RECIPES.includes(flags.retrainRecipe))
      throw new CliError(`--retrain-recipe is one of ${RECIPES.join(", ")}; got "${flags.retrainRecipe}"`);
    r.recipe = flags.retrainRecipe;
  }
  if (flags.retrainParam?.length) r.params = paramValues(flags.retrainParam);
  if (flags.retrainModel !== undefined) r.model = flags.retrainModel;
  if (flags.retrainMargin !== undefined) {
    const margin = numberFlag("--retrain-margin", flags.retrainMargin);
    if (margin < 0 || margin > 1)
      throw new CliError(`--retrain-margin is from 0 to 1, got "${flags.retrainMargin}"`);
    r.margin = margin;
  }
  if (flags.retrainMinLabelled !== undefined)
    r.minLabelled = integerFlag("--retrain-min-labelled", flags.retrainMinLabelled, 1, 100_000);
  if (flags.retrainSamplesPerWindow !== undefined)
    r.samplesPerWindow = integerFlag("--retrain-samples-per-window", flags.retrainSamplesPerWindow, 1, 1000);
  if (flags.retrainSampleWindows !== undefined)
    r.sampleWindows = integerFlag("--retrain-sample-windows", flags.retrainSampleWindows, 1, 1000);
  if (flags.retrainCollectTimeout !== undefined)
    r.collectTimeoutMs = duration(
      "--retrain-collect-timeout",
      flags.retrainCollectTimeout,
      1_000,
      MAX_RETRAIN_WAIT_MS,
    );
  if (flags.retrainRetryAfter !== undefined)
    r.retryAfterMs = duration("--retrain-retry-after", flags.retrainRetryAfter, 1_000, MAX_RETRAIN_WAIT_MS);
  if (flags.retrainCanary !== undefined || flags.retrainBake !== undefined) {
    r.canary = {
      ...(flags.retrainCanary !== undefined ? canary(flags.retrainCanary) : { count: 1 }),
      ...(flags.retrainBake !== undefined
        ? { bakeMs: duration("--retrain-bake", flags.retrainBake, 0, MAX_INTERVAL_MS) }
        : {}),
    };
  }
  return r;
}

/**
 * The monitor body: `base` (the --spec file, may be empty) with the flags laid over it. The module's
 * version may still be missing (the caller resolves it); everything else the flags set is checked.
 */
export function monitorBody(
  name: string | undefined,
  flags: MonitorFlags,
  base: Record<string, unknown> = {},
): Record<string, unknown> {
  const body: Record<string, unknown> = { ...base };
  if (name !== undefined) body.name = name;
  if (flags.module !== undefined) {
    const ref = moduleRef(flags.module);
    body.module = ref.name;
    if (ref.version !== undefined) body.version = ref.version;
    else delete body.version;
  }
  if (typeof body.module !== "string")
    throw new CliError("say which module to watch: --module NAME[@VERSION]");
  if (typeof body.name !== "string") body.name = `${body.module}-drift`;

  if (flags.selector !== undefined || flags.devices !== undefined) {
    const selector: Record<string, unknown> = {};
    if (flags.devices !== undefined) {
      const ids = flags.devices
        .split(",")
        .map((d) => d.trim())
        .filter(Boolean);
      if (ids.length === 0)
        throw new CliError(`--devices takes comma-separated device ids, got "${flags.devices}"`);
      selector.deviceIds = ids;
    }
    if (flags.selector !== undefined) selector.tags = tags(flags.selector);
    body.selector = selector;
  }
  if (body.selector === undefined)
    throw new CliError("choose the cohort's devices with --selector k=v or --devices a,b");

  if (flags.alpha !== undefined) {
    const alpha = numberFlag("--alpha", flags.alpha);
    if (!(alpha > 0 && alpha < 0.5))
      throw new CliError(`--alpha is a false-alarm rate above 0 and below 0.5, got "${flags.alpha}"`);
    body.alpha = alpha;
  }
  if (flags.minRows !== undefined) body.minRows = integerFlag("--min-rows", flags.minRows, 1, 10_000_000);
  if (flags.every !== undefined) body.intervalMs = duration("--every", flags.every, 1_000, MAX_INTERVAL_MS);
  if (flags.scales !== undefined) body.scales = parseScales(flags.scales);
  if (flags.thresholds !== undefined) body.thresholds = thresholds(flags.thresholds);
  if (flags.outputs === false) body.includeOutputs = false;
  if (flags.disabled) body.enabled = false;
  if (flags.webhook !== undefined) body.webhook = webhook(flags.webhook);

  const retrain = retrainSettings(flags);
  const retrainFlags = Object.keys(retrain).length > 0;
  const action = flags.action ?? (retrainFlags ? "retrain" : undefined);
  if (action !== undefined && action !== "alert" && action !== "retrain")
    throw new CliError(`--action is alert or retrain, got "${flags.action}"`);
  if (action === "alert") {
    if (retrainFlags) throw new CliError("--retrain-* flags need --action retrain");
    body.action = { kind: "alert" };
  }
  if (action === "retrain") {
    const fromSpec = (base.action as { retrain?: Record<string, unknown> } | undefined)?.retrain ?? {};
    const settings = { ...fromSpec, ...retrain };
    if (typeof settings.dataset !== "string")
      throw new CliError(
        "--action retrain needs --retrain-dataset NAME (the dataset the challenger trains on)",
      );
    body.action = { kind: "retrain", retrain: settings };
  }
  return body;
}
