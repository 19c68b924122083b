/** Planner tests: each records the commands a plan would run; no ONNX, no MQTT, no clock. */
import { describe, expect, it } from "vitest";
import { sha256Hex } from "../../lib/files.js";
import type { DesiredModule, DesiredState } from "../../wire/messages.js";
import { canTransition } from "./module-state.js";
import { type Command, type CurrentState, plan } from "./plan.js";

const NOW = Date.parse("2026-01-01T00:00:00Z");

function mod(name: string, version: string): DesiredModule {
  const sha256 = sha256Hex(`${name}@${version}`);
  return { name, version, url: `http://hub.test/blobs/${sha256}`, sha256, size: 100 };
}

function desired(revision: number, modules: DesiredModule[]): DesiredState {
  return { protocol: 1, revision, issuedAt: "2026-01-01T00:00:00Z", modules };
}

function current(overrides: Partial<CurrentState> = {}): CurrentState {
  return { appliedRevision: null, active: [], unpacked: [], failures: [], ...overrides };
}

/** Commands as short strings, the way a test reads them best. */
function recorded(commands: Command[]): string[] {
  return commands.map((command) => {
    switch (command.kind) {
      case "download":
      case "unpack":
      case "load":
        return `${command.kind} ${command.module.name}@${command.module.version}`;
      case "activate":
        return `activate ${command.module.name}@${command.module.version} (was ${command.previousVersion ?? "none"})`;
      case "dispose":
      case "remove":
        return `${command.kind} ${command.name}@${command.version}`;
      default:
        return `cleanup ${command.name}`;
    }
  });
}

