/** Test helpers: a real hub in this process on free ports, with a temp data folder. */
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { type HubConfigInput, parseHubConfig } from "../../hub/config.js";
import { type RunningHub, startHub } from "../../hub/main.js";
import { HubClient } from "../../hub-api/client.js";
import type { Clock } from "../../lib/clock.js";
import { silentLogger } from "../../lib/log.js";

export interface TestHub extends RunningHub {
  dataDir: string;
  client: HubClient;
  /** Stops the hub and removes its data folder. */
  dispose(): Promise<void>;
}

/** Starts a hub on port 0 (HTTP and embedded broker) in a fresh or given data folder. */
export async function startTestHub(
  options: HubConfigInput & { keepData?: boolean; clock?: Clock } = {},
): Promise<TestHub> {
  const dataDir = options.dataDir ?? (await mkdtemp(join(tmpdir(), "edgefleet-hub-")));
  const { keepData, clock, ...config } = options;
  const hub = await startHub(
    // No in-hub trainer unless a test asks for one: tests that claim runs with their own workers stay deterministic.
    parseHubConfig({
      port: 0,
      mqttPort: 0,
      mqttHost: "127.0.0.1",
      logLevel: "silent",
      trainer: false,
      ...config,
      dataDir,
    }),
    { log: silentLogger, ...(clock ? { clock } : {}) },
  );
  let closed = false;
  return {
    ...hub,
    dataDir,
    client: new HubClient({
      url: hub.url,
      token: hub.adminToken,
      tls: hub.caPem ? { ca: hub.caPem } : undefined,
    }),
    async close() {
      if (closed) return;
      closed = true;
      await hub.close();
    },
    async dispose() {
      if (!closed) {
        closed = true;
        await hub.close();
      }
      if (!keepData) await rm(dataDir, { recursive: true, force: true });
    },
  };
}
