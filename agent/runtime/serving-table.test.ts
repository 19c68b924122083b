import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type LoadedModule, loadModule } from "./loaded-module.js";
import { ServingTable } from "./serving-table.js";
import { idsModule, type ModuleDir } from "./test-modules.js";

describe("ServingTable", () => {
  const dirs: ModuleDir[] = [];
  let v1: LoadedModule;
  let v2: LoadedModule;
  beforeAll(async () => {
    dirs.push(await idsModule("1.0.0"), await idsModule("2.0.0"));
    v1 = await loadModule({ dir: dirs[0]!.dir, manifest: dirs[0]!.manifest });
    v2 = await loadModule({ dir: dirs[1]!.dir, manifest: dirs[1]!.manifest });
  });
  afterAll(async () => {
    await Promise.all([v1, v2].map((m) => m.drainAndDispose()));
    await Promise.all(dirs.map((d) => d.cleanup()));
  });

  it("activates, swaps and removes modules by name", () => {
    const table = new ServingTable();
    expect(table.get("ids")).toBeUndefined();
    expect(table.activate(v1)).toBeUndefined();
    expect(table.get("ids")).toBe(v1);
    expect(table.getVersion("ids", "1.0.0")).toBe(v1);
    expect(table.getVersion("ids", "2.0.0")).toBeUndefined();
    expect(table.activate(v2)).toBe(v1);
    expect(table.get("ids")).toBe(v2);
    expect(table.activate(v2)).toBeUndefined();
    expect(table.list()).toEqual([v2]);
    expect(table.remove("ids")).toBe(v2);
    expect(table.remove("ids")).toBeUndefined();
    expect(table.list()).toEqual([]);
  });

  it("refuses to activate a module that is draining or disposed", async () => {
    const table = new ServingTable();
    const d = await idsModule("3.0.0");
    const v3 = await loadModule({ dir: d.dir, manifest: d.manifest });
    await v3.drainAndDispose();
    expect(() => table.activate(v3)).toThrow(/cannot activate ids@3\.0\.0: it is disposed/);
    expect(table.get("ids")).toBeUndefined();
    await d.cleanup();
  });
});
