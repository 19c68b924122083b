import { defineConfig } from "vitest/config";

// Integration tests start real hubs, brokers, PGlite and agent processes: give them room,
// and run files in separate processes so one file's native handles cannot leak into another.
export default defineConfig({
  test: {
    include: ["**/*.test.ts"],
    globalSetup: ["test/support/build-dist.ts"],
    exclude: ["node_modules/**", "dist/**"],
    pool: "forks",
    maxWorkers: 2,
    testTimeout: 60_000,
    hookTimeout: 120_000,
  },
});
