/** `edgefleet deploy` and `edgefleet deployments list|show`. */
import type { Command } from "commander";
import { CliError, resolveHubClient } from "../hub-target.js";
import { printObject, printTable } from "../output.js";
import { type HubOptions, withHubOptions } from "./operator-options.js";

/** Registers deploy and deployments. */
export function registerDeployCommands(program: Command): void {
  withHubOptions(program.command("deploy <module@version>"))
    .description("deploy a module version to devices by id or tag selector (all at once)")
    .option("--devices <ids>", "comma-separated device ids")
    .option("--selector <tags>", "devices with these tags, e.g. site=plant-1")
    .action(async (target: string, options: HubOptions & { devices?: string; selector?: string }) => {
      const at = target.lastIndexOf("@");
      if (at <= 0) throw new CliError("give the module as name@version, e.g. demo-iris@1.0.0");
      if (!options.devices && !options.selector)
        throw new CliError("choose devices with --devices or --selector");
      const client = await resolveHubClient(options, process.env);
      const selector: Record<string, unknown> = {};
      if (options.devices) selector.deviceIds = options.devices.split(",").map((d) => d.trim());
      if (options.selector) {
        selector.tags = Object.fromEntries(
          options.selector.split(",").map((p) => [p.split("=")[0], p.split("=").slice(1).join("=")]),
        );
      }
      const deployment = await client.post<{ id: string; targetDeviceIds: string[] }>("/api/v1/deployments", {
        module: target.slice(0, at),
        version: target.slice(at + 1),
        selector,
      });
      if (options.json) return printObject(deployment);
      process.stdout.write(
        `deployment ${deployment.id}: ${target} to ${deployment.targetDeviceIds.length} device(s)\n`,
      );
    });

  const deployments = program.command("deployments").description("inspect deployments");
  withHubOptions(deployments.command("list"))
    .description("list deployments")
    .action(async (options: HubOptions) => {
      const client = await resolveHubClient(options, process.env);
      const { deployments: rows } = await client.get<{ deployments: Record<string, unknown>[] }>(
        "/api/v1/deployments",
      );
      printTable(
        rows,
        ["id", "moduleName", "moduleVersion", "strategy", "status", "createdAt"],
        Boolean(options.json),
        rows,
      );
    });
  withHubOptions(deployments.command("show <id>"))
    .description("one deployment with per-device state and counts")
    .action(async (id: string, options: HubOptions) => {
      const client = await resolveHubClient(options, process.env);
      printObject(await client.get(`/api/v1/deployments/${encodeURIComponent(id)}`));
    });
}
