/** The store contract against embedded PGlite, plus what only the embedded database does. */
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { openDatabase } from "../../hub/db/connect.js";
import { deviceRepo } from "../../hub/repos/index.js";
import { describeQueryTiming } from "./query-timing.js";
import { describeStoreContract } from "./store-contract.js";

const folders: string[] = [];
async function tempDir(): Promise<string> {
  const folder = await mkdtemp(join(tmpdir(), "edgefleet-pglite-"));
  folders.push(folder);
  return folder;
}
afterAll(async () => {
  await Promise.all(folders.map((folder) => rm(folder, { recursive: true, force: true })));
});

// Timed as the hub times them, so the whole contract runs through the timing wrapper.
describeStoreContract("pglite", async () => openDatabase({ dataDir: await tempDir(), onQuery: () => {} }));
describeQueryTiming("pglite", async (onQuery) => openDatabase({ dataDir: await tempDir(), onQuery }));

describe("pglite files", () => {
  it("keeps data across close and reopen of the same data folder, migrating only once", async () => {
    const dataDir = await tempDir();
    const first = await openDatabase({ dataDir });
    expect(first.dialect).toBe("pglite");
    const { secret } = await deviceRepo(first.db).provision({ id: "keeper" });
    await first.close();
    const second = await openDatabase({ dataDir });
    try {
      expect(await deviceRepo(second.db).verifySecret("keeper", secret)).toBe(true);
    } finally {
      await second.close();
    }
  });
});
