/**
 * Runner and worker semantics with recording effects (iotedge's TestCommandFactory idea): what is
 * retried, what is not, what a superseded run leaves behind. No ONNX, no MQTT; the real effects are
 * covered by test/agent/agent-reconcile.test.ts.
 */
import { describe, expect, it, vi } from "vitest";
import { sha256Hex } from "../../lib/files.js";
import { silentLogger } from "../../lib/log.js";
import type { DesiredModule, DesiredState, ReportedState } from "../../wire/messages.js";
import type { CurrentState, FailedAttempt } from "./plan.js";
import { Reconciler, type ReconcileState } from "./reconciler.js";
import { Reporter } from "./reporter.js";
import { type ReconcileEffects, RolledBackError, type RunResult } from "./runner.js";

function mod(name: string, version: string): DesiredModule {
  const sha256 = sha256Hex(`${name}@${version}`);
  return { name, version, url: `http://hub.test/blobs/${sha256}`, sha256, size: 10 };
}

function desired(revision: number, modules: DesiredModule[]): DesiredState {
  return { protocol: 1, revision, issuedAt: "2026-01-01T00:00:00Z", modules };
}

const transient = () => Object.assign(new Error("connection reset"), { transient: true });
const permanent = (message: string) => Object.assign(new Error(message), { transient: false });

/** Effects that record each call and fail or block on request. */
class RecordingEffects implements ReconcileEffects {
  calls: string[] = [];
  serving = new Map<string, string>();
  failures = new Map<string, Array<() => Error>>();
  blockDownloads = false;

  failNext(call: string, ...errors: Array<() => Error>): void {
    this.failures.set(call, errors);
  }

  async #record(call: string, signal?: AbortSignal): Promise<void> {
    this.calls.push(call);
    const next = this.failures.get(call)?.shift();
    if (next) throw next();
    if (this.blockDownloads && call.startsWith("download") && signal) {
      await new Promise((_, reject) => signal.addEventListener("abort", () => reject(signal.reason)));
    }
  }
  download = (m: DesiredModule, signal: AbortSignal) =>
    this.#record(`download ${m.name}@${m.version}`, signal);
  unpack = (m: DesiredModule) => this.#record(`unpack ${m.name}@${m.version}`);
  load = (m: DesiredModule) => this.#record(`load ${m.name}@${m.version}`);
  activate = async (m: DesiredModule) => {
    await this.#record(`activate ${m.name}@${m.version}`);
    this.serving.set(m.name, m.version);
  };
  dispose = (name: string, version: string) => this.#record(`dispose ${name}@${version}`);
  cleanup = (name: string) => this.#record(`cleanup ${name}`);
  remove = async (name: string, version: string) => {
    await this.#record(`remove ${name}@${version}`);
    this.serving.delete(name);
  };
  releaseUnused = async () => {};
  servingVersion = (name: string) => this.serving.get(name) ?? null;
}

function memoryState(effects: RecordingEffects): ReconcileState & { failures: FailedAttempt[] } {
  let revision: number | null = null;
  const state = {
    failures: [] as FailedAttempt[],
    async current(): Promise<CurrentState> {
      const active = [...effects.serving].map(([name, version]) => ({ name, version }));
      return { appliedRevision: revision, active, unpacked: [], failures: [...state.failures] };
    },
    async setRevision(value: number) {
      revision = value;
    },
    async recordFailure(failure: FailedAttempt) {
      state.failures = state.failures.filter((f) => f.name !== failure.name || f.version !== failure.version);
      state.failures.push(failure);
    },
    async retainFailures(keep: (failure: FailedAttempt) => boolean) {
      state.failures = state.failures.filter(keep);
    },
  };
  return state;
}

function setup() {
  const effects = new RecordingEffects();
  const state = memoryState(effects);
  const published: ReportedState[] = [];
  const reporter = new Reporter({ publish: (s) => published.push(s) });
  const runs: RunResult[] = [];
  const reconciler = new Reconciler({
    effects,
    state,
    reporter,
    log: silentLogger,
    retry: { attempts: 3, baseDelayMs: 1, maxDelayMs: 5 },
    onRun: (result) => runs.push(result),
  });
  return { effects, state, reporter, published, runs, reconciler };
}

