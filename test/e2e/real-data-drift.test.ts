/**
 * Drift on a real, time-ordered data set, with real parts end to end. Seattle daily weather (NOAA
 * GHCN-Daily via vega-datasets, public domain; test/fixtures/datasets/README.md has the citation
 * and the scenario this test follows): the hub's in-hub trainer fits a `weather` classifier on
 * summer 2012 (every 4th day held out), the model is packaged with its monitoring section (the
 * training baseline's bins) and deployed to two agent processes. Agent "later" scores summer 2015
 * (a much warmer summer: temp_max and temp_min moved, precipitation and wind did not); agent
 * "control" scores the held-out days of summer 2012. Each agent's drift summary reaches the hub in
 * its telemetry; one monitor per device cohort is evaluated through the API. The "later" monitor
 * fires, naming only features that really moved; the control monitor stays quiet.
 */
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type AgentProcess, spawnAgent } from "../../lib/agent-process.js";
import { projectRoot } from "../../lib/paths.js";
import { startTestHub, type TestHub } from "../support/hub.js";
import { getJson, waitFor } from "../support/wait.js";

const FEATURES = ["precipitation", "temp_max", "temp_min", "wind"] as const;
/** Measured with scripts/reference/seattle_drift.py (KS p 7.5e-7 and 2.1e-6; the stable ones p 0.78 and 0.38). */
const MOVED = ["temp_max", "temp_min"];
const STABLE = ["precipitation", "wind"];
const MODULE = "seattle-weather";

interface Day {
  date: string;
  weather: string;
  precipitation: number;
  temp_max: number;
  temp_min: number;
  wind: number;
}

function readDays(): Day[] {
  const text = readFileSync(join(projectRoot(), "test/fixtures/datasets/seattle-weather.csv"), "utf8");
  const [header, ...lines] = text.trim().split("\n");
  const names = header!.split(",");
  return lines.map((line) => {
    const cells = line.split(",");
    const cell = (name: string) => cells[names.indexOf(name)]!;
    return {
      date: cell("date"),
      weather: cell("weather"),
      precipitation: Number(cell("precipitation")),
      temp_max: Number(cell("temp_max")),
      temp_min: Number(cell("temp_min")),
      wind: Number(cell("wind")),
    };
  });
}

const DAY_MS = 86_400_000;
const days = readDays();
const inPeriod = (from: string, to: string) => days.filter((d) => d.date >= from && d.date <= to);
/** Days since 2012-06-01 ≡ 3 (mod 4) are held out of training: the control stream. */
const heldOut = (d: Day) => Math.round((Date.parse(d.date) - Date.parse("2012-06-01")) / DAY_MS) % 4 === 3;
const summer2012 = inPeriod("2012-06-01", "2012-08-31");
const training = summer2012.filter((d) => !heldOut(d));
const control = summer2012.filter(heldOut);
const later = inPeriod("2015-06-01", "2015-08-31");

interface Column {
  name: string;
  role: "input" | "output";
  drifted: boolean;
  fired: { windows: number; test: string; pValue: number }[];
  scores: { js: number; psi: number; wasserstein?: number };
  scales: { windows: number; rows: number; tests: { ks?: { pValue: number }; chi2?: { pValue: number } } }[];
}
interface Evaluation {
  verdict: "ok" | "drift" | "no-data";
  rows: number;
  report: {
    columns: Column[];
    evidently: { datasetDrift: boolean; driftedColumns: string[]; share: number } | null;
  };
}

let hub: TestHub;
const agents: Record<"later" | "control", AgentProcess | undefined> = {
  later: undefined,
  control: undefined,
};

/** The per-column verdicts, ours next to Evidently's default, as hub/drift/README.md's table shows them. */
function verdictTable(title: string, evaluation: Evaluation): string {
  const evidently = new Set(evaluation.report.evidently?.driftedColumns ?? []);
  const lines = evaluation.report.columns.map((c) => {
    const p = c.scales[0]?.tests.ks?.pValue ?? c.scales[0]?.tests.chi2?.pValue;
    return [
      c.role === "input" ? c.name : `${c.name} (output)`,
      c.drifted ? "DRIFT" : "-",
      p === undefined ? "" : p.toExponential(1),
      c.scores.wasserstein?.toFixed(2) ?? "",
      c.scores.js.toFixed(2),
      evidently.has(c.name) ? "DRIFT" : "-",
    ].join(" | ");
  });
  return [
    `${title}: verdict ${evaluation.verdict}, ${evaluation.rows} rows; Evidently dataset drift ${evaluation.report.evidently?.datasetDrift} (share ${evaluation.report.evidently?.share})`,
    "column | ours | KS/χ² p | W/std | JS | Evidently default",
    ...lines,
  ].join("\n");
}

async function served(agent: AgentProcess): Promise<boolean> {
  const body = await getJson<{ modules: { name: string; version: string }[] }>(
    `${agent.scoringUrl}/v1/modules`,
  );
  return body?.modules.some((m) => m.name === MODULE && m.version === "1.0.0") ?? false;
}

/** Scores the rows in one request (one telemetry window) and waits until their summary is stored. */
async function stream(agent: AgentProcess, rows: Day[]): Promise<void> {
  const response = await fetch(`${agent.scoringUrl}/v1/modules/${MODULE}/score`, {
    method: "POST",
    headers: { "content-type": "application/json" },
    body: JSON.stringify({
      instances: rows.map((d) => Object.fromEntries(FEATURES.map((f) => [f, d[f]]))),
    }),
  });
  expect(response.status, await response.clone().text()).toBe(200);
  const store = hub.parts.drift.store;
  await waitFor(
    `${agent.deviceId}'s drift summary of ${rows.length} rows`,
    async () => {
      const summaries = await store.data.summaries({ deviceId: agent.deviceId, module: MODULE });
      return summaries.reduce((n, s) => n + s.rows, 0) === rows.length;
    },
    30_000,
    200,
  );
}

