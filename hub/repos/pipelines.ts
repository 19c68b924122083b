/**
 * Pipeline runs and their steps. A run and all its steps are created in one transaction (a spec
 * that fails validation creates nothing: that happens before). `reusable` finds the newest step of
 * the same kind and inputs hash that computed its output (status completed), which is what a rerun
 * with unchanged inputs takes instead of recomputing.
 */
import { randomUUID } from "node:crypto";
import { and, asc, desc, eq, inArray } from "drizzle-orm";
import type { Db } from "../db/database.js";
import {
  type PipelineStatus,
  pipelineRuns,
  pipelineSteps,
  type StepKind,
  type StepStatus,
} from "../db/schema/index.js";
import { clockOf, type RepoOptions } from "./clock.js";
import { clampLimit } from "./paging.js";

export type PipelineRunRow = typeof pipelineRuns.$inferSelect;
export type PipelineStepRow = typeof pipelineSteps.$inferSelect;
export type PipelineRunWithSteps = PipelineRunRow & { steps: PipelineStepRow[] };

/** A change to one step; fields left out stay as they are. */
export interface StepChange {
  status: StepStatus;
  inputsHash?: string;
  inputs?: Record<string, unknown>;
  output?: Record<string, unknown>;
  progress?: Record<string, unknown>;
  reusedStepId?: string;
  reusedPipelineRunId?: string;
  error?: string;
}

export interface PipelineRepo {
  /** Creates a running pipeline run with its steps (all pending), in chain order. */
  create(input: {
    name: string;
    spec: Record<string, unknown>;
    kinds: StepKind[];
    createdBy: string;
  }): Promise<PipelineRunWithSteps>;
  get(id: string): Promise<PipelineRunWithSteps | null>;
  /** Newest first, optionally of one pipeline name. */
  list(filter: { name?: string; limit?: number }): Promise<PipelineRunRow[]>;
  /** Runs still running (resumed after a hub restart). */
  running(): Promise<PipelineRunRow[]>;
  updateStep(stepId: string, change: StepChange): Promise<PipelineStepRow>;
  /** Ends a run; `failed` names the step and why. */
  finish(
    id: string,
    status: Exclude<PipelineStatus, "running">,
    failure?: { step: StepKind; error: string },
  ): Promise<void>;
  /** The newest step of `kind` with these inputs that computed its output, or null. */
  reusable(kind: StepKind, inputsHash: string): Promise<PipelineStepRow | null>;
}

/** Pipeline repository over a database. */
export function pipelineRepo(db: Db, options?: RepoOptions): PipelineRepo {
  const now = clockOf(options);
  const steps = (runId: string) =>
    db
      .select()
      .from(pipelineSteps)
      .where(eq(pipelineSteps.pipelineRunId, runId))
      .orderBy(asc(pipelineSteps.position));
  return {
    async create(input) {
      return db.transaction(async (tx) => {
        const [run] = await tx
          .insert(pipelineRuns)
          .values({
            id: randomUUID(),
            name: input.name,
            spec: input.spec,
            status: "running",
            createdBy: input.createdBy,
            createdAt: now(),
          })
          .returning();
        const rows = await tx
          .insert(pipelineSteps)
          .values(
            input.kinds.map((kind, position) => ({
              id: randomUUID(),
              pipelineRunId: run!.id,
              kind,
              position,
              status: "pending" as const,
            })),
          )
          .returning();
        return { ...run!, steps: rows.sort((a, b) => a.position - b.position) };
      });
    },

    async get(id) {
      const [run] = await db.select().from(pipelineRuns).where(eq(pipelineRuns.id, id));
      return run ? { ...run, steps: await steps(id) } : null;
    },

    list: (filter) =>
      db
        .select()
        .from(pipelineRuns)
        .where(filter.name ? eq(pipelineRuns.name, filter.name) : undefined)
        .orderBy(desc(pipelineRuns.createdAt))
        .limit(clampLimit(filter.limit)),

    running: () =>
      db
        .select()
        .from(pipelineRuns)
        .where(eq(pipelineRuns.status, "running"))
        .orderBy(asc(pipelineRuns.createdAt)),

    async updateStep(stepId, change) {
      const at = now();
      // Recording progress keeps the time the step started.
      const starting = change.status === "running" && change.progress === undefined;
      const ending = change.status !== "running" && change.status !== "pending";
      const [row] = await db
        .update(pipelineSteps)
        .set({
          ...change,
          ...(starting ? { startedAt: at } : {}),
          ...(ending ? { finishedAt: at } : {}),
        })
        .where(eq(pipelineSteps.id, stepId))
        .returning();
      return row!;
    },

    async finish(id, status, failure) {
      await db
        .update(pipelineRuns)
        .set({
          status,
          finishedAt: now(),
          ...(failure ? { failedStep: failure.step, error: failure.error } : {}),
        })
        .where(eq(pipelineRuns.id, id));
    },

    async reusable(kind, inputsHash) {
      const [row] = await db
        .select()
        .from(pipelineSteps)
        .where(
          and(
            eq(pipelineSteps.kind, kind),
            eq(pipelineSteps.inputsHash, inputsHash),
            inArray(pipelineSteps.status, ["completed"]),
          ),
        )
        .orderBy(desc(pipelineSteps.finishedAt))
        .limit(1);
      return row ?? null;
    },
  };
}
