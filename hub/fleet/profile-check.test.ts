import { describe, expect, it } from "vitest";
import type { Capabilities } from "../../wire/messages.js";
import { checkProfile } from "./profile-check.js";

const pi5: Capabilities = {
  arch: "arm64",
  platform: "linux",
  cpus: 4,
  memoryMb: 3900,
  executionProviders: ["cpu"],
  onnxruntimeVersion: "1.30.0",
};

describe("checkProfile", () => {
  it("is ok when the detected device matches", () => {
    expect(checkProfile({ profile: "raspberry-pi-5", capabilities: pi5 })).toEqual({
      ok: true,
      problems: [],
    });
  });

  it("lists every mismatch", () => {
    const x86: Capabilities = {
      arch: "x64",
      platform: "darwin",
      cpus: 2,
      memoryMb: 1000,
      executionProviders: ["cpu"],
    };
    const check = checkProfile({
      profile: "jetson-orin-nano",
      capabilities: x86,
      agentProfile: "x86-64-gateway",
    });
    expect(check.ok).toBe(false);
    expect(check.problems).toEqual([
      'the agent runs with profile "x86-64-gateway", the hub has "jetson-orin-nano"',
      "arch: detected x64, profile says arm64",
      "os: detected darwin, profile says linux",
      "memory: detected 1000 MiB in total, less than the profile's 4096 MiB model budget",
      "cores: detected 2, profile asks for 4 threads",
      "execution providers: profile declares tensorrt, cuda, not detected (cpu)",
    ]);
  });

  it("says why nothing was compared", () => {
    expect(checkProfile({ profile: null, capabilities: pi5 })).toMatchObject({
      ok: true,
      note: "no profile declared",
    });
    expect(checkProfile({ profile: "raspberry-pi-5", capabilities: null })).toMatchObject({
      ok: true,
      note: "the agent has not reported capabilities yet",
    });
    expect(checkProfile({ profile: "toaster", capabilities: pi5 })).toMatchObject({ ok: false });
  });
});
