/**
 * The store contract against a real PostgreSQL server (EDGEFLEET_TEST_DATABASE_URL, default
 * postgres://postgres@127.0.0.1:5432/test). Each run gets its own scratch database, dropped at the
 * end. Without a server the suite is skipped, visibly.
 */
import { describe, expect, it } from "vitest";
import { openDatabase } from "../../hub/db/connect.js";
import type { Database } from "../../hub/db/database.js";
import { createScratchDatabase, DEFAULT_TEST_DATABASE_URL, probePostgres } from "./postgres-scratch.js";
import { describeQueryTiming } from "./query-timing.js";
import { describeStoreContract } from "./store-contract.js";

// Config parsing for this test file: the only environment read it makes.
const adminUrl = process.env.EDGEFLEET_TEST_DATABASE_URL || DEFAULT_TEST_DATABASE_URL;
const unavailable = await probePostgres(adminUrl);

async function openScratch(): Promise<Database> {
  const scratch = await createScratchDatabase(adminUrl);
  try {
    // Timed as the hub times them, so the whole contract runs through the timing wrapper.
    const database = await openDatabase({
      dataDir: "/nonexistent-not-used",
      databaseUrl: scratch.url,
      onQuery: () => {},
    });
    return {
      ...database,
      async close() {
        await database.close();
        await scratch.drop();
      },
    };
  } catch (error) {
    await scratch.drop();
    throw error;
  }
}

if (unavailable) {
  console.warn(
    `[store contract: postgres] skipped: no PostgreSQL at ${new URL(adminUrl).host} (${unavailable})`,
  );
  describe.skip("store contract: postgres (no server)", () => {
    it("needs a PostgreSQL server", () => {});
  });
} else {
  describeStoreContract("postgres", openScratch);
  describeQueryTiming("postgres", async (onQuery) => {
    const scratch = await createScratchDatabase(adminUrl);
    const database = await openDatabase({
      dataDir: "/nonexistent-not-used",
      databaseUrl: scratch.url,
      onQuery,
    });
    return {
      ...database,
      async close() {
        await database.close();
        await scratch.drop();
      },
    };
  });

  describe("postgres migrations", () => {
    it("opens an already migrated database again without changes", async () => {
      const scratch = await createScratchDatabase(adminUrl);
      try {
        const first = await openDatabase({ dataDir: "/nonexistent-not-used", databaseUrl: scratch.url });
        await first.close();
        // Two replicas starting together: the advisory lock lets them migrate one at a time.
        const [a, b] = await Promise.all([
          openDatabase({ dataDir: "/nonexistent-not-used", databaseUrl: scratch.url }),
          openDatabase({ dataDir: "/nonexistent-not-used", databaseUrl: scratch.url }),
        ]);
        expect([a.dialect, b.dialect]).toEqual(["postgres", "postgres"]);
        await Promise.all([a.close(), b.close()]);
      } finally {
        await scratch.drop();
      }
    });
  });
}
