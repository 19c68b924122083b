/**
 * H3: telemetry rows per second through the store, against the raw driver's batched insert of the
 * same rows, in the same database and the same run (pairs A B B A after a warm-up).
 *
 * Ours is the hub's real path: the MQTT payload bytes as current agents send them (the drift
 * summary packed, `driftPacked`) → routeMessage (JSON + zod) → the device message handler (decodes
 * the packed summary on the module version's spec, cached) → TelemetryWriter.add, then flush
 * (drizzle, one transaction per batch holding the telemetry rows and their drift summaries). The
 * peer gets the same windows with the summary in plain JSON, parses them with JSON.parse and sends
 * the same rows through the driver itself: per batch of the writer's size, one transaction with one
 * multi-row INSERT … ON CONFLICT DO NOTHING per table, into copies of the two tables (`LIKE …
 * INCLUDING ALL`: same columns, indexes and unique keys). Every window carries one module with the
 * drift summary of 1000 rows of bench D1's model (20 features, 3 classes). A second line per store
 * sends ours the plain form too (older agents, or packing failed), which leaves out the decode.
 *
 * Runs on PGlite (the default store) and, when it answers, PostgreSQL at
 * EDGEFLEET_TEST_DATABASE_URL (default 127.0.0.1:5432/test) in a scratch database dropped after.
 */
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { PGlite } from "@electric-sql/pglite";
import type { Sql } from "postgres";
import { encodeSummary, type PackedDriftSummary } from "../drift-summary/codec.js";
import type { Monitoring } from "../drift-summary/monitoring.js";
import type { DriftSummary } from "../drift-summary/summary.js";
import { openDatabase } from "../hub/db/connect.js";
import type { Database } from "../hub/db/database.js";
import { routeMessage } from "../hub/mqtt/dispatch.js";
import { type Repositories, TelemetryWriter } from "../hub/repos/index.js";
import { deviceMessageHandlers } from "../hub/services/device-messages.js";
import { silentLogger } from "../lib/log.js";
import {
  createScratchDatabase,
  DEFAULT_TEST_DATABASE_URL,
  probePostgres,
} from "../test/store/postgres-scratch.js";
import {
  LATENCY_BUCKETS_MS,
  type ModuleWindow,
  PROTOCOL_VERSION,
  type TelemetryWindow,
} from "../wire/messages.js";
import { deviceTopic } from "../wire/topics.js";
import { spec, windowSummary } from "./d1-d2-drift.js";
import { type BenchResult, quantile, round } from "./stats.js";

const WINDOWS_PER_ROUND = 2000;
const DEVICES_PER_ROUND = 100;
const PAIRS = 5;
/** The writer's default batch (TelemetryWriter maxRows); the peer uses the same. */
const BATCH = 200;
/** Rows each window's drift summary counts. */
const SUMMARY_ROWS = 1000;

interface Message {
  deviceId: string;
  topic: string;
  /** As agents send it: the drift summary packed. */
  payload: Buffer;
  /** The same window with the summary in plain JSON: the peer's input. */
  plain: Buffer;
}

/** One round's MQTT messages: WINDOWS_PER_ROUND windows from DEVICES_PER_ROUND devices, distinct keys. */
function messages(prefix: string, drift: DriftSummary, driftPacked: PackedDriftSummary): Message[] {
  return Array.from({ length: WINDOWS_PER_ROUND }, (_, i) => {
    const deviceId = `${prefix}-${i % DEVICES_PER_ROUND}`;
    const seq = Math.floor(i / DEVICES_PER_ROUND);
    const start = Date.parse("2025-01-01T00:00:00.000Z") + seq * 10_000;
    const module = {
      name: "classifier",
      version: "1.0.0",
      requests: drift.rows,
      errors: 0,
      latencyBucketsMs: [...LATENCY_BUCKETS_MS],
      latencyCounts: [0, drift.rows, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0],
      latencySumMs: drift.rows * 0.7,
      inputs: [],
    };
    const window = (extra: Partial<ModuleWindow>): TelemetryWindow => ({
      protocol: PROTOCOL_VERSION,
      seq,
      windowStart: new Date(start).toISOString(),
      windowEnd: new Date(start + 10_000).toISOString(),
      modules: [{ ...module, ...extra }],
    });
    return {
      deviceId,
      topic: deviceTopic(deviceId, "telemetry"),
      payload: Buffer.from(JSON.stringify(window({ driftPacked }))),
      plain: Buffer.from(JSON.stringify(window({ drift }))),
    };
  });
}

/** How the windows carry their drift summary: packed (current agents) or plain JSON (older agents). */
type Form = "packed" | "plain";

