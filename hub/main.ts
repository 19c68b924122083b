/**
 * Starting and stopping a hub: storage, blobs, signing key, broker (embedded or external), the hub's
 * own MQTT client link, the telemetry writer and the HTTP API, in that order; closed in reverse.
 */
import { randomBytes } from "node:crypto";
import { mkdir } from "node:fs/promises";
import type { AddressInfo } from "node:net";
import { join } from "node:path";
import { type ServerType, serve } from "@hono/node-server";
import type { Logger } from "../lib/log.js";
import { readPackageVersion } from "../lib/paths.js";
import { startTrainerWorker } from "../trainer/worker.js";
import { ensureAdminToken } from "./admin-token.js";
import { BlobStore } from "./blobs/blob-store.js";
import { type EmbeddedBroker, startEmbeddedBroker } from "./broker/embedded.js";
import type { HubConfig } from "./config.js";
import type { HubContext } from "./context.js";
import { openDatabase } from "./db/connect.js";
import { createApiApp } from "./http/app.js";
import { JobService } from "./jobs/service.js";
import { loadOrCreateSigningKeys } from "./keys.js";
import { writeLocalHubInfo } from "./local-access.js";
import { createDriftMonitoring } from "./monitors/index.js";
import { connectHubLink, HUB_USERNAME } from "./mqtt/hub-link.js";
import { createRepositories, TelemetryWriter } from "./repos/index.js";
import { startRetentionSweeper } from "./retention/sweeper.js";
import { type Clock, systemClock } from "./rollouts/clock.js";
import { RolloutController } from "./rollouts/controller.js";
import { republishDesired } from "./services/deployments.js";
import { deviceMessageHandlers } from "./services/device-messages.js";

export interface RunningHub {
  context: HubContext;
  /** HTTP base URL, e.g. http://127.0.0.1:8470. */
  url: string;
  /** Broker URL devices use. */
  mqttUrl: string;
  /** The admin token the local CLI uses (from the data folder). */
  adminToken: string;
  close(): Promise<void>;
}

