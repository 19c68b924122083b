/** Contract: devices, credentials, status/reported and atomic desired revisions. */
import { describe, expect, it } from "vitest";
import {
  ConflictError,
  type DesiredContext,
  deviceRepo,
  NotFoundError,
  ValidationError,
} from "../../../hub/repos/index.js";
import type { DesiredState, ReportedState, Status } from "../../../wire/messages.js";
import { DEVICE_ID_PATTERN } from "../../../wire/topics.js";
import { type ContractContext, fakeSha, unique } from "./context.js";

function desired(modules: DesiredState["modules"] = []): DesiredState {
  return { protocol: 1, revision: 0, issuedAt: "2025-01-01T00:00:00.000Z", modules };
}

const onlineStatus: Status = {
  protocol: 1,
  online: true,
  agentVersion: "0.1.0",
  profile: "rpi4",
  capabilities: { arch: "arm64", platform: "linux", cpus: 4, memoryMb: 4096, executionProviders: ["cpu"] },
  at: "2025-01-01T00:00:00.000Z",
};

/** Registers the device tests. */
export function deviceContract(ctx: ContractContext): void {
  describe("devices", () => {
    it("provisions a device with a secret that verifies", async () => {
      const devices = deviceRepo(ctx.db());
      const id = unique("cam");
      const { device, secret } = await devices.provision({
        id,
        name: "Camera",
        tags: { site: "a" },
        profile: "rpi4",
      });
      expect(device).toMatchObject({
        id,
        name: "Camera",
        tags: { site: "a" },
        profile: "rpi4",
        online: false,
      });
      expect(device.desiredRevision).toBe(0);
      expect(device).not.toHaveProperty("secretHash");
      expect(secret).toMatch(/^efd_/);
      expect(await devices.verifySecret(id, secret)).toBe(true);
      expect(await devices.get(id)).toEqual(device);
    });

    it("generates an id and a default name when none is given", async () => {
      const { device } = await deviceRepo(ctx.db()).provision({});
      expect(device.id).toMatch(DEVICE_ID_PATTERN);
      expect(device.name).toBe(device.id);
      expect(device.tags).toEqual({});
    });

    it("refuses duplicate ids with ConflictError and keeps the original secret", async () => {
      const devices = deviceRepo(ctx.db());
      const id = unique("dup");
      const first = await devices.provision({ id, name: "first" });
      await expect(devices.provision({ id, name: "second" })).rejects.toBeInstanceOf(ConflictError);
      expect((await devices.get(id))?.name).toBe("first");
      expect(await devices.verifySecret(id, first.secret)).toBe(true);
    });

    it("refuses malformed ids and tags and stores nothing", async () => {
      const devices = deviceRepo(ctx.db());
      for (const id of ["Upper", "-x", "a/b", "a".repeat(70), ""]) {
        await expect(devices.provision({ id })).rejects.toBeInstanceOf(ValidationError);
        expect(await devices.get(id)).toBeNull();
      }
      await expect(devices.provision({ tags: { k: 1 as unknown as string } })).rejects.toBeInstanceOf(
        ValidationError,
      );
    });

    it("refuses wrong secrets, unknown ids and secrets of other devices", async () => {
      const devices = deviceRepo(ctx.db());
      const a = await devices.provision({ id: unique("a") });
      const b = await devices.provision({ id: unique("b") });
      expect(await devices.verifySecret(a.device.id, b.secret)).toBe(false);
      expect(await devices.verifySecret(a.device.id, "")).toBe(false);
      expect(await devices.verifySecret(unique("ghost"), a.secret)).toBe(false);
      expect(await devices.verifySecret("../etc", a.secret)).toBe(false);
    });

    it("lists by tags, ids and both", async () => {
      const devices = deviceRepo(ctx.db());
      const fleet = unique("fleet");
      const ids = [unique("d1"), unique("d2"), unique("d3")];
      await devices.provision({ id: ids[0], tags: { fleet, zone: "n" } });
      await devices.provision({ id: ids[1], tags: { fleet, zone: "s" } });
      await devices.provision({ id: ids[2], tags: { fleet: "other" } });
      const sorted = (list: { id: string }[]) => list.map((d) => d.id);
      expect(sorted(await devices.list({ tags: { fleet } }))).toEqual([ids[0], ids[1]].sort());
      expect(sorted(await devices.list({ tags: { fleet, zone: "s" } }))).toEqual([ids[1]]);
      expect(sorted(await devices.list({ ids: [ids[2]!, ids[0]!] }))).toEqual([ids[0], ids[2]].sort());
      expect(sorted(await devices.list({ ids: ids as string[], tags: { fleet: "other" } }))).toEqual([
        ids[2],
      ]);
      expect(await devices.list({ ids: [] })).toEqual([]);
      expect(await devices.list({ tags: { fleet: unique("none") } })).toEqual([]);
      expect((await devices.list()).length).toBeGreaterThanOrEqual(3);
    });

    it("records status, keeps agent facts through an offline last will, and records reported state", async () => {
      const devices = deviceRepo(ctx.db());
      const id = unique("st");
      await devices.provision({ id });
      const at = new Date("2025-03-01T10:00:00.000Z");
      await devices.setStatus(id, onlineStatus, at);
      let device = await devices.get(id);
      expect(device).toMatchObject({
        online: true,
        agentVersion: "0.1.0",
        lastSeenAt: at,
        status: onlineStatus,
      });
      expect(device?.capabilities?.cpus).toBe(4);
      const offline: Status = { protocol: 1, online: false, at: "2025-03-01T11:00:00.000Z" };
      await devices.setStatus(id, offline, new Date("2025-03-01T11:00:00.000Z"));
      device = await devices.get(id);
      expect(device).toMatchObject({ online: false, agentVersion: "0.1.0", status: offline });
      const reported: ReportedState = {
        protocol: 1,
        revision: 3,
        modules: [{ name: "m", version: "1.0.0", state: "active", since: "2025-03-01T11:00:00.000Z" }],
        at: "2025-03-01T11:00:00.000Z",
      };
      const reportedAt = new Date("2025-03-01T12:00:00.000Z");
      await devices.setReported(id, reported, reportedAt);
      expect(await devices.get(id)).toMatchObject({ reported, reportedAt });
    });

    it("stores a burst of reports: each device's last one, unknown devices refused alone", async () => {
      const devices = deviceRepo(ctx.db());
      const ids = Array.from({ length: 8 }, () => unique("rb"));
      for (const id of ids) await devices.provision({ id });
      const report = (revision: number): ReportedState => ({
        protocol: 1,
        revision,
        modules: [],
        at: "2025-03-01T11:00:00.000Z",
      });
      const ghost = unique("ghost");
      // Not awaited one by one: the calls made while a write runs are stored together by the next.
      const calls = ids.flatMap((id) =>
        [1, 2, 3].map((r) => devices.setReported(id, report(r), new Date(r))),
      );
      const refused = devices.setReported(ghost, report(1), new Date());
      await Promise.all(calls);
      await expect(refused).rejects.toBeInstanceOf(NotFoundError);
      for (const id of ids)
        expect(await devices.get(id)).toMatchObject({ reported: report(3), reportedAt: new Date(3) });
    });

    it("stores the rest of a burst when the database refuses one device's report", async () => {
      const devices = deviceRepo(ctx.db());
      const ids = Array.from({ length: 6 }, () => unique("rn"));
      for (const id of ids) await devices.provision({ id });
      const report = (error?: string): ReportedState => ({
        protocol: 1,
        revision: 2,
        modules: [
          {
            name: "m",
            version: "1.0.0",
            state: "failed",
            since: "2025-03-01T11:00:00.000Z",
            ...(error ? { error } : {}),
          },
        ],
        at: "2025-03-01T11:00:00.000Z",
      });
      const [poisoned, ...valid] = ids as [string, ...string[]];
      // Held back behind a first write, so every report below shares one batch.
      const first = devices.setReported(valid[0]!, report(), new Date(1));
      const calls = valid.map((id) => devices.setReported(id, report(), new Date(2)));
      // jsonb cannot hold U+0000: this row fails its statement.
      const refused = devices.setReported(poisoned, report("bad \u0000 byte"), new Date(2));
      await first;
      await Promise.all(calls);
      await expect(refused).rejects.toThrow();
      for (const id of valid)
        expect(await devices.get(id)).toMatchObject({ reported: report(), reportedAt: new Date(2) });
      expect(await devices.get(poisoned)).toMatchObject({ reported: null });
    });

    it("refuses status and reported for unknown devices", async () => {
      const devices = deviceRepo(ctx.db());
      const ghost = unique("ghost");
      await expect(devices.setStatus(ghost, onlineStatus, new Date())).rejects.toBeInstanceOf(NotFoundError);
      const reported: ReportedState = {
        protocol: 1,
        revision: 0,
        modules: [],
        at: "2025-01-01T00:00:00.000Z",
      };
      await expect(devices.setReported(ghost, reported, new Date())).rejects.toBeInstanceOf(NotFoundError);
    });

    it("publishes desired states with increasing revisions, seeing the previous one", async () => {
      const devices = deviceRepo(ctx.db());
      const id = unique("ds");
      await devices.provision({ id });
      const seen: DesiredContext[] = [];
      const module = { name: "m", version: "1.0.0", url: "http://hub/b", sha256: fakeSha("m"), size: 3 };
      const first = await devices.setDesired(id, (c) => {
        seen.push(c);
        return desired([module]);
      });
      expect(first.revision).toBe(1);
      const second = await devices.setDesired(id, (c) => {
        seen.push(c);
        return { ...c.current!, revision: 999, modules: [] };
      });
      expect(second.revision).toBe(2);
      expect(seen[0]).toMatchObject({ current: null, currentRevision: 0, nextRevision: 1 });
      expect(seen[1]).toMatchObject({ current: first, currentRevision: 1, nextRevision: 2 });
      expect(await devices.get(id)).toMatchObject({ desired: second, desiredRevision: 2 });
    });

    it("gives concurrent desired updates distinct revisions with none lost", async () => {
      const devices = deviceRepo(ctx.db());
      const id = unique("cc");
      await devices.provision({ id });
      const results = await Promise.all(
        Array.from({ length: 12 }, () => devices.setDesired(id, () => desired())),
      );
      expect(results.map((r) => r.revision).sort((a, b) => a - b)).toEqual(
        Array.from({ length: 12 }, (_, i) => i + 1),
      );
      expect(await devices.get(id)).toMatchObject({ desiredRevision: 12, desired: { revision: 12 } });
    });

    it("changes nothing when the builder throws or builds an invalid state", async () => {
      const devices = deviceRepo(ctx.db());
      const id = unique("bad");
      await devices.provision({ id });
      await devices.setDesired(id, () => desired());
      await expect(
        devices.setDesired(id, () => {
          throw new Error("boom");
        }),
      ).rejects.toThrow("boom");
      const broken = () =>
        ({
          ...desired(),
          modules: [{ name: "m", version: "1", url: "not a url", sha256: "x", size: -1 }],
        }) as DesiredState;
      await expect(devices.setDesired(id, broken)).rejects.toBeInstanceOf(ValidationError);
      expect(await devices.get(id)).toMatchObject({ desiredRevision: 1, desired: { revision: 1 } });
      await expect(devices.setDesired(unique("ghost"), () => desired())).rejects.toBeInstanceOf(
        NotFoundError,
      );
    });

    it("stores a batch of desired states at once; a bad entry fails alone and changes nothing", async () => {
      const devices = deviceRepo(ctx.db());
      const [a, b, c, d] = [unique("wa"), unique("wb"), unique("wc"), unique("wd")];
      for (const id of [a, b, c, d]) await devices.provision({ id });
      await devices.setDesired(b, () => desired());
      const seen = new Map<string, DesiredContext[]>();
      const build = (id: string, state: () => DesiredState) => ({
        id,
        build: (context: DesiredContext) => {
          seen.set(id, [...(seen.get(id) ?? []), context]);
          return state();
        },
      });
      const module = { name: "m", version: "2.0.0", url: "http://hub/b", sha256: fakeSha("m2"), size: 3 };
      const ghost = unique("ghost");
      const outcomes = await devices.setDesiredMany([
        build(b, () => desired([module])),
        build(a, () => desired([module])),
        build(ghost, () => desired()),
        build(c, () => {
          throw new Error("boom");
        }),
        build(d, () => ({ ...desired(), modules: [{ ...module, url: "not a url" }] })),
        build(a, () => desired()), // the same device again sees the first update
      ]);
      expect(outcomes.map((o) => [o.id, o.ok])).toEqual([
        [b, true],
        [a, true],
        [ghost, false],
        [c, false],
        [d, false],
        [a, true],
      ]);
      expect(outcomes.map((o) => (o.ok ? o.desired.revision : o.error.constructor))).toEqual([
        2,
        1,
        NotFoundError,
        Error,
        ValidationError,
        2,
      ]);
      expect(seen.get(a)?.map((s) => [s.currentRevision, s.nextRevision])).toEqual([
        [0, 1],
        [1, 2],
      ]);
      expect(seen.get(a)?.[1]?.current?.modules).toEqual([module]);
      expect(await devices.get(a)).toMatchObject({
        desiredRevision: 2,
        desired: { revision: 2, modules: [] },
      });
      expect(await devices.get(b)).toMatchObject({ desiredRevision: 2, desired: { modules: [module] } });
      expect(await devices.get(c)).toMatchObject({ desiredRevision: 0, desired: null });
      expect(await devices.get(d)).toMatchObject({ desiredRevision: 0, desired: null });
      expect(await devices.setDesiredMany([])).toEqual([]);
      // The sync's narrow read: id and desired only, in id order.
      expect(await devices.listDesired({ ids: [c, b] })).toEqual(
        [
          { id: b, desired: (await devices.get(b))!.desired },
          { id: c, desired: null },
        ].sort((x, y) => x.id.localeCompare(y.id)),
      );
      expect(await devices.listDesired({ ids: [] })).toEqual([]);
    });

    it("gives concurrent batches over the same devices distinct revisions with none lost", async () => {
      const devices = deviceRepo(ctx.db());
      const ids = [unique("ca"), unique("cb"), unique("cc")];
      for (const id of ids) await devices.provision({ id });
      // Opposite orders: the store locks rows in id order whatever order a batch names them in.
      await Promise.all(
        Array.from({ length: 6 }, (_, i) =>
          devices.setDesiredMany(
            (i % 2 === 0 ? ids : [...ids].reverse()).map((id) => ({ id, build: () => desired() })),
          ),
        ),
      );
      for (const id of ids)
        expect(await devices.get(id)).toMatchObject({ desiredRevision: 6, desired: { revision: 6 } });
    });

    it("takes reports from two hub replicas alongside desired batches without deadlocking", async () => {
      const [one, two] = [deviceRepo(ctx.db()), deviceRepo(ctx.db())];
      const ids = Array.from({ length: 6 }, () => unique("dl"));
      for (const id of ids) await one.provision({ id });
      const report: ReportedState = { protocol: 1, revision: 1, modules: [], at: "2025-03-01T11:00:00.000Z" };
      const burst = (repo: typeof one, order: string[]) =>
        Promise.all(order.flatMap((id) => [1, 2].map(() => repo.setReported(id, report, new Date()))));
      await Promise.all([
        burst(one, ids),
        burst(two, [...ids].reverse()),
        one.setDesiredMany([...ids].reverse().map((id) => ({ id, build: () => desired() }))),
        two.setDesiredMany(ids.map((id) => ({ id, build: () => desired() }))),
      ]);
      for (const id of ids) expect(await one.get(id)).toMatchObject({ reported: report, desiredRevision: 2 });
    });

    it("rotates secrets: the old one stops working", async () => {
      const devices = deviceRepo(ctx.db());
      const { device, secret } = await devices.provision({ id: unique("rot") });
      const fresh = await devices.rotateSecret(device.id);
      expect(fresh).not.toBe(secret);
      expect(await devices.verifySecret(device.id, secret)).toBe(false);
      expect(await devices.verifySecret(device.id, fresh)).toBe(true);
      await expect(devices.rotateSecret(unique("ghost"))).rejects.toBeInstanceOf(NotFoundError);
    });

    it("deletes devices and refuses unknown ids", async () => {
      const devices = deviceRepo(ctx.db());
      const { device, secret } = await devices.provision({ id: unique("del") });
      await devices.delete(device.id);
      expect(await devices.get(device.id)).toBeNull();
      expect(await devices.verifySecret(device.id, secret)).toBe(false);
      await expect(devices.delete(device.id)).rejects.toBeInstanceOf(NotFoundError);
    });
  });
}
