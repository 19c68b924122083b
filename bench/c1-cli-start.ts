/**
 * C1: how fast the `edgefleet` CLI starts, against `node -e 0` (the floor for any Node command).
 * Measures wall time and peak RSS of `--help`, `devices --help` and `devices list` against a running
 * hub, each run alternated with the peer, median of RUNS. The CLI loads each command's heavy modules
 * only when it runs (test/cli/lazy-loading.test.ts checks which); this says what that is worth.
 */
import { spawn } from "node:child_process";
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { parseHubConfig } from "../hub/config.js";
import { startHub } from "../hub/main.js";
import { silentLogger } from "../lib/log.js";
import { projectRoot } from "../lib/paths.js";
import { type BenchResult, quantile, round } from "./stats.js";

const RUNS = 15;
// Prints the process's peak RSS (KiB) on exit; loaded the same way into the CLI and the peer.
// VmHWM, not resourceUsage().maxRSS: Linux carries ru_maxrss over from the parent across exec.
const REPORT_RSS = `data:text/javascript,${encodeURIComponent(
  "import{readFileSync}from'node:fs';process.on('exit',()=>process._rawDebug('maxrss='+/VmHWM:\\s*(\\d+)/.exec(readFileSync('/proc/self/status','utf8'))[1]))",
)}`;

interface Sample {
  ms: number;
  rssKb: number;
}

function runOnce(args: string[], env: NodeJS.ProcessEnv): Promise<Sample> {
  return new Promise((resolve, reject) => {
    const started = performance.now();
    const child = spawn(process.execPath, ["--import", REPORT_RSS, ...args], {
      env,
      stdio: ["ignore", "ignore", "pipe"],
    });
    let stderr = "";
    child.stderr.on("data", (chunk) => (stderr += chunk));
    child.on("error", reject);
    child.on("close", (code) => {
      const ms = performance.now() - started;
      const rss = /maxrss=(\d+)/.exec(stderr);
      if (code !== 0 || !rss) reject(new Error(`${args.join(" ")} exited ${code}: ${stderr}`));
      else resolve({ ms, rssKb: Number(rss[1]) });
    });
  });
}

export async function benchCliStart(): Promise<BenchResult[]> {
  const dataDir = await mkdtemp(join(tmpdir(), "edgefleet-bench-cli-"));
  const hub = await startHub(
    parseHubConfig({ dataDir, port: 0, mqttPort: 0, logLevel: "silent", trainer: false }),
    { log: silentLogger },
  );
  const cli = join(projectRoot(), "bin", "edgefleet.js");
  const env = { ...process.env, EDGEFLEET_HUB_URL: hub.url, EDGEFLEET_TOKEN: hub.adminToken };
  const commands: [string, string[]][] = [
    ["edgefleet --help", ["--help"]],
    ["edgefleet devices --help", ["devices", "--help"]],
    ["edgefleet devices list (running hub)", ["devices", "list"]],
  ];
  const results: BenchResult[] = [];
  try {
    for (const [what, args] of commands) {
      const ours: Sample[] = [];
      const peer: Sample[] = [];
      await runOnce([cli, ...args], env); // warms the file cache, not counted
      for (let i = 0; i < RUNS; i++) {
        ours.push(await runOnce([cli, ...args], env));
        peer.push(await runOnce(["-e", "0"], env));
      }
      const oursMs = quantile(
        ours.map((s) => s.ms),
        0.5,
      );
      const peerMs = quantile(
        peer.map((s) => s.ms),
        0.5,
      );
      const ratio = oursMs / peerMs;
      results.push({
        id: "C1",
        what: `${what}: wall time vs node -e 0, median of ${RUNS} alternated runs`,
        ours: round(oursMs),
        peer: round(peerMs),
        unit: "ms",
        ratio: round(ratio, 2),
        goal: "≤ 3x",
        met: ratio <= 3,
        details: {
          rssMb: round(
            quantile(
              ours.map((s) => s.rssKb),
              0.5,
            ) / 1024,
          ),
          peerRssMb: round(
            quantile(
              peer.map((s) => s.rssKb),
              0.5,
            ) / 1024,
          ),
        },
      });
    }
  } finally {
    await hub.close();
    await rm(dataDir, { recursive: true, force: true });
  }
  return results;
}
