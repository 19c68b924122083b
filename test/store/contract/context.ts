/** Shared state of one contract-suite run: the open database and a controllable clock. */
import { randomBytes } from "node:crypto";
import type { Db } from "../../../hub/db/database.js";
import type { RepoOptions } from "../../../hub/repos/index.js";

export interface ContractContext {
  /** The database under test (opened once per file in beforeAll). */
  db(): Db;
  dialect(): "pglite" | "postgres";
}

/** A clock tests move by hand; each read without a set advances 1 ms so createdAt orders rows. */
export function manualClock(start = Date.parse("2025-01-01T00:00:00.000Z")): RepoOptions & {
  set(at: number): void;
  advance(ms: number): void;
} {
  let current = start;
  return {
    now: () => new Date(current++),
    set: (at) => {
      current = at;
    },
    advance: (ms) => {
      current += ms;
    },
  };
}

/** A short random suffix so tests sharing one database never see each other's rows. */
export function unique(prefix = "t"): string {
  return `${prefix}-${randomBytes(4).toString("hex")}`;
}

/** A syntactically valid sha256 derived from a label. */
export function fakeSha(label: string): string {
  return Buffer.from(label).toString("hex").padEnd(64, "0").slice(0, 64);
}
