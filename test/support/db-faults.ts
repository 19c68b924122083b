/**
 * TEST-ONLY database faults: a real PostgreSQL/PGlite trigger that makes one statement fail inside
 * whatever transaction runs it, so a test can stop a multi-step write at an exact step without
 * any hook in the shipped code. Works on both dialects (plain PL/pgSQL).
 */
import { sql } from "drizzle-orm";
import type { Db } from "../../hub/db/database.js";

/**
 * Until the returned function is called, marking run `runId` succeeded fails with
 * "injected fault" (a BEFORE UPDATE trigger on `runs`); every other row is untouched.
 */
export async function refuseRunSuccess(db: Db, runId: string): Promise<() => Promise<void>> {
  if (!/^[A-Za-z0-9_-]+$/.test(runId)) throw new Error(`unexpected run id ${runId}`);
  const name = `test_fault_${runId.replace(/-/g, "_")}`.toLowerCase();
  await db.execute(
    sql.raw(
      `CREATE FUNCTION ${name}() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN RAISE EXCEPTION 'injected fault: run ${runId} may not succeed'; END $$`,
    ),
  );
  await db.execute(
    sql.raw(
      `CREATE TRIGGER ${name} BEFORE UPDATE ON runs FOR EACH ROW WHEN (NEW.status = 'succeeded' AND NEW.id = '${runId}') EXECUTE FUNCTION ${name}()`,
    ),
  );
  return async () => {
    await db.execute(sql.raw(`DROP TRIGGER IF EXISTS ${name} ON runs`));
    await db.execute(sql.raw(`DROP FUNCTION IF EXISTS ${name}()`));
  };
}

/**
 * Until the returned function is called, recording retraining step `step` (an insert into
 * `retraining_events`) fails with "injected fault", and with it the transaction that moves the
 * cycle on: the step's side effect happened, its record did not (as after a crash or a database
 * error between the two).
 */
export async function refuseRetrainingStep(db: Db, step: string): Promise<() => Promise<void>> {
  if (!/^[a-z-]+$/.test(step)) throw new Error(`unexpected step ${step}`);
  const name = `test_fault_step_${step.replace(/-/g, "_")}`;
  await db.execute(
    sql.raw(
      `CREATE FUNCTION ${name}() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN RAISE EXCEPTION 'injected fault: step ${step} may not be recorded'; END $$`,
    ),
  );
  await db.execute(
    sql.raw(
      `CREATE TRIGGER ${name} BEFORE INSERT ON retraining_events FOR EACH ROW WHEN (NEW.step = '${step}') EXECUTE FUNCTION ${name}()`,
    ),
  );
  return async () => {
    await db.execute(sql.raw(`DROP TRIGGER IF EXISTS ${name} ON retraining_events`));
    await db.execute(sql.raw(`DROP FUNCTION IF EXISTS ${name}()`));
  };
}
