/**
 * The hub's API app without sockets: a real PGlite store in a temp folder, real blob store,
 * signing key, repositories, rollout controller and job service, and a recording link in place of
 * the broker. Tests drive it with `app.request()` and read the store directly to check that a
 * refused request changed nothing.
 */
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { BlobStore } from "../../hub/blobs/blob-store.js";
import { type HubConfigInput, parseHubConfig } from "../../hub/config.js";
import { LiveChanges } from "../../hub/console/index.js";
import { openDatabase } from "../../hub/db/connect.js";
import type { Database } from "../../hub/db/database.js";
import { type ApiApp, createApiApp } from "../../hub/http/app.js";
import { JobService } from "../../hub/jobs/service.js";
import { loadOrCreateSigningKeys, type SigningKeys } from "../../hub/keys.js";
import { HubMetrics } from "../../hub/metrics/hub-metrics.js";
import { createDriftMonitoring } from "../../hub/monitors/index.js";
import { DeviceRefusals } from "../../hub/mqtt/device-refusals.js";
import { PipelineRunner } from "../../hub/pipelines/runner.js";
import { createRepositories, type Repositories, TelemetryWriter } from "../../hub/repos/index.js";
import { RolloutController } from "../../hub/rollouts/controller.js";
import type { HubUrls } from "../../hub/urls.js";
import { systemClock } from "../../lib/clock.js";
import { silentLogger } from "../../lib/log.js";
import { type RecordingLink, recordingLink } from "./recording-link.js";

/** The addresses the app hands out (no socket is bound, so any fixed value will do). */
export const TEST_URLS: HubUrls = { api: "http://hub.test:8470", mqtt: "mqtt://hub.test:1883" };

export interface ApiTestApp {
  app: ApiApp;
  database: Database;
  repos: Repositories;
  blobs: BlobStore;
  signing: SigningKeys;
  link: RecordingLink;
  rollouts: RolloutController;
  /** The console's change notices (its stream route reads them). */
  live: LiveChanges;
  /** Bearer tokens of each role. */
  tokens: { admin: string; operator: string; viewer: string };
  /** Device ids a route asked to cut off from the broker, in order. */
  disconnected: string[];
  /** Sends a request with a role's token (default admin) and a JSON body when given. */
  call(
    method: string,
    path: string,
    options?: {
      as?: "admin" | "operator" | "viewer" | null;
      json?: unknown;
      body?: RequestInit["body"];
      headers?: RequestInit["headers"];
    },
  ): Promise<Response>;
  close(): Promise<void>;
}

/** Builds an API app over a fresh PGlite store; close() stops it and removes its folder. */
export async function createApiTestApp(overrides: HubConfigInput = {}): Promise<ApiTestApp> {
  const dataDir = await mkdtemp(join(tmpdir(), "edgefleet-api-"));
  const config = parseHubConfig({ ...overrides, dataDir, logLevel: "silent", trainer: false });
  const log = silentLogger;
  const database = await openDatabase({ dataDir, log });
  const repos = createRepositories(database.db);
  const blobs = new BlobStore(dataDir);
  const signing = await loadOrCreateSigningKeys(dataDir);
  const telemetry = new TelemetryWriter(database.db, { log });
  const link = recordingLink();
  const rollouts = new RolloutController({
    db: database.db,
    repos,
    link,
    urls: TEST_URLS,
    clock: systemClock,
    log,
    flushTelemetry: () => telemetry.flush(),
  });
  await rollouts.start();
  const jobs = new JobService({ config, log, repos, blobs });
  const drift = createDriftMonitoring({
    db: database.db,
    hub: { repos, blobs, link, signing, rollouts, log },
    submitRun: async (body) => ({ id: String((await jobs.submit(body)).id) }),
    clock: systemClock,
    log,
  });
  const live = new LiveChanges({ marks: repos.changeMarks, clock: systemClock, log });
  const pipelines = new PipelineRunner({
    repos,
    blobs,
    signing,
    rollouts,
    jobs,
    clock: systemClock,
    log,
    codeVersion: "0.0.0-test",
  });
  const disconnected: string[] = [];
  const app = createApiApp({
    refusals: new DeviceRefusals(),
    version: "0.0.0-test",
    config,
    log,
    database,
    repos,
    blobs,
    telemetry,
    signing,
    link,
    urls: TEST_URLS,
    rollouts,
    jobs,
    drift,
    pipelines,
    live,
    metrics: new HubMetrics(),
    // No broker in process: records which devices a route asked to cut off.
    sessions: {
      async disconnect(deviceId: string) {
        disconnected.push(deviceId);
        return false;
      },
    },
  });
  const tokens = {
    admin: (await repos.tokens.create("test-admin", "admin")).token,
    operator: (await repos.tokens.create("test-operator", "operator")).token,
    viewer: (await repos.tokens.create("test-viewer", "viewer")).token,
  };
  return {
    app,
    database,
    repos,
    blobs,
    signing,
    link,
    rollouts,
    live,
    tokens,
    disconnected,
    call(method, path, options = {}) {
      const headers = new Headers(options.headers);
      const as = options.as === undefined ? "admin" : options.as;
      if (as) headers.set("authorization", `Bearer ${tokens[as]}`);
      let body = options.body;
      if (options.json !== undefined) {
        headers.set("content-type", "application/json");
        body = JSON.stringify(options.json);
      }
      return Promise.resolve(app.request(path, { method, headers, ...(body !== undefined ? { body } : {}) }));
    },
    async close() {
      live.close();
      await pipelines.close();
      await rollouts.close();
      await jobs.close();
      await telemetry.close();
      await database.close();
      await rm(dataDir, { recursive: true, force: true });
    },
  };
}
