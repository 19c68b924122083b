/**
 * F1/F2: the console's fleet page over 10,000 devices in a real Chromium, against the same query
 * on the bare JSON API fetched from the same page (same browser, same hub, same run, interleaved
 * A B B A). F1: from navigation to the first rows of the devices table, vs GET
 * /api/v1/fleet/devices?limit=50 parsed. F2: from typing a search to the filtered table, vs the
 * same filtered GET. Also checks that the page never asks for an unbounded list.
 */
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { chromium, type Page } from "playwright-core";
import { parseHubConfig } from "../hub/config.js";
import type { Db } from "../hub/db/database.js";
import { devices } from "../hub/db/schema/index.js";
import { startHub } from "../hub/main.js";
import { silentLogger } from "../lib/log.js";
import { type BenchResult, quantile, round } from "./stats.js";

const DEVICES = 10_000;
const PAIRS = 8;
const CHROMIUM = process.env.EDGEFLEET_CHROMIUM ?? "/usr/bin/chromium";
const FLAGS = [
  "--headless",
  "--no-sandbox",
  "--disable-gpu",
  "--disable-background-networking",
  "--disable-component-update",
  "--disable-sync",
  "--no-first-run",
];

/** Rows straight into the table: 10,000 scrypt hashes would take minutes and measure nothing here. */
async function seedFleet(db: Db): Promise<void> {
  const at = new Date();
  for (let start = 0; start < DEVICES; start += 1000) {
    const rows = [];
    for (let i = start; i < Math.min(DEVICES, start + 1000); i++) {
      const id = `dev-${String(i).padStart(5, "0")}`;
      rows.push({
        id,
        name: id,
        tags: { site: `s${i % 20}`, line: String(i % 7) },
        profile: i % 3 === 0 ? "raspberry-pi-5" : null,
        secretHash: "scrypt$bench$unusable",
        createdAt: at,
        online: i % 4 !== 0,
        lastSeenAt: at,
        agentVersion: "0.1.0",
        capabilities: {
          arch: "arm64",
          platform: "linux",
          cpus: 4,
          memoryMb: 8192,
          executionProviders: ["cpu"],
        },
        reported: {
          protocol: 1 as const,
          revision: 1,
          modules: [
            {
              name: "iris",
              version: i % 10 === 0 ? "2.0.0" : "1.0.0",
              state: "active" as const,
              since: at.toISOString(),
            },
          ],
          at: at.toISOString(),
        },
        reportedAt: at,
      });
    }
    await db.insert(devices).values(rows);
  }
}

async function timeApi(page: Page, query: string): Promise<number> {
  return page.evaluate<number>(`(async () => {
    const token = sessionStorage.getItem("edgefleet.token");
    const t0 = performance.now();
    const response = await fetch("api/v1/fleet/devices?${query}", { headers: { authorization: "Bearer " + token } });
    await response.json();
    return performance.now() - t0;
  })()`);
}

async function timeFirstRows(page: Page, url: string): Promise<number> {
  await page.goto("about:blank");
  const t0 = performance.now();
  await page.goto(`${url}/#/fleet`);
  await page.locator('[data-testid="devices-table"] tbody tr').first().waitFor();
  return performance.now() - t0;
}

async function timeFilter(page: Page, url: string, text: string, expected: number): Promise<number> {
  await page.goto(`${url}/#/fleet`);
  await page.locator('[data-testid="device-total"]', { hasText: `${DEVICES} matching` }).waitFor();
  const t0 = performance.now();
  await page.getByLabel("Search").fill(text);
  await page
    .locator('[data-testid="device-total"]', { hasText: new RegExp(`^${expected} matching`) })
    .waitFor();
  return performance.now() - t0;
}

function result(id: string, what: string, ours: number[], peer: number[], slackMs: number): BenchResult {
  const o = quantile(ours, 0.5);
  const p = quantile(peer, 0.5);
  return {
    id,
    what,
    ours: round(o),
    peer: round(p),
    unit: "ms",
    ratio: round(o / p, 2),
    goal: `<= peer + ${slackMs} ms`,
    met: o <= p + slackMs,
    details: {
      oursP95: round(quantile(ours, 0.95)),
      peerP95: round(quantile(peer, 0.95)),
      pairs: ours.length,
    },
  };
}

/** F1 and F2. */
export async function benchF1F2(): Promise<BenchResult[]> {
  const dataDir = await mkdtemp(join(tmpdir(), "edgefleet-bench-console-"));
  const hub = await startHub(
    parseHubConfig({
      dataDir,
      port: 0,
      mqttPort: 0,
      mqttHost: "127.0.0.1",
      logLevel: "silent",
      trainer: false,
    }),
    { log: silentLogger },
  );
  const profile = await mkdtemp(join(tmpdir(), "edgefleet-bench-chromium-"));
  const browser = await chromium.launchPersistentContext(profile, {
    executablePath: CHROMIUM,
    headless: true,
    args: FLAGS,
    viewport: { width: 1280, height: 800 },
  });
  try {
    await seedFleet(hub.parts.database.db);
    const token = hub.adminToken;
    await browser.addInitScript(`sessionStorage.setItem("edgefleet.token", ${JSON.stringify(token)})`);
    const page = await browser.newPage();
    const asked: string[] = [];
    page.on("request", (request) => {
      if (request.url().includes("/api/v1/")) asked.push(request.url());
    });
    await timeFirstRows(page, hub.url); // warm-up: bundle cached, database pages warm
    const f1 = { ours: [] as number[], peer: [] as number[] };
    const f2 = { ours: [] as number[], peer: [] as number[] };
    // "dev-0999" matches dev-09990 … dev-09999: ten devices, found by substring over all 10,000.
    const search = "dev-0999";
    for (let i = 0; i < PAIRS; i++) {
      const order = i % 2 === 0 ? ["ours", "peer"] : ["peer", "ours"];
      for (const which of order) {
        if (which === "ours") f1.ours.push(await timeFirstRows(page, hub.url));
        else f1.peer.push(await timeApi(page, "limit=50"));
      }
      for (const which of order) {
        if (which === "ours") f2.ours.push(await timeFilter(page, hub.url, search, 10));
        else f2.peer.push(await timeApi(page, `q=${search}&limit=50`));
      }
    }
    const unbounded = asked.filter((u) => {
      const url = new URL(u);
      if (url.pathname.endsWith("/api/v1/devices")) return true;
      const limit = Number(url.searchParams.get("limit") ?? "0");
      return url.pathname.endsWith("/fleet/devices") && !(limit > 0 && limit <= 500);
    });
    const r1 = result(
      "F1",
      `fleet page, ${DEVICES} devices: navigation to first rows vs the bare JSON API page`,
      f1.ours,
      f1.peer,
      300,
    );
    const r2 = result(
      "F2",
      `fleet page, ${DEVICES} devices: search typed to filtered rows vs the same filtered API call`,
      f2.ours,
      f2.peer,
      300,
    );
    r1.details = { ...r1.details, apiRequests: asked.length, unboundedRequests: unbounded.length };
    if (unbounded.length > 0) r1.met = false;
    return [r1, r2];
  } finally {
    await browser.close();
    await rm(profile, { recursive: true, force: true });
    await hub.close();
    await rm(dataDir, { recursive: true, force: true });
  }
}
