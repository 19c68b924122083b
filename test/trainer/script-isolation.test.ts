/**
 * Script jobs see no credential but their attempt's own (issue 12, defect 1): the in-hub worker
 * runs an operator's script that prints its whole environment and its uid; a viewer reading the
 * run's logs finds no admin token, no worker token, no DATABASE_URL or other secret of the hub
 * process, only allow-listed variables, a per-attempt token that the hub refuses for anything but
 * its own attempt, and (when the hub runs as root) a non-root uid.
 */
import { mkdtemp, readFile, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, expect, it } from "vitest";
import { TRAINER_TOKEN_FILE } from "../../hub/trainer-token.js";
import { allowedInScript } from "../../trainer/script-env.js";
import { createSnapshot } from "../../trainer/snapshot.js";
import { blobs } from "../../training/synthetic.js";
import { startTestHub, type TestHub } from "../support/hub.js";
import { waitFor } from "../support/wait.js";

// biome-ignore lint/suspicious/noExplicitAny: JSON answers are probed field by field.
type Json = Record<string, any>;

const SECRET = "canary-4f1d2c9e";
const saved = { DATABASE_URL: process.env.DATABASE_URL, CANARY: process.env.EDGEFLEET_TEST_CANARY };
let hub: TestHub;
let dir: string;

const PROBE = [
  'echo "uid=$(id -u)"',
  "env",
  // The attempt token against an operator route, then against its own run's metrics.
  `node -e 'const h={authorization:"Bearer "+process.env.EDGEFLEET_TOKEN,"content-type":"application/json"};const u=process.env.EDGEFLEET_HUB_URL;fetch(u+"/api/v1/devices",{headers:h}).then(async r=>{console.log("devices="+r.status);const m=await fetch(u+"/api/v1/runs/"+process.env.EDGEFLEET_RUN_ID+"/attempts/"+process.env.EDGEFLEET_ATTEMPT+"/metrics",{method:"POST",headers:h,body:JSON.stringify({points:[{name:"probe",value:1,step:0}]})});console.log("ownMetrics="+m.status)})'`,
  "exit 3",
  "",
].join("\n");

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), "edgefleet-isolation-"));
  hub = await startTestHub({ trainer: true });
  // Secrets of the hub process, set where the in-hub worker would pass them on to a script.
  process.env.DATABASE_URL = `postgres://edgefleet:${SECRET}@db.internal/edgefleet`;
  process.env.EDGEFLEET_TEST_CANARY = SECRET;
}, 60_000);
afterAll(async () => {
  for (const [name, value] of [
    ["DATABASE_URL", saved.DATABASE_URL],
    ["EDGEFLEET_TEST_CANARY", saved.CANARY],
  ] as const) {
    if (value === undefined) delete process.env[name];
    else process.env[name] = value;
  }
  await hub?.dispose();
  if (dir) await rm(dir, { recursive: true, force: true });
});

it("an operator's script prints no credential but its attempt's own, and runs unprivileged", async () => {
  const csv = blobs(60, 2);
  const columns = Object.keys(csv[0]!);
  await hub.client.request(
    "POST",
    "/api/v1/datasets/iso/versions?format=csv&target=label&task=classification",
    new TextEncoder().encode(
      `${columns.join(",")}\n${csv.map((r) => columns.map((c) => r[c as keyof typeof r]).join(",")).join("\n")}\n`,
    ),
    { "content-type": "text/csv" },
  );
  const folder = join(dir, "probe");
  await rm(folder, { recursive: true, force: true });
  await import("node:fs/promises").then((fs) => fs.mkdir(folder));
  await writeFile(join(folder, "probe.sh"), PROBE);
  const snapshot = await hub.client.request<{ sha256: string }>(
    "POST",
    "/api/v1/snapshots",
    new Uint8Array(await createSnapshot(folder)),
    { "content-type": "application/gzip" },
  );
  const tokens = hub.client;
  const operator = (await tokens.post<Json>("/api/v1/tokens", { name: "op", role: "operator" })).token;
  const viewer = (await tokens.post<Json>("/api/v1/tokens", { name: "view", role: "viewer" })).token;
  const asRole = async (token: string, method: string, path: string, body?: unknown) => {
    const response = await fetch(`${hub.url}${path}`, {
      method,
      headers: { authorization: `Bearer ${token}`, "content-type": "application/json" },
      ...(body ? { body: JSON.stringify(body) } : {}),
    });
    return (await response.json()) as Json;
  };
  const run = await asRole(operator, "POST", "/api/v1/runs", {
    experiment: "isolation",
    dataset: { name: "iso" },
    task: "classification",
    target: "label",
    recipe: "script",
    script: { snapshot: snapshot.sha256, command: "sh probe.sh" },
  });
  expect(run.id, JSON.stringify(run)).toBeTruthy();
  const done = await waitFor(
    `run ${run.id} to fail`,
    async () => {
      const now = await asRole(viewer, "GET", `/api/v1/runs/${run.id}`);
      return now.status === "failed" ? now : undefined;
    },
    120_000,
    200,
  );
  expect(done.error.code).toBe("script_failed");
  const lines = ((await asRole(viewer, "GET", `/api/v1/runs/${run.id}/logs?limit=1000`)).lines as Json[])
    .filter((l) => l.stream === "stdout")
    .map((l) => l.text as string);
  const text = lines.join("\n");

  // No credential of the hub, the worker or the hub process.
  const workerToken = (await readFile(join(hub.dataDir, TRAINER_TOKEN_FILE), "utf8")).trim();
  expect(workerToken).toMatch(/^ef_/);
  expect(text).not.toContain(hub.adminToken);
  expect(text).not.toContain(workerToken);
  expect(text).not.toContain(SECRET);
  expect(text).not.toMatch(/\bef_[A-Za-z0-9_-]{20,}/);
  // Only allow-listed variables and the job's own.
  const names = lines.flatMap((l) => /^([A-Za-z_][A-Za-z0-9_]*)=/.exec(l)?.[1] ?? []);
  expect(names).toContain("EDGEFLEET_TOKEN");
  const unexpected = names.filter(
    (n) =>
      !allowedInScript(n) &&
      !n.startsWith("EDGEFLEET_") &&
      !["PWD", "SHLVL", "_", "OLDPWD", "uid", "devices", "ownMetrics"].includes(n),
  );
  expect(unexpected).toEqual([]);
  expect(lines.find((l) => l.startsWith("EDGEFLEET_TOKEN="))).toMatch(/^EDGEFLEET_TOKEN=efa_/);
  // The token it got is good for its own attempt only.
  expect(lines).toContain("devices=403");
  expect(lines).toContain("ownMetrics=204");
  // Never root: a root hub runs scripts as nobody.
  const uid = Number(lines.find((l) => l.startsWith("uid="))?.slice(4));
  if (process.getuid?.() === 0) expect(uid).toBe(65534);
  else expect(uid).toBe(process.getuid?.());
  // And the token is dead now that the attempt has ended.
  const token = lines.find((l) => l.startsWith("EDGEFLEET_TOKEN="))!.slice("EDGEFLEET_TOKEN=".length);
  const late = await fetch(`${hub.url}/api/v1/runs/${run.id}/attempts/1/logs`, {
    method: "POST",
    headers: { authorization: `Bearer ${token}`, "content-type": "application/json" },
    body: JSON.stringify({ lines: [] }),
  });
  expect(late.status).toBe(401);
}, 180_000);
