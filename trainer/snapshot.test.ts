import { chmod, mkdir, mkdtemp, readdir, readFile, rm, stat, symlink, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { gzipSync } from "node:zlib";
import { Header } from "tar";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { ScriptError } from "./errors.js";
import { createSnapshot, snapshotFiles, unpackSnapshot } from "./snapshot.js";

let dir: string;
beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), "edgefleet-snapshot-"));
});
afterEach(async () => {
  await rm(dir, { recursive: true, force: true });
});

async function project(root: string): Promise<void> {
  await mkdir(join(root, "src", "deep"), { recursive: true });
  await mkdir(join(root, "node_modules", "x"), { recursive: true });
  await mkdir(join(root, ".git"), { recursive: true });
  await mkdir(join(root, "src", "__pycache__"), { recursive: true });
  await writeFile(join(root, "train.py"), "print('hi')\n");
  await writeFile(join(root, "run.sh"), "#!/bin/sh\necho run\n");
  await chmod(join(root, "run.sh"), 0o755);
  await writeFile(join(root, "src", "deep", `${"long-name-".repeat(12)}.txt`), "long path\n");
  await writeFile(join(root, "node_modules", "x", "index.js"), "skip");
  await writeFile(join(root, ".git", "HEAD"), "skip");
  await writeFile(join(root, "src", "__pycache__", "a.pyc"), "skip");
}

/** A tar.gz with one hand-written entry (what a hostile client could upload). */
function tarWith(path: string, type: "File" | "SymbolicLink", body = "x", linkpath?: string): Buffer {
  const data = Buffer.from(type === "File" ? body : "");
  const header = Buffer.alloc(512);
  new Header({
    path,
    type,
    size: data.length,
    mode: 0o644,
    mtime: new Date(0),
    ...(linkpath ? { linkpath } : {}),
  }).encode(header, 0);
  const padding = Buffer.alloc((512 - (data.length % 512)) % 512);
  return gzipSync(Buffer.concat([header, data, padding, Buffer.alloc(1024)]));
}

describe("snapshots", () => {
  it("hold the folder's files sorted, without dependencies, VCS data or bytecode caches", async () => {
    await project(dir);
    expect(await snapshotFiles(dir)).toEqual([
      "run.sh",
      `src/deep/${"long-name-".repeat(12)}.txt`,
      "train.py",
    ]);
  });

  it("are byte-for-byte reproducible and round-trip with executable bits", async () => {
    await project(dir);
    const first = await createSnapshot(dir);
    const copy = join(dir, "..", `${dir.split("/").pop()}-copy`);
    await project(copy);
    try {
      expect((await createSnapshot(copy)).equals(first)).toBe(true);
      const out = join(dir, "out");
      await unpackSnapshot(await createSnapshot(copy), out);
      expect((await readdir(out)).sort()).toEqual(["run.sh", "src", "train.py"]);
      expect(await readFile(join(out, "src", "deep", `${"long-name-".repeat(12)}.txt`), "utf8")).toBe(
        "long path\n",
      );
      expect((await stat(join(out, "run.sh"))).mode & 0o111).not.toBe(0);
      expect((await stat(join(out, "train.py"))).mode & 0o111).toBe(0);
    } finally {
      await rm(copy, { recursive: true, force: true });
    }
  });

  it("refuse a folder with a symbolic link", async () => {
    await writeFile(join(dir, "a.txt"), "a");
    await symlink("/etc/passwd", join(dir, "link"));
    await expect(createSnapshot(dir)).rejects.toThrow("link is a symbolic link");
  });

  it.each([["../escape.txt"], ["a/../../escape.txt"], ["/etc/escape.txt"]])(
    "refuse to unpack %s and write nothing outside",
    async (path) => {
      const out = join(dir, "nested", "out");
      const error = await unpackSnapshot(tarWith(path, "File"), out).catch((e: unknown) => e);
      expect(error).toBeInstanceOf(ScriptError);
      expect((error as ScriptError).code).toBe("bad_snapshot");
      expect((error as Error).message).toContain("points outside the snapshot folder");
      expect(await readdir(join(dir, "nested"))).toEqual(["out"]);
      expect(await readdir(out)).toEqual([]);
    },
  );

  it("refuse links inside the archive", async () => {
    const error = await unpackSnapshot(
      tarWith("link", "SymbolicLink", "", "/etc/passwd"),
      join(dir, "out"),
    ).catch((e: unknown) => e);
    expect((error as ScriptError).code).toBe("bad_snapshot");
    expect((error as Error).message).toContain("is a SymbolicLink; only files and folders are allowed");
  });

  it("refuse bytes that are not a tar.gz", async () => {
    const error = await unpackSnapshot(Buffer.from("not gzip"), join(dir, "out")).catch((e: unknown) => e);
    expect((error as ScriptError).code).toBe("bad_snapshot");
  });
});