describe("plan", () => {
  it("installs new modules: every download and verification first, then make-before-break per module", () => {
    const result = plan(desired(1, [mod("a", "1.0.0"), mod("b", "2.0.0")]), current(), { now: NOW });
    expect(result.stale).toBe(false);
    expect(result.diff.added.map((m) => m.name)).toEqual(["a", "b"]);
    expect(recorded(result.commands)).toEqual([
      "download a@1.0.0",
      "download b@2.0.0",
      "unpack a@1.0.0",
      "unpack b@2.0.0",
      "load a@1.0.0",
      "activate a@1.0.0 (was none)",
      "cleanup a",
      "load b@2.0.0",
      "activate b@2.0.0 (was none)",
      "cleanup b",
    ]);
  });

  it("updates a version: loads the new one, switches, then disposes the old one", () => {
    const result = plan(
      desired(2, [mod("a", "1.1.0")]),
      current({ appliedRevision: 1, active: [{ name: "a", version: "1.0.0" }] }),
      { now: NOW },
    );
    expect(result.diff.updated).toEqual([{ from: { name: "a", version: "1.0.0" }, to: mod("a", "1.1.0") }]);
    expect(recorded(result.commands)).toEqual([
      "download a@1.1.0",
      "unpack a@1.1.0",
      "load a@1.1.0",
      "activate a@1.1.0 (was 1.0.0)",
      "dispose a@1.0.0",
      "cleanup a",
    ]);
  });

  it("does nothing for the same version (a redelivered or republished desired state)", () => {
    const result = plan(
      desired(3, [mod("a", "1.0.0")]),
      current({ appliedRevision: 3, active: [{ name: "a", version: "1.0.0" }] }),
      { now: NOW },
    );
    expect(result.diff.unchanged.map((m) => m.name)).toEqual(["a"]);
    expect(result.commands).toEqual([]);
  });

  it("ignores a revision older than the applied one [WIRE-3.2]", () => {
    const result = plan(desired(4, [mod("a", "9.0.0")]), current({ appliedRevision: 5 }), { now: NOW });
    expect(result.stale).toBe(true);
    expect(result.commands).toEqual([]);
  });

  it("removes modules no longer desired, after the others are in place", () => {
    const result = plan(
      desired(2, [mod("b", "1.0.0")]),
      current({ appliedRevision: 1, active: [{ name: "a", version: "1.0.0" }] }),
      { now: NOW },
    );
    expect(result.diff.removed).toEqual([{ name: "a", version: "1.0.0" }]);
    expect(recorded(result.commands)).toEqual([
      "download b@1.0.0",
      "unpack b@1.0.0",
      "load b@1.0.0",
      "activate b@1.0.0 (was none)",
      "cleanup b",
      "remove a@1.0.0",
    ]);
  });

  it("skips download and unpack for a version already unpacked (rolling back to the previous one)", () => {
    const result = plan(
      desired(3, [mod("a", "1.0.0")]),
      current({
        appliedRevision: 2,
        active: [{ name: "a", version: "1.1.0" }],
        unpacked: [
          { name: "a", version: "1.0.0" },
          { name: "a", version: "1.1.0" },
        ],
      }),
      { now: NOW },
    );
    expect(recorded(result.commands)).toEqual([
      "load a@1.0.0",
      "activate a@1.0.0 (was 1.1.0)",
      "dispose a@1.1.0",
      "cleanup a",
    ]);
  });

  it("does not retry a permanently failed version of the same tarball at the same revision", () => {
    const target = mod("a", "1.1.0");
    const state = current({
      appliedRevision: 3,
      active: [{ name: "a", version: "1.0.0" }],
      failures: [
        { ...target, reason: "signature mismatch", permanent: true, attempts: 1, retryAt: null, revision: 3 },
      ],
    });
    const result = plan(desired(3, [target]), state, { now: NOW + 86_400_000 });
    expect(result.commands).toEqual([]);
    expect(result.deferred).toEqual([{ module: target, reason: "signature mismatch", retryAt: null }]);
  });

  it("tries a permanently failed version again when the hub deploys it again (a newer revision)", () => {
    const target = mod("a", "1.1.0");
    const state = current({
      appliedRevision: 3,
      active: [{ name: "a", version: "1.0.0" }],
      failures: [
        {
          ...target,
          reason: "tarball sha256 is …",
          permanent: true,
          attempts: 1,
          retryAt: null,
          revision: 3,
        },
      ],
    });
    const result = plan(desired(4, [target]), state, { now: NOW });
    expect(recorded(result.commands)[0]).toBe("download a@1.1.0");
    expect(result.deferred).toEqual([]);
  });

  it("retries a transiently failed version only after its back-off", () => {
    const target = mod("a", "1.0.0");
    const failure = {
      ...target,
      reason: "hub unreachable",
      permanent: false,
      attempts: 2,
      retryAt: NOW + 60_000,
      revision: 1,
    };
    const state = current({ appliedRevision: 1, failures: [failure] });
    const early = plan(desired(1, [target]), state, { now: NOW + 59_999 });
    expect(early.commands).toEqual([]);
    expect(early.deferred.map((d) => d.retryAt)).toEqual([NOW + 60_000]);
    const later = plan(desired(1, [target]), state, { now: NOW + 60_000 });
    expect(recorded(later.commands)[0]).toBe("download a@1.0.0");
    expect(later.deferred).toEqual([]);
  });

  it("tries a new tarball at once even when an older one of the same module failed", () => {
    const failed = mod("a", "1.1.0");
    const state = current({
      failures: [
        { ...failed, reason: "hash mismatch", permanent: true, attempts: 1, retryAt: null, revision: 1 },
      ],
    });
    const result = plan(desired(2, [mod("a", "1.2.0")]), state, { now: NOW });
    expect(recorded(result.commands)[0]).toBe("download a@1.2.0");
  });

  it("rejects unsafe names, non-semver versions and duplicates, and leaves those modules alone", () => {
    const state = current({ appliedRevision: 1, active: [{ name: "keep", version: "1.0.0" }] });
    const result = plan(
      desired(2, [
        { ...mod("x", "1.0.0"), name: "../etc" },
        { ...mod("keep", "1.0.0"), version: "latest" },
        mod("dup", "1.0.0"),
        mod("dup", "2.0.0"),
      ]),
      state,
      { now: NOW },
    );
    expect(result.rejected.map((r) => `${r.name}@${r.version}`)).toEqual([
      "../etc@1.0.0",
      "keep@latest",
      "dup@1.0.0",
      "dup@2.0.0",
    ]);
    // "keep" is neither updated nor removed: a bad entry changes nothing.
    expect(result.commands).toEqual([]);
    expect(result.diff.removed).toEqual([]);
  });
});

describe("module state transitions", () => {
  it("allows the update path and abandoning an attempt, and rolls back only from loading", () => {
    expect(canTransition("active", "downloading")).toBe(true);
    expect(canTransition("downloading", "verifying")).toBe(true);
    expect(canTransition("loading", "active")).toBe(true);
    expect(canTransition("loading", "rolled-back")).toBe(true);
    expect(canTransition("downloading", null)).toBe(true);
    expect(canTransition("downloading", "rolled-back")).toBe(false);
    expect(canTransition("verifying", "rolled-back")).toBe(false);
    expect(canTransition("failed", "rolled-back")).toBe(false);
  });
});
