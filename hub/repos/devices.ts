/**
 * Devices: provisioning and credentials, plus the hub's last view of each device (status,
 * reported and desired state). Desired revisions only ever grow, under a row lock.
 */
import { randomBytes } from "node:crypto";
import { and, asc, eq, getTableColumns, inArray, type SQL, sql } from "drizzle-orm";
import { z } from "zod";
import {
  type DesiredState,
  DesiredStateSchema,
  type ReportedState,
  type Status,
} from "../../wire/messages.js";
import { DEVICE_ID_PATTERN, HUB_CLIENT_ID_PREFIX } from "../../wire/topics.js";
import type { Db } from "../db/database.js";
import { devices } from "../db/schema/index.js";
import { clockOf, type RepoOptions } from "./clock.js";
import { CredentialCache } from "./credential-cache.js";
import { ConflictError, NotFoundError, ValidationError } from "./errors.js";
import { dummyHash, hashSecret, newSecret, verifySecretHash } from "./secret-hash.js";

export const DEVICE_SECRET_PREFIX = "efd_";

/** A device as the hub sees it; never carries the secret hash. */
export type Device = Omit<typeof devices.$inferSelect, "secretHash">;

export interface ProvisionInput {
  /** DNS-label-like id; generated (`dev-` + 10 hex) when absent. */
  id?: string;
  /** Human name; defaults to the id. */
  name?: string;
  tags?: Record<string, string>;
  profile?: string | null;
}

export interface DeviceFilter {
  /** Every tag must match exactly. */
  tags?: Record<string, string>;
  ids?: string[];
}

/** What setDesired's builder sees: the last published state (null before the first) and its revision. */
export interface DesiredContext {
  current: DesiredState | null;
  currentRevision: number;
  /** The revision the new state will carry; the store sets it whatever the builder returns. */
  nextRevision: number;
}

export interface DeviceRepo {
  /** Creates a device with a fresh secret (returned once); ConflictError when the id exists. */
  provision(input: ProvisionInput): Promise<{ device: Device; secret: string }>;
  /** True when the secret belongs to the device; false for unknown ids (same cost). */
  verifySecret(id: string, secret: string): Promise<boolean>;
  /** One device, or null. */
  get(id: string): Promise<Device | null>;
  /** Devices matching all given filters, ordered by id. */
  list(filter?: DeviceFilter): Promise<Device[]>;
  /** Records a `status` message (online flag, agent version, capabilities); NotFoundError if unknown. */
  setStatus(id: string, status: Status, at: Date): Promise<void>;
  /** Records a `reported` message; NotFoundError if unknown. */
  setReported(id: string, reported: ReportedState, at: Date): Promise<void>;
  /**
   * Builds and stores the next desired state in one transaction with the row locked, so
   * concurrent callers get distinct, increasing revisions. Returns the stored state.
   */
  setDesired(id: string, buildNext: (context: DesiredContext) => DesiredState): Promise<DesiredState>;
  /** Replaces the device secret and returns the new one; the old one stops working. */
  rotateSecret(id: string): Promise<string>;
  /** Deletes the device; NotFoundError if unknown. Telemetry and events are kept as history. */
  delete(id: string): Promise<void>;
}

const TagsSchema = z.record(z.string().min(1).max(63), z.string().max(256));
const ProvisionSchema = z.object({
  id: z
    .string()
    .regex(DEVICE_ID_PATTERN, "device id: lowercase letters, digits and '-', 1-64 long")
    .refine(
      (id) => !id.startsWith(HUB_CLIENT_ID_PREFIX),
      `device ids starting with "${HUB_CLIENT_ID_PREFIX}" are reserved`,
    )
    .optional(),
  name: z.string().min(1).max(200).optional(),
  tags: TagsSchema.optional(),
  profile: z.string().min(1).max(100).nullable().optional(),
});

export interface DeviceRepoOptions extends RepoOptions {
  /** Recently verified secrets (credential-cache.ts); null turns caching off. Defaults to a fresh cache. */
  credentialCache?: CredentialCache | null;
}

