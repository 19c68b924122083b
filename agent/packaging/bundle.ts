/**
 * Bundles the agent (and its inference worker) into single CommonJS files for a Node single
 * executable. A single executable's `require` only knows built-in modules, so three things are
 * rewritten at bundle time:
 *
 * - onnxruntime-node's `dist/binding.js` requires `../bin/napi-v6/<platform>/<arch>/onnxruntime_binding.node`
 *   relative to itself; the bundle loads `onnxruntime_binding.node` from the executable's folder
 *   instead (its RUNPATH is `$ORIGIN`, so `libonnxruntime.so.1` is found beside it).
 * - `sharp` (image modules) is loaded from `node_modules/` beside the executable: its addon's RPATH
 *   expects the `@img/sharp-libvips-*` folder layout, so the packages are shipped as they are.
 * - `agent/runtime/worker-script.ts` (which finds or builds the worker from the source tree) becomes
 *   "inference-worker.cjs beside the executable".
 * - `import.meta.url` (absent in CommonJS) becomes the running file's URL, so code that finds data
 *   next to itself (firmware-profiles' `profiles/`) looks beside the executable.
 */
import { existsSync } from "node:fs";
import { readFile } from "node:fs/promises";
import { join } from "node:path";
import type { Plugin } from "esbuild";

export interface BundleResult {
  /** CommonJS source of the agent. */
  agent: string;
  /** CommonJS source of the inference worker, when the tree has one. */
  worker: string | undefined;
  /** Whether the bundle loads sharp (ship it next to the executable). */
  usesSharp: boolean;
  /** esbuild warnings, as text. */
  warnings: string[];
}

const BINDING_REQUIRE =
  // biome-ignore lint/suspicious/noTemplateCurlyInString: the literal source text of binding.js, matched as is.
  "require(`../bin/napi-v6/${process.platform}/${process.arch}/onnxruntime_binding.node`)";
const BINDING_FROM_EXE =
  'require("node:module").createRequire(process.execPath)(require("node:path").join(require("node:path").dirname(process.execPath), "onnxruntime_binding.node"))';
const SHARP_FROM_EXE =
  'module.exports = require("node:module").createRequire(require("node:path").join(require("node:path").dirname(process.execPath), "node_modules", "edgefleet-agent.js"))("sharp");';
const INQUIRE_STATIC = [
  "module.exports = function inquire(name) {",
  '  if (name === "long") return require("long");',
  '  if (name === "buffer") return require("node:buffer");',
  "  return null;",
  "};",
].join("\n");
const WORKER_SCRIPT_FROM_EXE = [
  'const { dirname, join } = require("node:path");',
  'const { pathToFileURL } = require("node:url");',
  'exports.inferenceWorkerScript = async () => pathToFileURL(join(dirname(process.execPath), "inference-worker.cjs"));',
].join("\n");

/** Bundles `agent/packaging/entry.ts` and `agent/runtime/inference-worker.ts` from `root`. */
export async function bundleAgent(root: string, version: string): Promise<BundleResult> {
  // A variable specifier: esbuild is a dev dependency, never part of what it bundles.
  const esbuildName = "esbuild";
  const esbuild = (await import(esbuildName)) as typeof import("esbuild");
  let usesSharp = false;
  const plugin: Plugin = {
    name: "edgefleet-single-executable",
    setup(build) {
      build.onResolve({ filter: /(^|\/)worker-script\.js$/ }, (args) =>
        args.importer.includes(join("agent", "runtime"))
          ? { path: "worker-script", namespace: "edgefleet-sea" }
          : undefined,
      );
      build.onResolve({ filter: /^sharp$/ }, () => {
        usesSharp = true;
        return { path: "sharp", namespace: "edgefleet-sea" };
      });
      // Optional native speed-ups (ws tries them inside try/catch): absent, like an install without them.
      build.onResolve({ filter: /^(utf-8-validate|bufferutil)$/ }, (args) => ({
        path: args.path,
        namespace: "edgefleet-sea-absent",
      }));
      build.onLoad({ filter: /.*/, namespace: "edgefleet-sea-absent" }, (args) => ({
        contents: `throw new Error("${args.path} is not part of the single executable");`,
        loader: "js",
      }));
      build.onLoad({ filter: /.*/, namespace: "edgefleet-sea" }, (args) => ({
        contents: args.path === "sharp" ? SHARP_FROM_EXE : WORKER_SCRIPT_FROM_EXE,
        loader: "js",
      }));
      // protobufjs (onnx-proto) looks "long" up with a hidden require at start-up; make it a static
      // one so the bundle carries it and the executable's built-ins-only require is not asked.
      build.onLoad({ filter: /@protobufjs[\\/]inquire[\\/]index\.js$/ }, () => ({
        contents: INQUIRE_STATIC,
        loader: "js",
      }));
      build.onLoad({ filter: /onnxruntime-node[\\/]dist[\\/]binding\.js$/ }, async (args) => {
        const source = await readFile(args.path, "utf8");
        if (!source.includes(BINDING_REQUIRE)) {
          // Fail loudly: a new onnxruntime-node that loads its addon differently needs a new shim.
          throw new Error(
            `${args.path} no longer contains ${BINDING_REQUIRE}; update agent/packaging/bundle.ts`,
          );
        }
        return { contents: source.replace(BINDING_REQUIRE, BINDING_FROM_EXE), loader: "js" };
      });
    },
  };
  const common: import("esbuild").BuildOptions & { write: false } = {
    bundle: true,
    platform: "node",
    format: "cjs",
    target: "node20",
    write: false,
    logLevel: "silent",
    legalComments: "none",
    // import.meta.url in the bundled sources means "the file running": the executable for the
    // agent (so firmware-profiles finds `profiles/` beside it), inference-worker.cjs for the worker.
    define: {
      EDGEFLEET_BUILD_VERSION: JSON.stringify(version),
      "import.meta.url": "__edgefleet_import_meta_url",
    },
    banner: { js: 'var __edgefleet_import_meta_url = require("node:url").pathToFileURL(__filename).href;' },
    plugins: [plugin],
  };
  const agent = await esbuild.build({
    ...common,
    entryPoints: [join(root, "agent", "packaging", "entry.ts")],
  });
  const workerEntry = join(root, "agent", "runtime", "inference-worker.ts");
  const worker = existsSync(workerEntry)
    ? await esbuild.build({ ...common, entryPoints: [workerEntry] })
    : undefined;
  const warnings = await esbuild.formatMessages([...agent.warnings, ...(worker?.warnings ?? [])], {
    kind: "warning",
  });
  return {
    agent: agent.outputFiles[0]!.text,
    worker: worker === undefined ? undefined : worker.outputFiles[0]!.text,
    usesSharp,
    warnings,
  };
}
