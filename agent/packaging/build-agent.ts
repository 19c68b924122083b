/**
 * `npm run build:agent -- --profile <id> [--out DIR] [--force]`: builds the single-executable agent
 * for THIS machine's platform into `<out>/agent-<profile>-<platform>-<arch>/` plus a `.tar.gz` of
 * that folder. A profile for another arch or OS is refused (no cross builds: the executable is a
 * copy of the running Node binary). An unchanged bundle, Node binary and profile reuse the last
 * build (key in `build-key`).
 */
import { createHash } from "node:crypto";
import { existsSync } from "node:fs";
import { cp, readdir, readFile, rename, rm, stat, writeFile } from "node:fs/promises";
import { basename, join, relative } from "node:path";
import { type FirmwareProfile, getProfile } from "../../firmware-profiles/index.js";
import { sha256File } from "../../lib/files.js";
import { projectRoot, readPackageVersion } from "../../lib/paths.js";
import { bundleAgent } from "./bundle.js";
import { archiveFolder, copyNativeFiles, makeExecutable } from "./sea.js";

export interface BuildAgentOptions {
  profile: string;
  /** Folder the build goes in (default `<project>/build`). */
  outDir?: string;
  /** Rebuild even when the key matches. */
  force?: boolean;
  log?: (line: string) => void;
}

export interface BuiltAgent {
  folder: string;
  executable: string;
  archive: string;
  /** True when the previous build was reused. */
  cached: boolean;
  files: Array<{ path: string; bytes: number }>;
  archiveBytes: number;
}

/** Refuses a profile this machine cannot build for; the message names both sides. */
export function checkProfilePlatform(
  profile: FirmwareProfile,
  platform = process.platform,
  arch = process.arch,
): void {
  if (profile.os !== platform || profile.arch !== arch) {
    throw new Error(
      `profile "${profile.id}" is for ${profile.os}-${profile.arch}, but this machine is ${platform}-${arch}: ` +
        `the single executable is a copy of the running Node binary, so build it on a ${profile.os}-${profile.arch} machine`,
    );
  }
}

/** Builds (or reuses) the single-executable agent for a profile. */
export async function buildAgent(options: BuildAgentOptions): Promise<BuiltAgent> {
  const log = options.log ?? (() => {});
  const root = projectRoot();
  const profile = getProfile(options.profile);
  checkProfilePlatform(profile);
  const version = readPackageVersion();
  const folder = join(
    options.outDir ?? join(root, "build"),
    `agent-${profile.id}-${process.platform}-${process.arch}`,
  );
  const executable = join(folder, "edgefleet-agent");
  const archive = `${folder}.tar.gz`;

  const bundle = await bundleAgent(root, version);
  for (const warning of bundle.warnings) log(warning);
  const key = createHash("sha256")
    .update(JSON.stringify({ version, node: process.version, execPath: process.execPath, profile }))
    .update(String((await stat(process.execPath)).size))
    .update(bundle.agent)
    .update(bundle.worker ?? "")
    .update(String(bundle.usesSharp))
    .digest("hex");
  const keyFile = join(folder, "build-key");
  if (!options.force && existsSync(archive) && (await readFile(keyFile, "utf8").catch(() => "")) === key) {
    log(`up to date: ${relative(root, folder)} (build-key matches)`);
    return {
      folder,
      executable,
      archive,
      cached: true,
      files: await listFiles(folder),
      archiveBytes: (await stat(archive)).size,
    };
  }

  // Built in a staging folder and moved into place, so two builds at once (parallel test runs)
  // never see each other's half-written files.
  const staging = `${folder}.${process.pid}.tmp`;
  await rm(staging, { recursive: true, force: true });
  log(
    `bundling the agent (${(bundle.agent.length / 1024).toFixed(0)} KiB)${bundle.usesSharp ? " with sharp" : ""}`,
  );
  await makeExecutable(staging, bundle.agent);
  if (bundle.worker !== undefined) await writeFile(join(staging, "inference-worker.cjs"), bundle.worker);
  await copyNativeFiles(root, staging, bundle.usesSharp);
  await writeFile(join(staging, "profile.json"), `${JSON.stringify(profile, null, 2)}\n`);
  // Every profile, where firmware-profiles looks for them (next to the running file).
  await cp(join(root, "firmware-profiles", "profiles"), join(staging, "profiles"), { recursive: true });
  const files = await listFiles(staging);
  const manifest = {
    name: "edgefleet-agent",
    version,
    profile: profile.id,
    platform: process.platform,
    arch: process.arch,
    node: process.version,
    run: "./edgefleet-agent --hub URL --mqtt URL --device ID (secret in EDGEFLEET_DEVICE_SECRET)",
    files: await Promise.all(
      files.map(async (file) => ({ ...file, sha256: await sha256File(join(staging, file.path)) })),
    ),
  };
  await writeFile(join(staging, "build-manifest.json"), `${JSON.stringify(manifest, null, 2)}\n`);
  log("archiving");
  const stagedArchive = `${archive}.${process.pid}.tmp`;
  await archiveFolder(staging, basename(folder), stagedArchive);
  await rm(folder, { recursive: true, force: true });
  await rename(staging, folder);
  await rename(stagedArchive, archive);
  // The key goes in last: an interrupted build is never mistaken for a finished one.
  await writeFile(keyFile, key);
  return {
    folder,
    executable,
    archive,
    cached: false,
    files: await listFiles(folder),
    archiveBytes: (await stat(archive)).size,
  };
}

async function listFiles(folder: string): Promise<Array<{ path: string; bytes: number }>> {
  const entries = await readdir(folder, { recursive: true, withFileTypes: true });
  const files: Array<{ path: string; bytes: number }> = [];
  for (const entry of entries) {
    if (!entry.isFile() || entry.name === "build-key") continue;
    const path = join(entry.parentPath, entry.name);
    files.push({ path: relative(folder, path), bytes: (await stat(path)).size });
  }
  return files.sort((a, b) => a.path.localeCompare(b.path));
}
