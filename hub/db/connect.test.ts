import { spawnSync } from "node:child_process";
import { existsSync } from "node:fs";
import { mkdtemp, readFile, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { sql } from "drizzle-orm";
import { describe, expect, it } from "vitest";
import { projectRoot } from "../../lib/paths.js";
import { migrationsFolder, openDatabase } from "./connect.js";

describe("openDatabase", () => {
  it("finds the generated migrations from source", () => {
    expect(existsSync(join(migrationsFolder(), "meta", "_journal.json"))).toBe(true);
  });

  it("names the PostgreSQL host, never the password, when it cannot connect", async () => {
    // Port 1 on loopback refuses at once, so this needs no server and no waiting.
    const error = await openDatabase({
      dataDir: "/nonexistent-not-used",
      databaseUrl: "postgres://edge:hunter2secret@127.0.0.1:1/fleet",
    }).then(
      () => null,
      (e: Error) => e,
    );
    expect(error?.message).toContain("127.0.0.1:1/fleet");
    expect(error?.message).not.toContain("hunter2secret");
  });

  it("opens the embedded database durably: fsync on, so a commit survives a power cut", async () => {
    const dataDir = await mkdtemp(join(tmpdir(), "edgefleet-pglite-durable-"));
    const database = await openDatabase({ dataDir });
    try {
      const result = (await database.db.execute(sql`show fsync`)) as unknown as {
        rows: Array<{ fsync: string }>;
      };
      expect(result.rows[0]?.fsync).toBe("on");
    } finally {
      await database.close();
      await rm(dataDir, { recursive: true, force: true });
    }
  });

  it("fsyncs what a statement wrote before it resolves (PGlite's Node file system never syncs by itself)", async (context) => {
    if (spawnSync("strace", ["-V"]).status !== 0) return context.skip("strace is not installed");
    const dataDir = await mkdtemp(join(tmpdir(), "edgefleet-pglite-strace-"));
    const trace = join(dataDir, "trace.txt");
    const script = `
      import { openDatabase } from ${JSON.stringify(join(projectRoot(), "dist", "hub", "db", "connect.js"))};
      import { sql } from "drizzle-orm";
      const database = await openDatabase({ dataDir: ${JSON.stringify(join(dataDir, "hub"))} });
      await database.db.execute(sql\`create table probe (v int)\`);
      process.stdout.write("MARK\\n");
      await database.db.execute(sql\`insert into probe values (1)\`);
      process.exit(0);`;
    try {
      const run = spawnSync(
        "strace",
        [
          "-f",
          "-qq",
          "-e",
          "trace=fsync,fdatasync,write",
          "-o",
          trace,
          process.execPath,
          "--input-type=module",
          "-e",
          script,
        ],
        { cwd: projectRoot(), encoding: "utf8", timeout: 60_000 },
      );
      expect(run.status, run.stderr).toBe(0);
      // Only the insert after the marker counts: opening and migrating sync through other paths too.
      const lines = (await readFile(trace, "utf8")).split("\n");
      const mark = lines.findIndex((line) => line.includes('"MARK\\n"'));
      expect(mark).toBeGreaterThan(-1);
      expect(lines.slice(mark).filter((line) => /\b(fsync|fdatasync)\(/.test(line)).length).toBeGreaterThan(
        0,
      );
    } finally {
      await rm(dataDir, { recursive: true, force: true });
    }
  });
});
