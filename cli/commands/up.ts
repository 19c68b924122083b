/**
 * Registers `edgefleet up` (= `npm start`). The command's work lives in up-run.ts and is imported
 * only when it runs: it starts a hub, so loading it eagerly would make every other command start
 * as slowly as the hub.
 */
import type { Command } from "commander";
import type { UpFlags } from "./up-run.js";

export function registerUpCommand(program: Command): void {
  program
    .command("up")
    .description("start hub + local agent on embedded defaults and deploy a demo model (npm start)")
    .option("--data <dir>", "data folder (EDGEFLEET_DATA, default ./.edgefleet)")
    .option("--exit", "stop everything once the demo model is served (for scripts and tests)")
    .action(async (flags: UpFlags) => {
      const { runUp } = await import("./up-run.js");
      await runUp(flags);
    });
}
