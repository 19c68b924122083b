/**
 * The agent process, composed: state store → last-known-good modules serving → scoring server →
 * MQTT link → a reconcile on every desired message, and telemetry every interval. The order is the
 * point: a device restarting without its hub serves what it had before touching the network.
 */
import { randomBytes } from "node:crypto";
import { readFile } from "node:fs/promises";
import { join } from "node:path";
import { findProfile } from "../firmware-profiles/index.js";
import { type Logger, silentLogger } from "../lib/log.js";
import { type ClientTls, tlsFetch } from "../lib/tls/client-tls.js";
import { loadLastKnownGood } from "./boot.js";
import { deviceCapabilities } from "./capabilities.js";
import type { AgentConfig } from "./config.js";
import { assertWritableDataFolder } from "./data-folder.js";
import { hubAuthorization } from "./downloads.js";
import { handleCommand } from "./drift/commands.js";
import { DriftMonitor } from "./drift/drift-monitor.js";
import { FaultInjector, withFaults } from "./faults.js";
import { startScoringServer } from "./http/server.js";
import { MqttLink, type ReconnectPolicy } from "./mqtt-link.js";
import { AgentEffects, agentReconcileState } from "./reconcile/effects.js";
import { Reconciler } from "./reconcile/reconciler.js";
import { Reporter } from "./reconcile/reporter.js";
import type { RetryPolicy, RunResult } from "./reconcile/runner.js";
import { InferenceRuntime } from "./runtime/inference-runtime.js";
import { ServingTable } from "./runtime/serving-table.js";
import { ShadowLoader } from "./shadow/shadow-loader.js";
import { ShadowScorer } from "./shadow/shadow-scorer.js";
import { rebuildModulesFromDisk } from "./state-rebuild.js";
import { StateStore } from "./state-store.js";
import { TelemetryRecorder } from "./telemetry/recorder.js";
import { spoolMetrics } from "./telemetry-metrics.js";
import { TelemetryOutbox } from "./telemetry-outbox.js";
import { TelemetrySeq } from "./telemetry-seq.js";
import { TelemetrySpool } from "./telemetry-spool.js";
import { localTrustKey, requireTrustSource, trustKeyProvider } from "./trust-key.js";
import { builtAgentVersion } from "./version.js";

export interface RunAgentOptions {
  log?: Logger;
  /** Defaults to package.json's version. */
  agentVersion?: string;
  /** Install SIGTERM/SIGINT handlers that stop gracefully (default true; tests pass false). */
  handleSignals?: boolean;
  /** Per-command retry of transient errors (tests shorten it). */
  retry?: RetryPolicy;
  /** Back-off between whole attempts at a version that failed transiently. */
  moduleBackoff?: { baseMs: number; maxMs: number };
  mqttReconnect?: ReconnectPolicy;
  /** Called after each finished reconcile run; for tests and embedding. */
  onReconcile?: (result: RunResult) => void;
}

export interface RunningAgent {
  scoringUrl: string;
  /** Serving table (read-only use: tests and embedding). */
  table: ServingTable;
  /** Resolves when the reconciler has nothing left to do. */
  idle(): Promise<void>;
  /** Publishes offline status, closes the server, disposes sessions. Safe to call twice. */
  stop(): Promise<void>;
}

