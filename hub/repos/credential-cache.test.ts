import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { silentLogger } from "../../lib/log.js";
import { openDatabase } from "../db/connect.js";
import type { Database } from "../db/database.js";
import { CredentialCache } from "./credential-cache.js";
import { deviceRepo } from "./devices.js";

describe("CredentialCache", () => {
  it("remembers an exact id and secret until the TTL passes", () => {
    let now = 1_000;
    const cache = new CredentialCache({ ttlMs: 100, now: () => now });
    cache.remember("a", "s1");
    expect(cache.has("a", "s1")).toBe(true);
    expect(cache.has("a", "s2")).toBe(false);
    expect(cache.has("b", "s1")).toBe(false);
    now += 100;
    expect(cache.has("a", "s1")).toBe(false);
    expect(cache.size).toBe(0);
  });

  it("evicts the least recently used device past its bound", () => {
    const cache = new CredentialCache({ maxEntries: 2 });
    cache.remember("a", "x");
    cache.remember("b", "x");
    expect(cache.has("a", "x")).toBe(true); // a is now the most recent
    cache.remember("c", "x");
    expect([cache.has("a", "x"), cache.has("b", "x"), cache.has("c", "x")]).toEqual([true, false, true]);
  });

  it("does not let a check that began before a rotation bring the old secret back", () => {
    const cache = new CredentialCache();
    const epoch = cache.epoch("a");
    cache.forget("a");
    cache.remember("a", "old", epoch);
    expect(cache.has("a", "old")).toBe(false);
  });
});

describe("device repository with the cache", () => {
  let dataDir: string;
  let database: Database;
  beforeAll(async () => {
    dataDir = await mkdtemp(join(tmpdir(), "edgefleet-credcache-"));
    database = await openDatabase({ dataDir, log: silentLogger });
  });
  afterAll(async () => {
    await database.close();
    await rm(dataDir, { recursive: true, force: true });
  });

  it("caches issued and verified secrets, and invalidates them on rotate and delete", async () => {
    const cache = new CredentialCache();
    const repo = deviceRepo(database.db, { credentialCache: cache });
    const { secret } = await repo.provision({ id: "cached-1" });
    expect(cache.has("cached-1", secret)).toBe(true);
    expect(await repo.verifySecret("cached-1", secret)).toBe(true);
    expect(await repo.verifySecret("cached-1", `${secret}x`)).toBe(false);

    const fresh = await repo.rotateSecret("cached-1");
    expect(cache.has("cached-1", secret)).toBe(false);
    expect(await repo.verifySecret("cached-1", secret)).toBe(false);
    expect(await repo.verifySecret("cached-1", fresh)).toBe(true);

    await repo.delete("cached-1");
    expect(cache.has("cached-1", fresh)).toBe(false);
    expect(await repo.verifySecret("cached-1", fresh)).toBe(false);
  });

  it("verifies through scrypt when the cache forgot (a second repository, another replica)", async () => {
    const { secret } = await deviceRepo(database.db).provision({ id: "cached-2" });
    const cache = new CredentialCache();
    const other = deviceRepo(database.db, { credentialCache: cache });
    expect(cache.has("cached-2", secret)).toBe(false);
    expect(await other.verifySecret("cached-2", secret)).toBe(true);
    expect(cache.has("cached-2", secret)).toBe(true);
  });
});
