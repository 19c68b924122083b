/** Options every operator command shares. */
import type { Command } from "commander";

/** Adds --hub, --token, --data and --json to an operator command. */
export function withHubOptions(command: Command): Command {
  return command
    .option("--hub <url>", "hub URL (default: EDGEFLEET_HUB_URL, then the local hub's data folder)")
    .option("--token <token>", "API token (default: EDGEFLEET_TOKEN, then the local admin token)")
    .option(
      "--data <dir>",
      "hub data folder to find a local hub in (default: EDGEFLEET_DATA or ./.edgefleet)",
    )
    .option(
      "--ca <file>",
      "PEM CA bundle to verify an https:// hub (default: EDGEFLEET_CA_FILE, then the local hub's tls/ca.pem)",
    )
    .option("--json", "print JSON");
}

export interface HubOptions {
  hub?: string;
  ca?: string;
  token?: string;
  data?: string;
  json?: boolean;
}
