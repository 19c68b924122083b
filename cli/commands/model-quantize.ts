/**
 * `edgefleet models quantize NAME@VERSION`: the hub makes the version's int8 file and measures it
 * against the float model on the version's test split (POST .../quantize, hub/quantization/).
 */
import type { Command } from "commander";
import { CliError, resolveHubClient } from "../hub-target.js";
import { splitAt } from "../key-values.js";
import { printObject } from "../output.js";
import { type HubOptions, withHubOptions } from "./operator-options.js";

/** The int8 record the hub keeps on a model version. */
export interface Int8View {
  mode: string;
  size: number;
  floatSize: number;
  quantized: Record<string, number>;
  skipped: number;
  metric: string;
  float: number;
  int8: number;
  relativeLoss: number;
  testRows: number;
}

/** Lines that say what int8 trades: size and the threshold metric, float vs int8. */
export function int8Lines(int8: Int8View): string[] {
  const ops = Object.entries(int8.quantized)
    .map(([op, n]) => `${n} ${op}`)
    .join(", ");
  const loss = int8.relativeLoss * 100;
  return [
    `int8 (${int8.mode}): ${int8.size} bytes vs ${int8.floatSize} float (${(int8.floatSize / int8.size).toFixed(2)}x smaller); quantized ${ops}${int8.skipped ? `, ${int8.skipped} left float` : ""}`,
    `${int8.metric} on ${int8.testRows} test rows: float ${int8.float.toPrecision(5)}, int8 ${int8.int8.toPrecision(5)} (${loss >= 0 ? `${loss.toFixed(2)} % worse` : `${(-loss).toFixed(2)} % better`})`,
  ];
}

/** Adds `quantize` to the `models` command group (or makes the group). */
export function registerModelQuantizeCommand(program: Command): void {
  const models =
    program.commands.find((c) => c.name() === "models") ??
    program.command("models").description("register ONNX models and list versions");
  withHubOptions(models.command("quantize <name@version>"))
    .description(
      "make a trained version's int8 file (MatMul/Gemm/Conv: dynamic, or static with activation ranges calibrated on training rows) and measure it against float on the test split",
    )
    .option(
      "--mode <mode>",
      "dynamic (activations quantized per request) or static (weights and activations, ranges calibrated on up to 1000 training rows)",
      "dynamic",
    )
    .option("--ops <list>", "operators to quantize, comma-separated: MatMul,Gemm,Conv (default all)")
    .action(async (target: string, options: HubOptions & { ops?: string; mode: string }) => {
      const { name, version } = splitAt(target);
      if (!version) throw new CliError(`name a version: ${name}@3 or ${name}@champion`);
      if (options.mode !== "dynamic" && options.mode !== "static")
        throw new CliError(`--mode is dynamic or static, not "${options.mode}"`);
      const body: Record<string, unknown> = { mode: options.mode };
      if (options.ops) body.ops = options.ops.split(",").map((op) => op.trim());
      const client = await resolveHubClient(options, process.env);
      if (!options.json)
        process.stderr.write(`quantizing ${name}@${version} and measuring it on the test split…\n`);
      const updated = await client.post<{ version: number; int8: Int8View }>(
        `/api/v1/models/${encodeURIComponent(name)}/versions/${encodeURIComponent(version)}/quantize`,
        body,
      );
      if (options.json) return printObject(updated);
      process.stdout.write(`model ${name} version ${updated.version}\n`);
      for (const line of int8Lines(updated.int8)) process.stdout.write(`${line}\n`);
      process.stdout.write(
        `package it with: edgefleet models package ${name} ${updated.version} --int8 (int8 profiles get it within deploy --max-int8-loss, default 1 %)\n`,
      );
    });
}
