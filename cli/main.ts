/** The `edgefleet` command line: hub, agent, up, and operator commands against the hub API. */
import { Command, CommanderError } from "commander";
import { readPackageVersion } from "../lib/paths.js";
import { registerAgentCommand } from "./commands/agent.js";
import { registerDeployCommands } from "./commands/deploy.js";
import { registerDevicesCommand } from "./commands/devices.js";
import { registerHubCommand } from "./commands/hub.js";
import { registerModelsCommand } from "./commands/models.js";
import { registerModulesCommand } from "./commands/modules.js";
import { registerSimulateCommand } from "./commands/simulate.js";
import { registerUpCommand } from "./commands/up.js";
import { HubApiError } from "./hub-client.js";
import { CliError } from "./hub-target.js";

const program = new Command("edgefleet")
  .description("edgefleet: train, package and roll out ONNX models to device fleets")
  .version(readPackageVersion())
  .showHelpAfterError()
  .exitOverride();

registerUpCommand(program);
registerHubCommand(program);
registerAgentCommand(program);
registerDevicesCommand(program);
registerModelsCommand(program);
registerModulesCommand(program);
registerDeployCommands(program);
registerSimulateCommand(program);

try {
  await program.parseAsync(process.argv);
} catch (error) {
  process.exitCode = reportError(error);
}

function reportError(error: unknown): number {
  if (error instanceof CommanderError) return error.exitCode;
  if (error instanceof HubApiError) {
    process.stderr.write(
      `error: ${error.message}${error.status ? ` (HTTP ${error.status}, ${error.code})` : ""}\n`,
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
