/**
 * Defect 4 of issue 14: started on a read-only data folder the agent served from disk, never
 * reached MQTT and never exited. Here a real agent process starts on a data folder that refuses
 * new entries (the kernel's immutable flag: EPERM for root too), or whose downloads folder does:
 * it exits with a non-zero status and says which folder, before it serves anything.
 */
import { mkdir, mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, describe, expect, it } from "vitest";
import { type AgentProcess, spawnAgent } from "../../lib/agent-process.js";
import { canFreezeFolders, freezeFolder } from "../support/disk-faults.js";
import { waitFor } from "../support/wait.js";

const freezable = await canFreezeFolders();
const cleanups: (() => Promise<void>)[] = [];

afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
});

/** Starts an agent on `dataDir` with nothing to reach (the check comes before any network). */
async function startOn(dataDir: string): Promise<{ agent: AgentProcess; exit: Promise<number | null> }> {
  const agent = await spawnAgent({
    hubUrl: "http://127.0.0.1:9",
    mqttUrl: "mqtt://127.0.0.1:9",
    deviceId: "ro-1",
    secret: "s".repeat(32),
    trustKey:
      "-----BEGIN PUBLIC KEY-----\nMCowBQYDK2VwAyEAGb9ECWmEzf6FQbrBZ9w7lshQhqowtrbLDFw4rXAxZuE=\n-----END PUBLIC KEY-----\n",
    dataDir,
  });
  cleanups.push(() => agent.stop("SIGKILL"));
  const exit = new Promise<number | null>((resolve) => {
    if (agent.child.exitCode !== null) resolve(agent.child.exitCode);
    agent.child.once("exit", (code) => resolve(code));
  });
  return { agent, exit };
}

async function frozenFolder(sub?: string): Promise<string> {
  const dataDir = await mkdtemp(join(tmpdir(), "edgefleet-ro-"));
  cleanups.push(() => rm(dataDir, { recursive: true, force: true }));
  const frozen = sub ? join(dataDir, sub) : dataDir;
  await mkdir(frozen, { recursive: true });
  cleanups.push(await freezeFolder(frozen));
  return dataDir;
}

describe.skipIf(!freezable)("an agent started on a data folder it cannot write", () => {
  it("exits non-zero with a message naming the folder when the data folder refuses writes", {
    timeout: 60_000,
  }, async () => {
    const dataDir = await frozenFolder();
    const { agent, exit } = await startOn(dataDir);
    let code: number | null | undefined;
    void exit.then((c) => (code = c));
    await waitFor(
      () => `the agent to exit\n${agent.output()}`,
      async () => code !== undefined,
      45_000,
    );
    expect(code).not.toBe(0);
    expect(agent.output()).toContain("data folder cannot be written");
    expect(agent.output()).toContain(dataDir);
    // It never served: nothing listens on its scoring port.
    await expect(fetch(`${agent.scoringUrl}/v1/health`)).rejects.toThrow();
  });

  it("exits non-zero when a folder it writes into (downloads) refuses writes", {
    timeout: 60_000,
  }, async () => {
    const dataDir = await frozenFolder("downloads");
    const { agent, exit } = await startOn(dataDir);
    let code: number | null | undefined;
    void exit.then((c) => (code = c));
    await waitFor(
      () => `the agent to exit\n${agent.output()}`,
      async () => code !== undefined,
      45_000,
    );
    expect(code).not.toBe(0);
    expect(agent.output()).toContain(join(dataDir, "downloads"));
  });
});