/** The hub's message handlers over a writer that each round replaces, and a spec lookup. */
function hubHandlers(monitoring: Monitoring) {
  const hub = {
    // The packed summaries' spec: the module version's manifest, as the modules repository returns it.
    repos: { modules: { get: async () => ({ manifest: { monitoring } }) } } as unknown as Pick<
      Repositories,
      "devices" | "events" | "modules"
    >,
    telemetry: undefined as unknown as TelemetryWriter,
    log: silentLogger,
  };
  const handlers = deviceMessageHandlers(hub);
  return { hub, handlers, decoded: () => handlers.driftStats().decoded };
}

/** The hub's path: route (parse + validate) each message to the handler, then drain the writer. */
async function ours(
  database: Database,
  { hub, handlers }: ReturnType<typeof hubHandlers>,
  batch: Message[],
  form: Form,
): Promise<void> {
  const writer = new TelemetryWriter(database.db, { log: silentLogger });
  hub.telemetry = writer;
  // Handed over together, as the broker does with many devices: the telemetry handler resolves only
  // once its window is committed, and windows arriving meanwhile share the next commit.
  const handled: Promise<void>[] = [];
  for (const message of batch) {
    const routed = routeMessage(message.topic, form === "packed" ? message.payload : message.plain, false);
    if (!routed.ok) throw new Error(`H3: the hub refused a benchmark window: ${routed.reason}`);
    handled.push(routed.message.call(handlers as Parameters<typeof routed.message.call>[0]));
  }
  await Promise.all(handled);
  await writer.close();
  const stats = writer.stats();
  if (stats.written !== batch.length)
    throw new Error(`H3: the writer stored ${stats.written} of ${batch.length}`);
}

const WINDOW_COLUMNS = [
  "device_id",
  "seq",
  "module",
  "module_version",
  "window_start",
  "window_end",
  "requests",
  "errors",
  "latency_sum_ms",
  "payload",
  "received_at",
];
const SUMMARY_COLUMNS = [
  "device_id",
  "seq",
  "module",
  "module_version",
  "baseline_id",
  "rows",
  "window_start",
  "window_end",
  "summary",
  "received_at",
];

/** `insert into table (cols) values ($1, …), (…) on conflict do nothing` for `rows` rows. */
function insertText(table: string, columns: string[], jsonColumn: string, rows: number): string {
  const tuples: string[] = [];
  for (let r = 0; r < rows; r++) {
    const params = columns.map(
      (c, i) => `$${r * columns.length + i + 1}${c === jsonColumn ? "::jsonb" : ""}`,
    );
    tuples.push(`(${params.join(", ")})`);
  }
  return `insert into ${table} (${columns.join(", ")}) values ${tuples.join(", ")} on conflict (device_id, seq, module) do nothing`;
}

/** Runs statements in one transaction with the raw client. */
type RawTransaction = (statements: { text: string; params: unknown[] }[]) => Promise<void>;

function rawTransaction(database: Database): RawTransaction {
  const client = (database.db as unknown as { $client: unknown }).$client;
  if (database.dialect === "pglite") {
    const pglite = client as PGlite;
    return (statements) =>
      pglite.transaction(async (tx) => {
        for (const s of statements) await tx.query(s.text, s.params);
      });
  }
  const sql = client as Sql;
  return async (statements) => {
    await sql.begin(async (tx) => {
      for (const s of statements) await tx.unsafe(s.text, s.params as never[], { prepare: true });
    });
  };
}

/** The peer: JSON.parse the same bytes, then one multi-row insert per table per batch. */
async function peer(run: RawTransaction, batch: Message[]): Promise<void> {
  const texts = new Map<number, [string, string]>();
  const receivedAt = new Date().toISOString();
  for (let start = 0; start < batch.length; start += BATCH) {
    const slice = batch.slice(start, start + BATCH);
    const windows: unknown[] = [];
    const summaries: unknown[] = [];
    for (const { deviceId, plain } of slice) {
      const window = JSON.parse(plain.toString("utf8")) as TelemetryWindow;
      const { drift, samples: _samples, ...module } = window.modules[0]!;
      windows.push(
        deviceId,
        window.seq,
        module.name,
        module.version,
        window.windowStart,
        window.windowEnd,
        module.requests,
        module.errors,
        module.latencySumMs,
        JSON.stringify(module),
        receivedAt,
      );
      summaries.push(
        deviceId,
        window.seq,
        module.name,
        module.version,
        drift!.baselineId,
        drift!.rows,
        drift!.windowStart,
        window.windowEnd,
        JSON.stringify(drift),
        receivedAt,
      );
    }
    let text = texts.get(slice.length);
    if (!text) {
      text = [
        insertText("h3_peer_windows", WINDOW_COLUMNS, "payload", slice.length),
        insertText("h3_peer_summaries", SUMMARY_COLUMNS, "summary", slice.length),
      ];
      texts.set(slice.length, text);
    }
    await run([
      { text: text[0], params: windows },
      { text: text[1], params: summaries },
    ]);
  }
}