describe("Reconciler", () => {
  it("retries with back-off when recording the outcome fails (disk full), without another desired message", async () => {
    const effects = new RecordingEffects();
    const state = memoryState(effects);
    const record = state.recordFailure.bind(state);
    let diskFull = 2;
    state.recordFailure = async (failure) => {
      if (diskFull-- > 0)
        throw Object.assign(new Error("ENOSPC: no space left on device"), { code: "ENOSPC" });
      await record(failure);
    };
    const runs: RunResult[] = [];
    const reconciler = new Reconciler({
      effects,
      state,
      reporter: new Reporter({ publish: () => {} }),
      log: silentLogger,
      retry: { attempts: 1, baseDelayMs: 1, maxDelayMs: 1 },
      crashBackoff: { baseMs: 5, maxMs: 20 },
      onRun: (result) => runs.push(result),
    });
    effects.failNext("download a@1.0.0", transient, transient, transient);
    reconciler.submit(desired(1, [mod("a", "1.0.0")]));
    await vi.waitFor(() => expect(runs).toHaveLength(1), { timeout: 5_000 });
    expect(state.failures).toMatchObject([{ name: "a", version: "1.0.0", permanent: false }]);
    await reconciler.stop();
  });

  it("retries a transient download error with back-off and succeeds", async () => {
    const { effects, reconciler, runs, reporter } = setup();
    const a = mod("a", "1.0.0");
    effects.failNext("download a@1.0.0", transient, transient);
    reconciler.submit(desired(1, [a]));
    await reconciler.idle();
    expect(effects.calls.filter((c) => c.startsWith("download"))).toHaveLength(3);
    expect(runs.at(-1)?.modules).toEqual([
      { name: "a", version: "1.0.0", sha256: a.sha256, outcome: "succeeded" },
    ]);
    expect(reporter.get("a")).toMatchObject({ state: "active", servingVersion: "1.0.0" });
  });

  it("does not retry a permanent error, keeps the old version serving and moves on to other modules", async () => {
    const { effects, reconciler, runs, reporter, state } = setup();
    reconciler.submit(desired(1, [mod("a", "1.0.0")]));
    await reconciler.idle();
    effects.calls = [];
    effects.failNext("unpack a@2.0.0", () => permanent("signature does not verify"));
    reconciler.submit(desired(2, [mod("a", "2.0.0"), mod("b", "1.0.0")]));
    await reconciler.idle();
    expect(effects.calls).toEqual([
      "download a@2.0.0",
      "download b@1.0.0",
      "unpack a@2.0.0",
      "unpack b@1.0.0",
      "load b@1.0.0",
      "activate b@1.0.0",
      "cleanup b",
    ]);
    expect(runs.at(-1)?.modules.find((m) => m.name === "a")).toMatchObject({
      outcome: "failed-no-change",
      permanent: true,
    });
    expect(reporter.get("a")).toMatchObject({
      version: "2.0.0",
      state: "failed",
      servingVersion: "1.0.0",
      error: "signature does not verify",
    });
    expect(state.failures).toMatchObject([{ name: "a", version: "2.0.0", permanent: true, retryAt: null }]);

    // The same desired state again (a reconnect) does not touch the failed version.
    effects.calls = [];
    reconciler.submit(desired(2, [mod("a", "2.0.0"), mod("b", "1.0.0")]));
    await reconciler.idle();
    expect(effects.calls).toEqual([]);

    // After a restart the reporter starts from what serves; the deferred failure is reported again.
    const restartedReporter = new Reporter({ publish: () => {} });
    restartedReporter.set("a", { version: "1.0.0", state: "active", servingVersion: "1.0.0" });
    const restarted = new Reconciler({ effects, state, reporter: restartedReporter, log: silentLogger });
    restarted.submit(desired(2, [mod("a", "2.0.0"), mod("b", "1.0.0")]));
    await restarted.idle();
    expect(effects.calls).toEqual([]);
    expect(restartedReporter.get("a")).toMatchObject({
      version: "2.0.0",
      state: "failed",
      servingVersion: "1.0.0",
    });
  });

  it("supersedes a run when a newer revision arrives and drops the old run's results", async () => {
    const { effects, reconciler, runs, reporter } = setup();
    effects.blockDownloads = true;
    reconciler.submit(desired(1, [mod("a", "1.0.0")]));
    while (effects.calls.length === 0) await new Promise((resolve) => setImmediate(resolve));
    effects.blockDownloads = false;
    reconciler.submit(desired(2, [mod("a", "1.1.0")]));
    await reconciler.idle();
    expect(effects.calls).toEqual([
      "download a@1.0.0",
      "download a@1.1.0",
      "unpack a@1.1.0",
      "load a@1.1.0",
      "activate a@1.1.0",
      "cleanup a",
    ]);
    expect(runs.map((run) => run.revision)).toEqual([2]);
    expect(reporter.snapshot()).toMatchObject({
      revision: 2,
      modules: [{ name: "a", version: "1.1.0", state: "active" }],
    });
  });

  it("forgets an abandoned attempt when the newer revision no longer wants the module", async () => {
    const { effects, reconciler, reporter } = setup();
    effects.blockDownloads = true;
    reconciler.submit(desired(1, [mod("a", "1.0.0")]));
    while (effects.calls.length === 0) await new Promise((resolve) => setImmediate(resolve));
    expect(reporter.get("a")?.state).toBe("downloading");
    reconciler.submit(desired(2, []));
    await reconciler.idle();
    expect(reporter.snapshot()).toMatchObject({ revision: 2, modules: [] });
  });

  it("ignores a revision older than the latest one submitted", async () => {
    const { effects, reconciler } = setup();
    reconciler.submit(desired(5, [mod("a", "1.0.0")]));
    await reconciler.idle();
    effects.calls = [];
    reconciler.submit(desired(4, [mod("a", "0.9.0")]));
    await reconciler.idle();
    expect(effects.calls).toEqual([]);
    expect(effects.serving.get("a")).toBe("1.0.0");
  });

  it("reports a switch that had to be undone as rolled back", async () => {
    const { effects, reconciler, runs, reporter } = setup();
    reconciler.submit(desired(1, [mod("a", "1.0.0")]));
    await reconciler.idle();
    effects.failNext("activate a@2.0.0", () => new RolledBackError("could not record a@2.0.0: disk full"));
    reconciler.submit(desired(2, [mod("a", "2.0.0")]));
    await reconciler.idle();
    expect(runs.at(-1)?.modules).toMatchObject([
      { name: "a", version: "2.0.0", outcome: "failed-rolled-back" },
    ]);
    expect(reporter.get("a")).toMatchObject({ state: "rolled-back", servingVersion: "1.0.0" });
    expect(effects.calls.at(-1)).toBe("activate a@2.0.0");
  });

  it("removes a module and reports it gone", async () => {
    const { effects, reconciler, reporter } = setup();
    reconciler.submit(desired(1, [mod("a", "1.0.0")]));
    await reconciler.idle();
    reconciler.submit(desired(2, []));
    await reconciler.idle();
    expect(effects.calls.at(-1)).toBe("remove a@1.0.0");
    expect(reporter.snapshot().modules).toEqual([]);
  });
});
