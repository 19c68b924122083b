/** The `edgefleet` command line: hub, agent, up, and operator commands against the hub API. */
import { Command, CommanderError } from "commander";
import { registerAgentCommand } from "../agent/command.js";
import { HubApiError } from "../hub-api/client.js";
import { readPackageVersion } from "../lib/paths.js";
import { registerAuditCommand } from "./commands/audit.js";
import { registerConsoleCommand } from "./commands/console.js";
import { registerDatasetsCommand } from "./commands/datasets.js";
import { registerDeployCommands } from "./commands/deploy.js";
import { registerDevicesCommand } from "./commands/devices.js";
import { registerHubCommand } from "./commands/hub.js";
import { registerModelPackageCommand } from "./commands/model-package.js";
import { registerModelQuantizeCommand } from "./commands/model-quantize.js";
import { registerModelsCommand } from "./commands/models.js";
import { registerModulesCommand } from "./commands/modules.js";
import { registerMonitorsCommands } from "./commands/monitors.js";
import { registerPipelinesCommands } from "./commands/pipelines.js";
import { registerRunsCommands } from "./commands/runs.js";
import { registerSimulateCommand } from "./commands/simulate.js";
import { registerTokensCommand } from "./commands/tokens.js";
import { registerTrainCommand } from "./commands/train.js";
import { registerTrainerCommand } from "./commands/trainer.js";
import { registerUpCommand } from "./commands/up.js";
import { CliError } from "./hub-target.js";

const program = new Command("edgefleet")
  .description("edgefleet: train, package and roll out ONNX models to device fleets")
  .version(readPackageVersion())
  .showHelpAfterError()
  .exitOverride();

registerUpCommand(program);
registerHubCommand(program);
registerAgentCommand(program);
registerTrainerCommand(program);
registerDevicesCommand(program);
registerTokensCommand(program);
registerModelsCommand(program);
registerModulesCommand(program);
registerDeployCommands(program);
registerSimulateCommand(program);
registerDatasetsCommand(program);
registerTrainCommand(program);
registerRunsCommands(program);
registerModelPackageCommand(program);
registerModelQuantizeCommand(program);
registerMonitorsCommands(program);
registerPipelinesCommands(program);
registerAuditCommand(program);
registerConsoleCommand(program);

try {
  await program.parseAsync(process.argv);
} catch (error) {
  process.exitCode = reportError(error);
}

function reportError(error: unknown): number {
  if (error instanceof CommanderError) return error.exitCode;
  if (error instanceof HubApiError) {
    // A refusal's own code (e.g. bad_dataset: ragged) says more than the HTTP status alone.
    const detail = (error.details as { code?: unknown } | undefined)?.code;
    const code = typeof detail === "string" ? `${error.code}: ${detail}` : error.code;
    process.stderr.write(
      `error: ${error.message}${error.status ? ` (HTTP ${error.status}, ${code})` : ""}\n`,
    );
    return 1;
  }
  if (error instanceof CliError) {
    process.stderr.write(`error: ${error.message}\n`);
    return error.exitCode;
  }
  process.stderr.write(`error: ${(error as Error)?.message ?? String(error)}\n`);
  return 1;
}
