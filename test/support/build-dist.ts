/**
 * Vitest global setup: end-to-end tests spawn the CLI, agents and trainers from dist/, so dist/ is
 * brought up to date before any test runs. Without it, editing agent code and running one e2e file
 * would test the old build. The build is incremental (dist/.tsbuildinfo): a no-op takes seconds.
 */
import { execFileSync } from "node:child_process";
import { createRequire } from "node:module";
import { join } from "node:path";
import { projectRoot } from "../../lib/paths.js";

/** Runs `tsc -p tsconfig.build.json` and the console's vite build; a type error fails the run before any test. */
export default function buildDist(): void {
  const tsc = createRequire(import.meta.url).resolve("typescript/bin/tsc");
  execFileSync(process.execPath, [tsc, "-p", "tsconfig.build.json"], {
    cwd: projectRoot(),
    stdio: "inherit",
  });
  // The console's bundle (dist/console), which the hub serves and the browser tests load.
  const vite = join(projectRoot(), "node_modules", "vite", "bin", "vite.js");
  execFileSync(process.execPath, [vite, "build", "--config", "console/vite.config.ts"], {
    cwd: projectRoot(),
    stdio: "inherit",
  });
}