async function createPeerTables(run: RawTransaction): Promise<void> {
  await run([
    { text: "create table if not exists h3_peer_windows (like telemetry_windows including all)", params: [] },
    { text: "create table if not exists h3_peer_summaries (like drift_summaries including all)", params: [] },
  ]);
}

/** Interleaved A B B A pairs after one warm-up of each; rows/s per round. */
async function measure(database: Database, label: string, form: Form): Promise<BenchResult> {
  const run = rawTransaction(database);
  await createPeerTables(run);
  const monitoring = spec();
  const { drift } = windowSummary(monitoring, SUMMARY_ROWS);
  const driftPacked = encodeSummary(drift, monitoring);
  const hub = hubHandlers(monitoring);
  let rounds = 0;
  const timed = async (which: "ours" | "peer") => {
    const batch = messages(`h3${form}${which[0]}${rounds++}`, drift, driftPacked);
    const started = performance.now();
    if (which === "ours") await ours(database, hub, batch, form);
    else await peer(run, batch);
    return batch.length / ((performance.now() - started) / 1000);
  };
  await timed("ours");
  await timed("peer");
  const oursRates: number[] = [];
  const peerRates: number[] = [];
  const ratios: number[] = [];
  for (let pair = 0; pair < PAIRS; pair++) {
    const order = pair % 2 === 0 ? (["ours", "peer"] as const) : (["peer", "ours"] as const);
    const rates: Record<string, number> = {};
    for (const which of order) rates[which] = await timed(which);
    oursRates.push(rates.ours!);
    peerRates.push(rates.peer!);
    ratios.push(rates.ours! / rates.peer!);
  }
  const sample = messages("x", drift, driftPacked)[0]!;
  const oursMedian = quantile(oursRates, 0.5);
  const peerMedian = quantile(peerRates, 0.5);
  const ratio = oursMedian / peerMedian;
  return {
    id: "H3",
    what: `telemetry rows/s through the store (route${form === "packed" ? " + packed drift decode" : ", plain drift JSON"} + TelemetryWriter) vs raw driver batched insert, ${label}`,
    ours: round(oursMedian, 0),
    peer: round(peerMedian, 0),
    unit: "rows/s",
    ratio: round(ratio, 2),
    goal: ">= 0.5x",
    met: ratio >= 0.5,
    details: {
      "pair ratio min": round(Math.min(...ratios), 2),
      "pair ratio max": round(Math.max(...ratios), 2),
      "rows per round": WINDOWS_PER_ROUND,
      pairs: PAIRS,
      batch: BATCH,
      "payload bytes (packed / plain)": `${sample.payload.length} / ${sample.plain.length}`,
      "packed summaries decoded": hub.decoded(),
    },
  };
}

async function onPglite(): Promise<BenchResult[]> {
  const dataDir = await mkdtemp(join(tmpdir(), "edgefleet-bench-h3-"));
  const database = await openDatabase({ dataDir, log: silentLogger });
  try {
    return [await measure(database, "PGlite", "packed"), await measure(database, "PGlite", "plain")];
  } finally {
    await database.close();
    await rm(dataDir, { recursive: true, force: true });
  }
}

async function onPostgres(adminUrl: string): Promise<BenchResult[]> {
  const scratch = await createScratchDatabase(adminUrl);
  try {
    const database = await openDatabase({ dataDir: "/nonexistent-not-used", databaseUrl: scratch.url });
    try {
      const label = `PostgreSQL ${new URL(adminUrl).host}`;
      return [await measure(database, label, "packed"), await measure(database, label, "plain")];
    } finally {
      await database.close();
    }
  } finally {
    await scratch.drop();
  }
}

/** H3 on PGlite, and on PostgreSQL when a server answers. */
export async function benchH3(): Promise<BenchResult[]> {
  const results = await onPglite();
  const adminUrl = process.env.EDGEFLEET_TEST_DATABASE_URL || DEFAULT_TEST_DATABASE_URL;
  const unavailable = await probePostgres(adminUrl);
  if (unavailable)
    process.stderr.write(`H3: no PostgreSQL at ${new URL(adminUrl).host} (${unavailable}); skipped\n`);
  else results.push(...(await onPostgres(adminUrl)));
  return results;
}
