/**
 * The job service: runs are submitted, claimed by trainer workers under a lease, renewed by
 * heartbeats, and finished by the worker (complete / fail) or by the sweeper when a lease runs
 * out. Completion is where the hub checks the model (evaluate.ts) and registers it with lineage.
 * Every change is persisted first (hub/repos/runs.ts), then announced on `events`.
 */
import { randomBytes } from "node:crypto";
import type { Claim } from "../../hub-api/training.js";
import { NotFoundError, ValidationError } from "../../lib/errors.js";
import type { Logger } from "../../lib/log.js";
import type { BlobStore } from "../blobs/blob-store.js";
import type { HubConfig } from "../config.js";
import { newAttemptToken } from "../repos/attempt-tokens.js";
import type { Repositories } from "../repos/index.js";
import type { ModelVersion } from "../repos/models.js";
import {
  type AttemptRow,
  LeaseLostError,
  type LogLine,
  type RunRow,
  type RunTransition,
} from "../repos/runs.js";
import { registrationOf } from "../services/registry.js";
import { checkCompletion } from "./completion-check.js";
import { CompletionError, type CompletionResult, type Evaluation } from "./evaluate.js";
import { RunEvents } from "./events.js";
import { mismatch } from "./matching.js";
import { type RunSpec, resolveRunSpec } from "./spec.js";
import { runView, statusEvent } from "./views.js";

/** What the job service uses: the lease and upload settings, the repositories of runs, a blob store, a log. */
export interface JobDeps {
  config: Pick<HubConfig, "trainerLeaseMs" | "maxModelBytes">;
  repos: Pick<Repositories, "runs" | "workers" | "datasets" | "models">;
  blobs: BlobStore;
  log: Logger;
}

/** What a worker gets from a successful claim: the worker protocol's own type, so both sides agree. */
export type { Claim };

/** Longest the hub keeps a claim request open. */
export const MAX_CLAIM_WAIT_MS = 25_000;
/** While the hub evaluates a finished model the lease may not run out under it. */
const EVALUATION_LEASE_MS = 10 * 60_000;
/** The run error when the hub's check (not the model) failed; retryable. */
export const CHECK_FAILED = "check_failed";

/** An error's own words: a database error's (drizzle wraps it in "Failed query: <sql> params: …"). */
function reason(error: Error): string {
  return error.cause instanceof Error ? error.cause.message : error.message;
}

/** Time-ordered, URL-safe run ids: `run_` + 10 base-36 chars of time + 8 random hex. */
function newRunId(): string {
  return `run_${Date.now().toString(36).padStart(10, "0")}${randomBytes(4).toString("hex")}`;
}

export class JobService {
  readonly events = new RunEvents();
  readonly #deps: JobDeps;
  readonly #progress = new Map<string, Record<string, unknown>>();
  readonly #waiters = new Set<() => void>();
  /** Aborted on close: model checks in flight stop their threads. */
  readonly #stopping = new AbortController();
  #sweeper: NodeJS.Timeout | undefined;
  #sweeping = false;
  #closed = false;

  constructor(deps: JobDeps) {
    this.#deps = deps;
  }

  get leaseMs(): number {
    return this.#deps.config.trainerLeaseMs;
  }

  /** Workers beat six times per lease, so one or two lost beats never cost the run. */
  get heartbeatMs(): number {
    return Math.max(20, Math.floor(this.leaseMs / 6));
  }

  /** Starts the lease sweeper (every lease/3). */
  start(): void {
    this.#sweeper = setInterval(() => void this.sweep(), Math.max(20, Math.floor(this.leaseMs / 3)));
    this.#sweeper.unref();
  }

