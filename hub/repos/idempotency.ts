/**
 * Idempotency keys: claim a key for one request, keep its answer, forget it on failure or expiry.
 * The claim is one `INSERT … ON CONFLICT DO NOTHING`, so of two requests racing with one key
 * exactly one gets it, on PGlite and on PostgreSQL shared by several hubs.
 */
import { and, eq, lt } from "drizzle-orm";
import { DomainError } from "../../lib/errors.js";
import type { Db } from "../db/database.js";
import { idempotencyKeys } from "../db/schema/index.js";
import { clockOf, type RepoOptions } from "./clock.js";

export type IdempotencyRecord = typeof idempotencyKeys.$inferSelect;

/** The request a key is claimed for. */
export interface IdempotentRequest {
  principal: string;
  key: string;
  method: string;
  path: string;
  requestSha256: string;
}

/** A stored answer to replay. */
export interface StoredResponse {
  status: number;
  contentType: string | null;
  body: string;
}

/** What a claim found: the key is now this request's, or an unexpired record already holds it. */
export type ClaimResult = { claimed: true } | { claimed: false; existing: IdempotencyRecord };

export interface IdempotencyRepo {
  /** Claims the key for a request until `ttlMs` from now; an expired record is replaced. */
  claim(request: IdempotentRequest, ttlMs: number): Promise<ClaimResult>;
  /** The unexpired record of a key, if any. */
  get(principal: string, key: string): Promise<IdempotencyRecord | undefined>;
  /** Keeps the answer of a claimed key for replay. */
  complete(principal: string, key: string, response: StoredResponse): Promise<void>;
  /** Gives up a claim (the request failed and changed nothing): the key may be used again. */
  release(principal: string, key: string): Promise<void>;
}

/** Idempotency-key repository over a database. */
export function idempotencyRepo(db: Db, options?: RepoOptions): IdempotencyRepo {
  const now = clockOf(options);
  const byKey = (principal: string, key: string) =>
    and(eq(idempotencyKeys.principal, principal), eq(idempotencyKeys.key, key));

  const get: IdempotencyRepo["get"] = async (principal, key) => {
    const [row] = await db.select().from(idempotencyKeys).where(byKey(principal, key)).limit(1);
    return row && row.expiresAt > now() ? row : undefined;
  };

  const insert = async (request: IdempotentRequest, ttlMs: number) => {
    const at = now();
    const rows = await db
      .insert(idempotencyKeys)
      .values({ ...request, state: "running", createdAt: at, expiresAt: new Date(at.getTime() + ttlMs) })
      .onConflictDoNothing({ target: [idempotencyKeys.principal, idempotencyKeys.key] })
      .returning({ key: idempotencyKeys.key });
    return rows.length > 0;
  };

  return {
    get,
    async claim(request, ttlMs) {
      if (await insert(request, ttlMs)) return { claimed: true };
      const existing = await get(request.principal, request.key);
      if (existing) return { claimed: false, existing };
      // The record there has expired: drop it (only if still expired) and race for the key again.
      await db
        .delete(idempotencyKeys)
        .where(and(byKey(request.principal, request.key), lt(idempotencyKeys.expiresAt, now())));
      if (await insert(request, ttlMs)) return { claimed: true };
      const winner = await get(request.principal, request.key);
      if (winner) return { claimed: false, existing: winner };
      throw new DomainError("conflict", "the Idempotency-Key is changing hands; try again", {
        transient: true,
      });
    },
    async complete(principal, key, response) {
      await db
        .update(idempotencyKeys)
        .set({
          state: "done",
          responseStatus: response.status,
          responseType: response.contentType,
          responseBody: response.body,
        })
        .where(byKey(principal, key));
    },
    async release(principal, key) {
      await db.delete(idempotencyKeys).where(byKey(principal, key));
    },
  };
}
