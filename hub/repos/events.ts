/** Device events: the operator's timeline of deployment progress and errors. */
import { and, asc, desc, eq, sql } from "drizzle-orm";
import type { DeviceEvent } from "../../wire/messages.js";
import type { Db } from "../db/database.js";
import { deviceEvents } from "../db/schema/index.js";
import { ValidationError } from "./errors.js";
import { clampLimit } from "./paging.js";

export type StoredDeviceEvent = typeof deviceEvents.$inferSelect;

export interface NewDeviceEvent {
  deviceId: string;
  kind: string;
  module?: string | null;
  version?: string | null;
  message: string;
  details?: Record<string, unknown> | null;
  at: Date;
}

export interface EventRepo {
  /** Stores one event and returns it with its id. */
  insert(event: NewDeviceEvent): Promise<StoredDeviceEvent>;
  /** Stores an `events` wire message from a device. */
  insertFromWire(deviceId: string, event: DeviceEvent): Promise<StoredDeviceEvent>;
  /** Events newest first, for one device or all; limit defaults to 100 (max 1000). */
  list(filter?: { deviceId?: string; limit?: number }): Promise<StoredDeviceEvent[]>;
  /** Events of one kind whose details contain `details` (jsonb containment), oldest first. */
  listByDetails(kind: string, details: Record<string, unknown>): Promise<StoredDeviceEvent[]>;
}

/** Event repository over a database. */
export function eventRepo(db: Db): EventRepo {
  const repo: EventRepo = {
    async insert(event) {
      if (event.kind.length === 0) throw new ValidationError("event kind must not be empty");
      if (Number.isNaN(event.at.getTime())) throw new ValidationError("event time is not a valid date");
      const [row] = await db
        .insert(deviceEvents)
        .values({
          deviceId: event.deviceId,
          kind: event.kind,
          module: event.module ?? null,
          version: event.version ?? null,
          message: event.message,
          details: event.details ?? null,
          at: event.at,
        })
        .returning();
      return row!;
    },

    insertFromWire(deviceId, event) {
      return repo.insert({ ...event, deviceId, at: new Date(event.at) });
    },

    async list(filter = {}) {
      return db
        .select()
        .from(deviceEvents)
        .where(filter.deviceId === undefined ? undefined : eq(deviceEvents.deviceId, filter.deviceId))
        .orderBy(desc(deviceEvents.at), desc(deviceEvents.id))
        .limit(clampLimit(filter.limit));
    },

    async listByDetails(kind, details) {
      return db
        .select()
        .from(deviceEvents)
        .where(
          and(eq(deviceEvents.kind, kind), sql`${deviceEvents.details} @> ${JSON.stringify(details)}::jsonb`),
        )
        .orderBy(asc(deviceEvents.at), asc(deviceEvents.id));
    },
  };
  return repo;
}
