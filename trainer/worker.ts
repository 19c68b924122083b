/**
 * The trainer worker: registers with the hub, long-polls for runs that match its capabilities,
 * runs each claimed attempt (built-in recipe or script), streams its logs and metrics, uploads the
 * ONNX model and completes or fails the attempt. A heartbeat every `heartbeatMs` extends the leases
 * of its running attempts and brings back cancellations; a 409 `lease_lost` on any call stops the
 * attempt without reporting (the hub has moved on). Runs inside the hub (main.ts) or on its own
 * machine (`edgefleet trainer`), always over HTTP.
 */

import { mkdir, mkdtemp, rm } from "node:fs/promises";
import { hostname } from "node:os";
import { join, resolve } from "node:path";
import { HubApiError } from "../hub-api/client.js";
import { AttemptLostError, TrainerHubApi } from "../hub-api/trainer-api.js";
import type { Claim, FailBody } from "../hub-api/training.js";
import type { Logger } from "../lib/log.js";
import type { ClientTls } from "../lib/tls/client-tls.js";
import { runBuiltinJob } from "./builtin-job.js";
import { detectCapabilities, type GpuInfo, type JobKind, type WorkerCapabilities } from "./capabilities.js";
import { failureOf } from "./errors.js";
import { requestedGpus } from "./gpu-allocation.js";
import { JobStopped, type StopReason, throwIfStopped } from "./job.js";
import { killLeftoverScripts, removeScriptFolder } from "./leftovers.js";
import { AttemptReporter } from "./reporter.js";
import { runScriptJob } from "./script-job.js";
import { resolveScriptIdentity } from "./script-user.js";
import { loadOrCreateWorkerId } from "./worker-id.js";

export interface TrainerWorkerOptions {
  hubUrl: string;
  token: string;
  /** CA bundle (and client certificate) for an https:// hub. */
  tls?: ClientTls | undefined;
  /** Stable id; default: the one saved in `dataDir` (made on first start). */
  id?: string;
  /** Display name; default: the host name. */
  name?: string;
  labels?: Record<string, string>;
  /** Worker id file and per-attempt work folders. One folder per worker. */
  dataDir: string;
  /** Attempts run at the same time. Default 1. */
  concurrency?: number;
  log: Logger;
  /** Job kinds offered. Default both. */
  kinds?: JobKind[];
  /** Skip GPU detection and register these (tests). */
  gpus?: GpuInfo[];
  /** Long-poll length per claim. Default 25 s (the hub's maximum). */
  claimWaitMs?: number;
  /**
   * The unprivileged user (name or uid:gid) a worker running as root runs scripts as. Default
   * `nobody`; without such a user a root worker refuses script jobs (script-user.ts).
   */
  scriptUser?: string | undefined;
}

export interface TrainerWorker {
  readonly id: string;
  readonly capabilities: WorkerCapabilities;
  /** Attempts running now. */
  running(): { runId: string; attempt: number }[];
  /**
   * Stops claiming; lets running attempts finish for up to `graceMs` (default 0), then stops them
   * and reports them failed with retryable=true so another worker takes over.
   */
  stop(options?: { graceMs?: number }): Promise<void>;
}

const DEFAULT_HEARTBEAT_MS = 5_000;
/** What the hub accepts as a worker id. */
const WORKER_ID = /^[A-Za-z0-9](?:[A-Za-z0-9._-]{0,126}[A-Za-z0-9])?$/;
const MAX_BACKOFF_MS = 30_000;
/** Retries of the upload and complete calls when the hub is briefly unreachable. */
const FINISH_TRIES = 4;

interface ActiveAttempt {
  claim: Claim;
  controller: AbortController;
  done: Promise<void>;
  /** The GPUs this attempt holds (its run's `compute.gpus`, from the free ones). */
  gpus: GpuInfo[];
}

const sleep = (ms: number, signal?: AbortSignal) =>
  new Promise<void>((resolve) => {
    const timer = setTimeout(resolve, ms);
    signal?.addEventListener(
      "abort",
      () => {
        clearTimeout(timer);
        resolve();
      },
      { once: true },
    );
  });

