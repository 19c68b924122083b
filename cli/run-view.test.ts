/** The run view's progress bar ends full on a succeeded run and stays where it was otherwise. */
import { PassThrough } from "node:stream";
import { describe, expect, it } from "vitest";
import { RunView } from "./run-view.js";

function drawn(succeeded: boolean): string {
  const out = new PassThrough();
  let text = "";
  out.on("data", (chunk) => (text += chunk));
  const view = new RunView({ lines: out, bar: out as unknown as NodeJS.WriteStream, aboveBar: false });
  view.progress({ iteration: 87, of: 100, phase: "training" });
  view.stop({ succeeded });
  return text;
}

describe("RunView progress", () => {
  it("ends at 100% when the run succeeded, though the last progress event said 87", () => {
    expect(drawn(true)).toContain("100/100");
  });

  it("stays at the last progress of a run that did not succeed", () => {
    const text = drawn(false);
    expect(text).toContain("87/100");
    expect(text).not.toContain("100/100");
  });
});

describe("printOutcome", () => {
  it("shows an auto run's leaderboard and winning recipe in text", async () => {
    const { printOutcome } = await import("./run-view.js");
    const { vi } = await import("vitest");
    let text = "";
    const spy = vi.spyOn(process.stdout, "write").mockImplementation((chunk) => {
      text += String(chunk);
      return true;
    });
    try {
      printOutcome({
        id: "r1",
        status: "succeeded",
        metrics: {},
        outputs: {
          leaderboard: [
            {
              rank: 1,
              recipe: "gbt",
              params: { depth: 3 },
              metric: { name: "rmse", value: 2.5 },
              durationMs: 1200,
            },
            { rank: 2, recipe: "ridge", params: {}, metric: { name: "rmse", value: 3.1 }, durationMs: 100 },
          ],
        },
      } as never);
    } finally {
      spy.mockRestore();
    }
    expect(text).toMatch(/leaderboard \(validation\)/);
    expect(text).toMatch(/1\s+gbt\s+2\.5/);
    expect(text).toMatch(/2\s+ridge\s+3\.1/);
    expect(text).toContain('winner: gbt {"depth":3}');
  });

  it("shows a cross-validated leaderboard's mean ± sd", async () => {
    const { printLeaderboard } = await import("./run-view.js");
    const { vi } = await import("vitest");
    let text = "";
    const spy = vi.spyOn(process.stdout, "write").mockImplementation((chunk) => {
      text += String(chunk);
      return true;
    });
    try {
      printLeaderboard([
        {
          rank: 1,
          recipe: "logistic",
          params: {},
          evaluation: "cross-validation",
          metric: { name: "logLoss", value: 0.25, sd: 0.05, folds: 5 },
          durationMs: 300,
        },
      ]);
    } finally {
      spy.mockRestore();
    }
    expect(text).toMatch(/5-fold cross-validation on the training rows, mean ± sd/);
    expect(text).toMatch(/1\s+logistic\s+0\.25 ± 0\.05/);
  });
});
