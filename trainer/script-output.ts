/**
 * Reading what a script wrote. The script may run as another user who owns its output folder, so
 * the worker (possibly root) must not follow a link it planted there (`model.onnx` →
 * `/etc/shadow` would otherwise be read with the worker's rights and uploaded as the model): the
 * folder must be a real directory and each file is opened with O_NOFOLLOW and must be regular.
 */
import { constants } from "node:fs";
import { lstat, open } from "node:fs/promises";
import { basename, dirname } from "node:path";
import { ScriptError } from "./errors.js";

/** The bytes of a regular file the script wrote; undefined when it wrote none. */
export async function readScriptOutput(
  path: string,
  code: "no_model" | "bad_predictions",
): Promise<Buffer | undefined> {
  const folder = await lstat(dirname(path)).catch(() => undefined);
  if (!folder?.isDirectory())
    throw new ScriptError(code, `$EDGEFLEET_OUTPUT_DIR was replaced by something that is not a folder`);
  let handle: Awaited<ReturnType<typeof open>>;
  try {
    handle = await open(path, constants.O_RDONLY | constants.O_NOFOLLOW | constants.O_NONBLOCK);
  } catch (error) {
    const errno = (error as NodeJS.ErrnoException).code;
    if (errno === "ENOENT") return undefined;
    if (errno === "ELOOP")
      throw new ScriptError(code, `${basename(path)} is a symbolic link; write the file itself`);
    throw error;
  }
  try {
    if (!(await handle.stat()).isFile())
      throw new ScriptError(code, `${basename(path)} is not a regular file`);
    return await handle.readFile();
  } finally {
    await handle.close();
  }
}
