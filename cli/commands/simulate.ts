/** `edgefleet simulate`: a fleet of lightweight simulated agents in this process (simulator/). */
import type { Command } from "commander";
import { untilSignal } from "../../lib/signals.js";
import { CliError, resolveHubClient } from "../hub-target.js";
import { numberFlag } from "../number-flags.js";
import { type HubOptions, withHubOptions } from "./operator-options.js";

interface SimulateFlags extends HubOptions {
  agents: string;
  prefix: string;
  mqtt?: string;
  profile?: string;
  failureRate: string;
  latency: string;
  errorRate: string;
  offlineEvery: string;
  offlineFor: string;
  predictionShift: string;
  telemetryInterval: string;
  stepDelay: string;
  headBlobs?: boolean;
}

/** Registers simulate. */
export function registerSimulateCommand(program: Command): void {
  withHubOptions(program.command("simulate"))
    .description("run N simulated agents that speak the device protocol over MQTT (no ONNX), until Ctrl-C")
    .option("--agents <n>", "number of simulated agents", "10")
    .option("--prefix <p>", "device id prefix; devices are <prefix>-0000 … and tagged sim=<prefix>", "sim")
    .option("--mqtt <url>", "broker URL (default: the one the hub hands out)")
    .option("--profile <id>", "firmware profile the devices declare and report")
    .option("--failure-rate <r>", "probability (0..1) that an activation fails", "0")
    .option("--latency <ms>", "inference latency reported in telemetry", "5")
    .option("--error-rate <r>", "fraction (0..1) of requests reported as errors", "0")
    .option("--offline-every <s>", "drop each connection every s seconds (0: never)", "0")
    .option("--offline-for <s>", "outage length in seconds", "5")
    .option("--prediction-shift <x>", "shift of the reported label distribution (-1..1)", "0")
    .option("--telemetry-interval <ms>", "telemetry window length (0: none)", "10000")
    .option("--step-delay <ms>", "pause between reported states", "0")
    .option("--head-blobs", "HEAD each module's blob URL before verifying")
    .action(async (flags: SimulateFlags) => {
      const count = numberFlag("--agents", flags.agents);
      if (!Number.isInteger(count) || count < 1) throw new CliError("--agents must be a positive integer");
      const client = await resolveHubClient(flags, process.env);
      const started = Date.now();
      const { startSimulatedFleet } = await import("../../simulator/fleet.js");
      const fleet = await startSimulatedFleet({
        hubUrl: client.options.url,
        token: client.options.token,
        count,
        prefix: flags.prefix,
        ...(flags.mqtt ? { mqttUrl: flags.mqtt } : {}),
        ...(flags.profile ? { profile: flags.profile } : {}),
        behaviour: {
          failureRate: numberFlag("--failure-rate", flags.failureRate),
          latencyMs: numberFlag("--latency", flags.latency),
          errorRate: numberFlag("--error-rate", flags.errorRate),
          offlineEverySec: numberFlag("--offline-every", flags.offlineEvery),
          offlineForSec: numberFlag("--offline-for", flags.offlineFor),
          predictionShift: numberFlag("--prediction-shift", flags.predictionShift),
          telemetryIntervalMs: numberFlag("--telemetry-interval", flags.telemetryInterval),
          stepDelayMs: numberFlag("--step-delay", flags.stepDelay),
          headBlob: Boolean(flags.headBlobs),
        },
      }).catch((error: Error) => {
        throw new CliError(`cannot start the simulated fleet: ${error.message}`);
      });
      const summary = {
        agents: count,
        prefix: flags.prefix,
        mqttUrl: fleet.mqttUrl,
        startMs: Date.now() - started,
      };
      if (flags.json) process.stdout.write(`${JSON.stringify(summary)}\n`);
      else
        process.stdout.write(
          `${count} simulated agents connected to ${fleet.mqttUrl} in ${summary.startMs} ms (tag sim=${flags.prefix}); Ctrl-C stops\n`,
        );
      await untilSignal();
      await fleet.stop();
    });
}
