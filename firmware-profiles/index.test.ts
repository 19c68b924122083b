import { readdirSync, readFileSync } from "node:fs";
import { describe, expect, it } from "vitest";
import {
  FirmwareProfileSchema,
  getProfile,
  InvalidProfileError,
  listProfiles,
  parseProfileFile,
  profilesDir,
  UnknownProfileError,
} from "./index.js";

const files = readdirSync(profilesDir()).filter((f) => f.endsWith(".json"));

describe("firmware profile files", () => {
  it.each(files)("%s matches the schema and its file name", (file) => {
    const profile = parseProfileFile(file, readFileSync(`${profilesDir()}${file}`, "utf8"));
    expect(profile.os).toBe("linux");
    expect(profile.notes.length).toBeGreaterThan(0);
  });

  it("covers the device classes the fleet issue names", () => {
    const ids = listProfiles().map((p) => p.id);
    expect(ids).toEqual(
      expect.arrayContaining([
        "raspberry-pi-4",
        "raspberry-pi-5",
        "jetson-orin-nano",
        "x86-64-gateway",
        "raspberry-pi-zero-2w",
      ]),
    );
    expect(getProfile("jetson-orin-nano").executionProviders).toEqual(["tensorrt", "cuda", "cpu"]);
    expect(getProfile("x86-64-gateway").arch).toBe("x64");
  });
});

describe("profile schema refusals", () => {
  const valid = {
    id: "board",
    name: "A board",
    arch: "arm64",
    os: "linux",
    executionProviders: ["cpu"],
    memoryMb: 100,
    diskMb: 100,
    preferredPrecision: "int8",
    threads: 1,
  };

  it("accepts a minimal profile", () => {
    expect(FirmwareProfileSchema.parse(valid).notes).toEqual([]);
  });

  it.each([
    ["an unknown arch", { arch: "riscv64" }],
    ["an unknown os", { os: "windows" }],
    ["no cpu provider", { executionProviders: ["cuda"] }],
    ["an unknown provider", { executionProviders: ["npu", "cpu"] }],
    ["a zero memory budget", { memoryMb: 0 }],
    ["an unknown precision", { preferredPrecision: "fp8" }],
    ["an unknown field", { gpuMb: 1 }],
    ["a bad id", { id: "Board_1" }],
  ])("refuses %s", (_what, change) => {
    expect(FirmwareProfileSchema.safeParse({ ...valid, ...change }).success).toBe(false);
  });

  it("refuses a file whose id differs from its name, and non-JSON", () => {
    expect(() => parseProfileFile("other.json", JSON.stringify(valid))).toThrow(InvalidProfileError);
    expect(() => parseProfileFile("board.json", "{")).toThrow(/not JSON/);
  });

  it("names the known profiles for an unknown id", () => {
    expect(() => getProfile("toaster")).toThrow(UnknownProfileError);
    expect(() => getProfile("toaster")).toThrow(/raspberry-pi-4/);
    expect(() => getProfile("../etc/passwd")).toThrow(UnknownProfileError);
  });
});
