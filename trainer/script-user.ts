/**
 * Who a script job runs as. A worker that is not root runs scripts as itself (it cannot be anyone
 * else). A worker running as root never runs an operator's script as root: it runs it as an
 * unprivileged user (`--script-user` / `EDGEFLEET_SCRIPT_USER`, default `nobody`) through the
 * spawn's uid/gid, in a folder that user owns; when no such user can be found it refuses script
 * jobs and says why.
 */
import { readFile } from "node:fs/promises";

/** The user scripts of a root worker run as when none is configured. */
export const DEFAULT_SCRIPT_USER = "nobody";

export interface ScriptUser {
  name: string;
  uid: number;
  gid: number;
}

/** How this worker runs scripts: as itself, as another user, or not at all (with the reason). */
export type ScriptIdentity =
  | { kind: "self" }
  | { kind: "user"; user: ScriptUser }
  | { kind: "refused"; reason: string };

/** One `/etc/passwd` line's name, uid and gid; undefined for a malformed line. */
function passwdEntry(line: string): ScriptUser | undefined {
  const [name, , uid, gid] = line.split(":");
  if (!name || uid === undefined || gid === undefined) return undefined;
  const [u, g] = [Number(uid), Number(gid)];
  return Number.isInteger(u) && Number.isInteger(g) ? { name, uid: u, gid: g } : undefined;
}

/** Finds a user by name, or takes `uid:gid` as given. */
export function findUser(spec: string, passwd: string): ScriptUser | undefined {
  const numeric = /^(\d+):(\d+)$/.exec(spec);
  if (numeric) return { name: spec, uid: Number(numeric[1]), gid: Number(numeric[2]) };
  for (const line of passwd.split("\n")) {
    const entry = passwdEntry(line.trim());
    if (entry?.name === spec) return entry;
  }
  return undefined;
}

/**
 * Decides who runs scripts. `uid` is the worker's own (process.getuid), `passwd` the user
 * database's text (read from /etc/passwd when not given).
 */
export async function resolveScriptIdentity(options: {
  configured?: string | undefined;
  uid: number | undefined;
  passwd?: string;
}): Promise<ScriptIdentity> {
  const { configured, uid } = options;
  if (uid !== 0) {
    if (configured)
      return {
        kind: "refused",
        reason: `--script-user ${configured} needs a worker running as root (this one runs as uid ${uid} and cannot switch users); unset it to run scripts as the worker's own user`,
      };
    return { kind: "self" };
  }
  const wanted = configured ?? DEFAULT_SCRIPT_USER;
  const passwd = options.passwd ?? (await readFile("/etc/passwd", "utf8").catch(() => ""));
  const user = findUser(wanted, passwd);
  if (!user)
    return {
      kind: "refused",
      reason: `this worker runs as root and will not run scripts as root, but there is no user "${wanted}" to run them as; create it or set --script-user / EDGEFLEET_SCRIPT_USER to an unprivileged user (name or uid:gid)`,
    };
  if (user.uid === 0 || user.gid === 0)
    return {
      kind: "refused",
      reason: `script user "${wanted}" is uid ${user.uid} gid ${user.gid}: scripts must not run with root's uid or gid; pick an unprivileged user`,
    };
  return { kind: "user", user };
}
