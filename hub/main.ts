/**
 * Starting and stopping a hub. `startHub` is the composition root: it reads top to bottom as the
 * hub is built (config → database → repositories → blobs and keys → broker → HTTP socket → link →
 * services → controllers → HTTP app → serve → start), each part given exactly the parts it uses.
 * Parts are closed in reverse order.
 */
import { randomBytes } from "node:crypto";
import { chmod, mkdir } from "node:fs/promises";
import { join } from "node:path";
import { type Clock, systemClock } from "../lib/clock.js";
import type { Logger } from "../lib/log.js";
import { readPackageVersion } from "../lib/paths.js";
import { startTrainerWorker } from "../trainer/worker.js";
import { ensureAdminToken } from "./admin-token.js";
import { BlobStore } from "./blobs/blob-store.js";
import { type EmbeddedBroker, startEmbeddedBroker } from "./broker/embedded.js";
import type { HubConfig } from "./config.js";
import { LiveChanges } from "./console/index.js";
import { AuthThrottle } from "./credentials/auth-throttle.js";
import { openDatabase } from "./db/connect.js";
import type { Database } from "./db/database.js";
import { createApiApp } from "./http/app.js";
import type { DeviceSessions } from "./http/routes/devices.js";
import { bindHttpServer } from "./http/server.js";
import { JobService } from "./jobs/service.js";
import { loadOrCreateSigningKeys, type SigningKeys } from "./keys.js";
import { writeLocalHubInfo } from "./local-access.js";
import { HubMetrics } from "./metrics/hub-metrics.js";
import { createDriftMonitoring, type DriftMonitoring } from "./monitors/index.js";
import { DeviceMessageGate } from "./mqtt/device-message-gate.js";
import { connectHubLink, HUB_USERNAME, type HubLink } from "./mqtt/hub-link.js";
import { inProcessIngest } from "./mqtt/in-process-ingest.js";
import { PipelineRunner } from "./pipelines/runner.js";
import { createRepositories, type Repositories, TelemetryWriter } from "./repos/index.js";
import { stateCountReaders } from "./repos/state-counts.js";
import { startRetentionSweeper } from "./retention/sweeper.js";
import { RolloutController } from "./rollouts/controller.js";
import { republishDesired } from "./services/deployments.js";
import { DeviceChanges } from "./services/device-changes.js";
import { deviceMessageHandlers } from "./services/device-messages.js";
import { loadHubTls } from "./tls/hub-tls.js";
import { ensureTrainerToken } from "./trainer-token.js";
import { type HubUrls, hubUrls } from "./urls.js";

/**
 * What a running hub was built from, for tests and tools that look inside it; nothing in the hub
 * is handed this record (each part got only what it uses).
 */
export interface HubParts {
  version: string;
  config: HubConfig;
  log: Logger;
  database: Database;
  repos: Repositories;
  blobs: BlobStore;
  telemetry: TelemetryWriter;
  signing: SigningKeys;
  link: HubLink;
  urls: HubUrls;
  /** The rollout controller: deployments' waves, gates and device desired-state sync. */
  rollouts: RolloutController;
  /** Training runs: submission, worker claims and leases, completion checks, run events. */
  jobs: JobService;
  /** Drift monitors, alerts and the retraining loop (hub/monitors, hub/retraining). */
  drift: DriftMonitoring;
  /** Pipelines with step reuse (hub/pipelines). */
  pipelines: PipelineRunner;
  /** The Prometheus series `/metrics` serves (hub/metrics). */
  metrics: HubMetrics;
}

export interface RunningHub {
  parts: HubParts;
  /** HTTP base URL, e.g. http://127.0.0.1:8470. */
  url: string;
  /** Broker URL devices use. */
  mqttUrl: string;
  /** The admin token the local CLI uses (from the data folder). */
  adminToken: string;
  /** The CA bundle clients verify this hub's HTTPS and MQTTS with; undefined when plaintext (or a public CA). */
  caPem: string | undefined;
  close(): Promise<void>;
}

