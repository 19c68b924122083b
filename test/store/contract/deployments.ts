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
