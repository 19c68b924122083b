/**
 * Script jobs: the operator's own training code (PyTorch, scikit-learn, anything with a shell
 * command) run on the worker. The snapshot is unpacked into the attempt's folder, the inputs are
 * written next to it (see script-inputs.ts), and the command runs through a shell in the snapshot
 * folder, in its own process group, with the EDGEFLEET_* variables documented in trainer/README.md.
 * stdout/stderr lines become the run's logs; metric lines and the local metrics endpoint become
 * metric points. Stopping kills the whole group (SIGTERM, then SIGKILL after a grace period).
 * The result is `$EDGEFLEET_OUTPUT_DIR/model.onnx` (required) and `predictions.json` (optional).
 */
import { type ChildProcess, spawn } from "node:child_process";
import { lchown, mkdir, mkdtemp, readdir } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { createInterface } from "node:readline";
import { z } from "zod";
import { projectRoot } from "../lib/paths.js";
import { ScriptError } from "./errors.js";
import { cudaVisibleDevices, requestedGpus } from "./gpu-allocation.js";
import type { JobContext, JobOutput } from "./job.js";
import { throwIfStopped } from "./job.js";
import { loadJobData } from "./job-data.js";
import { recordScriptFolder, recordScriptGroup } from "./leftovers.js";
import { MetricLineParser } from "./metric-lines.js";
import { startMetricsEndpoint } from "./metrics-endpoint.js";
import { scriptEnvironment } from "./script-env.js";
import { writeScriptInputs } from "./script-inputs.js";
import { readScriptOutput } from "./script-output.js";
import type { ScriptUser } from "./script-user.js";
import { unpackSnapshot } from "./snapshot.js";

/** Time between SIGTERM and SIGKILL when a script is stopped. */
export const KILL_GRACE_MS = 5_000;
/** stderr lines kept for the failure message. */
const TAIL_LINES = 20;

/**
 * predictions.json: the script's own outputs on the test split, rows in split.json's `test` order,
 * for the hub's parity check against the ONNX model: `{"probabilities": [[p0, p1, ...], ...]}`
 * (classification), `{"prediction": [y, ...]}` (regression), or the flat list of those numbers.
 */
export const PredictionsSchema = z.union([
  z.array(z.number()),
  z.object({ probabilities: z.array(z.array(z.number())) }).strict(),
  z.object({ prediction: z.array(z.number()) }).strict(),
]);

/** Flattens predictions.json to what the hub compares (rows × classes, or rows), checking its size. */
export function flattenPredictions(
  predictions: z.infer<typeof PredictionsSchema>,
  testRows: number,
  classes: number,
): number[] {
  const width = Math.max(classes, 1);
  let flat: number[];
  if (Array.isArray(predictions)) flat = predictions;
  else if ("probabilities" in predictions) {
    if (classes === 0)
      throw new ScriptError(
        "bad_predictions",
        "predictions.json: a regression run writes `prediction`, not `probabilities`",
      );
    const bad = predictions.probabilities.findIndex((row) => row.length !== classes);
    if (bad !== -1)
      throw new ScriptError(
        "bad_predictions",
        `predictions.json: row ${bad} has ${predictions.probabilities[bad]!.length} probabilities; the run has ${classes} classes`,
      );
    flat = predictions.probabilities.flat();
  } else {
    if (classes > 0)
      throw new ScriptError(
        "bad_predictions",
        "predictions.json: a classification run writes `probabilities`, not `prediction`",
      );
    flat = predictions.prediction;
  }
  if (flat.length !== testRows * width)
    throw new ScriptError(
      "bad_predictions",
      `predictions.json holds ${flat.length} values; the test split has ${testRows} rows${classes > 0 ? ` × ${classes} classes` : ""}`,
    );
  return flat;
}

/** CUDA_VISIBLE_DEVICES for the run's GPUs, when the worker has any (see gpu-allocation.ts). */
function gpuEnvironment(compute: unknown, gpus: JobContext["gpus"]): Record<string, string> {
  const visible = cudaVisibleDevices(requestedGpus(compute), gpus.held, gpus.worker);
  return visible === undefined ? {} : { CUDA_VISIBLE_DEVICES: visible };
}

