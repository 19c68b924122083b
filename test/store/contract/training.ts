/** Contract: datasets, runs (claims, leases, requeue), workers and model aliases. */
import { describe, expect, it } from "vitest";
import {
  ConflictError,
  datasetRepo,
  LeaseLostError,
  modelRepo,
  NotFoundError,
  runRepo,
  ValidationError,
  workerRepo,
} from "../../../hub/repos/index.js";
import { refuseRunSuccess } from "../../support/db-faults.js";
import { type ContractContext, fakeSha, manualClock, unique } from "./context.js";

const LEASE = 30_000;

function runInput(maxAttempts = 3) {
  return {
    id: unique("run"),
    experiment: unique("exp"),
    spec: { recipe: "logistic" },
    kind: "builtin" as const,
    maxAttempts,
  };
}

function versionInput(name: string, label: string) {
  return {
    name,
    sha256: fakeSha(label),
    size: 10,
    inputs: [{ name: "features", datatype: "FP32" as const, shape: [-1, 2] }],
    outputs: [{ name: "label", datatype: "INT64" as const, shape: [-1] }],
    irVersion: 9,
    opsets: { "": 17 },
  };
}

/** Registers the training tests. */
export function trainingContract(ctx: ContractContext): void {
  describe("runs", () => {
    it("gives a queued run to exactly one of many concurrent claims", async () => {
      const runs = runRepo(ctx.db());
      const run = await runs.create(runInput());
      const claims = await Promise.all(
        Array.from({ length: 8 }, (_, i) => runs.claim(run.id, `worker-${i}`, LEASE)),
      );
      const won = claims.filter((c) => c !== null);
      expect(won).toHaveLength(1);
      expect(won[0]!.attempt).toMatchObject({ n: 1, status: "running" });
      const stored = await runs.get(run.id);
      expect(stored).toMatchObject({ status: "running", attempt: 1 });
      expect(stored!.attempts).toHaveLength(1);
      expect(stored!.startedAt).toBeInstanceOf(Date);
    });

    it("loses an attempt whose lease ran out, requeues the run and records both attempts", async () => {
      const clock = manualClock();
      const runs = runRepo(ctx.db(), clock);
      const run = await runs.create(runInput(2));
      await runs.claim(run.id, "a", LEASE);
      // A heartbeat before expiry keeps it; none after lets the sweeper take it.
      clock.advance(LEASE - 1000);
      await runs.extendLeases("a", [{ runId: run.id, attempt: 1 }], LEASE);
      clock.advance(LEASE - 1000);
      expect((await runs.sweepExpired()).filter((t) => t.run.id === run.id)).toEqual([]);
      clock.advance(2000);
      const swept = (await runs.sweepExpired()).filter((t) => t.run.id === run.id);
      expect(swept.map((t) => [t.attempt.status, t.run.status])).toEqual([["lost", "queued"]]);
      await expect(runs.assertCurrent(run.id, 1)).rejects.toBeInstanceOf(LeaseLostError);
      await expect(runs.finishAttempt(run.id, 1, { status: "cancelled" })).rejects.toBeInstanceOf(
        LeaseLostError,
      );
      const second = await runs.claim(run.id, "b", LEASE);
      expect(second!.attempt.n).toBe(2);
      const done = await runs.finishAttempt(run.id, 2, {
        status: "succeeded",
        metrics: { test: { accuracy: 1 } },
        outputs: { model: { name: "m", version: 1 } },
      });
      expect(done.run).toMatchObject({ status: "succeeded", metrics: { test: { accuracy: 1 } } });
      const stored = await runs.get(run.id);
      expect(stored!.attempts.map((a) => [a.n, a.workerId, a.status])).toEqual([
        [1, "a", "lost"],
        [2, "b", "succeeded"],
      ]);
      expect(stored!.finishedAt).toBeInstanceOf(Date);
    });

    it("fails a run when its last attempt is lost or fails, and requeues retryable failures", async () => {
      const clock = manualClock();
      const runs = runRepo(ctx.db(), clock);
      const run = await runs.create(runInput(2));
      await runs.claim(run.id, "a", LEASE);
      const retried = await runs.finishAttempt(run.id, 1, {
        status: "failed",
        error: { code: "oom", message: "out of memory" },
        retryable: true,
      });
      expect(retried.run.status).toBe("queued");
      await runs.claim(run.id, "a", LEASE);
      clock.advance(LEASE + 1);
      const swept = (await runs.sweepExpired()).filter((t) => t.run.id === run.id);
      expect(swept[0]!.run).toMatchObject({ status: "failed", error: { code: "lost" } });

      const other = await runs.create(runInput(3));
      await runs.claim(other.id, "a", LEASE);
      const fatal = await runs.finishAttempt(other.id, 1, {
        status: "failed",
        error: { code: "bad_target", message: "no" },
        retryable: false,
      });
      expect(fatal.run).toMatchObject({ status: "failed", error: { code: "bad_target" } });
    });

    it("cancels queued runs at once, running ones through cancelling, and refuses finished ones", async () => {
      const runs = runRepo(ctx.db());
      const queued = await runs.create(runInput());
      expect((await runs.cancel(queued.id)).status).toBe("cancelled");
      await expect(runs.cancel(queued.id)).rejects.toBeInstanceOf(ConflictError);
      expect(await runs.claim(queued.id, "a", LEASE)).toBeNull();

      const running = await runs.create(runInput());
      await runs.claim(running.id, "a", LEASE);
      expect((await runs.cancel(running.id)).status).toBe("cancelling");
      expect((await runs.cancel(running.id)).status).toBe("cancelling");
      // A retryable failure while cancelling ends the run cancelled, not requeued.
      const ended = await runs.finishAttempt(running.id, 1, {
        status: "failed",
        error: { code: "killed", message: "stopped" },
        retryable: true,
      });
      expect(ended.run.status).toBe("cancelled");
      await expect(runs.cancel("run_nope")).rejects.toBeInstanceOf(NotFoundError);
    });

    it("keeps log lines and metric points in order per run", async () => {
      const runs = runRepo(ctx.db());
      const run = await runs.create(runInput());
      await runs.claim(run.id, "a", LEASE);
      const first = await runs.appendLogs(run.id, 1, [
        { stream: "stdout", text: "one" },
        { stream: "stderr", text: "two" },
      ]);
      await runs.appendLogs(run.id, 1, [{ stream: "system", text: "three" }]);
      expect((await runs.logs(run.id)).map((l) => l.text)).toEqual(["one", "two", "three"]);
      expect((await runs.logs(run.id, { after: first[1]!.seq })).map((l) => l.text)).toEqual(["three"]);
      await runs.appendMetrics(run.id, 1, [
        { name: "loss", value: 0.5, step: 2 },
        { name: "loss", value: 0.9, step: 1 },
      ]);
      expect((await runs.metrics(run.id)).map((p) => [p.step, p.value])).toEqual([
        [1, 0.9],
        [2, 0.5],
      ]);
      expect((await runs.list({ experiment: run.experiment })).map((r) => r.id)).toEqual([run.id]);
      expect((await runs.runningOn(["a"])).some((r) => r.runId === run.id)).toBe(true);
    });
  });

  describe("workers and datasets", () => {
    it("upserts workers by their own id", async () => {
      const workers = workerRepo(ctx.db());
      const id = unique("w");
      const caps = {
        cpus: 2,
        memoryMb: 1024,
        gpus: [],
        labels: {},
        kinds: ["builtin" as const],
        version: "1",
      };
      await workers.upsert({ id, name: "first", capabilities: caps });
      await workers.upsert({ id, name: "second", capabilities: { ...caps, cpus: 4 } });
      expect(await workers.get(id)).toMatchObject({ name: "second", capabilities: { cpus: 4 } });
      expect(await workers.touch(id)).toBe(true);
      expect(await workers.touch(unique("nope"))).toBe(false);
    });

    it("records a dataset version once and resolves latest, full and prefix references", async () => {
      const datasets = datasetRepo(ctx.db(), manualClock());
      const name = unique("ds");
      const input = {
        name,
        version: fakeSha("data-1"),
        format: "csv" as const,
        bytes: 10,
        rows: 2,
        target: "y",
        columns: [{ name: "y", kind: "numeric" }],
      };
      expect((await datasets.addVersion(input)).created).toBe(true);
      expect((await datasets.addVersion(input)).created).toBe(false);
      await expect(datasets.addVersion({ ...input, target: "x" })).rejects.toBeInstanceOf(ConflictError);
      await datasets.addVersion({ ...input, version: fakeSha("data-2") });
      expect((await datasets.resolve(name, "latest"))?.version).toBe(fakeSha("data-2"));
      expect((await datasets.resolve(name, fakeSha("data-1")))?.version).toBe(fakeSha("data-1"));
      expect((await datasets.resolve(name, fakeSha("data-2").slice(0, 12)))?.version).toBe(fakeSha("data-2"));
      expect(await datasets.resolve(name, "zz")).toBeNull();
      expect((await datasets.listVersions(name)).map((v) => v.version)).toEqual([
        fakeSha("data-2"),
        fakeSha("data-1"),
      ]);
      expect((await datasets.list()).find((d) => d.name === name)).toMatchObject({ versions: 2 });
    });
  });

  describe("a run's model registered with its success", () => {
    const outcome = (version: { modelName: string; version: number }) => ({
      metrics: { test: { accuracy: 0.9 } },
      outputs: { model: { name: version.modelName, version: version.version } },
    });

    it("registers the version, moves the aliases and ends the run succeeded, together", async () => {
      const runs = runRepo(ctx.db());
      const models = modelRepo(ctx.db());
      const name = unique("m");
      await models.registerVersion({ ...versionInput(name, "old"), aliases: ["champion"] });
      const run = await runs.create(runInput());
      await runs.claim(run.id, "a", LEASE);
      const done = await runs.succeedWithModel(
        run.id,
        1,
        { ...versionInput(name, "new"), lineage: { run: run.id }, aliases: ["champion", "latest"] },
        outcome,
      );
      expect(done.version).toMatchObject({ modelName: name, version: 2, lineage: { run: run.id } });
      expect(done.run).toMatchObject({ status: "succeeded", outputs: { model: { name, version: 2 } } });
      expect(done.attempt.status).toBe("succeeded");
      expect((await models.listAliases(name)).map((a) => [a.alias, a.version])).toEqual([
        ["champion", 2],
        ["latest", 2],
      ]);
    });

    it("keeps no version and leaves the attempt running when marking the run succeeded fails", async () => {
      const runs = runRepo(ctx.db());
      const models = modelRepo(ctx.db());
      const name = unique("m");
      await models.registerVersion({ ...versionInput(name, "old"), aliases: ["champion"] });
      const run = await runs.create(runInput());
      await runs.claim(run.id, "a", LEASE);
      const model = { ...versionInput(name, "new"), aliases: ["champion"] };
      const heal = await refuseRunSuccess(ctx.db(), run.id);
      try {
        const error = await runs.succeedWithModel(run.id, 1, model, outcome).catch((e: Error) => e);
        // The driver's error, wrapped by drizzle ("Failed query: …") with the database's as its cause.
        expect(String((error as Error).cause ?? error)).toContain("injected fault");
      } finally {
        await heal();
      }
      expect((await models.listVersions(name)).map((v) => v.version)).toEqual([1]);
      expect((await models.resolveVersion(name, "champion"))?.version).toBe(1);
      expect(await runs.assertCurrent(run.id, 1)).toMatchObject({ run: { status: "running" } });
      // The retry numbers the version as if the failed try never happened.
      expect((await runs.succeedWithModel(run.id, 1, model, outcome)).version.version).toBe(2);
    });

    it("registers nothing for an attempt that is no longer current, or a registration that does not parse", async () => {
      const clock = manualClock();
      const runs = runRepo(ctx.db(), clock);
      const models = modelRepo(ctx.db());
      const name = unique("m");
      const run = await runs.create(runInput());
      await runs.claim(run.id, "a", LEASE);
      await expect(
        runs.succeedWithModel(run.id, 1, { ...versionInput(name, "x"), aliases: ["9bad"] }, outcome),
      ).rejects.toBeInstanceOf(ValidationError);
      clock.advance(LEASE + 1);
      await runs.sweepExpired();
      await expect(runs.succeedWithModel(run.id, 1, versionInput(name, "x"), outcome)).rejects.toBeInstanceOf(
        LeaseLostError,
      );
      expect(await models.getModel(name)).toBeNull();
      expect((await runs.get(run.id))?.status).toBe("queued");
    });
  });

  describe("model aliases and lineage", () => {
    it("sets aliases at registration, moves and removes them, and resolves versions by alias", async () => {
      const models = modelRepo(ctx.db());
      const name = unique("m");
      const v1 = await models.registerVersion({
        ...versionInput(name, "a"),
        lineage: { run: "run_x", dataset: { name: "d", version: fakeSha("d") } },
        metrics: { test: { accuracy: 0.9 } },
        aliases: ["champion"],
      });
      expect(v1.lineage).toMatchObject({ run: "run_x" });
      const v2 = await models.registerVersion({ ...versionInput(name, "b"), aliases: ["champion"] });
      expect((await models.resolveVersion(name, "champion"))?.id).toBe(v2.id);
      await models.setAlias(name, "champion", 1);
      expect((await models.resolveVersion(name, "champion"))?.id).toBe(v1.id);
      expect((await models.resolveVersion(name, "2"))?.id).toBe(v2.id);
      await models.setAlias(name, "staging", 2);
      expect((await models.listAliases(name)).map((a) => [a.alias, a.version])).toEqual([
        ["champion", 1],
        ["staging", 2],
      ]);
      expect(await models.deleteAlias(name, "staging")).toBe(true);
      expect(await models.deleteAlias(name, "staging")).toBe(false);
      expect(await models.resolveVersion(name, "staging")).toBeNull();
      await expect(models.setAlias(name, "x", 9)).rejects.toBeInstanceOf(NotFoundError);
      await expect(models.setAlias(name, "9lives", 1)).rejects.toBeInstanceOf(ValidationError);
      await expect(models.listAliases(unique("none"))).rejects.toBeInstanceOf(NotFoundError);
    });
  });
}
