/**
 * The hub's Prometheus series (prom-client), in one registry per hub (tests run several hubs in a
 * process): HTTP requests and latency by route template, MQTT messages in and out by kind and the
 * ones refused, the device-message handler queue, database query time, deployments and runs by
 * status, and telemetry windows stored. Parts report through the narrow callbacks below; values
 * that live elsewhere (queue depth, state counts, rows written) are read at scrape time.
 *
 * Every label value comes from a closed set (route templates, message kinds, statuses), never from
 * a path, topic or device id, so no caller can grow the series without bound.
 */
import { Counter, Gauge, Histogram, Registry } from "prom-client";
import { EXPOSITION_CONTENT_TYPE, exposition, LATENCY_BUCKETS_S } from "../../lib/prometheus.js";

/** Database calls are mostly well under a millisecond on PGlite; the buckets start lower. */
const QUERY_BUCKETS_S = [0.0001, 0.00025, ...LATENCY_BUCKETS_S];

/** What the scrape reads from the running parts; each may be absent until its part exists. */
export interface HubMetricSources {
  /** Device messages queued or being handled. */
  handlerQueueDepth?: () => number;
  /** Deployments (rollouts) by status, read from the database. */
  deploymentStates?: () => Promise<Record<string, number>>;
  /** Training runs by status, read from the database. */
  runStates?: () => Promise<Record<string, number>>;
  /** Telemetry rows written, duplicates skipped and rows dropped, since start. */
  telemetry?: () => { written: number; duplicates: number; dropped: number };
}

/** The hub's metrics; parts call the `record…` methods, `/metrics` renders `text()`. */
export class HubMetrics {
  readonly registry = new Registry();
  readonly sources: HubMetricSources = {};
  readonly #httpRequests: Counter<"method" | "route" | "status">;
  readonly #httpDuration: Histogram<"method" | "route">;
  readonly #mqttIn: Counter<"kind">;
  readonly #mqttDropped: Counter<"kind" | "reason">;
  readonly #mqttOut: Counter<"kind">;
  readonly #brokerRefusals: Counter<"action">;
  readonly #deviceRefusals: Counter<"kind" | "reason">;
  readonly #queryDuration: Histogram;

  constructor() {
    const registers = [this.registry];
    const sources = this.sources;
    this.#httpRequests = new Counter({
      name: "edgefleet_hub_http_requests_total",
      help: "HTTP requests answered, by method, route template and status",
      labelNames: ["method", "route", "status"],
      registers,
    });
    this.#httpDuration = new Histogram({
      name: "edgefleet_hub_http_request_duration_seconds",
      help: "HTTP request latency by method and route template, from routing to the response",
      labelNames: ["method", "route"],
      buckets: LATENCY_BUCKETS_S,
      registers,
    });
    this.#mqttIn = new Counter({
      name: "edgefleet_hub_mqtt_messages_received_total",
      help: "Device messages the hub accepted and queued for their handler, by kind",
      labelNames: ["kind"],
      registers,
    });
    this.#mqttDropped = new Counter({
      name: "edgefleet_hub_mqtt_messages_dropped_total",
      help: "Device messages the hub dropped: invalid payload, empty (a retained delete) or not a device topic",
      labelNames: ["kind", "reason"],
      registers,
    });
    this.#mqttOut = new Counter({
      name: "edgefleet_hub_mqtt_messages_published_total",
      help: "Messages the hub published and the broker acknowledged, by kind",
      labelNames: ["kind"],
      registers,
    });
    this.#brokerRefusals = new Counter({
      name: "edgefleet_hub_mqtt_broker_refusals_total",
      help: "Connects, publishes and subscribes the embedded broker refused",
      labelNames: ["action"],
      registers,
    });
    this.#deviceRefusals = new Counter({
      name: "edgefleet_hub_device_messages_refused_total",
      help: "Device messages refused before storage, by kind and reason (schema, unstorable, invariant, too-large, quota); per device in GET /api/v1/devices/{id}",
      labelNames: ["kind", "reason"],
      registers,
    });
    this.#queryDuration = new Histogram({
      name: "edgefleet_hub_db_query_duration_seconds",
      help: "Time of each database statement, from send to result",
      buckets: QUERY_BUCKETS_S,
      registers,
    });
    new Gauge({
      name: "edgefleet_hub_mqtt_handler_queue_depth",
      help: "Device messages queued or being handled",
      registers,
      collect() {
        this.set(sources.handlerQueueDepth?.() ?? 0);
      },
    });
    const byStatus = (name: string, help: string, read: () => Promise<Record<string, number>> | undefined) =>
      new Gauge({
        name,
        help,
        labelNames: ["status"],
        registers,
        async collect() {
          const counts = (await read()) ?? {};
          this.reset();
          for (const [status, n] of Object.entries(counts)) this.set({ status }, n);
        },
      });
    byStatus("edgefleet_hub_deployments", "Deployments (rollouts) by status", () =>
      sources.deploymentStates?.(),
    );
    byStatus("edgefleet_hub_runs", "Training runs by status", () => sources.runStates?.());
    const telemetry = (key: "written" | "duplicates" | "dropped") => {
      let reported = 0;
      return function collect(this: Counter) {
        // The writer's totals only grow; the counter follows them.
        const total = sources.telemetry?.()[key] ?? 0;
        if (total > reported) this.inc(total - reported);
        reported = Math.max(reported, total);
      };
    };
    new Counter({
      name: "edgefleet_hub_telemetry_rows_written_total",
      help: "Telemetry rows (one per module per window) stored; its rate is the ingest rate",
      registers,
      collect: telemetry("written"),
    });
    new Counter({
      name: "edgefleet_hub_telemetry_rows_duplicate_total",
      help: "Telemetry rows the database already had (QoS 1 redeliveries)",
      registers,
      collect: telemetry("duplicates"),
    });
    new Counter({
      name: "edgefleet_hub_telemetry_rows_dropped_total",
      help: "Telemetry rows given up after a failed write and its retry",
      registers,
      collect: telemetry("dropped"),
    });
  }

  /** One answered HTTP request; `route` is the matched template, never the raw path. */
  recordHttp(method: string, route: string, status: number, seconds: number): void {
    this.#httpDuration.observe({ method, route }, seconds);
    this.#httpRequests.inc({ method, route, status: String(status) });
  }

  /** One device message accepted for its handler. */
  recordMessageIn(kind: string): void {
    this.#mqttIn.inc({ kind });
  }

  /** One device message dropped before any handler. */
  recordMessageDropped(kind: string, reason: string): void {
    this.#mqttDropped.inc({ kind, reason });
  }

  /** One publish acknowledged by the broker. */
  recordMessageOut(kind: string): void {
    this.#mqttOut.inc({ kind });
  }

  /** One connect, publish or subscribe the embedded broker refused. */
  recordBrokerRefusal(action: "connect" | "publish" | "subscribe"): void {
    this.#brokerRefusals.inc({ action });
  }

  /** One device message refused before storage (kind and reason are closed sets). */
  recordDeviceRefusal(kind: string, reason: string): void {
    this.#deviceRefusals.inc({ kind, reason });
  }

  /** One database statement's duration. */
  recordQuery(seconds: number): void {
    this.#queryDuration.observe(seconds);
  }

  /** The scrape text: process metrics, then the hub's. */
  text(): Promise<string> {
    return exposition("edgefleet_hub_", [this.registry]);
  }

  /** Content type of the exposition format. */
  get contentType(): string {
    return EXPOSITION_CONTENT_TYPE;
  }
}