/** Device repository over a database. */
export function deviceRepo(db: Db, options?: DeviceRepoOptions): DeviceRepo {
  const now = clockOf(options);
  const cache = options?.credentialCache === undefined ? new CredentialCache() : options.credentialCache;
  const { secretHash: _omit, ...publicColumns } = getTableColumns(devices);

  async function mustUpdate(id: string, values: Partial<typeof devices.$inferInsert>): Promise<void> {
    const rows = await db.update(devices).set(values).where(eq(devices.id, id)).returning({ id: devices.id });
    if (rows.length === 0) throw new NotFoundError("device", id);
  }

  return {
    async provision(input) {
      const parsed = ProvisionSchema.safeParse(input);
      if (!parsed.success) throw new ValidationError(z.prettifyError(parsed.error), parsed.error.issues);
      const id = parsed.data.id ?? `dev-${randomBytes(5).toString("hex")}`;
      const secret = newSecret(DEVICE_SECRET_PREFIX);
      const rows = await db
        .insert(devices)
        .values({
          id,
          name: parsed.data.name ?? id,
          tags: parsed.data.tags ?? {},
          profile: parsed.data.profile ?? null,
          secretHash: await hashSecret(secret),
          createdAt: now(),
        })
        .onConflictDoNothing({ target: devices.id })
        .returning(publicColumns);
      const device = rows[0];
      if (!device) throw new ConflictError("device", id);
      // The secret was just issued, so its first connect needs no second scrypt.
      cache?.remember(id, secret);
      return { device, secret };
    },

    async verifySecret(id, secret) {
      if (cache?.has(id, secret)) return true;
      const epoch = cache?.epoch(id);
      const [row] = DEVICE_ID_PATTERN.test(id)
        ? await db.select({ secretHash: devices.secretHash }).from(devices).where(eq(devices.id, id))
        : [];
      // Hash even for unknown ids so response time does not reveal which ids exist.
      const ok =
        (await verifySecretHash(secret, row?.secretHash ?? (await dummyHash()))) && row !== undefined;
      if (ok) cache?.remember(id, secret, epoch);
      return ok;
    },

    async get(id) {
      const [row] = await db.select(publicColumns).from(devices).where(eq(devices.id, id));
      return row ?? null;
    },

    async list(filter = {}) {
      const conditions: SQL[] = [];
      if (filter.ids) {
        if (filter.ids.length === 0) return [];
        conditions.push(inArray(devices.id, filter.ids));
      }
      if (filter.tags && Object.keys(filter.tags).length > 0) {
        conditions.push(sql`${devices.tags} @> ${JSON.stringify(filter.tags)}::jsonb`);
      }
      return db
        .select(publicColumns)
        .from(devices)
        .where(and(...conditions))
        .orderBy(asc(devices.id));
    },

    async setStatus(id, status, at) {
      await mustUpdate(id, {
        online: status.online,
        lastSeenAt: at,
        status,
        // The last will carries only `online: false`; keep what the device said while online.
        ...(status.agentVersion !== undefined ? { agentVersion: status.agentVersion } : {}),
        ...(status.capabilities !== undefined ? { capabilities: status.capabilities } : {}),
      });
    },

    async setReported(id, reported, at) {
      await mustUpdate(id, { reported, reportedAt: at, lastSeenAt: at });
    },

    async setDesired(id, buildNext) {
      return db.transaction(async (tx) => {
        const [row] = await tx
          .select({ desired: devices.desired, revision: devices.desiredRevision })
          .from(devices)
          .where(eq(devices.id, id))
          .for("update");
        if (!row) throw new NotFoundError("device", id);
        const nextRevision = row.revision + 1;
        const built = buildNext({ current: row.desired, currentRevision: row.revision, nextRevision });
        const parsed = DesiredStateSchema.safeParse({ ...built, revision: nextRevision });
        if (!parsed.success) throw new ValidationError(z.prettifyError(parsed.error), parsed.error.issues);
        await tx
          .update(devices)
          .set({ desired: parsed.data, desiredRevision: nextRevision })
          .where(eq(devices.id, id));
        return parsed.data;
      });
    },

    async rotateSecret(id) {
      const secret = newSecret(DEVICE_SECRET_PREFIX);
      await mustUpdate(id, { secretHash: await hashSecret(secret) });
      cache?.forget(id);
      cache?.remember(id, secret);
      return secret;
    },

    async delete(id) {
      cache?.forget(id);
      const rows = await db.delete(devices).where(eq(devices.id, id)).returning({ id: devices.id });
      if (rows.length === 0) throw new NotFoundError("device", id);
    },
  };
}
