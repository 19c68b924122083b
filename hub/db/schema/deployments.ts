/**
 * Deployments: a module version aimed at devices, with a priority (layering), a rollout spec
 * (waves, bake times, rate limit, health gates) and the rollout's persisted progress. The rollout
 * controller (hub/rollouts) reads and advances the progress columns; `generation` makes each step
 * a compare-and-set so two workers (or a worker and an operator command) never both apply one.
 */
import { sql } from "drizzle-orm";
import { index, integer, jsonb, pgTable, text, timestamp } from "drizzle-orm/pg-core";

/** How a deployment picks devices; both parts must match when both are given. */
export interface DeploymentSelector {
  deviceIds?: string[];
  tags?: Record<string, string>;
}

export const DEPLOYMENT_STRATEGIES = ["all-at-once", "canary", "waves"] as const;
export type DeploymentStrategy = (typeof DEPLOYMENT_STRATEGIES)[number];

/**
 * active: rolling out; paused: stopped by an operator, resumable; completed: every wave passed
 * and every targeted (not skipped) device is active; partially-applied: every wave passed its gates
 * but some targeted devices are not active (failed within the threshold, timed out, offline or won
 * by another deployment; the outcome lists them, and it becomes completed if they all activate later);
 * aborted: stopped for good, released devices keep the version; rolled-back: released devices went
 * back to what the other deployments give them (a failed gate or an operator); superseded and
 * cancelled: kept from the backbone.
 */
export const DEPLOYMENT_STATUSES = [
  "active",
  "paused",
  "completed",
  "partially-applied",
  "aborted",
  "rolled-back",
  "superseded",
  "cancelled",
] as const;
export type DeploymentStatus = (typeof DEPLOYMENT_STATUSES)[number];

/** Statuses whose released devices get this deployment's module in their merged desired state. */
export const CONTRIBUTING_STATUSES = [
  "active",
  "paused",
  "completed",
  "partially-applied",
  "aborted",
] as const satisfies readonly DeploymentStatus[];

/** One wave: its cumulative size (a device count or a percentage of the targets) and its bake time. */
export interface RolloutWave {
  /** Cumulative devices released once this wave is out (wins over percent). */
  count?: number;
  /** Cumulative percentage of the targets released once this wave is out (1–100). */
  percent?: number;
  /** Time to watch the wave before the gates decide, in milliseconds. */
  bakeMs: number;
}

/** Health-gate thresholds; see hub/rollouts/README.md for each statistic. */
export interface RolloutGates {
  /** Largest fraction of released devices reporting failed or rolled-back for this version (0–1). */
  maxFailureRate: number;
  /** Largest fraction of requests that errored on the new version (0–1). */
  maxErrorRate: number;
  /** Largest ratio of the new version's latency p95 to the previous version's. */
  maxLatencyRatio: number;
  /** Largest total variation distance between label distributions, new vs previous (0–1). */
  maxPredictionShift: number;
  /** Largest |mean difference| of numeric outputs in units of the previous version's std dev. */
  maxMeanShift: number;
  /** Requests each side needs before the telemetry gates judge (fewer: the gate reports no-data). */
  minRequests: number;
  /**
   * What a bake that ends with fewer than `minRequests` requests on the new version does: `pass`
   * (judge the other gates, the default), `wait` (bake again until the traffic comes) or `fail`
   * (roll back). Absent on deployments stored before it existed: `pass`.
   */
  onNoData?: "pass" | "wait" | "fail";
  /**
   * How long after its wave is out a released, online device may take to report this version
   * active or failed before it counts as failed (ms). Absent on older rows: 10 minutes.
   */
  activationTimeoutMs?: number;
  /**
   * Released devices that are offline and have not settled: `exclude` (default) leaves them out of
   * the failures gate and does not wait for them (they get the version when they reconnect);
   * `fail` holds them to the activation deadline like any other device.
   */
  onOffline?: "exclude" | "fail";
}

/**
 * Shadow scoring before a rollout: every target loads the candidate beside its serving version and
 * scores copies of its requests with it for `bakeMs`; then these gates promote the candidate (the
 * deployment goes on as an ordinary rollout of its waves) or drop it (rolled back, nothing served).
 */
