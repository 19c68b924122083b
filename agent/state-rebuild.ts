/**
 * With no readable `state.json` (deleted, lost with a damaged disk, moved aside as corrupt) the agent
 * rebuilds what it serves from the modules on disk instead of treating them as undesired and
 * deleting them, so a device whose hub is unreachable keeps serving through the loss.
 *
 * Only folders that are whole and still signed are taken: `modules/<name>/<version>/module.json`
 * whose `module.sig` verifies with the trust key (configured or pinned; never fetched here, the hub
 * may be down), and whose manifest names that module and version. Per module the highest version
 * becomes active and the next one previous; boot then checks each model's sha256 before loading
 * and falls back to the previous version as it always does. The tarball sha256 is not known any
 * more (recorded as ""): the planner compares versions, which are immutable in the registry.
 * Known limit: after a downgrade deployment the higher version kept for rollback serves until the
 * hub's desired state arrives and moves the device back.
 */
import { readFile } from "node:fs/promises";
import { join } from "node:path";
import semver from "semver";
import type { Logger } from "../lib/log.js";
import { MANIFEST_FILE, parseManifest, SIGNATURE_FILE } from "../modules/manifest.js";
import { verifyBytes } from "../modules/sign.js";
import type { StoredModule } from "./state-store.js";

export interface RebuildOptions {
  /** The data folder (`modules/` inside it). */
  dataDir: string;
  /** Unpacked versions on disk (StateStore.listUnpacked). */
  unpacked: Array<{ name: string; version: string }>;
  /** The trusted signing key, when one is configured or pinned; without it nothing is rebuilt. */
  publicKeyPem: string | undefined;
  log: Logger;
}

/** The module table rebuilt from signed module folders on disk (empty when none verify). */
export async function rebuildModulesFromDisk(options: RebuildOptions): Promise<Record<string, StoredModule>> {
  const { dataDir, publicKeyPem, log } = options;
  if (options.unpacked.length === 0) return {};
  if (publicKeyPem === undefined) {
    log.error({ event: "state.rebuild_skipped", reason: "no configured or pinned trust key" });
    return {};
  }
  const verified = new Map<string, string[]>();
  for (const { name, version } of options.unpacked) {
    const problem = await checkFolder(join(dataDir, "modules", name, version), name, version, publicKeyPem);
    if (problem !== null) {
      log.warn({ event: "state.rebuild_rejected", module: name, version, reason: problem });
      continue;
    }
    verified.set(name, [...(verified.get(name) ?? []), version]);
  }
  const modules: Record<string, StoredModule> = {};
  for (const [name, versions] of verified) {
    const [active, previous] = versions.sort(semver.rcompare);
    modules[name] = {
      active: { version: active!, sha256: "" },
      previous: previous === undefined ? null : { version: previous, sha256: "" },
    };
  }
  log.warn({
    event: "state.rebuilt",
    modules: Object.entries(modules).map(([name, m]) => `${name}@${m.active.version}`),
  });
  return modules;
}

/** Why the folder cannot be trusted to serve `name@version`, or null. */
async function checkFolder(
  dir: string,
  name: string,
  version: string,
  publicKeyPem: string,
): Promise<string | null> {
  try {
    const manifestBytes = await readFile(join(dir, MANIFEST_FILE));
    const signature = await readFile(join(dir, SIGNATURE_FILE), "utf8");
    if (!verifyBytes(manifestBytes, signature, publicKeyPem)) return "signature does not verify";
    const manifest = parseManifest(JSON.parse(manifestBytes.toString("utf8")));
    if (manifest.name !== name || manifest.version !== version) {
      return `folder holds ${manifest.name}@${manifest.version}`;
    }
    if (!semver.valid(version)) return "version is not a semantic version";
    return null;
  } catch (error) {
    return (error as Error).message;
  }
}
