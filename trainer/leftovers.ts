/**
 * A worker killed mid-job (SIGKILL, power loss of the worker but not the machine) cannot stop its
 * script, which runs in its own process group. Each script's group id is written next to its work
 * folder; the next start of the worker kills those groups before it clears the folders.
 */
import { readdir, readFile, rm, stat, writeFile } from "node:fs/promises";
import { uptime } from "node:os";
import { join } from "node:path";

export const SCRIPT_PID_FILE = "script.pid";
/** Names the folder outside the data folder a script ran in (scripts of a root worker run as another user). */
export const SCRIPT_FOLDER_FILE = "script.dir";

/** Records where an attempt's script folder lies, so it is removed even after a crash. */
export function recordScriptFolder(workDir: string, folder: string): Promise<void> {
  return writeFile(join(workDir, SCRIPT_FOLDER_FILE), `${folder}\n`);
}

/** Removes the script folder an attempt folder records, if any. */
export async function removeScriptFolder(workDir: string): Promise<void> {
  const folder = (await readFile(join(workDir, SCRIPT_FOLDER_FILE), "utf8").catch(() => "")).trim();
  if (folder) await rm(folder, { recursive: true, force: true });
}

/** Records a script's process group id in its attempt folder. */
export function recordScriptGroup(workDir: string, pid: number): Promise<void> {
  return writeFile(join(workDir, SCRIPT_PID_FILE), `${pid}\n`);
}

/** Kills the process groups left by a previous run of the worker; returns the ids it signalled. */
export async function killLeftoverScripts(workRoot: string): Promise<number[]> {
  const bootedAt = Date.now() - uptime() * 1000;
  const killed: number[] = [];
  const folders = await readdir(workRoot).catch(() => [] as string[]);
  for (const folder of folders) {
    const path = join(workRoot, folder, SCRIPT_PID_FILE);
    const info = await stat(path).catch(() => undefined);
    // A file from before the last boot names a pid that may now belong to someone else.
    if (!info || info.mtimeMs < bootedAt) continue;
    const pid = Number((await readFile(path, "utf8")).trim());
    if (!Number.isInteger(pid) || pid <= 1) continue;
    try {
      process.kill(-pid, "SIGKILL");
      killed.push(pid);
    } catch {
      // the group is gone already
    }
  }
  // After the kills: a script still running could otherwise write into its folder again.
  for (const folder of folders) await removeScriptFolder(join(workRoot, folder)).catch(() => {});
  return killed;
}