/** Runs a script job to its model; throws ScriptError, DatasetError or JobStopped. */
export async function runScriptJob(context: JobContext): Promise<JobOutput> {
  const { claim, api, reporter, signal, workDir, log, scriptIdentity } = context;
  if (!claim.snapshot || !claim.spec.script)
    throw new ScriptError("bad_snapshot", "a script run needs spec.script and a snapshot");
  if (scriptIdentity.kind === "refused") throw new ScriptError("unsafe_script_user", scriptIdentity.reason);
  const user = scriptIdentity.kind === "user" ? scriptIdentity.user : undefined;
  // A root worker's data folder is closed to the script's user: its files go to a folder of its own.
  const scriptRoot = user ? await scriptFolder(workDir) : workDir;
  const snapshotDir = join(scriptRoot, "snapshot");
  const inputDir = join(scriptRoot, "input");
  const outputDir = join(scriptRoot, "output");
  const homeDir = join(scriptRoot, "home");
  await Promise.all([
    mkdir(inputDir, { recursive: true }),
    mkdir(outputDir, { recursive: true }),
    ...(user ? [mkdir(homeDir, { recursive: true })] : []),
  ]);

  reporter.log(
    "system",
    `downloading snapshot ${claim.snapshot.sha256.slice(0, 12)} and dataset ${claim.dataset.name}@${claim.dataset.version.slice(0, 12)}`,
  );
  const [snapshotBytes, data] = await Promise.all([
    api.download(claim.snapshot.url, signal),
    loadJobData(claim, api, signal),
  ]);
  const unpacked = await unpackSnapshot(snapshotBytes, snapshotDir);
  const inputs = await writeScriptInputs(inputDir, data, claim.spec);
  throwIfStopped(signal);
  if (user) await chownTree(scriptRoot, user);
  reporter.log(
    "system",
    `snapshot: ${unpacked.files} files; dataset: ${data.dataset.rows} rows, ${inputs.features.length} features${user ? `; running as ${user.name} (uid ${user.uid})` : ""}`,
  );

  const parser = new MetricLineParser();
  const endpoint = await startMetricsEndpoint({
    point: (name, value, step) => {
      if (step !== undefined) reporter.metric(name, value, step);
      else {
        const parsed = parser.parse(`EDGEFLEET_METRIC ${name}=${value}`);
        if (parsed.kind === "metrics")
          for (const p of parsed.points) reporter.metric(p.name, p.value, p.step);
      }
    },
    progress: (progress) => reporter.progress(progress),
  });
  try {
    const env = scriptEnvironment(process.env, {
      ...(user ? { HOME: homeDir, USER: user.name, LOGNAME: user.name } : {}),
      EDGEFLEET_DATA_PATH: inputs.dataPath,
      EDGEFLEET_DATA_FORMAT: data.format,
      EDGEFLEET_SCHEMA_PATH: inputs.schemaPath,
      EDGEFLEET_SPLIT_PATH: inputs.splitPath,
      ...(inputs.extraRowsPath ? { EDGEFLEET_EXTRA_ROWS_PATH: inputs.extraRowsPath } : {}),
      EDGEFLEET_VECTORS_PATH: inputs.vectorsPath,
      EDGEFLEET_OUTPUT_DIR: outputDir,
      EDGEFLEET_PARAMS: JSON.stringify(claim.spec.params ?? {}),
      EDGEFLEET_SEED: String(claim.spec.seed ?? 1),
      EDGEFLEET_TASK: claim.spec.task,
      EDGEFLEET_TARGET: claim.spec.target,
      EDGEFLEET_RUN_ID: claim.runId,
      EDGEFLEET_ATTEMPT: String(claim.attempt),
      EDGEFLEET_HUB_URL: context.hubUrl,
      // The attempt's own token, never the worker's: it dies with the attempt.
      ...(claim.attemptToken ? { EDGEFLEET_TOKEN: claim.attemptToken } : {}),
      EDGEFLEET_METRICS_URL: endpoint.url,
      EDGEFLEET_PACKAGE_ROOT: projectRoot(),
      ...gpuEnvironment(claim.spec.compute, context.gpus),
    });
    const command = claim.spec.script.command;
    reporter.log("system", `$ ${command}`);
    log.info({ event: "trainer.script.start", runId: claim.runId, attempt: claim.attempt, command });
    const {
      code,
      signal: exitSignal,
      stderrTail,
    } = await runCommand(
      command,
      snapshotDir,
      env,
      user,
      signal,
      (pid) => void recordScriptGroup(workDir, pid).catch(() => {}),
      (stream, line) => {
        reporter.log(stream, line);
        if (stream !== "stdout") return;
        const parsed = parser.parse(line);
        if (parsed.kind === "metrics")
          for (const p of parsed.points) reporter.metric(p.name, p.value, p.step);
        else if (parsed.kind === "progress") reporter.progress(parsed.progress);
        else if (parsed.kind === "invalid") reporter.log("system", `ignored metric line: ${parsed.reason}`);
      },
    );
    throwIfStopped(signal);
    reporter.log("system", `exit ${exitSignal ?? code}`);
    const tail = stderrTail.length > 0 ? `; last stderr lines:\n${stderrTail.join("\n")}` : "";
    if (exitSignal)
      throw new ScriptError(
        "script_killed",
        `the script was killed by ${exitSignal} (out of memory?)${tail}`,
        true,
      );
    if (code !== 0) throw new ScriptError("script_failed", `the script exited with code ${code}${tail}`);
  } finally {
    await endpoint.close();
  }

  const model = await readScriptOutput(join(outputDir, "model.onnx"), "no_model");
  if (!model)
    throw new ScriptError(
      "no_model",
      "the script finished without writing $EDGEFLEET_OUTPUT_DIR/model.onnx; export the model there (see trainer/README.md)",
    );
  const onnx = new Uint8Array(model);
  const written = await readPredictions(join(outputDir, "predictions.json"));
  const predictions = written
    ? flattenPredictions(written, inputs.testRows.length, inputs.classes.length)
    : undefined;
  return {
    onnx,
    result: {
      recipe: "script",
      params: claim.spec.params ?? {},
      features: inputs.features,
      classes: inputs.classes,
      inputMode: "vector",
      ...(predictions ? { predictions } : {}),
    },
  };
}

