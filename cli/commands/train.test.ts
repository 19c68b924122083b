/** `train` flags → the `POST /runs` body; contradictory or malformed flags are refused before any request. */
import { describe, expect, it } from "vitest";
import { CliError } from "../hub-target.js";
import { trainRequest } from "./train.js";

const base = {
  experiment: "churn",
  dataset: "customers@abc12345",
  target: "churned",
  task: "classification",
};

describe("--split", () => {
  it("sends the two fractions as the run's split", () => {
    expect(trainRequest({ ...base, split: "0.1, 0.25" }).split).toEqual({ validation: 0.1, test: 0.25 });
    expect(trainRequest({ ...base, split: "0,0.2" }).split).toEqual({ validation: 0, test: 0.2 });
  });

  it.each(["0.2", "a,b", "0.5,0.5", "0.1,0", "-0.1,0.2", "0.1,0.2,0.3", ","])(
    "refuses %s before any request",
    (split) => {
      expect(() => trainRequest({ ...base, split })).toThrow(CliError);
    },
  );
});

describe("trainRequest", () => {
  it("maps every flag", () => {
    expect(
      trainRequest({
        ...base,
        recipe: "mlp",
        params: '{"epochs": 10, "hidden": [4]}',
        param: ["epochs=50", "solver=adam", "hidden=[16,8]"],
        seed: "7",
        label: ["zone=eu", "pool=a=b"],
        gpus: "1",
        alias: ["challenger", "latest-mlp"],
        maxAttempts: "2",
      }),
    ).toEqual({
      experiment: "churn",
      dataset: { name: "customers", version: "abc12345" },
      task: "classification",
      target: "churned",
      recipe: "mlp",
      params: { epochs: 50, hidden: [16, 8], solver: "adam" },
      seed: 7,
      compute: { labels: { zone: "eu", pool: "a=b" }, gpus: 1 },
      register: { model: "churn", aliases: ["challenger", "latest-mlp"] },
      maxAttempts: 2,
    });
  });

  it("defaults: latest dataset, auto recipe, task and target from the dataset version", () => {
    expect(trainRequest({ experiment: "e", dataset: "d" }, { target: "y", task: "regression" })).toEqual({
      experiment: "e",
      dataset: { name: "d" },
      task: "regression",
      target: "y",
      recipe: "auto",
    });
  });

  it("takes the task from a single-task recipe", () => {
    expect(trainRequest({ experiment: "e", dataset: "d", target: "y", recipe: "ridge" }).task).toBe(
      "regression",
    );
  });

  it("classifies a text target and asks about a numeric one", () => {
    const columns = [
      { name: "species", kind: "categorical" },
      { name: "mass", kind: "numeric" },
    ];
    expect(trainRequest({ experiment: "e", dataset: "d", target: "species" }, { columns }).task).toBe(
      "classification",
    );
    expect(() => trainRequest({ experiment: "e", dataset: "d", target: "mass" }, { columns })).toThrow(
      /numeric column "mass": --task classification or --task regression/,
    );
  });

  it("sends a script run as recipe script (the snapshot is added after upload)", () => {
    const body = trainRequest({ ...base, script: "./x", command: "node train.mjs" });
    expect(body.recipe).toBe("script");
  });

  it.each([
    [{ recipe: "xgboost" }, /--recipe takes one of/],
    [{ task: "ranking" }, /--task takes/],
    [{ target: undefined }, /--target COLUMN/],
    [{ params: "{nope" }, /--params is not JSON/],
    [{ params: "[1]" }, /must be a JSON object/],
    [{ param: ["epochs"] }, /--param takes key=value/],
    [{ seed: "-1" }, /--seed takes a non-negative integer/],
    [{ maxAttempts: "0" }, /--max-attempts takes a positive integer/],
    [{ gpus: "1.5" }, /--gpus/],
    [{ script: "./x" }, /--script DIR and --command CMD go together/],
    [{ command: "python t.py" }, /go together/],
    [{ script: "./x", command: "c", recipe: "gbt" }, /cannot be combined/],
    [{ dataset: "@v" }, /--dataset needs a dataset name/],
  ])("refuses %j", (flags, message) => {
    expect(() => trainRequest({ ...base, ...flags })).toThrowError(CliError);
    expect(() => trainRequest({ ...base, ...flags })).toThrowError(message);
  });
});
