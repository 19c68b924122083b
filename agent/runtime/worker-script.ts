/**
 * Where the inference worker's script is. Compiled (dist/, or any build that keeps files side by
 * side) it is `inference-worker.js` next to this file. From TypeScript source (vitest) Node cannot
 * start a worker on a .ts file, and pointing at dist/ would run whatever was built last, maybe an
 * older protocol. So from source the worker is bundled with esbuild (a dev dependency, never
 * loaded from dist) into node_modules/.cache, named by a hash of its output, and that file is used:
 * always the current code, and bare imports (onnxruntime-node) still resolve from node_modules.
 * A bundled build (single executable) that cannot keep files side by side passes its own
 * `workerScript` in the runtime settings instead.
 */
import { createHash } from "node:crypto";
import { existsSync } from "node:fs";
import { mkdir, rename, writeFile } from "node:fs/promises";
import { dirname, join } from "node:path";
import { fileURLToPath, pathToFileURL } from "node:url";
import { projectRoot } from "../../lib/paths.js";

let cached: Promise<URL> | undefined;

/** The worker script to start, compiled sibling or a fresh bundle of the source. */
export function inferenceWorkerScript(): Promise<URL> {
  cached ??= resolveScript().catch((error: unknown) => {
    cached = undefined;
    throw error;
  });
  return cached;
}

async function resolveScript(): Promise<URL> {
  const here = fileURLToPath(import.meta.url);
  if (here.endsWith(".js")) return new URL("./inference-worker.js", import.meta.url);
  const entry = join(dirname(here), "inference-worker.ts");
  // A variable specifier keeps bundlers from pulling esbuild into a build of the agent.
  const esbuildName = "esbuild";
  const esbuild = (await import(esbuildName)) as typeof import("esbuild");
  const built = await esbuild.build({
    entryPoints: [entry],
    bundle: true,
    platform: "node",
    format: "esm",
    target: "node20",
    packages: "external",
    write: false,
    logLevel: "silent",
  });
  const code = built.outputFiles[0]!.text;
  const hash = createHash("sha256").update(code).digest("hex").slice(0, 16);
  const folder = join(projectRoot(), "node_modules", ".cache", "edgefleet");
  const file = join(folder, `inference-worker-${hash}.mjs`);
  if (!existsSync(file)) {
    await mkdir(folder, { recursive: true });
    // Temp-then-rename: parallel test processes may write the same file at once.
    const temp = `${file}.${process.pid}.tmp`;
    await writeFile(temp, code);
    await rename(temp, file);
  }
  return pathToFileURL(file);
}
