/** Deployments: a module version aimed at the devices a selector resolved to, and its standing. */
import { randomUUID } from "node:crypto";
import { and, asc, desc, eq, inArray, type SQL, sql } from "drizzle-orm";
import { z } from "zod";
import { ModuleNameSchema, SemverSchema } from "../../modules/manifest.js";
import { DEVICE_ID_PATTERN } from "../../wire/topics.js";
import type { Db } from "../db/database.js";
import {
  CONTRIBUTING_STATUSES,
  DEPLOYMENT_STATUSES,
  DEPLOYMENT_STRATEGIES,
  type DeploymentSelector,
  type DeploymentStatus,
  type DeploymentStrategy,
  deployments,
  type RolloutOutcome,
  type RolloutSpec,
} from "../db/schema/index.js";
import { clockOf, type RepoOptions } from "./clock.js";
import { NotFoundError, ValidationError } from "./errors.js";
import { clampLimit } from "./paging.js";

export type Deployment = typeof deployments.$inferSelect;

export interface CreateDeploymentInput {
  moduleName: string;
  moduleVersion: string;
  selector: DeploymentSelector;
  strategy?: DeploymentStrategy;
  /** Devices the selector resolved to (the caller resolves it, so the record shows what was meant). */
  targetDeviceIds: string[];
  /** Token name or id of whoever asked. */
  createdBy: string;
  /** Deployments this one replaces; marked "superseded" in the same transaction. */
  supersedes?: string[];
  /** Higher wins per module where deployments overlap; default 0. */
  priority?: number;
  /** Waves, rate and gates; default: one wave of every target, no bake. */
  rollout?: RolloutSpec;
}

/** Progress fields a rollout step may change. */
export type RolloutPatch = Partial<{
  status: DeploymentStatus;
  wave: number;
  released: number;
  waveStartedAt: Date | null;
  bakeStartedAt: Date | null;
  outcome: RolloutOutcome | null;
  gateResults: unknown;
  /** The spec itself changes only to move a shadow deployment from scoring to promoted. */
  rollout: RolloutSpec;
}>;

export interface DeploymentFilter {
  moduleName?: string;
  moduleVersion?: string;
  status?: DeploymentStatus;
  /** Who created it (`createdBy`: a token name, or `monitor:{name}` for a retraining canary). */
  createdBy?: string;
  /** Default 100, at most 1000. */
  limit?: number;
}

export interface DeploymentRepo {
  /** Records a deployment (and supersedes the listed ones atomically); NotFoundError for unknown supersedes ids. */
  create(input: CreateDeploymentInput): Promise<Deployment>;
  /** One deployment, or null. */
  get(id: string): Promise<Deployment | null>;
  /** Deployments, newest first. */
  list(filter?: DeploymentFilter): Promise<Deployment[]>;
  /** Deployments that target a device, newest first (`activeOnly` keeps status "active"). */
  listForDevice(deviceId: string, options?: { activeOnly?: boolean }): Promise<Deployment[]>;
  /** Changes a deployment's status; NotFoundError when unknown. */
  setStatus(id: string, status: DeploymentStatus): Promise<Deployment>;
  /** Deployments in any of these statuses, oldest first. */
  listByStatus(statuses: readonly DeploymentStatus[]): Promise<Deployment[]>;
  /** Deployments whose released devices get their module (active, paused, completed, aborted). */
  listContributing(): Promise<Deployment[]>;
  /**
   * Applies a rollout step if the row is still at `generation` (compare-and-set) and bumps it;
   * null when someone else moved it first; NotFoundError when unknown.
   */
  advance(id: string, generation: number, patch: RolloutPatch): Promise<Deployment | null>;
}

const deviceId = z.string().regex(DEVICE_ID_PATTERN, "a device id");
const CreateSchema = z.object({
  moduleName: ModuleNameSchema,
  moduleVersion: SemverSchema,
  selector: z
    .object({
      deviceIds: z.array(deviceId).optional(),
      tags: z.record(z.string().min(1), z.string()).optional(),
    })
    .strict(),
  strategy: z.enum(DEPLOYMENT_STRATEGIES).optional(),
  targetDeviceIds: z.array(deviceId),
  createdBy: z.string().min(1),
  supersedes: z.array(z.string()).optional(),
  priority: z.number().int().min(-1_000_000).max(1_000_000).optional(),
  rollout: z
    .object({
      waves: z
        .array(
          z
            .object({
              count: z.number().int().positive().optional(),
              percent: z.number().gt(0).max(100).optional(),
              bakeMs: z.number().int().min(0),
            })
            .strict(),
        )
        .min(1),
      ratePerMinute: z.number().positive().nullable(),
      gates: z.object({
        maxFailureRate: z.number().min(0),
        maxErrorRate: z.number().min(0),
        maxLatencyRatio: z.number().positive(),
        maxPredictionShift: z.number().min(0),
        maxMeanShift: z.number().positive(),
        minRequests: z.number().int().min(1),
        onNoData: z.enum(["pass", "wait", "fail"]).optional(),
        activationTimeoutMs: z.number().int().positive().optional(),
        onOffline: z.enum(["exclude", "fail"]).optional(),
      }),
      shadow: z
        .object({
          bakeMs: z.number().int().min(0),
          minScored: z.number().int().min(1),
          minAgreement: z.number().min(0).max(1),
          maxErrorRate: z.number().min(0).max(1),
          maxLatencyRatio: z.number().positive(),
          maxLoadFailureRate: z.number().min(0).max(1),
          phase: z.enum(["scoring", "promoted"]),
          verdict: z.object({ at: z.string(), results: z.array(z.unknown()) }).optional(),
        })
        .optional(),
    })
    .optional(),
});

