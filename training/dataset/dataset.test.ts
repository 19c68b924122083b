import { createHash } from "node:crypto";
import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { datasetFromRows, loadDataset } from "./dataset.js";
import { splitRows } from "./split.js";

const bytes = (text: string) => new TextEncoder().encode(text);
const code = (c: string) => expect.objectContaining({ name: "DatasetError", code: c });

const CSV = [
  "id,age,color,member,price,label",
  ...Array.from({ length: 200 }, (_, i) =>
    [
      `u${i}`,
      i % 10 === 0 ? "" : String(20 + (i % 50)),
      ["red", "green", "blue"][i % 3],
      i % 2 === 0 ? "true" : "false",
      (i * 1.5).toFixed(1),
      i % 4 === 0 ? "yes" : "no",
    ].join(","),
  ),
].join("\r\n");

let folder: string;
beforeAll(async () => {
  folder = await mkdtemp(join(tmpdir(), "edgefleet-dataset-"));
});
afterAll(async () => {
  await rm(folder, { recursive: true, force: true });
});

describe("loadDataset", () => {
  it("infers kinds, types values, summarises columns and hashes the bytes", async () => {
    const ds = await loadDataset({ bytes: bytes(CSV) }, { target: "label", task: "classification" });
    expect(ds.version).toBe(createHash("sha256").update(CSV).digest("hex"));
    expect(ds.rows).toBe(200);
    expect(ds.format).toBe("csv");
    expect(ds.schema.map((c) => [c.name, c.kind])).toEqual([
      ["id", "ignore"],
      ["age", "numeric"],
      ["color", "categorical"],
      ["member", "boolean"],
      ["price", "numeric"],
      ["label", "label"],
    ]);
    expect(ds.schema[0]!.note).toMatch(/identifier/);
    expect(ds.columns.map((c) => c.name)).toEqual(["age", "color", "member", "price", "label"]);
    const age = ds.stats.find((s) => s.name === "age")!;
    expect(age).toMatchObject({ kind: "numeric", count: 200, missing: 20, min: 21, max: 69 });
    expect(age.kind === "numeric" && age.quantiles["0.5"]).toBeGreaterThan(30);
    const color = ds.stats.find((s) => s.name === "color")!;
    expect(color).toMatchObject({ kind: "categorical", distinct: 3, missing: 0 });
    expect(color.kind === "categorical" && color.frequencies[0]).toEqual({ value: "green", count: 67 });
  });

  it("applies overrides, and refuses non-numbers in a numeric override with the row and column", async () => {
    const ds = await loadDataset(
      { bytes: bytes(CSV) },
      { target: "price", task: "regression", overrides: { age: "categorical", id: "ignore" } },
    );
    expect(ds.schema.find((c) => c.name === "age")).toMatchObject({ kind: "categorical", inferred: false });
    await expect(loadDataset({ bytes: bytes(CSV) }, { overrides: { color: "numeric" } })).rejects.toThrow(
      code("bad_value"),
    );
    await expect(loadDataset({ bytes: bytes(CSV) }, { overrides: { color: "numeric" } })).rejects.toThrow(
      /column "color", data row 1: "red" is not a number/,
    );
  });

  it("reads JSON Lines and a file from disk in a streaming pass with the same hash", async () => {
    const text = '{"x":1,"y":"a"}\n{"x":2.5,"y":null}\n{"x":null,"y":"b"}\n';
    const path = join(folder, "data.jsonl");
    await writeFile(path, text);
    const ds = await loadDataset({ path });
    expect(ds.format).toBe("jsonl");
    expect(ds.version).toBe(createHash("sha256").update(text).digest("hex"));
    expect(ds.schema.map((c) => c.kind)).toEqual(["numeric", "categorical"]);
    const csvPath = join(folder, "data.csv");
    await writeFile(csvPath, CSV);
    expect((await loadDataset({ path: csvPath })).version).toBe(
      createHash("sha256").update(CSV).digest("hex"),
    );
  });

  it("streams a multi-chunk file (multi-byte characters across chunk boundaries) to the same table", async () => {
    const lines = ["n,city,note"];
    for (let i = 0; i < 60_000; i++) lines.push(`${i},${i % 2 === 0 ? "Zürich" : "Malmö"},"é, ""q"""`);
    const text = `${lines.join("\r\n")}\r\n`;
    const path = join(folder, "large.csv");
    await writeFile(path, text);
    const fromFile = await loadDataset({ path });
    // Larger than one 1 MiB read chunk.
    expect(fromFile.bytes).toBeGreaterThan(1024 * 1024);
    expect(fromFile.rows).toBe(60_000);
    expect(fromFile.version).toBe(createHash("sha256").update(text).digest("hex"));
    const city = fromFile.stats.find((c) => c.name === "city")!;
    expect(city.kind === "categorical" && city.frequencies.map((f) => f.value).sort()).toEqual([
      "Malmö",
      "Zürich",
    ]);
    expect(fromFile.schema.find((c) => c.name === "note")).toMatchObject({ kind: "categorical" });
  });

  it("refuses empty files, header-only files and whitespace", async () => {
    await expect(loadDataset({ bytes: bytes("") })).rejects.toThrow(code("empty"));
    await expect(loadDataset({ bytes: bytes("a,b\r\n") })).rejects.toThrow(/no data rows/);
    await expect(loadDataset({ bytes: bytes("  \n\n") })).rejects.toThrow(code("empty"));
    const path = join(folder, "empty.csv");
    await writeFile(path, "");
    await expect(loadDataset({ path })).rejects.toThrow(code("empty"));
  });

  it("refuses ragged rows with the line number", async () => {
    await expect(loadDataset({ bytes: bytes("a,b\n1,2\n3\n") })).rejects.toThrow(
      /line 3 has 1 fields; the header has 2/,
    );
    await expect(loadDataset({ bytes: bytes("a,b\n1,2,3\n") })).rejects.toThrow(code("ragged"));
  });

  it("refuses a target column that does not exist, an unknown override and a bad target", async () => {
    await expect(
      loadDataset({ bytes: bytes(CSV) }, { target: "nope", task: "classification" }),
    ).rejects.toThrow(code("unknown_column"));
    await expect(loadDataset({ bytes: bytes(CSV) }, { overrides: { nope: "numeric" } })).rejects.toThrow(
      code("unknown_column"),
    );
    await expect(loadDataset({ bytes: bytes(CSV) }, { target: "color", task: "regression" })).rejects.toThrow(
      code("bad_value"),
    );
    await expect(
      loadDataset({ bytes: bytes("x,y\n1,a\n2,a\n") }, { target: "y", task: "classification" }),
    ).rejects.toThrow(/single class/);
    await expect(
      loadDataset({ bytes: bytes("x,y\n1,a\n2,\n") }, { target: "y", task: "classification" }),
    ).rejects.toThrow(code("bad_target"));
    await expect(
      loadDataset({ bytes: bytes("y\n1\n2\n") }, { target: "y", task: "regression" }),
    ).rejects.toThrow(/no usable feature/);
  });

  it("refuses datasets over the byte or row limit, for bytes and for files", async () => {
    await expect(loadDataset({ bytes: bytes(CSV) }, { limits: { maxBytes: 100 } })).rejects.toThrow(
      code("too_large"),
    );
    await expect(loadDataset({ bytes: bytes(CSV) }, { limits: { maxRows: 199 } })).rejects.toThrow(
      /more than 199 rows/,
    );
    const path = join(folder, "big.csv");
    await writeFile(path, CSV);
    await expect(loadDataset({ path }, { limits: { maxBytes: 1000 } })).rejects.toThrow(code("too_large"));
    expect((await loadDataset({ path }, { limits: { maxRows: 200 } })).rows).toBe(200);
  });

  it("refuses text that is not UTF-8", async () => {
    await expect(loadDataset({ bytes: Uint8Array.from([0x61, 0x0a, 0xff, 0xfe, 0x0a]) })).rejects.toThrow(
      /UTF-8/,
    );
  });

  it("builds the same version from rows as from the equivalent JSON Lines upload", async () => {
    const rows = [
      { x: 1, y: "a" },
      { x: 2, y: "b" },
    ];
    const text = `${rows.map((r) => JSON.stringify(r)).join("\n")}\n`;
    expect(datasetFromRows(rows).version).toBe((await loadDataset({ bytes: bytes(text) })).version);
  });
});

describe("splitRows", () => {
  it("is deterministic by seed, disjoint and complete, and stratified", () => {
    const labels = Array.from({ length: 1000 }, (_, i) => (i % 10 === 0 ? "rare" : "common"));
    const a = splitRows(1000, 7, undefined, labels);
    const b = splitRows(1000, 7, undefined, labels);
    const c = splitRows(1000, 8, undefined, labels);
    expect(a).toEqual(b);
    expect(a.test).not.toEqual(c.test);
    const all = [...a.train, ...a.validation, ...a.test].sort((x, y) => x - y);
    expect(all).toEqual(Array.from({ length: 1000 }, (_, i) => i));
    expect([a.train.length, a.validation.length, a.test.length]).toEqual([700, 150, 150]);
    expect([...a.test].filter((i) => labels[i] === "rare")).toHaveLength(15);
    expect(() => splitRows(10, 1, { validation: 0.5, test: 0.5 })).toThrow(/leave rows/);
  });
});
