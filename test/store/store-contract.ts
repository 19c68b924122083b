/**
 * The store contract: one suite every database implementation must pass (one contract per store interface, run against each implementation).
 * Each implementation's test file calls `describeStoreContract` with a way to open a fresh
 * database; one instance is shared by the whole file (PGlite costs seconds and hundreds of MB).
 */
import { afterAll, beforeAll, describe } from "vitest";
import type { Database } from "../../hub/db/database.js";
import type { ContractContext } from "./contract/context.js";
import { deploymentContract } from "./contract/deployments.js";
import { deviceContract } from "./contract/devices.js";
import { driftContract } from "./contract/drift.js";
import { modelContract } from "./contract/models.js";
import { telemetryContract } from "./contract/telemetry.js";
import { tokenContract } from "./contract/tokens.js";
import { trainingContract } from "./contract/training.js";

/** Runs every repository's contract against databases produced by `open`. */
export function describeStoreContract(name: string, open: () => Promise<Database>): void {
  describe(`store contract: ${name}`, () => {
    let database: Database | undefined;
    beforeAll(async () => {
      database = await open();
    });
    afterAll(async () => {
      await database?.close();
    });
    const ctx: ContractContext = {
      db: () => {
        if (!database) throw new Error("database not open");
        return database.db;
      },
      dialect: () => database?.dialect ?? "pglite",
    };
    tokenContract(ctx);
    deviceContract(ctx);
    modelContract(ctx);
    deploymentContract(ctx);
    telemetryContract(ctx);
    driftContract(ctx);
    trainingContract(ctx);
  });
}