/** Starts a worker; resolves once its id and capabilities are known (registration runs in the loop). */
export async function startTrainerWorker(options: TrainerWorkerOptions): Promise<TrainerWorker> {
  const dataDir = resolve(options.dataDir);
  const id = options.id ?? (await loadOrCreateWorkerId(dataDir));
  if (!WORKER_ID.test(id))
    throw new Error(
      `worker id "${id}": use 1-128 letters, digits, '.', '_' or '-', starting and ending with a letter or digit`,
    );
  const name = options.name ?? hostname();
  const concurrency = Math.max(1, options.concurrency ?? 1);
  const claimWaitMs = options.claimWaitMs ?? 25_000;
  const capabilities = await detectCapabilities({
    ...(options.labels ? { labels: options.labels } : {}),
    ...(options.kinds ? { kinds: options.kinds } : {}),
    ...(options.gpus ? { gpus: options.gpus } : {}),
  });
  const api = new TrainerHubApi({ url: options.hubUrl, token: options.token, tls: options.tls });
  const log = options.log.child({ workerId: id });
  const workRoot = join(dataDir, "work");
  // Folders left by a previous process (killed mid-job) hold nothing anyone will read again;
  // scripts it started may still run, holding a GPU: stop them first.
  const leftovers = await killLeftoverScripts(workRoot);
  if (leftovers.length > 0) options.log.warn({ event: "trainer.leftover-scripts.killed", groups: leftovers });
  await rm(workRoot, { recursive: true, force: true });
  await mkdir(workRoot, { recursive: true });
  const scriptIdentity = await resolveScriptIdentity({
    configured: options.scriptUser,
    uid: process.getuid?.(),
  });
  if (scriptIdentity.kind === "refused")
    log.warn({ event: "trainer.scripts.refused", reason: scriptIdentity.reason });
  else if (scriptIdentity.kind === "user")
    log.info({ event: "trainer.scripts.user", user: scriptIdentity.user.name, uid: scriptIdentity.user.uid });

  const active = new Map<string, ActiveAttempt>();
  const gpusInUse = new Set<number>();
  /** GPUs no running attempt holds; the hub hands out only runs that fit them. */
  const freeGpus = () =>
    [...capabilities.gpus].sort((a, b) => a.index - b.index).filter((g) => !gpusInUse.has(g.index));
  const stopping = new AbortController();
  let registered = false;
  let heartbeatMs = DEFAULT_HEARTBEAT_MS;
  let slotFreed: () => void = () => {};
  let heartbeatTimer: NodeJS.Timeout | undefined;
  let heartbeatsOn = true;

  const register = async () => {
    await api.register({ id, name, capabilities });
    registered = true;
    log.info({ event: "trainer.registered", hubUrl: api.url, name, capabilities });
  };

  const heartbeat = async () => {
    if (!registered) return;
    const runs = [...active.values()].map((a) => ({ runId: a.claim.runId, attempt: a.claim.attempt }));
    try {
      const answer = await api.heartbeat(id, runs);
      for (const runId of answer.cancel) stopAttempt(runId, "cancelled");
      for (const runId of answer.lost) stopAttempt(runId, "lease_lost");
    } catch (error) {
      if (error instanceof HubApiError && error.status === 404) registered = false;
      log.warn({ event: "trainer.heartbeat.failed", err: error, runs: runs.length });
    }
  };
  // One chain of beats: rescheduling bumps the generation, so a beat in flight does not start a second chain.
  let beatGeneration = 0;
  const scheduleHeartbeat = () => {
    if (!heartbeatsOn) return;
    const generation = ++beatGeneration;
    heartbeatTimer = setTimeout(() => {
      void heartbeat().finally(() => {
        if (generation === beatGeneration) scheduleHeartbeat();
      });
    }, heartbeatMs);
  };

  const stopAttempt = (runId: string, reason: StopReason) => {
    const attempt = active.get(runId);
    if (!attempt || attempt.controller.signal.aborted) return;
    log.info({ event: "trainer.attempt.stopping", runId, attempt: attempt.claim.attempt, reason });
    attempt.controller.abort(reason);
  };

  /** Upload and complete, retried while the hub is unreachable; lease loss and refusals pass through. */
  const withRetries = async <T>(what: string, call: () => Promise<T>, signal: AbortSignal): Promise<T> => {
    for (let attempt = 1; ; attempt++) {
      try {
        return await call();
      } catch (error) {
        if (!(error instanceof HubApiError && error.transient) || attempt >= FINISH_TRIES) throw error;
        log.warn({ event: "trainer.retry", what, attempt, err: error });
        await sleep(500 * 2 ** attempt, signal);
        throwIfStopped(signal);
      }
    }
  };

  const runAttempt = async (claim: Claim, controller: AbortController) => {
    const { runId, attempt } = claim;
    const signal = controller.signal;
    const attemptLog = log.child({ runId, attempt });
    const reporter = new AttemptReporter(api, runId, attempt, {
      log: attemptLog,
      onLeaseLost: () => stopAttempt(runId, "lease_lost"),
    });
    let workDir: string | undefined;
    const started = Date.now();
    const kind = claim.spec.recipe === "script" ? "script" : "builtin";
    attemptLog.info({
      event: "trainer.attempt.started",
      kind,
      recipe: claim.spec.recipe,
      experiment: claim.spec.experiment,
    });
    reporter.log("system", `attempt ${attempt} on worker ${id} (${name}): ${kind} ${claim.spec.recipe}`);
    try {
      workDir = await mkdtemp(join(workRoot, `${runId.replace(/[^A-Za-z0-9_-]/g, "_")}-${attempt}-`));
      const context = {
        claim,
        api,
        reporter,
        signal,
        workDir,
        hubUrl: api.url,
        scriptIdentity,
        gpus: { held: active.get(runId)?.gpus ?? [], worker: capabilities.gpus.length },
        log: attemptLog,
      };
      const output = kind === "script" ? await runScriptJob(context) : await runBuiltinJob(context);
      throwIfStopped(signal);
      reporter.log("system", `uploading model (${output.onnx.byteLength} bytes)`);
      const { sha256 } = await withRetries(
        "model",
        () => api.uploadModel(runId, attempt, output.onnx),
        signal,
      );
      await reporter.close();
      throwIfStopped(signal);
      const run = (await withRetries(
        "complete",
        () => api.complete(runId, attempt, { onnxSha256: sha256, result: output.result }),
        signal,
      )) as { status?: string; error?: unknown } | undefined;
      // The hub may still refuse the model (its own test-split check): the run says how it ended.
      attemptLog[run?.status === "succeeded" ? "info" : "warn"]({
        event: "trainer.attempt.completed",
        onnxSha256: sha256,
        runStatus: run?.status,
        ...(run?.error ? { runError: run.error } : {}),
        ms: Date.now() - started,
      });
    } catch (error) {
      const reason: StopReason | undefined =
        error instanceof AttemptLostError
          ? "lease_lost"
          : error instanceof JobStopped
            ? error.reason
            : signal.aborted
              ? (signal.reason as StopReason)
              : undefined;
      if (reason === "lease_lost") {
        attemptLog.warn({ event: "trainer.attempt.lease-lost", ms: Date.now() - started });
        await reporter.close();
        return;
      }
      const body: FailBody =
        reason === "cancelled"
          ? { error: { code: "cancelled", message: "cancelled by an operator" }, retryable: false }
          : reason === "shutdown"
            ? {
                error: {
                  code: "worker_stopped",
                  message: `worker ${id} stopped before the attempt finished`,
                },
                retryable: true,
              }
            : failureOf(error);
      reporter.log("system", `attempt failed: ${body.error.code}: ${body.error.message}`);
      await reporter.close();
      attemptLog[reason ? "info" : "warn"]({
        event: reason === "cancelled" ? "trainer.attempt.cancelled" : "trainer.attempt.failed",
        code: body.error.code,
        retryable: body.retryable,
        ...(reason ? {} : { err: error }),
        ms: Date.now() - started,
      });
      await api.fail(runId, attempt, body).catch((failError: unknown) => {
        if (!(failError instanceof AttemptLostError))
          attemptLog.warn({ event: "trainer.attempt.fail-report.failed", err: failError });
      });
    } finally {
      if (workDir) {
        await removeScriptFolder(workDir).catch(() => {});
        await rm(workDir, { recursive: true, force: true }).catch(() => {});
      }
    }
  };

  const startAttempt = (claim: Claim) => {
    if (claim.heartbeatMs !== heartbeatMs) {
      // The hub's interval (from its lease) replaces the default now, not after the pending beat:
      // a lease shorter than that beat would otherwise run out before the first one.
      heartbeatMs = claim.heartbeatMs;
      if (heartbeatTimer) clearTimeout(heartbeatTimer);
      scheduleHeartbeat();
    }
    const controller = new AbortController();
    // The claim fits the GPUs free when it was asked for: hold the lowest-numbered ones.
    const held = freeGpus().slice(0, requestedGpus(claim.spec.compute));
    for (const gpu of held) gpusInUse.add(gpu.index);
    const entry: ActiveAttempt = { claim, controller, done: Promise.resolve(), gpus: held };
    active.set(claim.runId, entry);
    entry.done = runAttempt(claim, controller)
      .catch((error: unknown) =>
        log.error({ event: "trainer.attempt.crashed", runId: claim.runId, err: error }),
      )
      .finally(() => {
        for (const gpu of held) gpusInUse.delete(gpu.index);
        active.delete(claim.runId);
        slotFreed();
      });
  };

  const loop = async () => {
    let backoffMs = 500;
    while (!stopping.signal.aborted) {
      if (!registered) {
        try {
          await register();
          backoffMs = 500;
        } catch (error) {
          // A refusal (bad token, bad id) will not pass by itself: say so loudly, but keep trying
          // so a token fixed on the hub side is picked up without a restart.
          const refused = error instanceof HubApiError && !error.transient;
          log[refused ? "error" : "warn"]({
            event: "trainer.register.failed",
            err: error,
            retryInMs: backoffMs,
          });
          await sleep(backoffMs, stopping.signal);
          backoffMs = Math.min(backoffMs * 2, MAX_BACKOFF_MS);
          continue;
        }
      }
      if (active.size >= concurrency) {
        await new Promise<void>((resolve) => {
          slotFreed = resolve;
          stopping.signal.addEventListener("abort", () => resolve(), { once: true });
        });
        continue;
      }
      try {
        const claim = await api.claim(id, claimWaitMs, stopping.signal, freeGpus().length);
        backoffMs = 500;
        if (!claim) continue;
        log.info({
          event: "trainer.claimed",
          runId: claim.runId,
          attempt: claim.attempt,
          recipe: claim.spec.recipe,
        });
        startAttempt(claim);
      } catch (error) {
        if (stopping.signal.aborted) break;
        if (error instanceof HubApiError && error.status === 404) registered = false;
        log.warn({ event: "trainer.claim.failed", err: error, retryInMs: backoffMs });
        await sleep(backoffMs, stopping.signal);
        backoffMs = Math.min(backoffMs * 2, MAX_BACKOFF_MS);
      }
    }
  };

  scheduleHeartbeat();
  const looping = loop();
  log.info({ event: "trainer.started", hubUrl: api.url, dataDir, concurrency });

  let stopped: Promise<void> | undefined;
  const cutGrace = new AbortController();
  return {
    id,
    capabilities,
    running: () => [...active.values()].map((a) => ({ runId: a.claim.runId, attempt: a.claim.attempt })),
    stop(stopOptions = {}) {
      // A second call without grace (a second Ctrl-C) cuts the first one's wait short.
      if (stopped && !(stopOptions.graceMs ?? 0)) cutGrace.abort();
      stopped ??= (async () => {
        stopping.abort();
        await looping;
        const pending = [...active.values()];
        if (pending.length > 0 && (stopOptions.graceMs ?? 0) > 0) {
          log.info({ event: "trainer.stop.waiting", attempts: pending.length, graceMs: stopOptions.graceMs });
          await Promise.race([
            Promise.all(pending.map((a) => a.done)),
            sleep(stopOptions.graceMs!, cutGrace.signal),
          ]);
        }
        for (const attempt of active.values()) stopAttempt(attempt.claim.runId, "shutdown");
        await Promise.all([...active.values()].map((a) => a.done));
        heartbeatsOn = false;
        if (heartbeatTimer) clearTimeout(heartbeatTimer);
        log.info({ event: "trainer.stopped" });
      })();
      return stopped;
    },
  };
}
