/**
 * The built `edgefleet` CLI for credentials against a real hub: tokens with a role and an expiry
 * (create, list, revoke) and a device's lifecycle (disable, enable, rotate-secret, delete). Bad
 * flags exit non-zero and create nothing.
 */
import { execFile } from "node:child_process";
import { mkdtemp, rm, stat } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { promisify } from "node:util";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { parseAgentConfig } from "../../agent/config.js";
import { projectRoot } from "../../lib/paths.js";
import { startTestHub, type TestHub } from "../support/hub.js";

const execFileAsync = promisify(execFile);
const cli = join(projectRoot(), "bin", "edgefleet.js");
let hub: TestHub;
let env: NodeJS.ProcessEnv;

beforeAll(async () => {
  hub = await startTestHub();
  env = { ...process.env, EDGEFLEET_HUB_URL: hub.url, EDGEFLEET_TOKEN: hub.adminToken };
});
afterAll(() => hub?.dispose());

async function edgefleet(...args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  return execFileAsync(process.execPath, [cli, ...args], { env, timeout: 60_000 }).then(
    ({ stdout, stderr }) => ({ code: 0, stdout, stderr }),
    (error: { code: number; stdout: string; stderr: string }) => ({
      code: error.code,
      stdout: error.stdout,
      stderr: error.stderr,
    }),
  );
}

async function json<T>(...args: string[]): Promise<T> {
  const result = await edgefleet(...args, "--json");
  expect(result.code, `${args.join(" ")}\n${result.stderr}`).toBe(0);
  return JSON.parse(result.stdout) as T;
}

const basic = (id: string, secret: string) => ({
  authorization: `Basic ${Buffer.from(`${id}:${secret}`).toString("base64")}`,
});

describe("edgefleet tokens", () => {
  it("creates a token with a role and an expiry, lists it without its secret, and revokes it", async () => {
    const created = await json<{ id: string; token: string; role: string; expiresAt: string }>(
      "tokens",
      "create",
      "ci",
      "--role",
      "viewer",
      "--expires-in",
      "2h",
    );
    expect(created.role).toBe("viewer");
    const hours = (Date.parse(created.expiresAt) - Date.now()) / 3_600_000;
    expect(hours).toBeGreaterThan(1.9);
    expect(hours).toBeLessThanOrEqual(2);
    const listed = await json<Record<string, unknown>[]>("tokens", "list");
    expect(listed.find((t) => t.id === created.id)).toMatchObject({ state: "active", role: "viewer" });
    expect(JSON.stringify(listed)).not.toContain(created.token);
    await json("tokens", "revoke", created.id);
    const response = await fetch(`${hub.url}/api/v1/devices`, {
      headers: { authorization: `Bearer ${created.token}` },
    });
    expect(response.status).toBe(401);
  });

  it("refuses a malformed --expires-in and an unknown role, creating nothing", async () => {
    const before = (await json<unknown[]>("tokens", "list")).length;
    expect(
      (await edgefleet("tokens", "create", "x", "--role", "viewer", "--expires-in", "soon")).code,
    ).not.toBe(0);
    expect((await edgefleet("tokens", "create", "x", "--role", "root")).code).not.toBe(0);
    expect((await json<unknown[]>("tokens", "list")).length).toBe(before);
  });
});

describe("edgefleet devices provision", () => {
  it("writes an agent bundle (0600) that the agent config reads whole, trust key included, and never overwrites it", async () => {
    const dir = await mkdtemp(join(tmpdir(), "edgefleet-bundle-"));
    try {
      const bundle = join(dir, "pump.agent.json");
      const result = await edgefleet("devices", "provision", "cli-bundle", "--bundle", bundle);
      expect(result.code, result.stderr).toBe(0);
      expect(result.stdout).toContain(`edgefleet agent --config pump.agent.json`);
      expect((await stat(bundle)).mode & 0o777).toBe(0o600);
      const config = parseAgentConfig({ file: bundle });
      expect(config).toMatchObject({ hubUrl: hub.url, mqttUrl: hub.mqttUrl, deviceId: "cli-bundle" });
      expect(config.trustKey).toBe(hub.parts.signing.publicKeyPem);
      expect(await hub.parts.repos.devices.verifySecret("cli-bundle", config.deviceSecret!)).toBe(true);
      // A second provision must not clobber the first device's secret file.
      expect((await edgefleet("devices", "provision", "cli-bundle-2", "--bundle", bundle)).code).not.toBe(0);
      expect(parseAgentConfig({ file: bundle }).deviceId).toBe("cli-bundle");
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  }, 120_000);
});

describe("edgefleet devices lifecycle", () => {
  it("disables, enables, rotates and deletes a device's credentials", async () => {
    const { secret } = await json<{ secret: string }>("devices", "provision", "cli-dev");
    const download = (s: string) => fetch(`${hub.url}/api/v1/signing-key`, { headers: basic("cli-dev", s) });
    expect((await download(secret)).status).toBe(200);
    await json("devices", "disable", "cli-dev");
    expect((await download(secret)).status).toBe(401);
    await json("devices", "enable", "cli-dev");
    expect((await download(secret)).status).toBe(200);
    const rotated = await json<{ secret: string }>("devices", "rotate-secret", "cli-dev");
    expect((await download(secret)).status).toBe(401);
    expect((await download(rotated.secret)).status).toBe(200);
    await json("devices", "delete", "cli-dev");
    expect((await download(rotated.secret)).status).toBe(401);
    expect((await edgefleet("devices", "disable", "cli-dev")).code).not.toBe(0);
    // Nine CLI processes: on a loaded 2-core machine that can take more than the default minute.
  }, 180_000);
});
