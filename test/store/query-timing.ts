/** Both drivers report the duration of every statement, inside transactions too (hub metrics). */
import { count, sql } from "drizzle-orm";
import { describe, expect, it } from "vitest";
import type { Database } from "../../hub/db/database.js";
import { devices } from "../../hub/db/schema/index.js";
import { deviceRepo } from "../../hub/repos/index.js";

/** Runs the timing checks on databases `open` makes with the given `onQuery`. */
export function describeQueryTiming(
  name: string,
  open: (onQuery: (s: number) => void) => Promise<Database>,
): void {
  describe(`query timing: ${name}`, () => {
    it("reports each statement, in and out of transactions, and keeps results and errors", async () => {
      const durations: number[] = [];
      const database = await open((seconds) => durations.push(seconds));
      try {
        const before = durations.length;
        const rows = await database.db.select({ n: count() }).from(devices);
        expect(rows).toEqual([{ n: 0 }]);
        expect(durations.length).toBe(before + 1);
        const inTx = durations.length;
        await database.db.transaction(async (tx) => {
          await tx.execute(sql`select 2`);
          await tx.execute(sql`select 3`);
        });
        expect(durations.length).toBeGreaterThanOrEqual(inTx + 2);
        await expect(database.db.execute(sql`select * from no_such_table`)).rejects.toThrow();
        await deviceRepo(database.db).provision({ id: "timed-1" });
        expect(durations.every((s) => s >= 0 && s < 60)).toBe(true);
      } finally {
        await database.close();
      }
    });
  });
}
