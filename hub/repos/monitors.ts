/** Drift monitors, their evaluation history and their alerts (webhook delivery state included). */
import { randomUUID } from "node:crypto";
import { and, asc, desc, eq, inArray, lte, sql } from "drizzle-orm";
import type { Db } from "../db/database.js";
import {
  alerts,
  type DeploymentSelector,
  type MonitorAction,
  type MonitorSettings,
  monitorEvaluations,
  monitors,
} from "../db/schema/index.js";
import { clockOf, type RepoOptions } from "./clock.js";
import { ConflictError } from "./errors.js";
import { clampLimit } from "./paging.js";

export type Monitor = typeof monitors.$inferSelect;
export type MonitorEvaluation = typeof monitorEvaluations.$inferSelect;
export type Alert = typeof alerts.$inferSelect;

export interface NewMonitor {
  name: string;
  module: string;
  moduleVersion: string;
  selector: DeploymentSelector;
  settings: MonitorSettings;
  intervalMs: number;
  action: MonitorAction;
  webhook: { url: string } | null;
  enabled: boolean;
  createdBy: string;
}

export type MonitorPatch = Partial<Omit<NewMonitor, "createdBy" | "name">> & {
  /** Reset when the watched version changes, so the new version's first drift alerts. */
  state?: "ok" | "drift" | "no-data";
};

export interface NewEvaluation {
  monitorId: string;
  moduleVersion: string;
  verdict: "ok" | "drift" | "no-data";
  rows: number;
  devices: number;
  windowEnd: Date | null;
  report: Record<string, unknown>;
}

export interface MonitorRepo {
  create(input: NewMonitor): Promise<Monitor>;
  get(idOrName: string): Promise<Monitor | null>;
  list(): Promise<Monitor[]>;
  update(id: string, patch: MonitorPatch): Promise<Monitor | null>;
  remove(id: string): Promise<boolean>;
  /** Moves a monitor's next run (after a failed evaluation, or "evaluate soon"). */
  postpone(id: string, nextRunAt: Date): Promise<void>;
  /** Enabled monitors whose next run is at or before `now`. */
  listDue(now: Date): Promise<Monitor[]>;
  /** Stores an evaluation, sets the monitor's state and next run; returns the evaluation and the previous state. */
  recordEvaluation(
    evaluation: NewEvaluation,
    nextRunAt: Date,
  ): Promise<{ evaluation: MonitorEvaluation; previousState: string }>;
  /** Evaluations newest first (limit defaults to 100, max 1000). */
  evaluations(monitorId: string, options?: { limit?: number }): Promise<MonitorEvaluation[]>;
  createAlert(input: Omit<Alert, "id" | "webhookAttempts" | "webhookError" | "deliveredAt">): Promise<Alert>;
  /** Alerts newest first, for one monitor or all. */
  alerts(filter?: { monitorId?: string; limit?: number }): Promise<Alert[]>;
  /** Alerts whose webhook is still to be delivered, oldest first (resumed after a restart). */
  pendingWebhooks(): Promise<Alert[]>;
  setWebhookState(
    id: string,
    state: { status: "pending" | "delivered" | "failed"; attempts: number; error?: string | null; at?: Date },
  ): Promise<void>;
}

/** Monitor repository over a database. */
export function monitorRepo(db: Db, options?: RepoOptions): MonitorRepo {
  const now = clockOf(options);
  const byIdOrName = (idOrName: string) =>
    sql`(${monitors.id} = ${idOrName} or ${monitors.name} = ${idOrName})`;
  return {
    async create(input) {
      const at = now();
      const rows = await db
        .insert(monitors)
        .values({
          id: randomUUID(),
          ...input,
          state: "no-data",
          nextRunAt: at,
          createdAt: at,
          updatedAt: at,
        })
        .onConflictDoNothing({ target: monitors.name })
        .returning();
      if (!rows[0]) throw new ConflictError("monitor", input.name);
      return rows[0];
    },

    async get(idOrName) {
      const [row] = await db.select().from(monitors).where(byIdOrName(idOrName)).limit(1);
      return row ?? null;
    },

    list: () => db.select().from(monitors).orderBy(asc(monitors.name)),

    async update(id, patch) {
      const [row] = await db
        .update(monitors)
        .set({ ...patch, updatedAt: now() })
        .where(eq(monitors.id, id))
        .returning();
      return row ?? null;
    },

    async remove(id) {
      const rows = await db.delete(monitors).where(eq(monitors.id, id)).returning({ id: monitors.id });
      return rows.length > 0;
    },

    async postpone(id, nextRunAt) {
      await db.update(monitors).set({ nextRunAt }).where(eq(monitors.id, id));
    },

    listDue: (at) =>
      db
        .select()
        .from(monitors)
        .where(and(eq(monitors.enabled, true), lte(monitors.nextRunAt, at)))
        .orderBy(asc(monitors.nextRunAt)),

    async recordEvaluation(evaluation, nextRunAt) {
      return db.transaction(async (tx) => {
        // Row lock: two schedulers (hub replicas) evaluating one monitor agree on the previous state.
        const [monitor] = await tx
          .select({ state: monitors.state })
          .from(monitors)
          .where(eq(monitors.id, evaluation.monitorId))
          .for("update");
        const at = now();
        const [row] = await tx
          .insert(monitorEvaluations)
          .values({ ...evaluation, at })
          .returning();
        await tx
          .update(monitors)
          .set({ state: evaluation.verdict, lastEvaluatedAt: at, nextRunAt })
          .where(eq(monitors.id, evaluation.monitorId));
        return { evaluation: row!, previousState: monitor?.state ?? "no-data" };
      });
    },

    evaluations: (monitorId, options = {}) =>
      db
        .select()
        .from(monitorEvaluations)
        .where(eq(monitorEvaluations.monitorId, monitorId))
        .orderBy(desc(monitorEvaluations.at), desc(monitorEvaluations.id))
        .limit(clampLimit(options.limit)),

    async createAlert(input) {
      const [row] = await db
        .insert(alerts)
        .values({ id: randomUUID(), ...input })
        .returning();
      return row!;
    },

    alerts: (filter = {}) =>
      db
        .select()
        .from(alerts)
        .where(filter.monitorId === undefined ? undefined : eq(alerts.monitorId, filter.monitorId))
        .orderBy(desc(alerts.at), desc(alerts.id))
        .limit(clampLimit(filter.limit)),

    pendingWebhooks: () =>
      db
        .select()
        .from(alerts)
        .where(inArray(alerts.webhookStatus, ["pending"]))
        .orderBy(asc(alerts.at)),

    async setWebhookState(id, state) {
      await db
        .update(alerts)
        .set({
          webhookStatus: state.status,
          webhookAttempts: state.attempts,
          webhookError: state.error ?? null,
          ...(state.status === "delivered" ? { deliveredAt: state.at ?? now() } : {}),
        })
        .where(eq(alerts.id, id));
    },
  };
}
