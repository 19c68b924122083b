/**
 * Test support: a real scoring server on a free loopback port over a ServingTable of real
 * modules, plus small fetch helpers. Used by the agent/http tests only.
 */
import { silentLogger } from "../../lib/log.js";
import { type LoadedModule, loadModule } from "../runtime/loaded-module.js";
import { ServingTable } from "../runtime/serving-table.js";
import type { ModuleDir } from "../runtime/test-modules.js";
import { TelemetryRecorder } from "../telemetry/recorder.js";
import { type ScoringServer, type ScoringServerOptions, startScoringServer } from "./server.js";

export interface Harness {
  server: ScoringServer;
  table: ServingTable;
  recorder: TelemetryRecorder;
  dirs: ModuleDir[];
  /** Loads a module folder (and remembers it for cleanup) without activating it. */
  load(dir: ModuleDir): Promise<LoadedModule>;
  /** Disposes every module, closes the server and removes the folders. */
  close(): Promise<void>;
}

/** Starts a server with the given module folders loaded and active. */
export async function startHarness(
  dirs: ModuleDir[],
  options: Partial<
    Pick<ScoringServerOptions, "maxBodyBytes" | "emitEvent" | "predictions" | "runtime" | "drift">
  > = {},
): Promise<Harness> {
  const table = new ServingTable();
  const recorder = new TelemetryRecorder();
  const loaded: LoadedModule[] = [];
  const load = async (dir: ModuleDir) => {
    if (!dirs.includes(dir)) dirs.push(dir);
    const module = await loadModule({
      dir: dir.dir,
      manifest: dir.manifest,
      ...(options.runtime ? { runtime: options.runtime } : {}),
    });
    loaded.push(module);
    return module;
  };
  for (const dir of [...dirs]) table.activate(await load(dir));
  const server = await startScoringServer({
    port: 0,
    table,
    recorder,
    log: silentLogger,
    agentVersion: "0.1.0-test",
    ...options,
  });
  return {
    server,
    table,
    recorder,
    dirs,
    load,
    async close() {
      await server.close();
      await Promise.all(loaded.map((module) => module.drainAndDispose()));
      await Promise.all(dirs.map((dir) => dir.cleanup()));
    },
  };
}

export interface JsonReply {
  status: number;
  body: unknown;
  contentType: string | null;
}

/** Sends a request and parses the JSON reply; `body` strings are sent as is, anything else as JSON. */
export async function call(url: string, method = "GET", body?: unknown): Promise<JsonReply> {
  const init: RequestInit = { method };
  if (body !== undefined) {
    init.body = typeof body === "string" ? body : JSON.stringify(body);
    init.headers = { "content-type": "application/json" };
  }
  const response = await fetch(url, init);
  const text = await response.text();
  return {
    status: response.status,
    body: text === "" ? undefined : JSON.parse(text),
    contentType: response.headers.get("content-type"),
  };
}
