/** Retraining cycles (one per monitor alarm with action retrain) and the steps each one took. */
import { randomUUID } from "node:crypto";
import { and, asc, desc, eq, inArray, isNull, lte, notInArray, or } from "drizzle-orm";
import type { Db } from "../db/database.js";
import { monitors, retrainingCycles, retrainingEvents } from "../db/schema/index.js";
import { clockOf, type RepoOptions } from "./clock.js";

export type RetrainingCycle = typeof retrainingCycles.$inferSelect;
export type RetrainingEvent = typeof retrainingEvents.$inferSelect;

export const CYCLE_STATUSES = [
  "collecting",
  "training",
  "evaluating",
  "packaging",
  "deploying",
  /** The canary deployment exists; the cycle follows it until it completes or stops. */
  "canary",
  "succeeded",
  "rejected",
  "failed",
  /** The canary was rolled back (a failed gate or an operator): champion and monitor unchanged. */
  "rolled-back",
  /** The canary was aborted (or superseded): champion and monitor unchanged. */
  "aborted",
] as const;
export type CycleStatus = (typeof CYCLE_STATUSES)[number];
export const FINISHED_CYCLE_STATUSES: CycleStatus[] = [
  "succeeded",
  "rejected",
  "failed",
  "rolled-back",
  "aborted",
];

export interface RetrainingRepo {
  /** Starts a cycle unless the monitor already has an open one (then returns null). */
  start(monitorId: string, alertId: string | null): Promise<RetrainingCycle | null>;
  get(id: string): Promise<RetrainingCycle | null>;
  /** Cycles not finished, oldest first (the driver resumes them after a restart). */
  open(): Promise<RetrainingCycle[]>;
  list(monitorId: string): Promise<RetrainingCycle[]>;
  /** The monitor's newest cycle. */
  latest(monitorId: string): Promise<RetrainingCycle | null>;
  /**
   * Takes or renews the lease of an open cycle for `owner` until now + `leaseMs`: true when the
   * cycle is now the owner's, false while another owner's lease runs or the cycle is finished.
   * Hub replicas sharing a database step each cycle from one driver at a time this way.
   */
  claim(id: string, owner: string, leaseMs: number): Promise<boolean>;
  /** Ends the owner's leases (a driver closing), so another replica may step the cycles at once. */
  release(owner: string): Promise<void>;
  /** Moves a cycle on, merging `state`, and records the step as an event. */
  advance(
    id: string,
    change: {
      status: CycleStatus;
      state?: Record<string, unknown>;
      error?: string;
      step: string;
      message: string;
      details?: Record<string, unknown>;
    },
  ): Promise<RetrainingCycle>;
  events(monitorId: string, cycleId?: string): Promise<RetrainingEvent[]>;
}

/** Retraining repository over a database. */
export function retrainingRepo(db: Db, options?: RepoOptions): RetrainingRepo {
  const now = clockOf(options);
  return {
    async start(monitorId, alertId) {
      return db.transaction(async (tx) => {
        // Lock the monitor row: FOR UPDATE on the (possibly empty) set of open cycles locks nothing,
        // so two alarms at once would both find none and both start a cycle.
        await tx.select({ id: monitors.id }).from(monitors).where(eq(monitors.id, monitorId)).for("update");
        const open = await tx
          .select({ id: retrainingCycles.id })
          .from(retrainingCycles)
          .where(
            and(
              eq(retrainingCycles.monitorId, monitorId),
              notInArray(retrainingCycles.status, FINISHED_CYCLE_STATUSES),
            ),
          );
        if (open.length > 0) return null;
        const at = now();
        const [cycle] = await tx
          .insert(retrainingCycles)
          .values({
            id: randomUUID(),
            monitorId,
            alertId,
            status: "collecting",
            state: {},
            startedAt: at,
            updatedAt: at,
          })
          .returning();
        await tx.insert(retrainingEvents).values({
          cycleId: cycle!.id,
          monitorId,
          step: "started",
          status: "collecting",
          message: "monitor fired with action retrain",
          details: alertId ? { alertId } : null,
          at,
        });
        return cycle!;
      });
    },

    async get(id) {
      const [row] = await db.select().from(retrainingCycles).where(eq(retrainingCycles.id, id));
      return row ?? null;
    },

    open: () =>
      db
        .select()
        .from(retrainingCycles)
        .where(notInArray(retrainingCycles.status, FINISHED_CYCLE_STATUSES))
        .orderBy(asc(retrainingCycles.startedAt)),

    list: (monitorId) =>
      db
        .select()
        .from(retrainingCycles)
        .where(eq(retrainingCycles.monitorId, monitorId))
        .orderBy(desc(retrainingCycles.startedAt)),

    async latest(monitorId) {
      const [row] = await db
        .select()
        .from(retrainingCycles)
        .where(eq(retrainingCycles.monitorId, monitorId))
        .orderBy(desc(retrainingCycles.startedAt))
        .limit(1);
      return row ?? null;
    },

    async claim(id, owner, leaseMs) {
      const at = now();
      const claimed = await db
        .update(retrainingCycles)
        .set({ leaseOwner: owner, leaseUntil: new Date(at.getTime() + leaseMs) })
        .where(
          and(
            eq(retrainingCycles.id, id),
            notInArray(retrainingCycles.status, FINISHED_CYCLE_STATUSES),
            or(
              isNull(retrainingCycles.leaseUntil),
              eq(retrainingCycles.leaseOwner, owner),
              lte(retrainingCycles.leaseUntil, at),
            ),
          ),
        )
        .returning({ id: retrainingCycles.id });
      return claimed.length > 0;
    },

    async release(owner) {
      await db
        .update(retrainingCycles)
        .set({ leaseOwner: null, leaseUntil: null })
        .where(eq(retrainingCycles.leaseOwner, owner));
    },

    async advance(id, change) {
      return db.transaction(async (tx) => {
        const [current] = await tx
          .select()
          .from(retrainingCycles)
          .where(eq(retrainingCycles.id, id))
          .for("update");
        if (!current) throw new Error(`retraining cycle ${id} not found`);
        const at = now();
        const finished = FINISHED_CYCLE_STATUSES.includes(change.status);
        const [row] = await tx
          .update(retrainingCycles)
          .set({
            status: change.status,
            state: { ...current.state, ...change.state },
            error: change.error ?? current.error,
            updatedAt: at,
            ...(finished ? { finishedAt: at } : {}),
          })
          .where(eq(retrainingCycles.id, id))
          .returning();
        await tx.insert(retrainingEvents).values({
          cycleId: id,
          monitorId: current.monitorId,
          step: change.step,
          status: change.status,
          message: change.message,
          details: change.details ?? null,
          at,
        });
        return row!;
      });
    },

    events: (monitorId, cycleId) =>
      db
        .select()
        .from(retrainingEvents)
        .where(
          and(
            eq(retrainingEvents.monitorId, monitorId),
            cycleId ? inArray(retrainingEvents.cycleId, [cycleId]) : undefined,
          ),
        )
        .orderBy(asc(retrainingEvents.id)),
  };
}
