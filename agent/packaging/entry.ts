/**
 * Entry point of the single-executable agent: `edgefleet-agent [flags]` is `edgefleet agent [flags]`
 * (same flags, environment and config file). Bundled to CommonJS by bundle.ts; native addons and
 * the inference worker are loaded from the executable's folder.
 */
import { Command } from "commander";
import { registerAgentCommand } from "../command.js";
import { builtAgentVersion } from "../version.js";

const program = new Command()
  .name("edgefleet-agent")
  .version(builtAgentVersion() ?? "0.0.0")
  .description("edgefleet device agent (single executable)");
registerAgentCommand(program);

// In a single executable argv[0] and argv[1] are both the executable; the flags follow.
const [exe = "edgefleet-agent", script = exe, ...flags] = process.argv;
const wantsTopLevel = flags.length === 1 && ["--version", "-V"].includes(flags[0]!);
program
  .parseAsync([exe, script, ...(wantsTopLevel ? flags : ["agent", ...flags])])
  .catch((error: unknown) => {
    console.error((error as Error).message ?? error);
    process.exit(1);
  });