/** Starts a hub; rejects with a clear message (and releases what it opened) when a part fails. */
export async function startHub(
  config: HubConfig,
  options: {
    log: Logger;
    /** Rollout bake times, rate limits, monitors and retention run on it; tests pass a manual clock. */
    clock?: Clock;
  },
): Promise<RunningHub> {
  const { log } = options;
  const clock = options.clock ?? systemClock;
  const version = readPackageVersion();
  const closers: (() => Promise<void>)[] = [];
  const closeAll = async () => {
    for (const close of closers.reverse())
      await close().catch((error) => log.warn({ event: "hub.close.failed", err: error }));
  };
  try {
    // Storage.
    // The data folder holds secret hashes, the signing key, datasets and the database's WAL:
    // no other local user may enter it, whatever the umask made of the files inside.
    await mkdir(config.dataDir, { recursive: true, mode: 0o700 });
    await chmod(config.dataDir, 0o700);
    // First, so every part can report to it from its start; scrape-time sources are filled in below.
    const metrics = new HubMetrics();
    const database = await openDatabase({
      dataDir: config.dataDir,
      databaseUrl: config.databaseUrl,
      log,
      onQuery: (seconds) => metrics.recordQuery(seconds),
    });
    closers.push(() => database.close());
    const repos = createRepositories(database.db);
    Object.assign(metrics.sources, stateCountReaders(database.db));
    const blobs = new BlobStore(config.dataDir);
    const signing = await loadOrCreateSigningKeys(config.dataDir);
    if (signing.created) log.info({ event: "hub.signing-key.created", fingerprint: signing.fingerprint });
    const adminToken = await ensureAdminToken(repos.tokens, config.dataDir, log);
    // HTTPS and MQTTS with the operator's certificate or the hub's own CA (hub/tls/), or plaintext.
    const tls = await loadHubTls(config, log);
    const listenerTls = tls && { ...tls.server, clientCa: tls.authority.caPem };

    // Sockets: the broker (unless external) and the HTTP port, so every address is known from here on.
    const hubSecret = randomBytes(24).toString("base64url");
    // One failed-auth back-off for both doors devices and operators knock on (HTTP and MQTT).
    const authThrottle = new AuthThrottle();
    // What device messages do: update the twin, store telemetry and tell the followers. The
    // embedded broker runs them before it acknowledges a publish; an external one reaches them
    // through the link.
    const telemetry = new TelemetryWriter(database.db, { log: log.child({ part: "telemetry" }) });
    closers.push(() => telemetry.close());
    const deviceChanges = new DeviceChanges();
    const handlers = deviceMessageHandlers({ repos, telemetry, log }, (deviceId) =>
      deviceChanges.publish(deviceId),
    );
    const observeLink = {
      received: (kind: string) => metrics.recordMessageIn(kind),
      dropped: (kind: string, reason: "not-ours" | "empty" | "invalid") =>
        metrics.recordMessageDropped(kind, reason),
      published: (kind: string) => metrics.recordMessageOut(kind),
    };
    // Quotas and data checks before a device message is stored; refusals counted per device.
    const gate = new DeviceMessageGate({ eventsPerMinute: config.deviceEventsPerMinute });
    gate.refusals.onRecord((kind, reason) => metrics.recordDeviceRefusal(kind, reason));
    const ingest = config.mqttUrl
      ? undefined
      : inProcessIngest(handlers, log.child({ part: "mqtt" }), observeLink, gate);
    let broker: EmbeddedBroker | undefined;
    if (!config.mqttUrl) {
      broker = await startEmbeddedBroker({
        ingest: ingest!.ingest,
        host: config.mqttHost,
        port: config.mqttPort,
        hubSecret,
        verifyDevice: (id, secret) => repos.devices.verifySecret(id, secret),
        verifyDeviceCertificate: (id, certificate) => repos.devices.verifyCertificate(id, certificate.sha256),
        ...(listenerTls ? { tls: listenerTls } : {}),
        recentlyVerified: (id, secret) => repos.devices.recentlyVerified(id, secret),
        throttle: authThrottle,
        log: log.child({ part: "broker" }),
        onRefused: (action) => metrics.recordBrokerRefusal(action),
        onConnectRefused: (refusal) => {
          void repos.audit
            .record({
              actorKind: "anonymous",
              actor: refusal.username ?? null,
              action: "mqtt.connect",
              target: refusal.clientId,
              outcome: "denied",
              source: refusal.source,
              details: { reason: refusal.reason },
            })
            .catch((error: unknown) => log.error({ event: "audit.write.failed", err: error }));
        },
      });
      closers.push(() => broker!.close());
    }
    const brokerUrl = config.mqttUrl ?? broker!.url;
    const http = await bindHttpServer(config.host, config.port, listenerTls);
    // Released here only when start-up fails before the API is served; see the closer after serve().
    closers.push(() => http.close());
    const urls = hubUrls(config, { httpUrl: http.url, brokerUrl });

    // The link to devices.
    const link = await connectHubLink({
      url: brokerUrl,
      username: broker ? HUB_USERNAME : undefined,
      password: broker ? hubSecret : undefined,
      tls: broker ? tls?.selfClient : tls && { ca: tls.trustPem },
      log: log.child({ part: "mqtt" }),
      observe: observeLink,
      gate,
      handlers,
    });
    closers.push(() => link.close());
    metrics.sources.handlerQueueDepth = () => link.pending;
    metrics.sources.telemetry = () => telemetry.stats();
    if (broker) {
      // Runs before the link's close: devices are cut off first, then everything the broker
      // acknowledged to them reaches the handlers, so a graceful stop loses no device message
      // (the embedded broker's queues die with the process; an external broker keeps its own).
      closers.push(async () => {
        await broker!.disconnectDevices();
        await ingest!.whenIdle();
        await link.drain();
      });
    }

    // Controllers and services.
    const rollouts = new RolloutController({
      db: database.db,
      repos,
      link,
      urls,
      clock,
      log: log.child({ part: "rollouts" }),
      flushTelemetry: () => telemetry.flush(),
    });
    closers.push(() => rollouts.close());
    const jobs = new JobService({ config, log: log.child({ part: "jobs" }), repos, blobs });
    closers.push(() => jobs.close());
    const retention = startRetentionSweeper({
      db: database.db,
      retentionDays: config.retentionDays,
      clock,
      log: log.child({ part: "retention" }),
    });
    closers.push(() => retention.close());
    const drift = createDriftMonitoring({
      db: database.db,
      hub: { repos, blobs, link, signing, rollouts, log },
      submitRun: async (body) => ({ id: String((await jobs.submit(body)).id) }),
      webhookAllow: config.webhookAllow,
      clock,
      log,
    });
    closers.push(() => drift.close());
    const pipelines = new PipelineRunner({
      repos,
      blobs,
      signing,
      rollouts,
      jobs,
      clock,
      log: log.child({ part: "pipelines" }),
      codeVersion: version,
    });
    closers.push(() => pipelines.close());
    // The console's live stream: device twins and runs announce themselves; the rest is found by
    // change marks read while a console is connected.
    const live = new LiveChanges({ marks: repos.changeMarks, clock, log: log.child({ part: "console" }) });
    closers.push(async () => live.close());
    deviceChanges.subscribe(async (deviceId) => live.publish("devices", deviceId));
    jobs.events.subscribeAll((runId, event) => {
      if (event.type !== "log") live.publish("runs", runId);
    });

    // The API.
    const sessions: DeviceSessions = broker
      ? { disconnect: (deviceId) => broker!.disconnectDevice(deviceId) }
      : // An external broker keeps its own sessions: the device is refused on its next HTTP call
        // (and, where the broker asks the hub or reads a revocation list, on reconnect).
        { disconnect: async () => false };
    const app = createApiApp({
      refusals: gate.refusals,
      authThrottle,
      authority: tls?.authority,
      tlsTrustPem: tls?.trustPem,
      sessions,
      version,
      config,
      log,
      database,
      repos,
      blobs,
      telemetry,
      signing,
      link,
      urls,
      rollouts,
      jobs,
      drift,
      pipelines,
      live,
      metrics,
    });
    http.serve(app.fetch);
    // Stopped first on close, as before any other part, so no request reaches a closing part.
    closers.push(() => http.close());

    // Start: repair desired states, resume rollouts, runs and monitors.
    const republished = await republishDesired({ repos, link });
    // After the republish: start() repairs any device whose desired state lags the deployments
    // (a crash between a persisted rollout step and its publish) and resumes open rollouts.
    await rollouts.start();
    deviceChanges.subscribe((deviceId) => rollouts.deviceChanged(deviceId));
    jobs.start();
    await drift.start();
    await pipelines.start();
    if (config.trainer) {
      // Over HTTP like any other worker, so the in-hub one and `edgefleet trainer` behave the same.
      const trainer = await startTrainerWorker({
        hubUrl: http.url,
        ...(tls ? { tls: tls.selfClient } : {}),
        // The worker protocol's own role: a script it runs gets only its attempt's token anyway.
        token: await ensureTrainerToken(repos.tokens, config.dataDir, log),
        name: "in-hub",
        scriptUser: config.scriptUser,
        labels: { "edgefleet.in-hub": "true" },
        dataDir: join(config.dataDir, "trainer"),
        log: log.child({ part: "trainer" }),
      });
      closers.push(() => trainer.stop());
    }
    await writeLocalHubInfo(config.dataDir, {
      url: http.url,
      mqttUrl: urls.mqtt,
      pid: process.pid,
      startedAt: new Date().toISOString(),
    });
    log.info({
      event: "hub.started",
      url: http.url,
      mqttUrl: urls.mqtt,
      database: database.dialect,
      republished,
    });
    const parts: HubParts = {
      version,
      config,
      log,
      database,
      repos,
      blobs,
      telemetry,
      signing,
      link,
      urls,
      rollouts,
      jobs,
      drift,
      pipelines,
      metrics,
    };
    return { parts, url: http.url, mqttUrl: urls.mqtt, adminToken, caPem: tls?.trustPem, close: closeAll };
  } catch (error) {
    await closeAll();
    throw error;
  }
}