/** Starts the agent; resolves once modules from the last run serve and the scoring server listens. */
export async function runAgent(config: AgentConfig, options: RunAgentOptions = {}): Promise<RunningAgent> {
  const log = options.log ?? silentLogger;
  const agentVersion = options.agentVersion ?? builtAgentVersion() ?? (await packageVersion());
  // Before anything serves: an agent that cannot write its data folder must stop, not half start.
  await assertWritableDataFolder(config.dataDir);
  await requireTrustSource({
    configured: config.trustKey,
    trustOnFirstUse: config.trustOnFirstUse,
    dataDir: config.dataDir,
  });
  const store = await StateStore.open(config.dataDir, log, {
    // A lost state.json must not make the modules on disk look undesired (state-rebuild.ts).
    rebuild: async (unpacked) =>
      rebuildModulesFromDisk({
        dataDir: config.dataDir,
        unpacked,
        publicKeyPem: await localTrustKey(config.trustKey, config.dataDir),
        log,
      }),
  });
  const table = new ServingTable();
  const recorder = new TelemetryRecorder();
  // Candidates scoring copies of requests beside the serving versions (shadow scoring, [WIRE-3.4]).
  const shadow = new ShadowScorer({ log });
  // Drift summaries of monitored modules ride on the telemetry windows; held-back ones survive restarts.
  const drift = new DriftMonitor({ dataDir: config.dataDir, log });
  await drift.load();

  let link: MqttLink | undefined;
  const reporter = new Reporter({ publish: (state) => link?.publishReported(state) });
  const capabilities = deviceCapabilities();
  // The profile (when this build knows it) and detected capabilities choose module variants.
  const device = { profile: findProfile(config.profile), capabilities };
  // One worker pool and one set of queue settings for every module this agent loads.
  const runtime = new InferenceRuntime({
    workers: config.inferenceWorkers,
    inlineMaxMs: config.inlineMaxMs,
    requestTimeoutMs: config.requestTimeoutMs,
    recycleAfterReleases: config.workerRecycleAfter,
    recycleRssBytes: config.workerRecycleRssMb * 1024 * 1024,
    log,
  });
  await loadLastKnownGood({ store, table, reporter, log, device, runtime });
  reporter.setRevision(store.snapshot.revision ?? 0);
  await store.gc();

  // Set once the outbox exists (after the server starts); /metrics reads it at scrape time.
  let telemetryOutbox: TelemetryOutbox | undefined;
  const server = await startScoringServer({
    host: config.host,
    port: config.port,
    maxBodyBytes: config.maxBodyBytes,
    table,
    recorder,
    drift,
    shadow,
    log,
    agentVersion,
    runtime,
    // Feedback goes to the hub as an event; while offline the link queues it like any event.
    emitEvent: (event) => link?.publishEvent(event),
    registerMetrics: spoolMetrics(
      () => telemetryOutbox && { queued: telemetryOutbox.queued, dropped: telemetryOutbox.dropped },
    ),
  });

  const authorization = hubAuthorization(config.hubUrl, config.hubUrl, config.deviceId, config.deviceSecret);
  // The hub's CA and this device's certificate, for downloads, the signing key and MQTTS alike.
  const tls = await clientTlsOf(config);
  const hubFetch = tlsFetch(tls);
  // TEST-ONLY fault injection (faults.ts); inert unless EDGEFLEET_FAULT_KILL_AT is set.
  const faults = new FaultInjector(config.dataDir, config.faultKillAt);
  const agentEffects = new AgentEffects({
    store,
    table,
    log,
    device,
    runtime,
    authorizationFor: (url) => hubAuthorization(url, config.hubUrl, config.deviceId, config.deviceSecret),
    fetch: hubFetch,
    trustKey: trustKeyProvider({
      configured: config.trustKey,
      trustOnFirstUse: config.trustOnFirstUse,
      dataDir: config.dataDir,
      hubUrl: config.hubUrl,
      authorization,
      fetch: hubFetch,
      log,
    }),
    ...(faults.armed
      ? {
          onDownloadProgress: (written: number, size: number) =>
            written * 2 >= size && written < size && faults.reached("download-mid"),
        }
      : {}),
  });
  const effects = withFaults(agentEffects, faults);
  const shadows = new ShadowLoader({
    scorer: shadow,
    reporter,
    fetch: agentEffects,
    moduleDir: (name, version) => store.moduleDir(name, version),
    log,
    device,
    runtime,
  });
  const emit = (event: { kind: string; module?: string; version?: string; message: string }) =>
    link?.publishEvent(event);
  const reconciler = new Reconciler({
    effects,
    state: agentReconcileState(store, table),
    reporter,
    log,
    emit,
    ...(options.retry ? { retry: options.retry } : {}),
    ...(options.moduleBackoff ? { backoff: options.moduleBackoff } : {}),
    ...(options.onReconcile ? { onRun: options.onReconcile } : {}),
  });

  const seq = await TelemetrySeq.open(store, log);
  const spool = await TelemetrySpool.open({
    dir: join(config.dataDir, "telemetry-spool"),
    limit: config.telemetrySpoolWindows,
    log,
  });
  const outbox = new TelemetryOutbox({
    takeWindow: () => drift.attach(shadow.attach(recorder.takeWindow())),
    nextSeq: () => seq.next(),
    // A new epoch every start: the hub de-duplicates on (device, epoch, seq) [WIRE-5.5], so a seq
    // that restarts after a lost state.json is never mistaken for windows already stored.
    epoch: randomBytes(8).toString("hex"),
    spool,
    send: async (window) => (await link?.publishTelemetry(window)) ?? false,
    reportDropped: async (dropped, total) =>
      (await link?.publishEventAcked({
        kind: "telemetry.dropped",
        message: `${dropped} telemetry windows dropped while offline (spool bound ${config.telemetrySpoolWindows})`,
        details: { dropped, total },
      })) ?? false,
    intervalMs: config.telemetryIntervalMs,
    log,
  });
  telemetryOutbox = outbox;
  link = new MqttLink({
    url: config.mqttUrl,
    deviceId: config.deviceId,
    secret: config.deviceSecret,
    tls,
    log,
    birth: () => ({
      agentVersion,
      ...(config.profile ? { profile: config.profile } : {}),
      capabilities,
      scoringUrl: server.url,
    }),
    onDesired: (desired) => {
      reconciler.submit(desired);
      void shadows.submit(desired);
    },
    onCommand: (name, payload) =>
      handleCommand({
        name,
        payload,
        drift,
        table,
        log,
        respond: (id, body) => link?.publishResponse(id, body),
      }),
    onConnect: () => void outbox.flush(),
    ...(options.mqttReconnect ? { reconnect: options.mqttReconnect } : {}),
  });
  reporter.publish();
  outbox.start();
  log.info({ event: "agent.started", deviceId: config.deviceId, scoringUrl: server.url, agentVersion });

  let stopping: Promise<void> | undefined;
  const stop = (): Promise<void> => {
    stopping ??= (async () => {
      process.off("SIGTERM", onSignal);
      process.off("SIGINT", onSignal);
      await reconciler.stop();
      await shadows.stop();
      // No request after this, then the window in progress goes to the spool: a graceful stop
      // loses no request count.
      await server.close();
      await outbox.stop().catch((error) => log.warn({ event: "telemetry.spool_failed", err: error }));
      // After the last window: what it held back goes to disk, not to the hub.
      await drift.flush();
      await link?.stop();
      await Promise.all(table.list().map((module) => table.remove(module.name)?.drainAndDispose()));
      await runtime.close();
      log.info({ event: "agent.stopped" });
    })();
    return stopping;
  };
  const onSignal = (signal: NodeJS.Signals) => {
    log.info({ event: "agent.signal", signal });
    stop().catch((error) => log.error({ event: "agent.stop_failed", err: error }));
  };
  if (options.handleSignals ?? true) {
    process.once("SIGTERM", onSignal);
    process.once("SIGINT", onSignal);
  }
  return { scoringUrl: server.url, table, idle: () => reconciler.idle(), stop };
}

/** The TLS settings in the config, with the device certificate and key read from their files. */
async function clientTlsOf(config: AgentConfig): Promise<ClientTls | undefined> {
  if (config.ca === undefined && config.certFile === undefined) return undefined;
  const [cert, key] = await Promise.all([
    config.certFile ? readFile(config.certFile, "utf8") : undefined,
    config.keyFile ? readFile(config.keyFile, "utf8") : undefined,
  ]);
  return { ca: config.ca, cert, key };
}

/** The agent's version: package.json next to the source tree or the compiled dist/ tree. */
async function packageVersion(): Promise<string> {
  for (const relative of ["../package.json", "../../package.json"]) {
    try {
      const json = JSON.parse(await readFile(new URL(relative, import.meta.url), "utf8")) as {
        version?: string;
      };
      if (json.version) return json.version;
    } catch {
      // Try the next location.
    }
  }
  return "0.0.0";
}