/** Deployment repository over a database. */
export function deploymentRepo(db: Db, options?: RepoOptions): DeploymentRepo {
  const now = clockOf(options);
  return {
    async create(input) {
      const parsed = CreateSchema.safeParse(input);
      if (!parsed.success) throw new ValidationError(z.prettifyError(parsed.error), parsed.error.issues);
      const { supersedes = [], ...value } = parsed.data;
      return db.transaction(async (tx) => {
        if (supersedes.length > 0) {
          const found = await tx
            .update(deployments)
            .set({ status: "superseded" })
            .where(inArray(deployments.id, supersedes))
            .returning({ id: deployments.id });
          const missing = supersedes.find((id) => !found.some((row) => row.id === id));
          if (missing !== undefined) throw new NotFoundError("deployment", missing);
        }
        const [row] = await tx
          .insert(deployments)
          .values({
            ...value,
            id: randomUUID(),
            targetDeviceIds: [...new Set(value.targetDeviceIds)],
            strategy: value.strategy ?? "all-at-once",
            status: "active",
            priority: value.priority ?? 0,
            ...(value.rollout ? { rollout: value.rollout } : {}),
            createdAt: now(),
            updatedAt: now(),
          })
          .returning();
        return row!;
      });
    },

    async get(id) {
      const [row] = await db.select().from(deployments).where(eq(deployments.id, id));
      return row ?? null;
    },

    async list(filter = {}) {
      const conditions: SQL[] = [];
      if (filter.moduleName !== undefined) conditions.push(eq(deployments.moduleName, filter.moduleName));
      if (filter.moduleVersion !== undefined)
        conditions.push(eq(deployments.moduleVersion, filter.moduleVersion));
      if (filter.status !== undefined) conditions.push(eq(deployments.status, filter.status));
      if (filter.createdBy !== undefined) conditions.push(eq(deployments.createdBy, filter.createdBy));
      return db
        .select()
        .from(deployments)
        .where(and(...conditions))
        .orderBy(desc(deployments.createdAt), desc(deployments.id))
        .limit(clampLimit(filter.limit));
    },

    async listForDevice(id, options = {}) {
      const conditions: SQL[] = [sql`${deployments.targetDeviceIds} @> ${JSON.stringify([id])}::jsonb`];
      if (options.activeOnly) conditions.push(eq(deployments.status, "active"));
      return db
        .select()
        .from(deployments)
        .where(and(...conditions))
        .orderBy(desc(deployments.createdAt), desc(deployments.id));
    },

    async setStatus(id, status) {
      if (!DEPLOYMENT_STATUSES.includes(status)) {
        throw new ValidationError(`status must be one of ${DEPLOYMENT_STATUSES.join(", ")}`);
      }
      const [row] = await db
        .update(deployments)
        .set({ status, generation: sql`${deployments.generation} + 1`, updatedAt: now() })
        .where(eq(deployments.id, id))
        .returning();
      if (!row) throw new NotFoundError("deployment", id);
      return row;
    },

    async listByStatus(statuses) {
      if (statuses.length === 0) return [];
      return db
        .select()
        .from(deployments)
        .where(inArray(deployments.status, [...statuses]))
        .orderBy(asc(deployments.createdAt), asc(deployments.id));
    },

    async listContributing() {
      return this.listByStatus(CONTRIBUTING_STATUSES);
    },

    async advance(id, generation, patch) {
      if (patch.status !== undefined && !DEPLOYMENT_STATUSES.includes(patch.status)) {
        throw new ValidationError(`status must be one of ${DEPLOYMENT_STATUSES.join(", ")}`);
      }
      const [row] = await db
        .update(deployments)
        .set({ ...patch, generation: generation + 1, updatedAt: now() })
        .where(and(eq(deployments.id, id), eq(deployments.generation, generation)))
        .returning();
      if (row) return row;
      if (!(await this.get(id))) throw new NotFoundError("deployment", id);
      return null;
    },
  };
}
