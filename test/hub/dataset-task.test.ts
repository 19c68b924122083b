/** Dataset upload infers the task of a target column the uploader gave no task for, and stores it. */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type ApiTestApp, createApiTestApp } from "../support/api-app.js";
import { expectJson } from "../support/api-expect.js";

let api: ApiTestApp;
beforeAll(async () => {
  api = await createApiTestApp();
});
afterAll(async () => {
  await api?.close();
});

const rows = (n: number, cell: (i: number) => string) =>
  `x,y\n${Array.from({ length: n }, (_, i) => `${i * 0.5},${cell(i)}`).join("\n")}\n`;

async function upload(name: string, csv: string, query: string) {
  return expectJson<{ dataset: { target?: string; task?: string }; taskInferred?: boolean }>(
    await api.call("POST", `/api/v1/datasets/${name}/versions?format=csv&${query}`, {
      body: csv,
      headers: { "content-type": "text/csv" },
    }),
    201,
  );
}

describe("task inference at upload", () => {
  it.each([
    ["mpg", rows(40, (i) => String(18 + i * 0.37)), "regression"],
    ["counts", rows(40, (i) => String(i * 3)), "regression"],
    ["codes", rows(40, (i) => String(i % 3)), "classification"],
    ["species", rows(40, (i) => ["setosa", "virginica"][i % 2]!), "classification"],
  ])("%s → %s, stored and flagged as inferred", async (name, csv, task) => {
    const answer = await upload(name, csv, "target=y");
    expect(answer.dataset).toMatchObject({ target: "y", task });
    expect(answer.taskInferred).toBe(true);
    const shown = await expectJson<{ task?: string }>(
      await api.call("GET", `/api/v1/datasets/${name}/versions/latest`),
    );
    expect(shown.task).toBe(task);
  });

  it("keeps a task the uploader gave", async () => {
    const answer = await upload(
      "forced",
      rows(40, (i) => String(i % 3)),
      "target=y&task=regression",
    );
    expect(answer.dataset.task).toBe("regression");
    expect(answer.taskInferred).toBeUndefined();
  });
});
