/**
 * `edgefleet models package NAME VERSION`: a trained model version (number or alias) becomes a
 * module version with an automatic manifest, monitoring section included
 * (POST /api/v1/models/{name}/versions/{v}/package, hub/retraining/package.ts).
 */
import type { Command } from "commander";
import { CliError, resolveHubClient } from "../hub-target.js";
import { positiveInt } from "../number-flags.js";
import { printObject } from "../output.js";
import { type HubOptions, withHubOptions } from "./operator-options.js";

interface PackageOptions extends HubOptions {
  module?: string;
  moduleVersion?: string;
  description?: string;
  allowSamples?: boolean;
  maxSamples?: string;
  minRows?: string;
  int8?: boolean;
}

const SEMVER = /^\d+\.\d+\.\d+(?:-[0-9A-Za-z.-]+)?(?:\+[0-9A-Za-z.-]+)?$/;

/** The package body from the flags; CliError on a malformed one. */
export function packageBody(options: PackageOptions): Record<string, unknown> {
  const body: Record<string, unknown> = {};
  if (options.module !== undefined) body.module = options.module;
  if (options.moduleVersion !== undefined) {
    if (!SEMVER.test(options.moduleVersion))
      throw new CliError(
        `--module-version takes a semantic version such as 1.2.0, got "${options.moduleVersion}"`,
      );
    body.version = options.moduleVersion;
  }
  if (options.description !== undefined) body.description = options.description;
  const maxPerWindow = positiveInt(options.maxSamples, "--max-samples");
  if (maxPerWindow !== undefined && maxPerWindow > 1000)
    throw new CliError(`--max-samples is at most 1000, got ${maxPerWindow}`);
  if (maxPerWindow !== undefined && !options.allowSamples)
    throw new CliError("--max-samples needs --allow-samples");
  if (options.allowSamples) body.samples = { allowed: true, ...(maxPerWindow ? { maxPerWindow } : {}) };
  const minRows = positiveInt(options.minRows, "--min-rows");
  if (minRows !== undefined) body.minRows = minRows;
  if (options.int8) body.int8 = true;
  return body;
}

/** Adds `package` to the existing `models` command group (or makes the group). */
export function registerModelPackageCommand(program: Command): void {
  const models =
    program.commands.find((c) => c.name() === "models") ??
    program.command("models").description("register ONNX models and list versions");
  withHubOptions(models.command("package <name> <version>"))
    .description("package a trained model version (number or alias) as a module with an automatic manifest")
    .option("--module <name>", "module name (default: the model's)")
    .option("--module-version <v>", "module version (default: next patch of the module's highest, or 1.0.0)")
    .option("--description <text>", "what this module does")
    .option("--allow-samples", "devices may send raw sample rows when the hub asks (retraining needs it)")
    .option("--max-samples <n>", "most sample rows per device per window (with --allow-samples)")
    .option("--min-rows <n>", "devices hold back drift windows with fewer rows (default 20)")
    .option(
      "--int8",
      "ship the version's validated int8 file (models quantize) as a variant for int8 profiles",
    )
    .action(async (name: string, version: string, options: PackageOptions) => {
      const body = packageBody(options);
      const client = await resolveHubClient(options, process.env);
      const module = await client.post<{
        name: string;
        version: string;
        tarballSha256?: string;
        manifest?: {
          monitoring?: { columns?: { name: string }[]; outputs?: { name: string }[] };
          variants?: { name: string; model: { size: number }; validation?: { relativeLoss: number } }[];
        };
      }>(`/api/v1/models/${encodeURIComponent(name)}/versions/${encodeURIComponent(version)}/package`, body);
      if (options.json) return printObject(module);
      const monitoring = module.manifest?.monitoring;
      process.stdout.write(
        `packaged ${name} version ${version} as module ${module.name}@${module.version}${module.tarballSha256 ? ` (tarball sha256 ${module.tarballSha256})` : ""}\n`,
      );
      process.stdout.write(
        monitoring
          ? `monitoring: ${monitoring.columns?.length ?? 0} column(s), ${monitoring.outputs?.length ?? 0} output(s): ${(monitoring.columns ?? []).map((c) => c.name).join(", ")}\n`
          : "monitoring: none (the model version has no baseline)\n",
      );
      for (const v of module.manifest?.variants ?? []) {
        const loss = v.validation ? `, ${(v.validation.relativeLoss * 100).toFixed(2)} % metric loss` : "";
        process.stdout.write(`variant ${v.name}: ${v.model.size} bytes${loss}\n`);
      }
    });
}
