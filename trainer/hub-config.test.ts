import { describe, expect, it } from "vitest";
import { parseHubConfig } from "../hub/config.js";

describe("the hub's trainer setting", () => {
  it("is on by default and turned off by EDGEFLEET_TRAINER=0/false/no/off or the option", () => {
    expect(parseHubConfig({}, {}).trainer).toBe(true);
    for (const value of ["0", "false", "NO", "off"]) {
      expect(parseHubConfig({}, { EDGEFLEET_TRAINER: value }).trainer).toBe(false);
    }
    expect(parseHubConfig({}, { EDGEFLEET_TRAINER: "1" }).trainer).toBe(true);
    expect(parseHubConfig({ trainer: false }, { EDGEFLEET_TRAINER: "1" }).trainer).toBe(false);
  });

  it("refuses a value that is not a yes or no", () => {
    expect(() => parseHubConfig({}, { EDGEFLEET_TRAINER: "maybe" })).toThrow(/trainer/);
  });
});