async function readPredictions(path: string): Promise<z.infer<typeof PredictionsSchema> | undefined> {
  const text = (await readScriptOutput(path, "bad_predictions"))?.toString("utf8");
  if (text === undefined) return undefined;
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch (error) {
    throw new ScriptError("bad_predictions", `predictions.json is not JSON: ${(error as Error).message}`);
  }
  const parsed = PredictionsSchema.safeParse(json);
  if (!parsed.success)
    throw new ScriptError("bad_predictions", `predictions.json: ${z.prettifyError(parsed.error)}`);
  return parsed.data;
}

/** A fresh 0700 folder outside the worker's data folder for a script run as another user; recorded for cleanup. */
async function scriptFolder(workDir: string): Promise<string> {
  const folder = await mkdtemp(join(tmpdir(), "edgefleet-script-"));
  await recordScriptFolder(workDir, folder);
  return folder;
}

/** Hands a folder and everything in it to the script's user (its files, written by the worker). */
async function chownTree(root: string, user: ScriptUser): Promise<void> {
  await lchown(root, user.uid, user.gid);
  for (const entry of await readdir(root, { withFileTypes: true, recursive: true })) {
    await lchown(join(entry.parentPath, entry.name), user.uid, user.gid);
  }
}

/** Kills the child's whole process group (the shell and whatever it started). */
function killGroup(child: ChildProcess, signal: NodeJS.Signals): void {
  if (child.pid === undefined) return;
  try {
    process.kill(-child.pid, signal);
  } catch {
    // already gone
  }
}

/** Runs `command` through a shell in its own process group; resolves when it exits and its pipes close. */
function runCommand(
  command: string,
  cwd: string,
  env: NodeJS.ProcessEnv,
  user: ScriptUser | undefined,
  stop: AbortSignal,
  onSpawn: (pid: number) => void,
  onLine: (stream: "stdout" | "stderr", line: string) => void,
): Promise<{ code: number | null; signal: NodeJS.Signals | null; stderrTail: string[] }> {
  return new Promise((resolve, reject) => {
    const child = spawn(command, {
      cwd,
      env,
      shell: true,
      detached: true,
      ...(user ? { uid: user.uid, gid: user.gid } : {}),
      stdio: ["ignore", "pipe", "pipe"],
    });
    if (child.pid !== undefined) onSpawn(child.pid);
    const stderrTail: string[] = [];
    let killTimer: NodeJS.Timeout | undefined;
    const onStop = () => {
      killGroup(child, "SIGTERM");
      killTimer = setTimeout(() => killGroup(child, "SIGKILL"), KILL_GRACE_MS);
      killTimer.unref();
    };
    stop.addEventListener("abort", onStop, { once: true });
    let open = 2;
    let exit: { code: number | null; signal: NodeJS.Signals | null } | undefined;
    const finish = () => {
      if (open > 0 || !exit) return;
      stop.removeEventListener("abort", onStop);
      if (killTimer) clearTimeout(killTimer);
      // The shell is gone; anything it left running in the group goes with it.
      killGroup(child, "SIGKILL");
      resolve({ ...exit, stderrTail });
    };
    for (const [stream, pipe] of [
      ["stdout", child.stdout!],
      ["stderr", child.stderr!],
    ] as const) {
      const lines = createInterface({ input: pipe, crlfDelay: Number.POSITIVE_INFINITY });
      lines.on("line", (line) => {
        if (stream === "stderr") {
          stderrTail.push(line);
          if (stderrTail.length > TAIL_LINES) stderrTail.shift();
        }
        onLine(stream, line);
      });
      lines.once("close", () => {
        open--;
        finish();
      });
    }
    child.once("error", (error) => {
      stop.removeEventListener("abort", onStop);
      reject(new ScriptError("script_failed", `cannot start the script: ${error.message}`));
    });
    child.once("exit", (code, signal) => {
      exit = { code, signal };
      // A grandchild holding the pipes open must not keep the job waiting forever once the shell left.
      if (open > 0) {
        const timer = setTimeout(() => killGroup(child, "SIGKILL"), 2_000);
        timer.unref();
      }
      finish();
    });
    if (stop.aborted) onStop();
  });
}
