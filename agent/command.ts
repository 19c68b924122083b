/** `edgefleet agent` (and the single executable's only command): flags, config, run until a signal. */
import type { Command } from "commander";
import { createLogger } from "../lib/log.js";
import { untilSignal } from "../lib/signals.js";

interface AgentFlags {
  config?: string;
  hub?: string;
  mqtt?: string;
  device?: string;
  secret?: string;
  data?: string;
  host?: string;
  port?: string;
  trustKeyFile?: string;
  ca?: string;
  cert?: string;
  key?: string;
  trustOnFirstUse?: boolean;
  telemetryInterval?: string;
  profile?: string;
  logLevel?: string;
  maxBodyBytes?: string;
}

/** Registers `edgefleet agent`. */
export function registerAgentCommand(program: Command): void {
  program
    .command("agent")
    .description("run the device agent: reconcile modules from the hub and serve local scoring")
    .option("--config <file>", "JSON config file with any of the settings below (EDGEFLEET_AGENT_CONFIG)")
    .option("--hub <url>", "hub HTTP URL (EDGEFLEET_HUB_URL)")
    .option("--mqtt <url>", "broker URL (EDGEFLEET_MQTT_URL)")
    .option("--device <id>", "device id (EDGEFLEET_DEVICE_ID)")
    .option("--secret <secret>", "device secret (EDGEFLEET_DEVICE_SECRET; prefer the env var or config file)")
    .option("--data <dir>", "agent data folder (EDGEFLEET_DATA, default ./.edgefleet-agent)")
    .option("--host <host>", "scoring listen address (EDGEFLEET_AGENT_HOST, default 127.0.0.1)")
    .option("--port <port>", "scoring port (EDGEFLEET_AGENT_PORT, default 8480)")
    .option(
      "--trust-key-file <file>",
      "hub signing public key (EDGEFLEET_TRUST_KEY_FILE; the provisioning bundle carries it)",
    )
    .option("--ca <file>", "PEM CA bundle that signed the hub's TLS certificate (EDGEFLEET_CA_FILE)")
    .option(
      "--cert <file>",
      "PEM device certificate from the hub's CA, for mutual TLS instead of (or beside) the secret (EDGEFLEET_DEVICE_CERT_FILE)",
    )
    .option("--key <file>", "PEM private key of --cert (EDGEFLEET_DEVICE_KEY_FILE)")
    .option(
      "--trust-on-first-use",
      "without a trust key, pin the key the hub answers first (EDGEFLEET_TRUST_ON_FIRST_USE; unsafe on an untrusted network)",
    )
    .option(
      "--telemetry-interval <ms>",
      "telemetry window length (EDGEFLEET_TELEMETRY_INTERVAL_MS, default 10000)",
    )
    .option("--profile <id>", "firmware profile (EDGEFLEET_PROFILE)")
    .option("--log-level <level>", "log level (EDGEFLEET_LOG_LEVEL, default info)")
    .option(
      "--max-body-bytes <n>",
      "largest scoring request body (EDGEFLEET_MAX_BODY_BYTES, default 16777216; a module may set its own)",
    )
    .action(async (flags: AgentFlags) => {
      // Loaded here: the CLI registers this command, but only `edgefleet agent` needs its config
      // schema (zod) and runtime (onnxruntime).
      const { parseAgentConfig, redactAgentConfig } = await import("./config.js");
      const config = parseAgentConfig({
        file: flags.config,
        env: process.env,
        flags: {
          hubUrl: flags.hub,
          mqttUrl: flags.mqtt,
          deviceId: flags.device,
          deviceSecret: flags.secret,
          dataDir: flags.data,
          host: flags.host,
          port: flags.port,
          trustKeyFile: flags.trustKeyFile,
          caFile: flags.ca,
          certFile: flags.cert,
          keyFile: flags.key,
          trustOnFirstUse: flags.trustOnFirstUse,
          telemetryIntervalMs: flags.telemetryInterval,
          profile: flags.profile,
          logLevel: flags.logLevel,
          maxBodyBytes: flags.maxBodyBytes,
        },
      });
      const log = createLogger({ component: "agent", level: config.logLevel });
      log.info({ event: "agent.config", config: redactAgentConfig(config) });
      const { runAgent } = await import("./main.js");
      const agent = await runAgent(config, { log }).catch((error: unknown) => {
        // Whatever the start had opened (the scoring server, inference workers) would keep a
        // half-started process alive, offline and never restarted: report and exit instead.
        log.fatal({ event: "agent.start_failed", err: error });
        process.stderr.write(`error: ${(error as Error)?.message ?? String(error)}\n`);
        process.exit(1);
      });
      await untilSignal();
      await agent.stop();
    });
}
