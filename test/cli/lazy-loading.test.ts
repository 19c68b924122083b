/**
 * The CLI loads a command's heavy dependencies only when that command runs: `--help`, a command's
 * own help and the operator commands against the hub API must not load the hub, the agent's
 * runtime, onnxruntime, sharp, PGlite or the training code (each adds hundreds of milliseconds to
 * every start). Checked by recording the packages the built CLI process resolves, not by timing.
 */
import { execFile } from "node:child_process";
import { mkdtemp, readFile, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { promisify } from "node:util";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { projectRoot } from "../../lib/paths.js";
import { startTestHub, type TestHub } from "../support/hub.js";

const run = promisify(execFile);
const cli = join(projectRoot(), "bin", "edgefleet.js");
const recorder = join(projectRoot(), "test", "cli", "fixtures", "record-packages.mjs");
/** What no light command may load: the hub and agent runtimes and what they stand on. */
const HEAVY = [
  "onnxruntime-node",
  "sharp",
  "@electric-sql/pglite",
  "drizzle-orm",
  "aedes",
  "mqtt",
  "hono",
  "@hono/node-server",
  "postgres",
  "zod",
  "@peculiar/x509",
  "tar",
];

let folder: string;
let hub: TestHub;
let calls = 0;

beforeAll(async () => {
  folder = await mkdtemp(join(tmpdir(), "edgefleet-lazy-"));
  hub = await startTestHub();
});

afterAll(async () => {
  await hub?.dispose();
  await rm(folder, { recursive: true, force: true });
});

/** Runs the built CLI and returns the packages its process imported (whatever its exit status). */
async function packagesLoadedBy(args: string[], env: Record<string, string> = {}): Promise<Set<string>> {
  const record = join(folder, `packages-${calls++}.txt`);
  await run(process.execPath, ["--import", recorder, cli, ...args], {
    env: { ...process.env, ...env, RECORD_PACKAGES_TO: record },
  }).catch(() => undefined);
  const text = await readFile(record, "utf8").catch(() => "");
  return new Set(text.split("\n").filter(Boolean));
}

function heavyIn(loaded: Set<string>): string[] {
  return [...loaded].filter((name) => HEAVY.some((heavy) => name === heavy || name.startsWith(`${heavy}/`)));
}

describe("the CLI loads heavy modules only in the commands that use them", () => {
  it("--help and a command's --help load none of them", async () => {
    for (const args of [["--help"], ["devices", "--help"], ["hub", "--help"], ["agent", "--help"]]) {
      const loaded = await packagesLoadedBy(args);
      expect(loaded.has("commander"), `${args.join(" ")} ran the CLI`).toBe(true);
      expect(heavyIn(loaded), args.join(" ")).toEqual([]);
    }
  });

  it("devices list against a running hub loads none of them", async () => {
    const loaded = await packagesLoadedBy(["devices", "list", "--json"], {
      EDGEFLEET_HUB_URL: hub.url,
      EDGEFLEET_TOKEN: hub.adminToken,
    });
    expect(heavyIn(loaded)).toEqual([]);
  });

  it("the recorder sees heavy packages where a command does load them", async () => {
    // Guards the check itself: a recorder that recorded nothing would pass the tests above. The agent
    // command parses its configuration (zod) before it refuses a bad hub URL and exits.
    const loaded = await packagesLoadedBy(["agent", "--hub", "not a url", "--device", "d", "--secret", "s"]);
    expect(heavyIn(loaded)).toContain("zod");
  });
});
