/** State store: survives a reopen, keeps previous for rollback, garbage-collects the rest. */
import { mkdir, mkdtemp, readdir, readFile, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { silentLogger } from "../lib/log.js";
import { StateStore } from "./state-store.js";

let dir: string;
beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), "edgefleet-state-"));
});
afterEach(() => rm(dir, { recursive: true, force: true }));

async function unpacked(store: StateStore, name: string, version: string): Promise<void> {
  await mkdir(store.moduleDir(name, version), { recursive: true });
  await writeFile(join(store.moduleDir(name, version), "module.json"), "{}");
}

describe("StateStore", () => {
  it("persists active, previous, revision and failures across a reopen", async () => {
    const store = await StateStore.open(dir, silentLogger);
    await store.setActive("m", { version: "1.0.0", sha256: "a".repeat(64) });
    await store.setActive("m", { version: "1.1.0", sha256: "b".repeat(64) });
    await store.setRevision(7);
    await store.recordFailure({
      name: "m",
      version: "1.2.0",
      sha256: "c".repeat(64),
      reason: "bad signature",
      revision: 7,
      permanent: true,
      attempts: 1,
      retryAt: null,
    });
    const reopened = await StateStore.open(dir, silentLogger);
    expect(reopened.snapshot).toEqual({
      schemaVersion: 1,
      revision: 7,
      modules: {
        m: {
          active: { version: "1.1.0", sha256: "b".repeat(64) },
          previous: { version: "1.0.0", sha256: "a".repeat(64) },
        },
      },
      failures: [expect.objectContaining({ version: "1.2.0", permanent: true })],
      telemetrySeqCeiling: 0,
    });
  });

  it("keeps only active and previous versions on disk, and drops modules it no longer knows", async () => {
    const store = await StateStore.open(dir, silentLogger);
    for (const version of ["1.0.0", "1.1.0", "1.2.0", "1.3.0"]) await unpacked(store, "m", version);
    await unpacked(store, "gone", "1.0.0");
    await store.setActive("m", { version: "1.2.0", sha256: "" });
    await store.setActive("m", { version: "1.3.0", sha256: "" });
    expect((await store.listUnpacked()).length).toBe(5);
    // What an unpack killed midway leaves behind (modules/unpack.ts writes a temp sibling).
    await mkdir(join(dir, "modules", "m", ".1.4.0.a1b2c3.tmp"), { recursive: true });
    const deleted = await store.gc();
    expect(deleted.sort()).toEqual(["gone@1.0.0", "m@1.0.0", "m@1.1.0"]);
    expect((await readdir(join(dir, "modules", "m"))).sort()).toEqual(["1.2.0", "1.3.0"]);
    expect(await readdir(join(dir, "modules"))).toEqual(["m"]);
  });

  it("rolls back to previous", async () => {
    const store = await StateStore.open(dir, silentLogger);
    await store.setActive("m", { version: "1.0.0", sha256: "" });
    await store.setActive("m", { version: "2.0.0", sha256: "" });
    await store.rollBack("m");
    expect(store.snapshot.modules.m).toEqual({ active: { version: "1.0.0", sha256: "" }, previous: null });
  });

  it("moves a corrupt state file aside and starts empty instead of crash-looping", async () => {
    await writeFile(join(dir, "state.json"), '{"schemaVersion": 1, "revision": "x"');
    const store = await StateStore.open(dir, silentLogger);
    expect(store.snapshot.modules).toEqual({});
    const files = await readdir(dir);
    const aside = files.find((f) => f.startsWith("state.json.corrupt-"));
    expect(aside).toBeDefined();
    expect(await readFile(join(dir, aside!), "utf8")).toContain('"revision": "x"');
  });
});
