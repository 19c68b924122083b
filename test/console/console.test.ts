/**
 * The operator console in a real Chromium against a real hub (PGlite, embedded broker, in-hub
 * trainer) with simulated agents and MQTT devices: sign in; a canary rollout progresses wave by
 * wave and fails its gate, live; another is rolled back from the button; a drift alarm appears on
 * a monitor's chart; a training run's log and curve are followed to completion; a viewer gets no
 * operator buttons and the API refuses them. Each page is saved as a screenshot under docs/console/.
 */
import { execFile } from "node:child_process";
import { mkdir } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { promisify } from "node:util";
import type { MqttClient } from "mqtt";
import type { Page } from "playwright-core";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { monitoringFromBaseline } from "../../hub/monitors/from-baseline.js";
import { projectRoot } from "../../lib/paths.js";
import { buildMlpClassifier } from "../../modules/onnx/models.js";
import { type SimulatedFleet, startSimulatedFleet } from "../../simulator/fleet.js";
import { datasetFromRows } from "../../training/dataset/dataset.js";
import { separableBinary } from "../../training/synthetic.js";
import { train } from "../../training/train.js";
import { deviceTopic } from "../../wire/topics.js";
import { chromiumAvailable, launchBrowser, type TestBrowser } from "../support/browser.js";
import { driftWindow, summaryFor } from "../support/drift-windows.js";
import { startTestHub, type TestHub } from "../support/hub.js";
import { connectClient, endAll } from "../support/mqtt-clients.js";
import { waitFor } from "../support/wait.js";

// The committed screenshots (docs/console) are refreshed with EDGEFLEET_UPDATE_SCREENSHOTS=1, so a
// plain test run leaves the working tree as it found it.
const SHOTS = process.env.EDGEFLEET_UPDATE_SCREENSHOTS
  ? join(projectRoot(), "docs", "console")
  : join(tmpdir(), "edgefleet-console-shots");
const MODULE = "console-mlp";
let hub: TestHub;
let fleet: SimulatedFleet;
let browser: TestBrowser;
const tokens: Record<"operator" | "viewer", string> = { operator: "", viewer: "" };
const driftDevices: { id: string; client: MqttClient }[] = [];

async function registerModule(version: string): Promise<void> {
  const model = buildMlpClassifier({ inputSize: 4, hiddenSizes: [4], classes: 2, seed: 3 });
  const registered = await hub.client.request<{ version: number }>(
    "POST",
    `/api/v1/models/${MODULE}/versions`,
    model.bytes,
  );
  await hub.client.post("/api/v1/modules", {
    name: MODULE,
    version,
    model: { name: MODULE, version: registered.version },
  });
}

/** A signed-in page: the token goes into the form, as an operator would type it. */
async function signedIn(token: string): Promise<Page> {
  const page = await browser.context.newPage();
  await page.goto(`${hub.url}/`);
  await page.getByLabel("API token").fill(token);
  await page.getByRole("button", { name: "Sign in" }).click();
  await page.locator('[data-testid="live"].on').waitFor();
  return page;
}

async function shot(page: Page, name: string): Promise<void> {
  await page.screenshot({ path: join(SHOTS, `${name}.png`), fullPage: false });
}

const deployment = (id: string) =>
  hub.client.get<{
    status: string;
    outcome: { reason: string; by: string } | null;
    waves: { state: string }[];
  }>(`/api/v1/deployments/${id}`);

