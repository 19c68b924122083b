/** Trainer workers: registered by themselves (upsert on their stable id), seen on every call. */
import { asc, eq } from "drizzle-orm";
import type { Db } from "../db/database.js";
import { type WorkerCapabilities, workers } from "../db/schema/index.js";
import { clockOf, type RepoOptions } from "./clock.js";

export type WorkerRow = typeof workers.$inferSelect;

export interface WorkerRepo {
  /** Creates or updates a worker (name and capabilities) and marks it seen now. */
  upsert(input: { id: string; name: string; capabilities: WorkerCapabilities }): Promise<WorkerRow>;
  get(id: string): Promise<WorkerRow | null>;
  list(): Promise<WorkerRow[]>;
  /** Records a call from the worker; false when it is not registered. */
  touch(id: string): Promise<boolean>;
}

/** Worker repository over a database. */
export function workerRepo(db: Db, options?: RepoOptions): WorkerRepo {
  const now = clockOf(options);
  return {
    async upsert(input) {
      const at = now();
      const [row] = await db
        .insert(workers)
        .values({ ...input, registeredAt: at, lastSeenAt: at })
        .onConflictDoUpdate({
          target: workers.id,
          set: { name: input.name, capabilities: input.capabilities, lastSeenAt: at },
        })
        .returning();
      return row!;
    },

    async get(id) {
      const [row] = await db.select().from(workers).where(eq(workers.id, id));
      return row ?? null;
    },

    list: () => db.select().from(workers).orderBy(asc(workers.id)),

    async touch(id) {
      const rows = await db
        .update(workers)
        .set({ lastSeenAt: now() })
        .where(eq(workers.id, id))
        .returning({ id: workers.id });
      return rows.length > 0;
    },
  };
}