beforeAll(async () => {
  hub = await startTestHub({ trainer: true });
  const csv = [
    "date,precipitation,temp_max,temp_min,wind,weather",
    ...training.map((d) => [d.date, ...FEATURES.map((f) => d[f]), d.weather].join(",")),
  ].join("\n");
  await hub.client.request(
    "POST",
    `/api/v1/datasets/${MODULE}/versions?format=csv&target=weather&task=classification&overrides=date:ignore`,
    new TextEncoder().encode(`${csv}\n`),
    { "content-type": "text/csv" },
  );
  const spawned = await Promise.all(
    (["later", "control"] as const).map(async (cohort) => {
      const id = `seattle-${cohort}`;
      const { secret } = await hub.client.post<{ secret: string }>("/api/v1/devices", {
        id,
        tags: { fleet: "seattle", cohort },
      });
      const agent = await spawnAgent({
        hubUrl: hub.url,
        mqttUrl: hub.mqttUrl,
        deviceId: id,
        secret,
        trustKey: hub.parts.signing.publicKeyPem,
        telemetryIntervalMs: 500,
        logLevel: "info",
      });
      return [cohort, agent] as const;
    }),
  );
  for (const [cohort, agent] of spawned) agents[cohort] = agent;
}, 120_000);

afterAll(async () => {
  await Promise.all(Object.values(agents).map((a) => a?.stop()));
  await hub?.dispose();
});

describe("real data: Seattle weather, trained on summer 2012, streamed summer 2015", () => {
  it("uses the documented periods", () => {
    expect([training.length, control.length, later.length]).toEqual([69, 23, 92]);
  });

  it("fires on the features that moved and stays quiet on the held-out training period", async () => {
    const run = await hub.client.post<{ id: string }>("/api/v1/runs", {
      experiment: MODULE,
      dataset: { name: MODULE },
      task: "classification",
      target: "weather",
      recipe: "logistic",
      register: { model: MODULE },
    });
    await waitFor(
      "the training run",
      async () => {
        const view = await hub.client.get<{ status: string; error?: unknown }>(`/api/v1/runs/${run.id}`);
        if (view.status === "failed") throw new Error(`run failed: ${JSON.stringify(view.error)}`);
        return view.status === "succeeded";
      },
      60_000,
      200,
    );
    const module = await hub.client.post<{
      version: string;
      manifest: { monitoring?: { columns: { name: string }[]; minRows?: number } };
    }>(`/api/v1/models/${MODULE}/versions/1/package`, {});
    expect(module.manifest.monitoring?.columns.map((c) => c.name)).toEqual([...FEATURES]);
    await hub.client.post("/api/v1/deployments", {
      module: MODULE,
      version: module.version,
      selector: { tags: { fleet: "seattle" } },
    });
    const monitors: Record<string, string> = {};
    for (const cohort of ["later", "control"]) {
      const created = await hub.client.post<{ id: string }>("/api/v1/monitors", {
        name: `seattle-${cohort}`,
        module: MODULE,
        version: module.version,
        selector: { tags: { cohort } },
        // One window of the whole stream; the control holds 23 rows.
        scales: [1],
        minRows: 20,
        // Evaluated through the API below, once the summaries are stored.
        intervalMs: 3_600_000,
      });
      monitors[cohort] = created.id;
    }
    const laterAgent = agents.later!;
    const controlAgent = agents.control!;
    for (const agent of [laterAgent, controlAgent])
      await waitFor(`${agent.deviceId} serves ${MODULE}@1.0.0`, () => served(agent), 60_000, 200);

    await Promise.all([stream(laterAgent, later), stream(controlAgent, control)]);
    const evaluate = (cohort: string) =>
      hub.client.post<{ evaluation: Evaluation; alert: { message: string } | null }>(
        `/api/v1/monitors/${monitors[cohort]}/evaluate`,
        {},
      );
    const drifted = await evaluate("later");
    const quiet = await evaluate("control");
    console.log(verdictTable("summer 2015 (later)", drifted.evaluation));
    console.log(verdictTable("summer 2012 held-out days (control)", quiet.evaluation));

    const inputs = (e: Evaluation) => e.report.columns.filter((c) => c.role === "input");
    expect(drifted.evaluation.rows).toBe(later.length);
    expect(drifted.evaluation.verdict).toBe("drift");
    expect(drifted.alert?.message).toMatch(/temp_m(ax|in)/);
    const firedInputs = inputs(drifted.evaluation)
      .filter((c) => c.drifted)
      .map((c) => c.name);
    expect(firedInputs.length).toBeGreaterThan(0);
    for (const name of firedInputs) expect(MOVED).toContain(name);
    for (const name of STABLE) expect(firedInputs).not.toContain(name);

    expect(quiet.evaluation.rows).toBe(control.length);
    expect(quiet.evaluation.verdict).toBe("ok");
    expect(quiet.alert).toBeNull();
    expect(quiet.evaluation.report.columns.filter((c) => c.drifted)).toEqual([]);
    const alerts = await hub.client.get<{ alerts: unknown[] }>(`/api/v1/alerts?monitor=${monitors.control}`);
    expect(alerts.alerts).toEqual([]);
  }, 150_000);
});