describe.skipIf(!chromiumAvailable)("operator console in Chromium", () => {
  beforeAll(async () => {
    await mkdir(SHOTS, { recursive: true });
    hub = await startTestHub({ trainer: true });
    for (const role of ["operator", "viewer"] as const)
      tokens[role] = (
        await hub.client.post<{ token: string }>("/api/v1/tokens", { name: `console-${role}`, role })
      ).token;
    for (const version of ["1.0.0", "2.0.0", "3.0.0"]) await registerModule(version);
    fleet = await startSimulatedFleet({
      hubUrl: hub.url,
      token: hub.adminToken,
      count: 20,
      prefix: "con",
      behaviour: { telemetryIntervalMs: 500, requestsPerWindow: 20 },
    });
    const base = await hub.client.post<{ id: string }>("/api/v1/deployments", {
      module: MODULE,
      version: "1.0.0",
      selector: { tags: { sim: "con" } },
    });
    await waitFor("baseline completed", async () => (await deployment(base.id)).status === "completed");
    browser = await launchBrowser();
  }, 180_000);

  afterAll(async () => {
    await browser?.close();
    await endAll(driftDevices.map((d) => d.client));
    await fleet?.stop();
    await hub?.dispose();
  });

  it("refuses a wrong token, signs in with a right one and shows the fleet, filtered on the server", async () => {
    const page = await browser.context.newPage();
    await page.goto(`${hub.url}/`);
    await page.getByLabel("API token").fill("eft_not-a-token");
    await page.getByRole("button", { name: "Sign in" }).click();
    await page.getByRole("alert").filter({ hasText: "Unknown or revoked token" }).waitFor();
    await page.getByLabel("API token").fill(hub.adminToken);
    await page.getByRole("button", { name: "Sign in" }).click();
    await page.locator('[data-testid="online-count"]', { hasText: "20" }).waitFor();
    expect(await page.locator('[data-testid="devices-table"] tbody tr').count()).toBe(20);
    await shot(page, "fleet");
    await page.getByLabel("Search").fill("con-0001");
    await page.locator('[data-testid="device-total"]', { hasText: /^1 matching/ }).waitFor();
    expect(page.url()).toContain("q=con-0001");
    await page.locator('[data-testid="devices-table"] a', { hasText: "con-0001" }).click();
    await page.getByRole("heading", { name: /con-0001/ }).waitFor();
    await page.locator(".chart canvas").first().waitFor();
    await shot(page, "device");
    await page.goBack();
    await page.locator('[data-testid="device-total"]', { hasText: /^1 matching/ }).waitFor();
    await page.close();
  }, 60_000);

  it("shows a canary progress wave by wave and fail its gate, then rolls another back from the button", async () => {
    const page = await signedIn(tokens.operator);
    const created = await hub.client.post<{ id: string }>("/api/v1/deployments", {
      module: MODULE,
      version: "2.0.0",
      selector: { tags: { sim: "con" } },
      strategy: "waves",
      waves: [{ percent: 10 }, { percent: 50 }, { percent: 100 }],
      bakeMs: 3_000,
      gates: { minRequests: 5, maxErrorRate: 0.05 },
    });
    await page.goto(`${hub.url}/#/deployments/${created.id}`);
    // Live: the page is never reloaded from here on.
    await page.locator('[data-testid="wave-0"][data-state="baking"]').waitFor();
    await page.locator('[data-testid="bake-countdown"]').waitFor();
    await page.locator('[data-testid="wave-0"][data-state="passed"]').waitFor({ timeout: 30_000 });
    // Wave 2 goes bad: every request of 2.0.0 now errors.
    fleet.setBehaviour({ versions: { "2.0.0": { errorRate: 1 } } });
    await page.locator('[data-testid="wave-1"][data-state="baking"]').waitFor({ timeout: 30_000 });
    await shot(page, "deployment-baking");
    await page.locator('[data-testid="wave-1"][data-state="failed"]').waitFor({ timeout: 30_000 });
    await page.locator('[data-testid="outcome"]', { hasText: /wave 2 failed its gates/ }).waitFor();
    await page.locator('[data-testid="gates"] tr', { hasText: "error-rate" }).locator(".badge.bad").waitFor();
    await shot(page, "deployment-gate-failed");
    expect((await deployment(created.id)).outcome?.reason).toBe("gate-failed");

    const healthy = await hub.client.post<{ id: string }>("/api/v1/deployments", {
      module: MODULE,
      version: "3.0.0",
      selector: { tags: { sim: "con" } },
      canary: { percent: 10 },
      bakeMs: 600_000,
    });
    await page.goto(`${hub.url}/#/deployments/${healthy.id}`);
    await page.locator('[data-testid="wave-0"][data-state="baking"]').waitFor({ timeout: 30_000 });
    page.once("dialog", (dialog) => void dialog.accept());
    await page.getByRole("button", { name: "Roll back" }).click();
    await page.getByRole("heading").locator(".badge", { hasText: "rolled-back" }).waitFor();
    const after = await deployment(healthy.id);
    expect(after.status).toBe("rolled-back");
    expect(after.outcome?.by).toBe("console-operator");
    await page.goto(`${hub.url}/#/deployments`);
    await page.locator('[data-testid="deployments-table"] tbody tr').nth(2).waitFor();
    await shot(page, "deployments");
    await page.close();
  }, 120_000);

  it("draws a drift alarm on the monitor's chart as it happens", async () => {
    const dataset = datasetFromRows(separableBinary(300, 11), { target: "label", task: "classification" });
    const trained = await train({
      dataset,
      task: "classification",
      target: "label",
      recipe: "logistic",
      seed: 1,
    });
    const spec = monitoringFromBaseline(trained.baseline, { samples: { allowed: true } });
    const model = await hub.client.request<{ version: number }>(
      "POST",
      "/api/v1/models/churn/versions",
      trained.onnx,
    );
    await hub.client.post("/api/v1/modules", {
      name: "churn",
      version: "1.0.0",
      model: { name: "churn", version: model.version },
      preprocessing: { kind: "tabular", input: "features", features: trained.moduleFeatures },
      postprocessing: {
        kind: "argmax",
        output: "probabilities",
        labels: trained.classes,
        applySoftmax: false,
      },
      monitoring: spec,
    });
    for (const id of ["drift-a", "drift-b"]) {
      const { secret } = await hub.client.post<{ secret: string }>("/api/v1/devices", {
        id,
        tags: { fleet: "drift" },
      });
      driftDevices.push({
        id,
        client: await connectClient(hub.mqttUrl, { clientId: id, username: id, password: secret }),
      });
    }
    const monitor = await hub.client.post<{ id: string }>("/api/v1/monitors", {
      name: "churn-inputs",
      module: "churn",
      version: "1.0.0",
      selector: { tags: { fleet: "drift" } },
      scales: [1, 4],
      minRows: 100,
      intervalMs: 3_600_000,
    });
    let seq = 0;
    const publish = async (shift?: string[]) => {
      seq++;
      for (const [index, device] of driftDevices.entries()) {
        const drift = summaryFor(spec, 150, {
          seed: seq * 100 + index,
          shift,
          at: new Date(Date.now() - (10 - seq) * 60_000),
        });
        await device.client.publishAsync(
          deviceTopic(device.id, "telemetry"),
          JSON.stringify(driftWindow(seq, { name: "churn", version: "1.0.0" }, drift)),
          { qos: 1 },
        );
      }
      await waitFor("summaries stored", async () => {
        const stored = await Promise.all(
          driftDevices.map((d) => hub.parts.drift.store.data.summaries({ deviceId: d.id, limit: 1 })),
        );
        return stored.every((s) => s[0]?.seq === seq);
      });
    };
    for (let i = 0; i < 3; i++) {
      await publish();
      await hub.client.post(`/api/v1/monitors/${monitor.id}/evaluate`, {});
    }
    const page = await signedIn(tokens.operator);
    await page.goto(`${hub.url}/#/monitors/${monitor.id}`);
    await page.locator('[data-testid="drift-count"]').waitFor();
    expect(await page.locator('[data-testid="drift-count"]').innerText()).toMatch(
      /^0 of \d+ evaluations drifted/,
    );
    expect(await page.getByRole("heading").locator(".badge").innerText()).not.toBe("drift");
    const column = spec.columns[0]!.name;
    await publish([column]);
    await hub.client.post(`/api/v1/monitors/${monitor.id}/evaluate`, {});
    // No reload: the evaluation, the alarm and the new state arrive over the stream.
    await page.getByRole("heading").locator(".badge", { hasText: "drift" }).waitFor({ timeout: 20_000 });
    await page.locator('[data-testid="fired"]').waitFor();
    await page.locator('[data-testid="alerts"] tr').first().waitFor();
    await page.goto(`${hub.url}/#/monitors/${monitor.id}?column=${encodeURIComponent(column)}`);
    await page
      .locator('[data-testid="drift-count"]', { hasText: /^[1-9]\d* of \d+ evaluations drifted/ })
      .waitFor();
    await shot(page, "monitor-drift");
    await page.close();
  }, 120_000);

  it("follows a training run's log and metric curve to completion", async () => {
    const rows = separableBinary(400, 5)
      .map((r) => JSON.stringify(r))
      .join("\n");
    await hub.client.request(
      "POST",
      "/api/v1/datasets/binary/versions?format=jsonl&target=label&task=classification",
      new TextEncoder().encode(rows),
    );
    const page = await signedIn(tokens.operator);
    const run = await hub.client.post<{ id: string }>("/api/v1/runs", {
      experiment: "console",
      dataset: { name: "binary" },
      task: "classification",
      target: "label",
      recipe: "logistic",
      params: { epochs: 200 },
    });
    await page.goto(`${hub.url}/#/runs/${run.id}`);
    await page.getByRole("heading").locator(".badge", { hasText: "succeeded" }).waitFor({ timeout: 90_000 });
    await page.locator('[data-testid="run-log"]', { hasText: /\S/ }).waitFor();
    await page.locator(".chart canvas").first().waitFor();
    expect(await page.locator(".chart").count()).toBeGreaterThan(0);
    await shot(page, "run");
    await page.goto(`${hub.url}/#/registry?model=churn`);
    await page.locator('[data-testid="lineage"]').waitFor();
    await page.goto(`${hub.url}/#/registry?model=binary`);
    await page.locator('[data-testid="versions-table"]').waitFor();
    await page.goto(`${hub.url}/#/registry`);
    await page.locator('[data-testid="lineage"]').waitFor();
    await page.close();
  }, 120_000);

  it("offers a viewer no operator buttons, and the API refuses them when forced", async () => {
    const list = await hub.client.get<{ deployments: { id: string; status: string }[] }>(
      "/api/v1/deployments",
    );
    const open = list.deployments.find((d) => d.status !== "rolled-back")!;
    const page = await signedIn(tokens.viewer);
    await page.goto(`${hub.url}/#/deployments/${open.id}`);
    await page.locator('[data-testid="wave-0"]').waitFor();
    expect(await page.locator('[data-testid="rollout-commands"]').count()).toBe(0);
    expect(await page.getByRole("button", { name: "Roll back" }).count()).toBe(0);
    expect(await page.getByRole("link", { name: "Audit" }).count()).toBe(0);
    // What a viewer could type into the browser's console with the token this tab holds.
    const forced = await page.evaluate<number>(`(async () => {
      const token = sessionStorage.getItem("edgefleet.token");
      const response = await fetch("api/v1/deployments/${open.id}/rollback", {
        method: "POST",
        headers: { authorization: "Bearer " + token },
      });
      return response.status;
    })()`);
    expect(forced).toBe(403);
    expect((await deployment(open.id)).status).toBe(open.status);
    await page.close();
  }, 60_000);

  it("`edgefleet console` signs in with the local admin token, which leaves the address bar at once", async () => {
    const { stdout } = await promisify(execFile)(
      process.execPath,
      [join(projectRoot(), "bin", "edgefleet.js"), "console", "--no-open", "--data", hub.dataDir],
      { env: Object.fromEntries(Object.entries(process.env).filter(([k]) => !k.startsWith("EDGEFLEET_"))) },
    );
    const url = stdout.trim();
    expect(url).toMatch(/#token=/);
    const page = await browser.context.newPage();
    await page.goto(url);
    await page.locator('[data-testid="who"]', { hasText: "admin" }).waitFor();
    expect(page.url()).not.toContain("token");
    await page.close();
  }, 60_000);

  it("shows the audit trail to an admin, and works on a phone-sized screen", async () => {
    const page = await signedIn(hub.adminToken);
    await page.goto(`${hub.url}/#/audit`);
    await page.locator('[data-testid="audit-table"] tbody tr').first().waitFor();
    expect(await page.locator('[data-testid="audit-table"]').innerText()).toMatch(/rollback/);
    await shot(page, "audit");
    await page.goto(`${hub.url}/#/registry?model=churn`);
    await page.locator('[data-testid="versions-table"]').waitFor();
    await shot(page, "registry");
    await page.goto(`${hub.url}/#/runs`);
    await page.locator('[data-testid="runs-table"] tbody tr').first().waitFor();
    await shot(page, "runs");
    await page.setViewportSize({ width: 390, height: 844 });
    await page.goto(`${hub.url}/#/fleet`);
    await page.locator('[data-testid="devices-table"]').waitFor();
    const overflow = await page.evaluate<number>("document.documentElement.scrollWidth - window.innerWidth");
    expect(overflow).toBeLessThanOrEqual(0);
    await shot(page, "fleet-phone");
    await page.close();
  }, 60_000);
});
