/**
 * TEST-ONLY disk faults on a real file system: `chattr +i` makes the kernel refuse creating,
 * renaming and deleting entries in a folder (EPERM), for root too (tests run as root, where a
 * chmod stops nothing), while files in it stay readable: what a device meets when its data disk
 * turns read-only. Needs ext4 (or another file system with the immutable flag) and
 * CAP_LINUX_IMMUTABLE; `canFreezeFolders` says whether this machine has both.
 */
import { execFile } from "node:child_process";
import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { promisify } from "node:util";

const run = promisify(execFile);

/** Makes `dir` refuse new, renamed and deleted entries until the returned function is called. */
export async function freezeFolder(dir: string): Promise<() => Promise<void>> {
  await run("chattr", ["+i", dir]);
  let thawed = false;
  return async () => {
    if (thawed) return;
    thawed = true;
    await run("chattr", ["-i", dir]);
  };
}

/** Whether `freezeFolder` works here (probed on a temp folder). */
export async function canFreezeFolders(): Promise<boolean> {
  const dir = await mkdtemp(join(tmpdir(), "edgefleet-freeze-probe-"));
  try {
    const thaw = await freezeFolder(dir);
    const refused = await writeFile(join(dir, "probe"), "x").then(
      () => false,
      () => true,
    );
    await thaw();
    return refused;
  } catch {
    return false;
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}
