/** Contract: deployments and device events. */
import { describe, expect, it } from "vitest";
import {
  type CreateDeploymentInput,
  deploymentRepo,
  eventRepo,
  NotFoundError,
  ValidationError,
} from "../../../hub/repos/index.js";
import { type ContractContext, manualClock, unique } from "./context.js";

/** Registers the deployment and event tests. */
export function deploymentContract(ctx: ContractContext): void {
  describe("deployments", () => {
    function input(moduleName: string, targets: string[], extra: Partial<CreateDeploymentInput> = {}) {
      return {
        moduleName,
        moduleVersion: "1.0.0",
        selector: { tags: { site: "a" } },
        targetDeviceIds: targets,
        createdBy: "admin",
        ...extra,
      };
    }

    it("creates active deployments and finds them by id, module and device", async () => {
      const deployments = deploymentRepo(ctx.db(), manualClock());
      const moduleName = unique("mod");
      const [a, b] = [unique("dev"), unique("dev")];
      const first = await deployments.create(input(moduleName, [a, b, a]));
      expect(first).toMatchObject({
        moduleName,
        status: "active",
        strategy: "all-at-once",
        createdBy: "admin",
      });
      expect(first.targetDeviceIds).toEqual([a, b]);
      expect(await deployments.get(first.id)).toEqual(first);
      const second = await deployments.create(input(moduleName, [b], { moduleVersion: "1.1.0" }));
      expect((await deployments.list({ moduleName })).map((d) => d.id)).toEqual([second.id, first.id]);
      expect((await deployments.list({ moduleName, limit: 1 })).map((d) => d.id)).toEqual([second.id]);
      const byMonitor = await deployments.create(
        input(moduleName, [unique("dev")], { createdBy: "monitor:watch" }),
      );
      expect(
        (await deployments.list({ moduleName, moduleVersion: "1.0.0", createdBy: "admin" })).map((d) => d.id),
      ).toEqual([first.id]);
      expect((await deployments.list({ moduleName, createdBy: "monitor:watch" })).map((d) => d.id)).toEqual([
        byMonitor.id,
      ]);
      expect(await deployments.list({ moduleName, moduleVersion: "9.9.9" })).toEqual([]);
      expect((await deployments.listForDevice(a)).map((d) => d.id)).toEqual([first.id]);
      expect((await deployments.listForDevice(b)).map((d) => d.id)).toEqual([second.id, first.id]);
      expect(await deployments.listForDevice(unique("dev"))).toEqual([]);
    });

    it("supersedes earlier deployments in the same transaction", async () => {
      const deployments = deploymentRepo(ctx.db(), manualClock());
      const moduleName = unique("mod");
      const device = unique("dev");
      const old = await deployments.create(input(moduleName, [device]));
      const next = await deployments.create(input(moduleName, [device], { supersedes: [old.id] }));
      expect((await deployments.get(old.id))?.status).toBe("superseded");
      expect((await deployments.listForDevice(device, { activeOnly: true })).map((d) => d.id)).toEqual([
        next.id,
      ]);
      expect((await deployments.list({ moduleName, status: "superseded" })).map((d) => d.id)).toEqual([
        old.id,
      ]);
    });

    it("refuses unknown superseded ids and creates nothing", async () => {
      const deployments = deploymentRepo(ctx.db());
      const moduleName = unique("mod");
      const old = await deployments.create(input(moduleName, [unique("dev")]));
      await expect(
        deployments.create(input(moduleName, [unique("dev")], { supersedes: [old.id, "no-such-id"] })),
      ).rejects.toBeInstanceOf(NotFoundError);
      expect((await deployments.get(old.id))?.status).toBe("active");
      expect(await deployments.list({ moduleName })).toHaveLength(1);
    });

    it("refuses malformed input and unknown ids", async () => {
      const deployments = deploymentRepo(ctx.db());
      const moduleName = unique("mod");
      await expect(deployments.create(input(moduleName, ["Bad Id"]))).rejects.toBeInstanceOf(ValidationError);
      await expect(
        deployments.create(input(moduleName, [], { moduleVersion: "latest" })),
      ).rejects.toBeInstanceOf(ValidationError);
      await expect(
        deployments.create(input(moduleName, [], { selector: { nodes: ["x"] } as never })),
      ).rejects.toBeInstanceOf(ValidationError);
      expect(await deployments.list({ moduleName })).toEqual([]);
      expect(await deployments.get("no-such-id")).toBeNull();
      await expect(deployments.setStatus("no-such-id", "cancelled")).rejects.toBeInstanceOf(NotFoundError);
      const created = await deployments.create(input(moduleName, []));
      await expect(deployments.setStatus(created.id, "bogus" as "active")).rejects.toBeInstanceOf(
        ValidationError,
      );
      expect((await deployments.setStatus(created.id, "cancelled")).status).toBe("cancelled");
    });
  });

  describe("rollout progress", () => {
    const spec = {
      waves: [
        { percent: 10, bakeMs: 1000 },
        { percent: 100, bakeMs: 1000 },
      ],
      ratePerMinute: 60,
      gates: {
        maxFailureRate: 0.1,
        maxErrorRate: 0.1,
        maxLatencyRatio: 2,
        maxPredictionShift: 0.2,
        maxMeanShift: 1,
        minRequests: 10,
      },
    };

    it("stores priority and the rollout spec, and defaults to one all-at-once wave", async () => {
      const deployments = deploymentRepo(ctx.db(), manualClock());
      const moduleName = unique("mod");
      const base = {
        moduleName,
        moduleVersion: "1.0.0",
        selector: { tags: { site: "a" } },
        targetDeviceIds: [unique("dev")],
        createdBy: "admin",
      };
      const plain = await deployments.create(base);
      expect(plain).toMatchObject({ priority: 0, wave: 0, released: 0, generation: 0, outcome: null });
      expect(plain.rollout.waves).toEqual([{ percent: 100, bakeMs: 0 }]);
      const rich = await deployments.create({ ...base, strategy: "waves", priority: 7, rollout: spec });
      expect(rich).toMatchObject({ priority: 7, strategy: "waves", rollout: spec });
      await expect(deployments.create({ ...base, rollout: { ...spec, waves: [] } })).rejects.toBeInstanceOf(
        ValidationError,
      );
      await expect(deployments.create({ ...base, priority: 1.5 })).rejects.toBeInstanceOf(ValidationError);
      expect(await deployments.list({ moduleName })).toHaveLength(2);
    });

    it("advances only from the expected generation (compare-and-set), and lists by status", async () => {
      const deployments = deploymentRepo(ctx.db(), manualClock());
      const moduleName = unique("mod");
      const created = await deployments.create({
        moduleName,
        moduleVersion: "1.0.0",
        selector: { tags: { site: "a" } },
        targetDeviceIds: [unique("dev"), unique("dev")],
        createdBy: "admin",
        rollout: spec,
      });
      const startedAt = new Date("2025-02-01T00:00:00.000Z");
      const first = await deployments.advance(created.id, 0, { released: 1, waveStartedAt: startedAt });
      expect(first).toMatchObject({ released: 1, generation: 1, waveStartedAt: startedAt });
      // A second writer holding the old generation loses and changes nothing.
      expect(await deployments.advance(created.id, 0, { released: 2 })).toBeNull();
      expect((await deployments.get(created.id))?.released).toBe(1);
      // Concurrent writers from the same generation: exactly one wins.
      const results = await Promise.all([
        deployments.advance(created.id, 1, { wave: 1 }),
        deployments.advance(created.id, 1, { status: "paused" }),
      ]);
      expect(results.filter((r) => r !== null)).toHaveLength(1);
      await expect(deployments.advance("no-such-id", 0, {})).rejects.toBeInstanceOf(NotFoundError);
      await expect(
        deployments.advance(created.id, 2, { status: "bogus" as "active" }),
      ).rejects.toBeInstanceOf(ValidationError);
      const rolledBack = await deployments.setStatus(created.id, "rolled-back");
      expect(rolledBack.generation).toBe(3);
      expect((await deployments.listContributing()).some((d) => d.id === created.id)).toBe(false);
      expect((await deployments.listByStatus(["rolled-back"])).some((d) => d.id === created.id)).toBe(true);
      await deployments.setStatus(created.id, "completed");
      expect((await deployments.listContributing()).some((d) => d.id === created.id)).toBe(true);
    });
  });

  describe("events", () => {
    it("stores events and lists them newest first per device", async () => {
      const events = eventRepo(ctx.db());
      const device = unique("dev");
      const early = await events.insert({
        deviceId: device,
        kind: "module.failed",
        module: "m",
        version: "1.0.0",
        message: "load failed",
        details: { code: 3 },
        at: new Date("2025-01-01T00:00:00.000Z"),
      });
      const late = await events.insertFromWire(device, {
        protocol: 1,
        at: "2025-01-01T00:01:00.000Z",
        kind: "module.activated",
        message: "ok",
      });
      await events.insert({ deviceId: unique("dev"), kind: "x", message: "other device", at: new Date() });
      expect(early).toMatchObject({ deviceId: device, details: { code: 3 }, module: "m" });
      expect(late).toMatchObject({ module: null, details: null, at: new Date("2025-01-01T00:01:00.000Z") });
      expect((await events.list({ deviceId: device })).map((e) => e.id)).toEqual([late.id, early.id]);
      expect((await events.list({ deviceId: device, limit: 1 })).map((e) => e.id)).toEqual([late.id]);
      expect((await events.list()).length).toBeGreaterThanOrEqual(3);
    });

    it("refuses empty kinds and invalid times", async () => {
      const events = eventRepo(ctx.db());
      const deviceId = unique("dev");
      await expect(events.insert({ deviceId, kind: "", message: "", at: new Date() })).rejects.toBeInstanceOf(
        ValidationError,
      );
      await expect(
        events.insert({ deviceId, kind: "k", message: "", at: new Date("nope") }),
      ).rejects.toBeInstanceOf(ValidationError);
      expect(await events.list({ deviceId })).toEqual([]);
    });
  });
}
