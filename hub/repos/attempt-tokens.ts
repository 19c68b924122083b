/**
 * Per-attempt tokens: each claim of a run makes a bearer secret that the worker hands to the
 * attempt's script instead of its own credential. Only the sha256 is stored, on the attempt's row;
 * the token is good while that attempt is its run's current, running one under a live lease, so it
 * stops working the moment the attempt ends (completed, failed, cancelled, lost) or its worker
 * stops renewing the lease. What it may do is decided by the routes (hub/http/auth.ts).
 */
import { and, eq, gt, inArray } from "drizzle-orm";
import { sha256Hex } from "../../lib/files.js";
import type { Db } from "../db/database.js";
import { runAttempts, runs } from "../db/schema/index.js";
import { clockOf, type RepoOptions } from "./clock.js";
import { newSecret } from "./secret-hash.js";

/** Attempt tokens start with this, so a bearer token is looked up in the right table. */
export const ATTEMPT_TOKEN_PREFIX = "efa_";

/** Runs whose current attempt may still be working. */
const ACTIVE_RUN_STATUSES = ["running", "cancelling"] as const;

/** A fresh attempt token and the hash to store with the attempt. */
export function newAttemptToken(): { token: string; hash: string } {
  const token = newSecret(ATTEMPT_TOKEN_PREFIX);
  return { token, hash: sha256Hex(token) };
}

export interface AttemptTokenRepo {
  /** The attempt a token belongs to while that attempt runs under a live lease; else null. */
  verify(token: string): Promise<{ runId: string; attempt: number } | null>;
  /** The blobs a run reads (dataset version, script snapshot, extra rows); empty for an unknown run. */
  inputsOf(runId: string): Promise<Set<string>>;
  /** The blobs every run with a working attempt reads: what a trainer worker may download. */
  activeInputs(): Promise<Set<string>>;
}

/** What a run's stored spec names as its inputs. */
interface InputSpec {
  dataset?: { version?: unknown };
  script?: { snapshot?: unknown };
  extraRows?: { blob?: unknown };
}

function inputBlobs(spec: unknown, into: Set<string>): Set<string> {
  const s = (spec ?? {}) as InputSpec;
  for (const sha of [s.dataset?.version, s.script?.snapshot, s.extraRows?.blob])
    if (typeof sha === "string") into.add(sha);
  return into;
}

/** Attempt token repository over a database. */
export function attemptTokenRepo(db: Db, options?: RepoOptions): AttemptTokenRepo {
  const now = clockOf(options);
  return {
    async verify(token) {
      if (!token.startsWith(ATTEMPT_TOKEN_PREFIX)) return null;
      const [row] = await db
        .select({ runId: runAttempts.runId, attempt: runAttempts.n, current: runs.attempt })
        .from(runAttempts)
        .innerJoin(runs, eq(runs.id, runAttempts.runId))
        .where(
          and(
            eq(runAttempts.tokenHash, sha256Hex(token)),
            eq(runAttempts.status, "running"),
            gt(runAttempts.leaseExpiresAt, now()),
            inArray(runs.status, [...ACTIVE_RUN_STATUSES]),
          ),
        );
      if (!row || row.current !== row.attempt) return null;
      return { runId: row.runId, attempt: row.attempt };
    },

    async inputsOf(runId) {
      const [row] = await db.select({ spec: runs.spec }).from(runs).where(eq(runs.id, runId));
      return inputBlobs(row?.spec, new Set());
    },

    async activeInputs() {
      const rows = await db
        .select({ spec: runs.spec })
        .from(runs)
        .where(inArray(runs.status, [...ACTIVE_RUN_STATUSES]));
      const all = new Set<string>();
      for (const row of rows) inputBlobs(row.spec, all);
      return all;
    },
  };
}
