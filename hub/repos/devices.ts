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
import { GroupCommit } from "./group-commit.js";
import { dummyHash, hashSecret, newSecret, verifySecretHash } from "./secret-hash.js";

export const DEVICE_SECRET_PREFIX = "efd_";

/** Most device reports one UPDATE stores (3 parameters each). */
const REPORTS_PER_STATEMENT = 500;

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

/** One device's next desired state, for setDesiredMany. */
export interface DesiredUpdate {
  id: string;
  build: (context: DesiredContext) => DesiredState;
}

export type DesiredOutcome =
  | { id: string; ok: true; desired: DesiredState }
  | { id: string; ok: false; error: Error };

export interface DeviceRepo {
  /** Creates a device with a fresh secret (returned once); ConflictError when the id exists. */
  provision(input: ProvisionInput): Promise<{ device: Device; secret: string }>;
  /** True when the secret belongs to an enabled device; false for unknown ids (same cost). */
  verifySecret(id: string, secret: string): Promise<boolean>;
  /** True when this id and secret were verified moments ago (no scrypt); false says nothing. */
  recentlyVerified(id: string, secret: string): boolean;
  /**
   * True when the device exists, is enabled and accepts this client certificate: the one the hub
   * issued it (by sha256), or, when it has none on record and `external` is set, any certificate a
   * registered external CA signed for its id.
   */
  verifyCertificate(id: string, certSha256: string, options?: { external?: boolean }): Promise<boolean>;
  /** Disables (refuses its credentials from now on) or enables a device; NotFoundError if unknown. */
  setDisabled(id: string, disabled: boolean): Promise<Device>;
  /** Records the client certificate the hub issued (replacing any earlier one), or clears it (null). */
  setCertificate(id: string, certificate: { sha256: string; notAfter: Date } | null): Promise<Device>;
  /** One device, or null. */
  get(id: string): Promise<Device | null>;
  /** Devices matching all given filters, ordered by id. */
  list(filter?: DeviceFilter): Promise<Device[]>;
  /** Only id and desired state of the devices `list` would return: what a rollout's sync reads. */
  listDesired(filter?: DeviceFilter): Promise<Pick<Device, "id" | "desired">[]>;
  /** Records a `status` message (online flag, agent version, capabilities); NotFoundError if unknown. */
  setStatus(id: string, status: Status, at: Date): Promise<void>;
  /** Records a `reported` message; NotFoundError if unknown. */
  setReported(id: string, reported: ReportedState, at: Date): Promise<void>;
  /**
   * Builds and stores the next desired state in one transaction with the row locked, so
   * concurrent callers get distinct, increasing revisions. Returns the stored state.
   */
  setDesired(id: string, buildNext: (context: DesiredContext) => DesiredState): Promise<DesiredState>;
  /**
   * setDesired for many devices in one transaction and one UPDATE (a rollout wave): rows locked in
   * id order, each builder sees its device's state (an id given twice sees its first update). A
   * device that is unknown, or whose builder throws or builds an invalid state, keeps its row and
   * gets `{ ok: false }`; the others are stored. Outcomes come back in input order.
   */
  setDesiredMany(updates: readonly DesiredUpdate[]): Promise<DesiredOutcome[]>;
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

  /** The WHERE of a device filter; null when it can match nothing (an empty id list). */
  function filterWhere(filter: DeviceFilter): SQL | undefined | null {
    const conditions: SQL[] = [];
    if (filter.ids) {
      if (filter.ids.length === 0) return null;
      conditions.push(inArray(devices.id, filter.ids));
    }
    if (filter.tags && Object.keys(filter.tags).length > 0) {
      conditions.push(sql`${devices.tags} @> ${JSON.stringify(filter.tags)}::jsonb`);
    }
    return and(...conditions);
  }

  /** Locks these devices' rows in id order (a consistent order across writers prevents deadlocks). */
  async function lockInIdOrder(tx: Db, ids: readonly string[]): Promise<void> {
    await tx
      .select({ id: devices.id })
      .from(devices)
      .where(inArray(devices.id, [...ids]))
      .orderBy(asc(devices.id))
      .for("update");
  }

  // Reports come in bursts (four per device per rollout step); see group-commit.ts.
  const reports = new GroupCommit<{ reported: ReportedState; at: Date }>({
    maxBatch: REPORTS_PER_STATEMENT,
    missing: (id) => new NotFoundError("device", id),
    async write(batch) {
      const values = [...batch].map(
        ([id, { reported, at }]) =>
          sql`(${id}, ${JSON.stringify(reported)}::jsonb, ${at.toISOString()}::timestamptz)`,
      );
      const update = (on: Db) =>
        on
          .update(devices)
          .set({ reported: sql`v.reported`, reportedAt: sql`v.at`, lastSeenAt: sql`v.at` })
          .from(sql`(values ${sql.join(values, sql`, `)}) as v(id, reported, at)`)
          .where(sql`${devices.id} = v.id`)
          .returning({ id: devices.id });
      // One row: one statement, as on an idle hub (a single row lock cannot take part in a deadlock).
      if (batch.size === 1) return new Set((await update(db)).map((r) => r.id));
      return db.transaction(async (tx) => {
        // Rows locked in id order first, as setDesiredMany does: an UPDATE … FROM locks in join
        // order, and two multi-row writers locking in different orders deadlock on PostgreSQL.
        await lockInIdOrder(tx, [...batch.keys()]);
        return new Set((await update(tx)).map((r) => r.id));
      });
    },
  });

