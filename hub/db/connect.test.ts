import { existsSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
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
});
