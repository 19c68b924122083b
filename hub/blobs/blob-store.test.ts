import { createHash } from "node:crypto";
import { mkdtemp, readdir, rm, stat, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { Readable } from "node:stream";
import { text } from "node:stream/consumers";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { NotFoundError, ValidationError } from "../repos/errors.js";
import { BlobStore } from "./blob-store.js";

const sha = (data: string | Uint8Array) => createHash("sha256").update(data).digest("hex");

describe("BlobStore", () => {
  let dataDir: string;
  let store: BlobStore;
  beforeEach(async () => {
    dataDir = await mkdtemp(join(tmpdir(), "edgefleet-blobs-"));
    store = new BlobStore(dataDir);
  });
  afterEach(async () => {
    await rm(dataDir, { recursive: true, force: true });
  });

  const leftovers = async () => readdir(join(dataDir, "blobs", "tmp")).catch(() => []);

  it("stores bytes under sha256/<aa>/<hash> and reads them back", async () => {
    const info = await store.put(Buffer.from("hello"));
    expect(info).toMatchObject({ sha256: sha("hello"), size: 5 });
    expect(store.path(info.sha256)).toBe(
      join(dataDir, "blobs", "sha256", info.sha256.slice(0, 2), info.sha256),
    );
    expect(await store.has(info.sha256)).toBe(true);
    expect(await store.stat(info.sha256)).toEqual({ size: 5 });
    // Datasets and models are the hub's alone: no other local user reads a blob.
    expect((await stat(store.path(info.sha256))).mode & 0o777).toBe(0o600);
    expect((await stat(join(dataDir, "blobs", "sha256", info.sha256.slice(0, 2)))).mode & 0o777).toBe(0o700);
    expect((await store.read(info.sha256)).toString()).toBe("hello");
    expect(await leftovers()).toEqual([]);
  });

  it("streams a large upload while hashing, and dedupes identical content", async () => {
    const chunks = Array.from({ length: 64 }, (_, i) => Buffer.alloc(64 * 1024, i));
    const whole = Buffer.concat(chunks);
    const info = await store.put(Readable.from(chunks));
    expect(info).toMatchObject({ sha256: sha(whole), size: whole.length });
    expect(await store.put(whole, { expectedSha256: info.sha256 })).toEqual({ ...info, created: false });
    expect(await readdir(join(dataDir, "blobs", "sha256", info.sha256.slice(0, 2)))).toEqual([info.sha256]);
    expect(await leftovers()).toEqual([]);
  });

  it("stores empty blobs", async () => {
    const info = await store.put(new Uint8Array());
    expect(info).toMatchObject({ sha256: sha(""), size: 0 });
    expect(await text(await store.createReadStream(info.sha256))).toBe("");
  });

  it("keeps nothing when the expected sha256 does not match", async () => {
    await expect(store.put(Buffer.from("abc"), { expectedSha256: sha("abd") })).rejects.toBeInstanceOf(
      ValidationError,
    );
    expect(await store.has(sha("abc"))).toBe(false);
    expect(await store.has(sha("abd"))).toBe(false);
    expect(await leftovers()).toEqual([]);
  });

  it("keeps nothing when the upload exceeds maxBytes or the stream fails", async () => {
    await expect(store.put(Buffer.alloc(11), { maxBytes: 10 })).rejects.toBeInstanceOf(ValidationError);
    const failing = new Readable({
      read() {
        this.push(Buffer.from("partial"));
        this.destroy(new Error("client went away"));
      },
    });
    await expect(store.put(failing)).rejects.toThrow("client went away");
    expect(await store.has(sha("partial"))).toBe(false);
    expect(await leftovers()).toEqual([]);
  });

  it("serves inclusive byte ranges and refuses ranges outside the blob", async () => {
    const { sha256 } = await store.put(Buffer.from("0123456789"));
    expect(await text(await store.createReadStream(sha256, { start: 2, end: 4 }))).toBe("234");
    expect(await text(await store.createReadStream(sha256, { start: 7 }))).toBe("789");
    expect(await text(await store.createReadStream(sha256))).toBe("0123456789");
    for (const range of [{ start: 10 }, { start: 5, end: 4 }, { end: 10 }, { start: -1 }, { start: 1.5 }]) {
      await expect(store.createReadStream(sha256, range)).rejects.toBeInstanceOf(ValidationError);
    }
  });

  it("answers missing blobs with null, false or NotFoundError", async () => {
    const missing = sha("missing");
    expect(await store.has(missing)).toBe(false);
    expect(await store.stat(missing)).toBeNull();
    await expect(store.read(missing)).rejects.toBeInstanceOf(NotFoundError);
    await expect(store.createReadStream(missing)).rejects.toBeInstanceOf(NotFoundError);
  });

  it("refuses anything but a lowercase sha256 as a blob id (no path injection)", async () => {
    await writeFile(join(dataDir, "secret.txt"), "do not serve");
    const bad = [
      "../../secret.txt",
      "..",
      "",
      sha("x").toUpperCase(),
      `${sha("x")}/..`,
      `${sha("x").slice(0, 63)}g`,
    ];
    for (const id of bad) {
      expect(() => store.path(id)).toThrow(ValidationError);
      await expect(store.has(id)).rejects.toBeInstanceOf(ValidationError);
      await expect(store.stat(id)).rejects.toBeInstanceOf(ValidationError);
      await expect(store.read(id)).rejects.toBeInstanceOf(ValidationError);
      await expect(store.createReadStream(id)).rejects.toBeInstanceOf(ValidationError);
    }
    await expect(store.put(Buffer.from("x"), { expectedSha256: "../x" })).rejects.toBeInstanceOf(
      ValidationError,
    );
  });
});