  async function setDesiredMany(updates: readonly DesiredUpdate[]): Promise<DesiredOutcome[]> {
    if (updates.length === 0) return [];
    return db.transaction(async (tx) => {
      const ids = [...new Set(updates.map((u) => u.id))].sort();
      // Locked in id order, so two batches over overlapping devices cannot deadlock on PostgreSQL.
      const rows = await tx
        .select({ id: devices.id, desired: devices.desired, revision: devices.desiredRevision })
        .from(devices)
        .where(inArray(devices.id, ids))
        .orderBy(asc(devices.id))
        .for("update");
      const current = new Map(rows.map((r) => [r.id, { desired: r.desired, revision: r.revision }]));
      const changed = new Set<string>();
      const outcomes = updates.map(({ id, build }): DesiredOutcome => {
        const row = current.get(id);
        if (!row) return { id, ok: false, error: new NotFoundError("device", id) };
        const nextRevision = row.revision + 1;
        try {
          const built = build({ current: row.desired, currentRevision: row.revision, nextRevision });
          const parsed = DesiredStateSchema.safeParse({ ...built, revision: nextRevision });
          if (!parsed.success) {
            const error = new ValidationError(z.prettifyError(parsed.error), parsed.error.issues);
            return { id, ok: false, error };
          }
          current.set(id, { desired: parsed.data, revision: nextRevision });
          changed.add(id);
          return { id, ok: true, desired: parsed.data };
        } catch (error) {
          return { id, ok: false, error: error instanceof Error ? error : new Error(String(error)) };
        }
      });
      if (changed.size > 0) {
        const values = [...changed].map((id) => {
          const row = current.get(id)!;
          return sql`(${id}, ${JSON.stringify(row.desired)}::jsonb, ${row.revision}::integer)`;
        });
        await tx.execute(sql`
          update ${devices} set desired = v.desired, desired_revision = v.revision
          from (values ${sql.join(values, sql`, `)}) as v(id, desired, revision)
          where ${devices.id} = v.id`);
      }
      return outcomes;
    });
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
        ? await db
            .select({ secretHash: devices.secretHash, disabledAt: devices.disabledAt })
            .from(devices)
            .where(eq(devices.id, id))
        : [];
      // Hash even for unknown ids so response time does not reveal which ids exist.
      const matches = await verifySecretHash(secret, row?.secretHash ?? (await dummyHash()));
      const ok = matches && row !== undefined && row.disabledAt === null;
      if (ok) cache?.remember(id, secret, epoch);
      return ok;
    },

    recentlyVerified(id, secret) {
      return cache?.has(id, secret) ?? false;
    },

    async verifyCertificate(id, certSha256, { external = false } = {}) {
      if (!DEVICE_ID_PATTERN.test(id)) return false;
      const [row] = await db
        .select({ certSha256: devices.certSha256, disabledAt: devices.disabledAt })
        .from(devices)
        .where(eq(devices.id, id));
      if (!row || row.disabledAt !== null) return false;
      if (row.certSha256 !== null) return row.certSha256 === certSha256.toLowerCase();
      return external;
    },

    async setDisabled(id, disabled) {
      // Forgotten first: a check racing this update cannot put the device back in the cache.
      cache?.forget(id);
      const rows = await db
        .update(devices)
        .set({
          disabledAt: disabled
            ? sql`coalesce(${devices.disabledAt}, ${now().toISOString()}::timestamptz)`
            : null,
        })
        .where(eq(devices.id, id))
        .returning(publicColumns);
      if (!rows[0]) throw new NotFoundError("device", id);
      return rows[0];
    },

    async setCertificate(id, certificate) {
      const rows = await db
        .update(devices)
        .set({ certSha256: certificate?.sha256 ?? null, certNotAfter: certificate?.notAfter ?? null })
        .where(eq(devices.id, id))
        .returning(publicColumns);
      if (!rows[0]) throw new NotFoundError("device", id);
      return rows[0];
    },

    async get(id) {
      const [row] = await db.select(publicColumns).from(devices).where(eq(devices.id, id));
      return row ?? null;
    },

    async list(filter = {}) {
      const where = filterWhere(filter);
      if (where === null) return [];
      return db.select(publicColumns).from(devices).where(where).orderBy(asc(devices.id));
    },

    async listDesired(filter = {}) {
      const where = filterWhere(filter);
      if (where === null) return [];
      return db
        .select({ id: devices.id, desired: devices.desired })
        .from(devices)
        .where(where)
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

    setReported(id, reported, at) {
      return reports.submit(id, { reported, at });
    },

    async setDesired(id, buildNext) {
      const [outcome] = await setDesiredMany([{ id, build: buildNext }]);
      if (!outcome!.ok) throw outcome!.error;
      return outcome!.desired;
    },

    setDesiredMany,

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
