/** Defect: a model file damaged on disk (same size, random bytes) was loaded and answered garbage. */
import { randomBytes } from "node:crypto";
import { cp, mkdtemp, open, readFile, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, describe, expect, it } from "vitest";
import { silentLogger } from "../../lib/log.js";
import { MANIFEST_FILE } from "../../modules/manifest.js";
import { buildMlpClassifier } from "../../modules/onnx/models.js";
import { loadLastKnownGood } from "../boot.js";
import { Reporter } from "../reconcile/reporter.js";
import { StateStore } from "../state-store.js";
import { loadModule } from "./loaded-module.js";
import { ModelIntegrityError } from "./model-integrity.js";
import { ServingTable } from "./serving-table.js";
import { type ModuleDir, writeModuleDir } from "./test-modules.js";

const cleanups: Array<() => Promise<void>> = [];
afterEach(async () => {
  for (const cleanup of cleanups.splice(0)) await cleanup();
});

/** An MLP whose file is mostly raw weights, so damage in the middle still parses as ONNX. */
async function bigModule(version: string): Promise<ModuleDir> {
  const model = buildMlpClassifier({ inputSize: 256, hiddenSizes: [512], classes: 3, seed: 2 });
  const module = await writeModuleDir(model.bytes, {
    name: "big",
    version,
    inputs: [{ name: "features", datatype: "FP32", shape: [-1, 256] }],
    outputs: [{ name: "logits", datatype: "FP32", shape: [-1, 3] }],
  });
  cleanups.push(module.cleanup);
  return module;
}

/** Overwrites 16 KiB in the middle of the file with random bytes; the size stays the same. */
async function damage(path: string): Promise<void> {
  const size = (await readFile(path)).length;
  const handle = await open(path, "r+");
  try {
    await handle.write(randomBytes(16 * 1024), 0, 16 * 1024, Math.floor(size / 2));
  } finally {
    await handle.close();
  }
}

describe("model file integrity", () => {
  it("refuses to load a model whose bytes differ from the manifest's sha256 (same size)", async () => {
    const module = await bigModule("1.0.0");
    await damage(join(module.dir, "model.onnx"));
    const error = await loadModule({ dir: module.dir, manifest: module.manifest }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(ModelIntegrityError);
    expect((error as Error).message).toContain("sha256");
  });

  it("at boot, serves the previous version when the active one is damaged, and drops the damaged copy", async () => {
    const dataDir = await mkdtemp(join(tmpdir(), "edgefleet-integrity-boot-"));
    cleanups.push(() => rm(dataDir, { recursive: true, force: true }));
    const store = await StateStore.open(dataDir, silentLogger);
    for (const version of ["1.0.0", "1.1.0"]) {
      const module = await bigModule(version);
      const target = store.moduleDir("big", version);
      await cp(module.dir, target, { recursive: true });
      await writeFile(join(target, MANIFEST_FILE), JSON.stringify(module.manifest));
      await store.setActive("big", { version, sha256: "0".repeat(64) });
    }
    await damage(join(store.moduleDir("big", "1.1.0"), "model.onnx"));
    const table = new ServingTable();
    const reporter = new Reporter({ publish: () => {} });
    await loadLastKnownGood({ store, table, reporter, log: silentLogger });
    expect(table.get("big")?.version).toBe("1.0.0");
    expect(reporter.get("big")).toMatchObject({ state: "rolled-back", servingVersion: "1.0.0" });
    expect(await store.listUnpacked()).toEqual([{ name: "big", version: "1.0.0" }]);
    await table.remove("big")?.drainAndDispose();
  });
});