  async close(): Promise<void> {
    this.#closed = true;
    this.#stopping.abort();
    clearInterval(this.#sweeper);
    this.#wake();
  }

  /** The latest progress report of a run's current attempt (kept in memory only). */
  progress(runId: string): Record<string, unknown> | undefined {
    return this.#progress.get(runId);
  }

  async view(runId: string) {
    const run = await this.#deps.repos.runs.get(runId);
    if (!run) throw new NotFoundError("run", runId);
    return runView(run, this.#progress.get(runId));
  }

  async submit(body: unknown) {
    const { spec, kind } = await resolveRunSpec(this.#deps, body);
    const run = await this.#deps.repos.runs.create({
      id: newRunId(),
      experiment: spec.experiment,
      spec: spec as unknown as Record<string, unknown>,
      kind,
      maxAttempts: spec.maxAttempts,
    });
    this.#deps.log.info({
      event: "run.submitted",
      run: run.id,
      experiment: spec.experiment,
      recipe: spec.recipe,
    });
    this.events.emit(run.id, { type: "status", data: statusEvent(run) });
    this.#wake();
    return runView(run);
  }

  /**
   * Long-polls for a run this worker can take; null when none came within `waitMs`. `freeGpus`
   * (the worker's GPUs no running job holds) narrows the match for a worker running several jobs.
   */
  async claim(
    workerId: string,
    waitMs: number,
    signal?: AbortSignal,
    freeGpus?: number,
  ): Promise<Claim | null> {
    const deadline = Date.now() + Math.min(Math.max(waitMs, 0), MAX_CLAIM_WAIT_MS);
    const worker = await this.#deps.repos.workers.get(workerId);
    if (!worker) throw new NotFoundError("worker", workerId);
    await this.#deps.repos.workers.touch(workerId);
    const fitting =
      freeGpus === undefined
        ? worker.capabilities
        : { ...worker.capabilities, gpus: worker.capabilities.gpus.slice(0, freeGpus) };
    // While waiting, one query a second (the queue); the worker's heartbeats keep it seen.
    for (;;) {
      for (const run of await this.#deps.repos.runs.queued(worker.capabilities.kinds)) {
        const spec = run.spec as unknown as RunSpec;
        if (mismatch(run.kind, spec.compute, fitting) !== null) continue;
        const attemptToken = newAttemptToken();
        const claimed = await this.#deps.repos.runs.claim(run.id, workerId, this.leaseMs, attemptToken.hash);
        if (claimed) return this.#claimed(claimed, spec, attemptToken.token);
      }
      const left = deadline - Date.now();
      if (left <= 0 || this.#closed || signal?.aborted) return null;
      // Woken by a submission or requeue here; polled each second for other hub replicas.
      await this.#waitForWork(Math.min(left, 1000));
    }
  }

  async #claimed({ run, attempt }: RunTransition, spec: RunSpec, attemptToken: string): Promise<Claim> {
    this.#progress.delete(run.id);
    this.events.emit(run.id, { type: "status", data: statusEvent(run) });
    await this.#system(run.id, attempt.n, `attempt ${attempt.n} claimed by worker ${attempt.workerId}`);
    this.#deps.log.info({ event: "run.claimed", run: run.id, attempt: attempt.n, worker: attempt.workerId });
    const version = await this.#deps.repos.datasets.resolve(spec.dataset.name, spec.dataset.version);
    return {
      runId: run.id,
      attempt: attempt.n,
      leaseMs: this.leaseMs,
      heartbeatMs: this.heartbeatMs,
      attemptToken,
      spec,
      dataset: {
        name: spec.dataset.name,
        version: spec.dataset.version,
        format: version?.format ?? "csv",
        url: `/api/v1/datasets/${spec.dataset.name}/versions/${spec.dataset.version}/content`,
      },
      ...(spec.script
        ? { snapshot: { sha256: spec.script.snapshot, url: `/api/v1/snapshots/${spec.script.snapshot}` } }
        : {}),
      ...(spec.extraRows ? { extraRows: { url: `/api/v1/blobs/${spec.extraRows.blob}` } } : {}),
    };
  }

  /** Renews the named attempts' leases; `cancel` lists runs the worker must stop. */
  async heartbeat(workerId: string, attempts: { runId: string; attempt: number }[]) {
    if (!(await this.#deps.repos.workers.touch(workerId))) throw new NotFoundError("worker", workerId);
    await this.#deps.repos.runs.extendLeases(workerId, attempts, this.leaseMs);
    // `cancel`: the attempt is still this worker's and the run is being cancelled. `lost`: the
    // attempt is no longer this worker's (swept, replaced, finished); either way the worker stops it.
    const cancel: string[] = [];
    const lost: string[] = [];
    for (const { runId, attempt } of attempts) {
      const run = await this.#deps.repos.runs.get(runId);
      const current = run?.attempts.find((a) => a.n === attempt);
      const ours =
        run !== null &&
        run.attempt === attempt &&
        current?.status === "running" &&
        current.workerId === workerId;
      if (!ours) lost.push(runId);
      else if (run.status === "cancelling") cancel.push(runId);
    }
    return { leaseMs: this.leaseMs, cancel, lost };
  }

  async appendLogs(
    runId: string,
    n: number,
    lines: { stream: LogLine["stream"]; text: string; at?: Date }[],
  ) {
    await this.#deps.repos.runs.assertCurrent(runId, n);
    for (const line of await this.#deps.repos.runs.appendLogs(runId, n, lines)) this.#emitLog(line);
  }

  async appendMetrics(
    runId: string,
    n: number,
    points: { name: string; value: number; step: number; at?: Date }[],
    progress?: Record<string, unknown>,
  ) {
    await this.#deps.repos.runs.assertCurrent(runId, n);
    for (const p of await this.#deps.repos.runs.appendMetrics(runId, n, points)) {
      this.events.emit(runId, {
        type: "metric",
        data: { name: p.name, value: p.value, step: p.step, attempt: p.attempt, at: p.at.toISOString() },
      });
    }
    if (progress) {
      const data = { ...progress, attempt: n };
      this.#progress.set(runId, data);
      this.events.emit(runId, { type: "progress", data });
    }
  }

  /** Stores the attempt's ONNX bytes as a blob (registered only by `complete`). */
  async uploadModel(runId: string, n: number, bytes: Uint8Array): Promise<{ sha256: string }> {
    await this.#deps.repos.runs.assertCurrent(runId, n);
    const { sha256 } = await this.#deps.blobs.put(bytes, { maxBytes: this.#deps.config.maxModelBytes });
    return { sha256 };
  }

  /**
   * The worker's model, checked (in a worker thread) and registered with the run's success in one
   * transaction. A refusal fails the run for good; any other error during the check or the
   * registration (a blob that cannot be read, a database error, a bug) ends the attempt at once,
   * retryable, with nothing registered.
   */
  async complete(runId: string, n: number, body: { onnxSha256: string; result: CompletionResult }) {
    const repos = this.#deps.repos;
    const { run, attempt } = await repos.runs.assertCurrent(runId, n);
    if (run.status === "cancelling") {
      return this.#finished(await repos.runs.finishAttempt(runId, n, { status: "cancelled" }));
    }
    const blob = await this.#deps.blobs.stat(body.onnxSha256);
    if (!blob) {
      throw new ValidationError(
        `no uploaded model ${body.onnxSha256}; POST it to /runs/${runId}/attempts/${n}/model first`,
      );
    }
    await repos.runs.extendLeases(attempt.workerId, [{ runId, attempt: n }], EVALUATION_LEASE_MS);
    await this.#system(runId, n, "hub: checking the model on the test split");
    const spec = run.spec as unknown as RunSpec;
    let registered: RunTransition & { version: ModelVersion };
    try {
      const { evaluation, threaded } = await checkCompletion(
        this.#deps,
        { spec, kind: run.kind },
        body.onnxSha256,
        body.result,
        this.#stopping.signal,
      );
      await this.#system(
        runId,
        n,
        `hub: model checked on ${evaluation.testRows} test rows (${threaded ? "in a worker thread" : "in-process"})`,
      );
      registered = await this.#registerWithSuccess(run, attempt, body, spec, evaluation, blob.size);
    } catch (error) {
      if (error instanceof CompletionError) return this.#refuse(runId, n, error);
      // Not this attempt's to end (another took over, or the hub is closing: the lease will lapse).
      if (error instanceof LeaseLostError || this.#closed) throw error;
      return this.#checkFailed(runId, n, error as Error);
    }
    const { version } = registered;
    this.#deps.log.info({
      event: "model.registered",
      model: version.modelName,
      version: version.version,
      sha256: version.sha256,
      run: runId,
    });
    await this.#system(runId, n, `hub: registered ${version.modelName} version ${version.version}`);
    return this.#finished(registered);
  }

  /** The next model version, its aliases and the run's success: one transaction. */
  #registerWithSuccess(
    run: RunRow,
    attempt: AttemptRow,
    body: { onnxSha256: string; result: CompletionResult },
    spec: RunSpec,
    evaluation: Evaluation,
    size: number,
  ) {
    const metrics = {
      test: evaluation.testMetrics,
      ...(body.result.metrics?.validation ? { validation: body.result.metrics.validation } : {}),
      ...(body.result.metrics?.train ? { train: body.result.metrics.train } : {}),
    };
    const registration = registrationOf({
      name: spec.register.model,
      sha256: body.onnxSha256,
      size,
      info: evaluation.info,
      lineage: {
        run: run.id,
        attempt: attempt.n,
        dataset: spec.dataset,
        recipe: body.result.recipe ?? spec.recipe,
        ...(spec.script ? { snapshot: spec.script.snapshot } : {}),
        params: body.result.params ?? spec.params,
        worker: attempt.workerId,
        experiment: spec.experiment,
      },
      metrics: metrics as never,
      ...(evaluation.baseline
        ? { baseline: evaluation.baseline }
        : body.result.baseline
          ? { baseline: body.result.baseline as never }
          : {}),
      training: {
        features: evaluation.moduleFeatures,
        classes: evaluation.classes,
        inputMode: "vector",
        task: spec.task,
        target: spec.target,
      },
      aliases: spec.register.aliases,
    });
    const parity = evaluation.parity ?? body.result.parity;
    return this.#deps.repos.runs.succeedWithModel(run.id, attempt.n, registration, (version) => ({
      metrics,
      outputs: {
        model: { name: version.modelName, version: version.version },
        onnxSha256: body.onnxSha256,
        ...(body.result.leaderboard ? { leaderboard: body.result.leaderboard } : {}),
        ...(parity ? { parity } : {}),
      },
    }));
  }

  /** The hub refused the model: the run fails for good (not the worker's fault to retry). */
  async #refuse(runId: string, n: number, error: CompletionError) {
    this.#deps.log.warn({ event: "run.model-refused", run: runId, attempt: n, code: error.code, err: error });
    await this.#system(runId, n, `hub: model refused (${error.code}): ${error.message}`);
    return this.#finished(
      await this.#deps.repos.runs.finishAttempt(runId, n, {
        status: "failed",
        retryable: false,
        error: {
          code: error.code,
          message: error.message,
          ...(error.details ? { details: error.details } : {}),
        },
      }),
    );
  }

  /** The check itself failed (not the model): the attempt ends now, requeued while attempts remain. */
  async #checkFailed(runId: string, n: number, error: Error) {
    this.#deps.log.error({ event: "run.check-failed", run: runId, attempt: n, err: error });
    const transition = await this.#deps.repos.runs.finishAttempt(runId, n, {
      status: "failed",
      retryable: true,
      error: {
        code: CHECK_FAILED,
        message: `the hub failed checking or registering the model: ${reason(error)}`,
      },
    });
    await this.#system(
      runId,
      n,
      `hub: checking or registering the model failed (${reason(error)}); nothing registered; run ${transition.run.status}`,
    );
    return this.#finished(transition);
  }

  async fail(
    runId: string,
    n: number,
    body: { error: { code: string; message: string }; retryable: boolean },
  ) {
    const outcome =
      body.error.code === "cancelled"
        ? ({ status: "cancelled" } as const)
        : ({ status: "failed", error: body.error, retryable: body.retryable } as const);
    return this.#finished(await this.#deps.repos.runs.finishAttempt(runId, n, outcome));
  }

  async cancel(runId: string) {
    const run = await this.#deps.repos.runs.cancel(runId);
    this.events.emit(runId, { type: "status", data: statusEvent(run) });
    this.#deps.log.info({ event: "run.cancel", run: runId, status: run.status });
    return this.view(runId);
  }

  /** One sweeper pass: expired leases → attempts lost, runs requeued or failed. */
  async sweep(): Promise<RunTransition[]> {
    if (this.#sweeping || this.#closed) return [];
    this.#sweeping = true;
    try {
      const changed = await this.#deps.repos.runs.sweepExpired();
      for (const transition of changed) {
        this.#deps.log.warn({
          event: "run.lease-lost",
          run: transition.run.id,
          attempt: transition.attempt.n,
          worker: transition.attempt.workerId,
          next: transition.run.status,
        });
        await this.#system(
          transition.run.id,
          transition.attempt.n,
          `attempt ${transition.attempt.n} lost: ${transition.attempt.error?.message ?? "lease expired"}; run ${transition.run.status}`,
        );
        this.#announce(transition);
      }
      return changed;
    } catch (error) {
      this.#deps.log.error({ event: "run.sweep.failed", err: error });
      return [];
    } finally {
      this.#sweeping = false;
    }
  }

  /** Announces an attempt's end and answers with the run's view. */
  async #finished(transition: RunTransition) {
    this.#announce(transition);
    return this.view(transition.run.id);
  }

  /** Emits the run's new status and logs the attempt's end; wakes claimers when it was requeued. */
  #announce(transition: RunTransition): void {
    const { run } = transition;
    this.events.emit(run.id, { type: "status", data: statusEvent(run) });
    this.#deps.log.info({
      event: "run.attempt-ended",
      run: run.id,
      attempt: transition.attempt.n,
      status: run.status,
    });
    if (run.status === "queued") this.#wake();
    else this.#progress.delete(run.id);
  }

  async #system(runId: string, attempt: number, text: string) {
    const [line] = await this.#deps.repos.runs.appendLogs(runId, attempt, [{ stream: "system", text }]);
    if (line) this.#emitLog(line);
  }

  #emitLog(line: LogLine) {
    this.events.emit(line.runId, {
      type: "log",
      data: {
        seq: line.seq,
        attempt: line.attempt,
        stream: line.stream,
        text: line.text,
        at: line.at.toISOString(),
      },
    });
  }

  #wake() {
    for (const resolve of this.#waiters) resolve();
    this.#waiters.clear();
  }

  #waitForWork(ms: number): Promise<void> {
    return new Promise((resolve) => {
      const done = () => {
        clearTimeout(timer);
        this.#waiters.delete(done);
        resolve();
      };
      const timer = setTimeout(done, ms);
      this.#waiters.add(done);
    });
  }
}
