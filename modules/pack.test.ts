import { mkdtemp, readdir, readFile, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { gzipSync } from "node:zlib";
import { Header, Parser, type ReadEntry } from "tar";
import { afterAll, beforeEach, describe, expect, it } from "vitest";
import { sha256Hex } from "../lib/files.js";
import { InvalidManifestError, ModuleVerificationError, type VerificationFailure } from "./errors.js";
import type { Manifest } from "./manifest.js";
import { InvalidModelError } from "./onnx/inspect.js";
import { buildMlpClassifier } from "./onnx/models.js";
import {
  manifestBytes,
  type PackManifestInput,
  packModule,
  readManifestFromTarball,
  unpackModule,
} from "./pack.js";
import { generateSigningKeyPair, signBytes, verifyBytes } from "./sign.js";
import { FIXED_MTIME, writeTarGz } from "./tar-writer.js";

const keys = generateSigningKeyPair();
const otherKeys = generateSigningKeyPair();
const model = buildMlpClassifier({ inputSize: 3, hiddenSizes: [4], classes: 2, seed: 11 });
const baseManifest: PackManifestInput = {
  name: "demo",
  version: "1.0.0",
  model: { file: "model.onnx" },
  preprocessing: {
    kind: "tabular",
    input: "features",
    features: [{ name: "a" }, { name: "b" }, { name: "c" }],
  },
  postprocessing: { kind: "softmax", output: "logits", labels: ["no", "yes"] },
  createdAt: "2026-01-01T00:00:00.000Z",
};
const pack = (manifest: PackManifestInput = baseManifest, modelBytes: Uint8Array = model.bytes) =>
  packModule({ manifest, modelBytes, privateKeyPem: keys.privateKeyPem });

const root = await mkdtemp(join(tmpdir(), "edgefleet-pack-"));
let parent: string;
let dest: string;
beforeEach(async () => {
  parent = await mkdtemp(join(root, "case-"));
  dest = join(parent, "demo-1.0.0");
});
afterAll(() => rm(root, { recursive: true, force: true }));

interface RawEntry {
  path: string;
  data?: Uint8Array | string;
  type?: "File" | "SymbolicLink" | "Link" | "Directory";
  linkpath?: string;
}

/** A tar.gz with arbitrary headers, for crafting hostile archives the real writer never makes. */
function rawTarGz(entries: RawEntry[]): Buffer {
  const parts: Buffer[] = [];
  for (const entry of entries) {
    const data = Buffer.from(entry.data ?? "");
    const header = new Header({
      path: entry.path,
      mode: 0o644,
      size: data.length,
      mtime: FIXED_MTIME,
      type: entry.type ?? "File",
      linkpath: entry.linkpath,
    });
    const block = Buffer.alloc(512);
    header.encode(block, 0);
    parts.push(block, data, Buffer.alloc((512 - (data.length % 512)) % 512));
  }
  parts.push(Buffer.alloc(1024));
  return gzipSync(Buffer.concat(parts));
}

/** The three parts of a correctly packed module, to recombine in tests. */
async function parts() {
  const packed = await pack();
  const json = manifestBytes(packed.manifest);
  const sig = `${signBytes(json, keys.privateKeyPem)}\n`;
  return { packed, json, sig };
}

async function expectRefused(tarball: Buffer | string, reason: VerificationFailure, message?: RegExp) {
  let caught: unknown;
  try {
    await unpackModule({ tarball, destDir: dest, publicKeyPem: keys.publicKeyPem });
  } catch (error) {
    caught = error;
  }
  expect(caught).toBeInstanceOf(ModuleVerificationError);
  expect((caught as ModuleVerificationError).reason).toBe(reason);
  if (message) expect((caught as Error).message).toMatch(message);
  // Nothing left behind: no destination, no temp folder.
  expect(await readdir(parent)).toEqual([]);
}

describe("packModule", () => {
  it("fills hash, size, versions and tensors from the model and signs module.json", async () => {
    const packed = await pack();
    const m = packed.manifest;
    expect(m.model).toEqual({
      file: "model.onnx",
      sha256: sha256Hex(model.bytes),
      size: model.bytes.byteLength,
      irVersion: 8,
      opset: 17,
    });
    expect(m.inputs).toEqual([{ name: "features", datatype: "FP32", shape: [-1, 3] }]);
    expect(m.outputs).toEqual([{ name: "logits", datatype: "FP32", shape: [-1, 2] }]);
    expect(m.runtime.intraOpNumThreads).toBe(1);
    expect(packed.sha256).toBe(sha256Hex(packed.tarball));
    expect(packed.size).toBe(packed.tarball.byteLength);
  });

  it("is reproducible: the same input gives the same tarball bytes", async () => {
    const [a, b] = await Promise.all([pack(), pack()]);
    expect(a.sha256).toBe(b.sha256);
  });

  it("accepts a full ManifestInput whose derived fields agree", async () => {
    const first = await pack();
    const again = await packModule({
      manifest: first.manifest,
      modelBytes: model.bytes,
      privateKeyPem: keys.privateKeyPem,
    });
    expect(again.sha256).toBe(first.sha256);
  });

  it("refuses a given sha256 or size that does not match the model", async () => {
    await expect(
      pack({ ...baseManifest, model: { file: "model.onnx", sha256: "0".repeat(64) } }),
    ).rejects.toThrow(/model.sha256 is 0+ but the model file has/);
    await expect(pack({ ...baseManifest, model: { file: "model.onnx", size: 5 } })).rejects.toThrow(
      InvalidManifestError,
    );
  });

  it("refuses manifests that contradict the model or the schema", async () => {
    const cases: [PackManifestInput, RegExp][] = [
      [
        {
          ...baseManifest,
          inputs: [{ name: "pixels", datatype: "FP32", shape: [-1, 3] }],
          preprocessing: undefined,
        },
        /input "pixels" is not a model input/,
      ],
      [
        { ...baseManifest, inputs: [{ name: "features", datatype: "INT64", shape: [-1, 3] }] },
        /INT64 in the manifest/,
      ],
      [{ ...baseManifest, inputs: [{ name: "features", datatype: "FP32", shape: [-1, 4] }] }, /shape/],
      [
        { ...baseManifest, postprocessing: { kind: "argmax", output: "logits", labels: ["a", "b", "c"] } },
        /3 labels/,
      ],
      [
        { ...baseManifest, preprocessing: { kind: "tabular", input: "features", features: [{ name: "a" }] } },
        /\[batch, 1\]/,
      ],
      [{ ...baseManifest, name: "Not A Name" }, /name:/],
      [{ ...baseManifest, version: "1.0" }, /version:/],
      [{ ...baseManifest, model: { file: "../model.onnx" } }, /model.file/],
      [{ ...baseManifest, postprocessing: { kind: "softmax", output: "scores" } }, /not a model output/],
    ];
    for (const [manifest, message] of cases) {
      await expect(pack(manifest)).rejects.toThrow(message);
      await expect(pack(manifest)).rejects.toBeInstanceOf(InvalidManifestError);
    }
  });

  it("refuses bytes that are not an ONNX model", async () => {
    await expect(pack(baseManifest, new TextEncoder().encode("hello"))).rejects.toBeInstanceOf(
      InvalidModelError,
    );
  });
});

describe("unpackModule", () => {
  it("extracts exactly the three files, verified, into a new folder", async () => {
    const packed = await pack();
    const manifest = await unpackModule({
      tarball: packed.tarball,
      destDir: dest,
      publicKeyPem: keys.publicKeyPem,
    });
    expect(manifest).toEqual(packed.manifest);
    expect((await readdir(dest)).sort()).toEqual(["model.onnx", "module.json", "module.sig"]);
    const json = await readFile(join(dest, "module.json"));
    const sig = await readFile(join(dest, "module.sig"), "utf8");
    expect(verifyBytes(json, sig, keys.publicKeyPem)).toBe(true);
    expect(JSON.parse(json.toString("utf8")) as Manifest).toEqual(packed.manifest);
    expect(Buffer.from(await readFile(join(dest, "model.onnx"))).equals(Buffer.from(model.bytes))).toBe(true);
    expect(await readdir(parent)).toEqual(["demo-1.0.0"]);
  });

  it("reads a tarball from a path, and refuses to overwrite an existing folder", async () => {
    const packed = await pack();
    const file = join(root, "module.tar.gz");
    await writeFile(file, packed.tarball);
    await unpackModule({ tarball: file, destDir: dest, publicKeyPem: keys.publicKeyPem });
    await expect(
      unpackModule({ tarball: file, destDir: dest, publicKeyPem: keys.publicKeyPem }),
    ).rejects.toThrow(/already exists/);
    expect((await readdir(dest)).length).toBe(3);
  });

  it("writes plain files in a fixed order with fixed metadata, readable by tar", async () => {
    const { packed } = await parts();
    const seen: { path: string; mode?: number; uid?: number; mtime?: Date; type: string }[] = [];
    const lister = new Parser({ strict: true });
    lister.on("entry", (entry: ReadEntry) => {
      seen.push({ path: entry.path, mode: entry.mode, uid: entry.uid, mtime: entry.mtime, type: entry.type });
      entry.resume();
    });
    await new Promise<void>((resolve, reject) => {
      lister.on("end", resolve);
      lister.on("error", reject);
      lister.end(packed.tarball);
    });
    expect(seen.map((e) => e.path)).toEqual(["module.json", "module.sig", "model.onnx"]);
    for (const entry of seen) {
      expect(entry).toMatchObject({ type: "File", mode: 0o644, uid: 0, mtime: FIXED_MTIME });
    }
  });

  it("streams a multi-megabyte model through extraction", async () => {
    const big = buildMlpClassifier({ inputSize: 256, hiddenSizes: [4096], classes: 4, seed: 2 });
    expect(big.bytes.byteLength).toBeGreaterThan(4_000_000);
    const packed = await pack(
      { ...baseManifest, preprocessing: undefined, postprocessing: undefined },
      big.bytes,
    );
    const file = join(root, "big.tar.gz");
    await writeFile(file, packed.tarball);
    await unpackModule({ tarball: file, destDir: dest, publicKeyPem: keys.publicKeyPem });
    expect(sha256Hex(await readFile(join(dest, "model.onnx")))).toBe(sha256Hex(big.bytes));
  });

  it("refuses a flipped byte in the model (hash)", async () => {
    const { json, sig } = await parts();
    const tampered = Buffer.from(model.bytes);
    tampered[tampered.length - 10]! ^= 0xff;
    const tarball = writeTarGz([
      { name: "module.json", data: json },
      { name: "module.sig", data: Buffer.from(sig) },
      { name: "model.onnx", data: tampered },
    ]);
    await expectRefused(tarball, "hash", /sha256/);
  });

  it("refuses an edited module.json (signature)", async () => {
    const { json, sig } = await parts();
    const edited = Buffer.from(json.toString().replace('"1.0.0"', '"1.0.1"'));
    const tarball = writeTarGz([
      { name: "module.json", data: edited },
      { name: "module.sig", data: Buffer.from(sig) },
      { name: "model.onnx", data: model.bytes },
    ]);
    await expectRefused(tarball, "signature", /not signed by the trusted key/);
  });

  it("refuses a module signed by another key (signature)", async () => {
    const packed = await packModule({
      manifest: baseManifest,
      modelBytes: model.bytes,
      privateKeyPem: otherKeys.privateKeyPem,
    });
    await expectRefused(packed.tarball, "signature");
  });

  it("refuses a module without module.sig (signature)", async () => {
    const { json } = await parts();
    const tarball = writeTarGz([
      { name: "module.json", data: json },
      { name: "model.onnx", data: model.bytes },
    ]);
    await expectRefused(tarball, "signature", /no module.sig/);
  });

  it("refuses a correctly signed manifest whose model size is wrong (hash)", async () => {
    const { packed } = await parts();
    const lying = {
      ...packed.manifest,
      model: { ...packed.manifest.model, size: packed.manifest.model.size + 1 },
    };
    const json = manifestBytes(lying);
    const tarball = writeTarGz([
      { name: "module.json", data: json },
      { name: "module.sig", data: Buffer.from(signBytes(json, keys.privateKeyPem)) },
      { name: "model.onnx", data: model.bytes },
    ]);
    await expectRefused(tarball, "hash", /bytes, manifest says/);
  });

  it("refuses a signed manifest that breaks the schema, or names another model file (format)", async () => {
    const bad = Buffer.from(JSON.stringify({ name: "x" }));
    await expectRefused(
      writeTarGz([
        { name: "module.json", data: bad },
        { name: "module.sig", data: Buffer.from(signBytes(bad, keys.privateKeyPem)) },
        { name: "model.onnx", data: model.bytes },
      ]),
      "format",
      /not a valid manifest/,
    );
    const { json, sig } = await parts();
    await expectRefused(
      writeTarGz([
        { name: "module.json", data: json },
        { name: "module.sig", data: Buffer.from(sig) },
        { name: "other.onnx", data: model.bytes },
      ]),
      "format",
      /manifest names "model.onnx"/,
    );
  });

  it("refuses hostile or unexpected entries (format)", async () => {
    const { json, sig } = await parts();
    const good: RawEntry[] = [
      { path: "module.json", data: json },
      { path: "module.sig", data: sig },
      { path: "model.onnx", data: model.bytes },
    ];
    const hostile: [RawEntry[], RegExp][] = [
      [[...good, { path: "notes.txt", data: "hi" }], /unexpected entry "notes.txt"/],
      [
        [...good, { path: "second.onnx", data: model.bytes }],
        /model file is "second.onnx" but the manifest names "model.onnx"/,
      ],
      [[...good.slice(0, 2), { path: "../model.onnx", data: model.bytes }], /unexpected entry/],
      [[...good.slice(0, 2), { path: "/tmp/model.onnx", data: model.bytes }], /unexpected entry/],
      [
        [...good.slice(0, 2), { path: "model.onnx", type: "SymbolicLink", linkpath: "/etc/passwd" }],
        /not a plain file/,
      ],
      [
        [...good.slice(0, 2), { path: "model.onnx", type: "Link", linkpath: "module.json" }],
        /not a plain file/,
      ],
      [[{ path: "sub", type: "Directory" }, ...good], /unexpected entry "sub"/],
      [[...good, { path: "module.json", data: json }], /appears twice/],
      [[...good.slice(1)], /no module.json/],
      [[...good.slice(0, 2)], /no model file/],
    ];
    for (const [entries, message] of hostile) {
      await expectRefused(rawTarGz(entries), "format", message);
    }
    // The same entries in the good order pass, so each failure above is due to its one change.
    await unpackModule({ tarball: rawTarGz(good), destDir: dest, publicKeyPem: keys.publicKeyPem });
  });

  it("refuses truncated, non-gzip and empty input (format)", async () => {
    const { packed } = await parts();
    for (const cut of [10, Math.floor(packed.size / 2), packed.size - 5]) {
      await expectRefused(packed.tarball.subarray(0, cut), "format");
    }
    await expectRefused(Buffer.from("just some text, not a tarball"), "format", /not gzip/);
    await expectRefused(Buffer.alloc(0), "format");
    await expectRefused(gzipSync(Buffer.from("gzip but not tar")), "format");
  });

  it("refuses oversized models and gzip bombs (format)", async () => {
    const { packed } = await parts();
    const small = { destDir: dest, publicKeyPem: keys.publicKeyPem, maxModelBytes: 64 };
    await expect(unpackModule({ ...small, tarball: packed.tarball })).rejects.toThrow(/larger than 64 bytes/);
    const { json, sig } = await parts();
    const bomb = gzipSync(
      Buffer.concat([
        Buffer.from(
          await import("node:zlib").then((z) =>
            z.gunzipSync(
              writeTarGz([
                { name: "module.json", data: json },
                { name: "module.sig", data: Buffer.from(sig) },
              ]),
            ),
          ),
        ),
        Buffer.alloc(8 * 1024 * 1024),
      ]),
    );
    await expect(unpackModule({ ...small, tarball: bomb })).rejects.toThrow(/when decompressed/);
    expect(await readdir(parent)).toEqual([]);
  });
});

describe("unpackModule writes no model byte before the manifest is trusted (issue 12, defect 6)", () => {
  /** A 32 MiB model of zeros: gzip makes it ~32 KB, as a bomb would be. */
  const huge = Buffer.alloc(32 * 1024 * 1024);

  async function writtenBy(tarball: Buffer): Promise<{ error: unknown; written: number }> {
    let written = 0;
    const error = await unpackModule({
      tarball,
      destDir: dest,
      publicKeyPem: keys.publicKeyPem,
      onModelBytes: (_file, bytes) => {
        written = bytes;
      },
    }).then(
      () => undefined,
      (caught: unknown) => caught,
    );
    return { error, written };
  }

  it("reports model bytes for a good module, so the checks below can see writes", async () => {
    const packed = await pack();
    const { error, written } = await writtenBy(packed.tarball);
    expect(error).toBeUndefined();
    expect(written).toBe(model.bytes.byteLength);
  });

  it("refuses a module.json signed by another key before the model streams", async () => {
    const { packed } = await parts();
    const lying = { ...packed.manifest, model: { ...packed.manifest.model, size: huge.length } };
    const json = manifestBytes(lying);
    const tarball = writeTarGz([
      { name: "module.json", data: json },
      { name: "module.sig", data: Buffer.from(signBytes(json, otherKeys.privateKeyPem)) },
      { name: "model.onnx", data: huge },
    ]);
    const { error, written } = await writtenBy(tarball);
    expect(error).toMatchObject({ reason: "signature" });
    expect(written).toBe(0);
    expect(await readdir(parent)).toEqual([]);
  });

  it("refuses a model that comes before module.json, or whose tar size differs from the manifest", async () => {
    const { json, sig } = await parts();
    const first = await writtenBy(
      rawTarGz([
        { path: "model.onnx", data: huge },
        { path: "module.json", data: json },
        { path: "module.sig", data: sig },
      ]),
    );
    expect(first.error).toMatchObject({
      reason: "format",
      message: expect.stringMatching(/before its model/),
    });
    expect(first.written).toBe(0);
    const oversized = await writtenBy(
      rawTarGz([
        { path: "module.json", data: json },
        { path: "module.sig", data: sig },
        { path: "model.onnx", data: huge },
      ]),
    );
    expect(oversized.error).toMatchObject({
      reason: "hash",
      message: expect.stringMatching(/manifest says/),
    });
    expect(oversized.written).toBe(0);
    expect(await readdir(parent)).toEqual([]);
  });
});

describe("readManifestFromTarball", () => {
  it("checks structure and hash, and the signature when given a key", async () => {
    const packed = await pack();
    expect(await readManifestFromTarball({ tarball: packed.tarball })).toEqual(packed.manifest);
    expect(
      await readManifestFromTarball({ tarball: packed.tarball, publicKeyPem: keys.publicKeyPem }),
    ).toEqual(packed.manifest);
    await expect(
      readManifestFromTarball({ tarball: packed.tarball, publicKeyPem: otherKeys.publicKeyPem }),
    ).rejects.toMatchObject({ reason: "signature" });
    await expect(readManifestFromTarball({ tarball: Buffer.from("nope") })).rejects.toMatchObject({
      reason: "format",
    });
    // A file that cannot be read is an I/O problem, not a bad module: the error passes through.
    await expect(readManifestFromTarball({ tarball: join(root, "missing.tar.gz") })).rejects.toMatchObject({
      code: "ENOENT",
    });
  });
});