export interface ShadowSpec {
  /** How long the candidate scores before the gates judge it (ms). */
  bakeMs: number;
  /** Requests the candidate must have scored across the targets before it is judged. */
  minScored: number;
  /** Smallest share of compared rows whose answer matched the serving version's (0–1). */
  minAgreement: number;
  /** Largest share of candidate runs that may fail (0–1). */
  maxErrorRate: number;
  /** Largest ratio of the candidate's latency p95 to the serving version's on the same requests. */
  maxLatencyRatio: number;
  /** Largest share of targets that may fail to load the candidate (0–1). */
  maxLoadFailureRate: number;
  /** `scoring` while the candidate shadows; `promoted` once it passed and the rollout of it began. */
  phase: "scoring" | "promoted";
  /** The shadow gates' results that promoted it (the rollout's own gate results come after). */
  verdict?: { at: string; results: unknown[] };
}

/** The rollout plan stored with the deployment. */
export interface RolloutSpec {
  waves: RolloutWave[];
  /** Devices released per minute at most; null for no limit. */
  ratePerMinute: number | null;
  gates: RolloutGates;
  /** Shadow scoring first (absent: an ordinary rollout). */
  shadow?: ShadowSpec;
}

/** Why a rollout stopped, for the API and the CLI. */
export interface RolloutOutcome {
  reason:
    | "gate-failed"
    | "shadow-dropped"
    | "paused"
    | "aborted"
    | "rolled-back"
    | "completed"
    | "partially-applied";
  by: string;
  at: string;
  message: string;
  wave?: number;
  details?: unknown;
  /** Targeted devices that did not end active, and why (completed, partially-applied, gate-failed). */
  devices?: { deviceId: string; verdict: string; state?: string; reason?: string }[];
}

export const deployments = pgTable(
  "deployments",
  {
    id: text("id").primaryKey(),
    moduleName: text("module_name").notNull(),
    moduleVersion: text("module_version").notNull(),
    selector: jsonb("selector").$type<DeploymentSelector>().notNull(),
    strategy: text("strategy").$type<DeploymentStrategy>().notNull().default("all-at-once"),
    status: text("status").$type<DeploymentStatus>().notNull().default("active"),
    /** Devices the selector resolved to when the deployment was created, in release order. */
    targetDeviceIds: jsonb("target_device_ids").$type<string[]>().notNull(),
    createdBy: text("created_by").notNull(),
    createdAt: timestamp("created_at", { withTimezone: true }).notNull(),
    /** Higher wins per module when deployments overlap on a device; ties go to the newest. */
    priority: integer("priority").notNull().default(0),
    rollout: jsonb("rollout")
      .$type<RolloutSpec>()
      .notNull()
      .default(
        sql`'{"waves":[{"percent":100,"bakeMs":0}],"ratePerMinute":null,"gates":{"maxFailureRate":1,"maxErrorRate":1,"maxLatencyRatio":1000000,"maxPredictionShift":1,"maxMeanShift":1000000,"minRequests":1}}'::jsonb`,
      ),
    /** Index of the wave being released or baked. */
    wave: integer("wave").notNull().default(0),
    /** How many of targetDeviceIds (a prefix) have been released. */
    released: integer("released").notNull().default(0),
    waveStartedAt: timestamp("wave_started_at", { withTimezone: true }),
    /** Set once the current wave is fully released; the gates decide at bakeStartedAt + bakeMs. */
    bakeStartedAt: timestamp("bake_started_at", { withTimezone: true }),
    /** Bumped by every persisted step; updates compare it (optimistic concurrency). */
    generation: integer("generation").notNull().default(0),
    outcome: jsonb("outcome").$type<RolloutOutcome>(),
    /** The last gate evaluation, per gate. */
    gateResults: jsonb("gate_results").$type<unknown>(),
    updatedAt: timestamp("updated_at", { withTimezone: true }),
  },
  (t) => [
    index("deployments_module_idx").on(t.moduleName, t.status),
    index("deployments_status_idx").on(t.status),
    index("deployments_targets_idx").using("gin", t.targetDeviceIds),
  ],
);
