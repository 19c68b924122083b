import { describe, expect, it } from "vitest";
import { ACTIVATION_DEFAULTS, type ReleasedDevice, settle } from "./activation.js";

const NOW = new Date("2025-06-01T00:10:00.000Z");
const before = new Date(NOW.getTime() + 60_000);
const after = new Date(NOW.getTime() - 1);
const device = (deviceId: string, patch: Partial<ReleasedDevice> = {}): ReleasedDevice => ({
  deviceId,
  online: true,
  desired: true,
  ...patch,
});
const reported = (state: string, version = "2.0.0", error?: string) => ({
  reported: { version, state, ...(error ? { error } : {}) },
});

describe("settling a wave before its gates are judged", () => {
  it("is not ready while a released, online device has not reported this version (the false-success case)", () => {
    const s = settle([device("d1")], "2.0.0", ACTIVATION_DEFAULTS, NOW, before);
    expect(s).toMatchObject({ ready: false, judged: 0, failed: 0 });
    expect(s.waitingFor).toMatch(/1 released device\(s\) have not reported/);
    // A report of the previous version or a step before active is not settled either.
    for (const r of [reported("active", "1.0.0"), reported("loading")])
      expect(settle([device("d1", r)], "2.0.0", ACTIVATION_DEFAULTS, NOW, before).ready).toBe(false);
  });

  it("counts failed and rolled-back reports, with the device's error as the reason", () => {
    const s = settle(
      [
        device("d1", reported("failed", "2.0.0", "warm-up failed: Pad needs length >= 2")),
        device("d2", reported("rolled-back")),
        device("d3", reported("active")),
      ],
      "2.0.0",
      ACTIVATION_DEFAULTS,
      NOW,
      before,
    );
    expect(s).toMatchObject({ ready: true, judged: 3, failed: 2 });
    expect(s.devices[0]).toEqual({
      deviceId: "d1",
      verdict: "failed",
      state: "failed",
      reason: "warm-up failed: Pad needs length >= 2",
    });
  });

  it("past the deadline, a device that never settled counts as failed (timed-out)", () => {
    const s = settle(
      [device("d1", reported("downloading")), device("d2", reported("active"))],
      "2.0.0",
      ACTIVATION_DEFAULTS,
      NOW,
      after,
    );
    expect(s).toMatchObject({ ready: true, judged: 2, failed: 1 });
    expect(s.devices[0]).toMatchObject({ verdict: "timed-out", state: "downloading" });
    expect(s.devices[0]!.reason).toMatch(/activation deadline of 10 min \(still downloading\)/);
  });

  it("offline devices are excluded by default, held to the deadline with onOffline fail", () => {
    const fleet = [device("d1", { online: false }), device("d2", reported("active"))];
    expect(settle(fleet, "2.0.0", ACTIVATION_DEFAULTS, NOW, before)).toMatchObject({
      ready: true,
      judged: 1,
      failed: 0,
    });
    const strict = { ...ACTIVATION_DEFAULTS, onOffline: "fail" as const };
    expect(settle(fleet, "2.0.0", strict, NOW, before).ready).toBe(false);
    expect(settle(fleet, "2.0.0", strict, NOW, after)).toMatchObject({ ready: true, judged: 2, failed: 1 });
  });

  it("a wave whose every counted device is offline waits rather than passing on nobody", () => {
    const s = settle([device("d1", { online: false })], "2.0.0", ACTIVATION_DEFAULTS, NOW, after);
    expect(s.ready).toBe(false);
    expect(s.waitingFor).toMatch(/offline/);
  });

  it("devices another deployment wins are settled and left out of the count", () => {
    const s = settle(
      [device("d1", { desired: false }), device("d2", reported("active"))],
      "2.0.0",
      ACTIVATION_DEFAULTS,
      NOW,
      before,
    );
    expect(s).toMatchObject({ ready: true, judged: 1, failed: 0 });
    expect(s.devices[0]!.verdict).toBe("overridden");
  });
});
