/** Locates files that ship next to the code (migrations, examples) from source and from dist/ alike. */
import { readFileSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";

const PACKAGE_NAME = "edgefleet";
let cachedRoot: string | undefined;

/** Folder of edgefleet's own package.json, found by walking up from this file. */
export function projectRoot(): string {
  if (cachedRoot !== undefined) return cachedRoot;
  // From source this file is lib/paths.ts, from the build dist/lib/paths.js: walk up, do not count levels.
  let folder = dirname(fileURLToPath(import.meta.url));
  for (;;) {
    if (readPackageName(join(folder, "package.json")) === PACKAGE_NAME) {
      cachedRoot = folder;
      return folder;
    }
    const parent = dirname(folder);
    if (parent === folder)
      throw new Error(`no package.json named "${PACKAGE_NAME}" above ${import.meta.url}`);
    folder = parent;
  }
}

function readPackageName(path: string): string | undefined {
  try {
    return (JSON.parse(readFileSync(path, "utf8")) as { name?: string }).name;
  } catch {
    return undefined;
  }
}

/** edgefleet's version from its package.json. */
export function readPackageVersion(): string {
  return (JSON.parse(readFileSync(join(projectRoot(), "package.json"), "utf8")) as { version: string })
    .version;
}
