/**
 * Prometheus metrics of the scoring server (prom-client): requests, errors and latency per module
 * and version, session runs (batch sizes, run time, inline or worker), queue depth, active modules,
 * inference workers and their restarts, plus Node's process metrics. Each app has its own registry
 * (several agents can share a test process); process metrics live in one process-wide registry,
 * since they describe the process.
 *
 * Module labels only ever carry names the agent serves: a request for an unknown name counts under
 * module "" so a scanner cannot grow the series without bound.
 */
import type { Context, MiddlewareHandler } from "hono";
import { Counter, Gauge, Histogram, Registry } from "prom-client";
import { EXPOSITION_CONTENT_TYPE, exposition, LATENCY_BUCKETS_S } from "../../lib/prometheus.js";
import type { InferenceRuntime, RuntimeEvent } from "../runtime/inference-runtime.js";
import type { ServingTable } from "../runtime/serving-table.js";

const BATCH_BUCKETS = [1, 2, 4, 8, 16, 32, 64, 128];

export type ScoringRoute = "score" | "infer";

/** The agent's metrics; `middleware(route)` times requests, `text()` renders the exposition. */
export class AgentMetrics {
  readonly registry = new Registry();
  readonly #requests: Counter<"module" | "version" | "route" | "status">;
  readonly #errors: Counter<"module" | "version" | "route" | "status">;
  readonly #latency: Histogram<"module" | "version" | "route">;
  readonly #runs: Histogram<"module" | "version" | "executor">;
  readonly #batchRows: Histogram<"module" | "version">;
  readonly #restarts: Counter<"reason">;
  readonly #unsubscribe: () => void;

  constructor(
    private readonly table: ServingTable,
    runtime: InferenceRuntime,
  ) {
    const registers = [this.registry];
    this.#requests = new Counter({
      name: "edgefleet_agent_requests_total",
      help: "Scoring requests answered, by module, version, route and HTTP status",
      labelNames: ["module", "version", "route", "status"],
      registers,
    });
    this.#errors = new Counter({
      name: "edgefleet_agent_request_errors_total",
      help: "Scoring requests answered with a 4xx or 5xx status",
      labelNames: ["module", "version", "route", "status"],
      registers,
    });
    this.#latency = new Histogram({
      name: "edgefleet_agent_request_duration_seconds",
      help: "Scoring request latency, from routing to the response",
      labelNames: ["module", "version", "route"],
      buckets: LATENCY_BUCKETS_S,
      registers,
    });
    this.#runs = new Histogram({
      name: "edgefleet_agent_inference_run_duration_seconds",
      help: "Time inside onnxruntime's session.run per (possibly batched) run",
      labelNames: ["module", "version", "executor"],
      buckets: LATENCY_BUCKETS_S,
      registers,
    });
    this.#batchRows = new Histogram({
      name: "edgefleet_agent_batch_size",
      help: "Rows per session run (micro-batching stacks concurrent requests)",
      labelNames: ["module", "version"],
      buckets: BATCH_BUCKETS,
      registers,
    });
    this.#restarts = new Counter({
      name: "edgefleet_agent_inference_worker_restarts_total",
      help: "Inference worker threads replaced, after a crash or to recycle leaked memory",
      labelNames: ["reason"],
      registers,
    });
    const modules = () => this.table.list();
    new Gauge({
      name: "edgefleet_agent_queue_depth",
      help: "Requests waiting for a session run, per module",
      labelNames: ["module", "version"],
      registers,
      collect() {
        this.reset();
        for (const m of modules()) this.set({ module: m.name, version: m.version }, m.queueDepth);
      },
    });
    new Gauge({
      name: "edgefleet_agent_active_modules",
      help: "Modules serving traffic",
      registers,
      collect() {
        this.set(modules().length);
      },
    });
    new Gauge({
      name: "edgefleet_agent_module_info",
      help: "One series per active module: where it runs and its largest batch",
      labelNames: ["module", "version", "executor", "max_batch"],
      registers,
      collect() {
        this.reset();
        for (const m of modules()) {
          this.set(
            { module: m.name, version: m.version, executor: m.executorKind, max_batch: String(m.maxBatch) },
            1,
          );
        }
      },
    });
    new Gauge({
      name: "edgefleet_agent_inference_workers",
      help: "Inference worker threads running",
      registers,
      collect() {
        this.set(runtime.pool.workerCount);
      },
    });
    for (const reason of ["crash", "recycle"]) this.#restarts.inc({ reason }, 0);
    this.#unsubscribe = runtime.on((event) => this.#onRuntime(event));
  }

  /** Middleware that counts and times requests of one route family (`:name` is the module). */
  middleware(route: ScoringRoute): MiddlewareHandler {
    const metrics = this;
    return async function recordMetrics(this: void, c: Context, next) {
      const started = performance.now();
      const module = metrics.table.get(c.req.param("name") ?? "");
      await next();
      const labels = { module: module?.name ?? "", version: module?.version ?? "", route };
      const status = String(c.res.status);
      metrics.#latency.observe(labels, (performance.now() - started) / 1000);
      metrics.#requests.inc({ ...labels, status });
      if (c.res.status >= 400) metrics.#errors.inc({ ...labels, status });
    };
  }

  /** The exposition text: process metrics, then the agent's. */
  async text(): Promise<string> {
    return exposition("edgefleet_agent_", [this.registry]);
  }

  /** Content type of the exposition format. */
  get contentType(): string {
    return EXPOSITION_CONTENT_TYPE;
  }

  /** Stops listening to the runtime. */
  close(): void {
    this.#unsubscribe();
  }

  #onRuntime(event: RuntimeEvent): void {
    if (event.kind === "batch") {
      const labels = { module: event.module, version: event.version };
      this.#batchRows.observe(labels, event.rows);
      this.#runs.observe({ ...labels, executor: event.executor }, event.runMs / 1000);
    } else if (event.kind === "worker.restarted") {
      this.#restarts.inc({ reason: event.reason });
    }
  }
}