/** Starts a hub; rejects with a clear message (and releases what it opened) when a part fails. */
export async function startHub(
  config: HubConfig,
  options: {
    log: Logger /** Rollout bake times and rate limits run on it; tests pass a manual clock. */;
    clock?: Clock;
  },
): Promise<RunningHub> {
  const { log } = options;
  const clock = options.clock ?? systemClock;
  const closers: (() => Promise<void>)[] = [];
  const closeAll = async () => {
    for (const close of closers.reverse())
      await close().catch((error) => log.warn({ event: "hub.close.failed", err: error }));
  };
  try {
    await mkdir(config.dataDir, { recursive: true });
    const database = await openDatabase({ dataDir: config.dataDir, databaseUrl: config.databaseUrl, log });
    closers.push(() => database.close());
    const repos = createRepositories(database.db);
    const blobs = new BlobStore(config.dataDir);
    const signing = await loadOrCreateSigningKeys(config.dataDir);
    if (signing.created) log.info({ event: "hub.signing-key.created", fingerprint: signing.fingerprint });
    const adminToken = await ensureAdminToken(repos.tokens, config.dataDir, log);

    const hubSecret = randomBytes(24).toString("base64url");
    let broker: EmbeddedBroker | undefined;
    if (!config.mqttUrl) {
      broker = await startEmbeddedBroker({
        host: config.mqttHost,
        port: config.mqttPort,
        hubSecret,
        verifyDevice: (id, secret) => repos.devices.verifySecret(id, secret),
        log: log.child({ part: "broker" }),
      });
      closers.push(() => broker!.close());
    }
    const telemetry = new TelemetryWriter(database.db, { log: log.child({ part: "telemetry" }) });
    closers.push(() => telemetry.close());

    const version = readPackageVersion();
    // Assigned once the link is up; device messages that arrive before only update the twin.
    let rollouts: RolloutController | undefined;
    const partial = { version, config, log, database, repos, blobs, telemetry, signing };
    const link = await connectHubLink({
      url: config.mqttUrl ?? broker!.url,
      username: broker ? HUB_USERNAME : undefined,
      password: broker ? hubSecret : undefined,
      log: log.child({ part: "mqtt" }),
      handlers: deviceMessageHandlers(partial, async (deviceId) => rollouts?.deviceChanged(deviceId)),
    });
    closers.push(() => link.close());
    if (broker) {
      // Runs before the link's close: devices are cut off first, then everything the broker
      // acknowledged to them reaches the handlers, so a graceful stop loses no device message
      // (the embedded broker's queues die with the process; an external broker keeps its own).
      closers.push(async () => {
        await broker!.disconnectDevices();
        await link.drain();
      });
    }

    const urls = { api: "", mqtt: config.publicMqttUrl ?? config.mqttUrl ?? broker!.url };
    const controller = new RolloutController({
      db: database.db,
      repos,
      link,
      urls,
      clock,
      log: log.child({ part: "rollouts" }),
      flushTelemetry: () => telemetry.flush(),
    });
    closers.push(() => controller.close());
    const jobs = new JobService({ config, log: log.child({ part: "jobs" }), repos, blobs });
    closers.push(() => jobs.close());
    const retention = startRetentionSweeper({
      db: database.db,
      retentionDays: config.retentionDays,
      clock,
      log: log.child({ part: "retention" }),
    });
    closers.push(() => retention.close());
    const drift = createDriftMonitoring(() => context, database.db, { clock, log });
    closers.push(() => drift.close());
    const context: HubContext = { ...partial, link, urls, rollouts: controller, jobs, drift };
    const app = createApiApp(context);
    const server = await listen(app.fetch, config.host, config.port);
    closers.push(() => closeServer(server));
    const port = (server.address() as AddressInfo).port;
    const url = `http://${config.host === "0.0.0.0" ? "127.0.0.1" : config.host}:${port}`;
    urls.api = config.publicUrl?.replace(/\/$/, "") ?? url;

    const republished = await republishDesired(context);
    // After the republish: start() repairs any device whose desired state lags the deployments
    // (a crash between a persisted rollout step and its publish) and resumes open rollouts.
    await controller.start();
    rollouts = controller;
    jobs.start();
    await drift.start();
    if (config.trainer) {
      // Over HTTP like any other worker, so the in-hub one and `edgefleet trainer` behave the same.
      const trainer = await startTrainerWorker({
        hubUrl: url,
        token: adminToken,
        name: "in-hub",
        labels: { "edgefleet.in-hub": "true" },
        dataDir: join(config.dataDir, "trainer"),
        log: log.child({ part: "trainer" }),
      });
      closers.push(() => trainer.stop());
    }
    await writeLocalHubInfo(config.dataDir, {
      url,
      mqttUrl: urls.mqtt,
      pid: process.pid,
      startedAt: new Date().toISOString(),
    });
    log.info({ event: "hub.started", url, mqttUrl: urls.mqtt, database: database.dialect, republished });
    return { context, url, mqttUrl: urls.mqtt, adminToken, close: closeAll };
  } catch (error) {
    await closeAll();
    throw error;
  }
}

function listen(
  fetch: (request: Request) => Response | Promise<Response>,
  host: string,
  port: number,
): Promise<ServerType> {
  return new Promise((resolve, reject) => {
    const server = serve({ fetch, hostname: host, port }, () => resolve(server));
    server.once("error", (error: NodeJS.ErrnoException) => {
      reject(
        error.code === "EADDRINUSE"
          ? Object.assign(
              new Error(
                `HTTP port ${port} on ${host} is already in use; choose another with --port or EDGEFLEET_PORT`,
              ),
              { code: "EADDRINUSE" },
            )
          : error,
      );
    });
  });
}

function closeServer(server: ServerType): Promise<void> {
  return new Promise((resolve) => {
    server.close(() => resolve());
    (server as { closeAllConnections?: () => void }).closeAllConnections?.();
  });
}
