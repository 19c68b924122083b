/**
 * `npm run bench [-- ID ...]`: benchmarks as ratios against a peer measured in the same run
 * (README "Benchmarks": method, ids and goals). Prints one line per figure and writes bench-results.json. Never fails on a goal.
 */
import { execFileSync } from "node:child_process";
import { writeFile } from "node:fs/promises";
import { availableParallelism } from "node:os";
import { benchImageJsonVsBare, benchImageScore } from "./a1-image.js";
import { benchScoreVsSessionRun } from "./a1-score.js";
import { benchHonoVsHttp } from "./a2-hono-vs-http.js";
import { benchIdleCpu } from "./a3-idle-cpu.js";
import { benchBatching } from "./a4-batching.js";
import { benchSwapRss } from "./a5-swap-rss.js";
import { benchAgentRss } from "./a6-agent-rss.js";
import { benchModelCheck } from "./a7-model-check.js";
import { benchCliStart } from "./c1-cli-start.js";
import { benchDriftBytes, benchDriftCost } from "./d1-d2-drift.js";
import {
  benchDriftDelay,
  benchDriftEvidently,
  benchDriftFalseAlarms,
  benchDriftPower,
} from "./drift-bench.js";
import { benchF1F2 } from "./f1-f2-console.js";
import { benchH1, benchH2 } from "./h1-h2-fleet.js";
import { benchH3 } from "./h3-telemetry.js";
import { benchInt8 } from "./q1-int8.js";
import { type BenchResult, machineFacts, printResult } from "./stats.js";
import { benchT1 } from "./t1-accuracy.js";

const BENCHES: Record<string, (options: { agentCpus?: string }) => Promise<BenchResult[]>> = {
  A1: benchScoreVsSessionRun,
  A1I: benchImageScore,
  A1B: benchImageJsonVsBare,
  A2: benchHonoVsHttp,
  A3: benchIdleCpu,
  A4: benchBatching,
  A5: benchSwapRss,
  A6: benchAgentRss,
  A7: benchModelCheck,
  C1: benchCliStart,
  H1: benchH1,
  H2: benchH2,
  H3: benchH3,
  D1: benchDriftBytes,
  D2: benchDriftCost,
  D3: benchDriftFalseAlarms,
  D4: benchDriftPower,
  D5: benchDriftDelay,
  D6: benchDriftEvidently,
  T1: benchT1,
  F1: benchF1F2,
  Q1: benchInt8,
};

const wanted = process.argv.slice(2).map((id) => id.toUpperCase());
const unknown = wanted.filter((id) => !BENCHES[id]);
if (unknown.length > 0) {
  process.stderr.write(
    `unknown benchmark ids: ${unknown.join(", ")}; known: ${Object.keys(BENCHES).join(", ")}\n`,
  );
  process.exit(2);
}

const agentCpus = pinApart();
process.stdout.write(
  `machine: ${JSON.stringify(await machineFacts())}${agentCpus ? `; load generator on CPU 0, agent on CPU ${agentCpus}` : ""}\n`,
);
const results: BenchResult[] = [];
for (const [id, run] of Object.entries(BENCHES)) {
  if (wanted.length > 0 && !wanted.includes(id)) continue;
  for (const result of await run({ agentCpus })) {
    printResult(result);
    results.push(result);
  }
}
await writeFile("bench-results.json", `${JSON.stringify(results, null, 2)}\n`);
process.stdout.write("wrote bench-results.json\n");

/** Pins this process to CPU 0 and returns "1" for the agent, when taskset exists and there are 2+ cores. */
function pinApart(): string | undefined {
  if (availableParallelism() < 2) return undefined;
  try {
    execFileSync("taskset", ["-a", "-c", "-p", "0", String(process.pid)], { stdio: "ignore" });
    return "1";
  } catch {
    return undefined;
  }
}
