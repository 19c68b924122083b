/**
 * Node single-executable steps: the preparation blob (`node --experimental-sea-config`), a copy of
 * this Node binary with the blob injected (postject), the native files beside it, and the archive.
 */
import { execFile } from "node:child_process";
import { existsSync } from "node:fs";
import { chmod, copyFile, cp, mkdir, readdir, readFile, rm, writeFile } from "node:fs/promises";
import { createRequire } from "node:module";
import { join } from "node:path";
import { promisify } from "node:util";
import * as tar from "tar";

const run = promisify(execFile);

/** The fuse Node checks to know a blob was injected (documented in Node's single-executable docs). */
const SEA_FUSE = "NODE_SEA_FUSE_fce680ab2cc467b6e072b8b5df1996b2";

/** Packages a sharp install needs at run time (the addon, libvips, and sharp's JS dependencies). */
function sharpPackages(platform: string, arch: string): string[] {
  return [
    "sharp",
    "detect-libc",
    "semver",
    "@img/colour",
    `@img/sharp-${platform}-${arch}`,
    `@img/sharp-libvips-${platform}-${arch}`,
  ];
}

/** Writes `edgefleet-agent` into `outDir`: this Node binary with the bundled agent injected. */
export async function makeExecutable(outDir: string, agentSource: string): Promise<string> {
  const work = join(outDir, ".sea");
  await mkdir(work, { recursive: true });
  const main = join(work, "agent.cjs");
  const blob = join(work, "agent.blob");
  await writeFile(main, agentSource);
  await writeFile(
    join(work, "sea-config.json"),
    JSON.stringify({ main, output: blob, disableExperimentalSEAWarning: true, useCodeCache: true }),
  );
  await run(process.execPath, ["--experimental-sea-config", join(work, "sea-config.json")]);
  const exe = join(outDir, "edgefleet-agent");
  await rm(exe, { force: true });
  await copyFile(process.execPath, exe);
  await chmod(exe, 0o755);
  const require = createRequire(import.meta.url);
  const postject = require("postject") as {
    inject(file: string, name: string, data: Buffer, options: { sentinelFuse: string }): Promise<void>;
  };
  await postject.inject(exe, "NODE_SEA_BLOB", await readFile(blob), { sentinelFuse: SEA_FUSE });
  await rm(work, { recursive: true, force: true });
  return exe;
}

/** Copies onnxruntime-node's addon and library (and sharp's packages when used) beside the executable. */
export async function copyNativeFiles(root: string, outDir: string, usesSharp: boolean): Promise<void> {
  const { platform, arch } = process;
  const ortDir = join(root, "node_modules", "onnxruntime-node", "bin", "napi-v6", platform, arch);
  for (const file of ["onnxruntime_binding.node", ...(await sharedLibraries(ortDir))]) {
    await copyFile(join(ortDir, file), join(outDir, file));
  }
  if (!usesSharp) return;
  for (const name of sharpPackages(platform, arch)) {
    const packageDir = join(root, "node_modules", name);
    if (!existsSync(packageDir))
      throw new Error(`${packageDir} is missing: sharp is not installed for ${platform}-${arch}`);
    await cp(packageDir, join(outDir, "node_modules", name), {
      recursive: true,
      // Sources, build scripts and type declarations are not needed to run.
      filter: (source) => !/[\\/](src|install|docs)$/.test(source) && !/\.d\.[cm]?ts$/.test(source),
    });
  }
}

async function sharedLibraries(dir: string): Promise<string[]> {
  return (await readdir(dir)).filter((file) => /\.(so(\.\d+)*|dylib|dll)$/.test(file));
}

/** Writes `file` (.tar.gz) holding the folder's files under the top-level folder `name`. */
export async function archiveFolder(folder: string, name: string, file: string): Promise<void> {
  const prefix = `${name}/`;
  await tar.create({ gzip: true, file, cwd: folder, portable: true, prefix }, await readdir(folder));
}
