/** `edgefleet hub`: run the hub on the embedded defaults or with DATABASE_URL / MQTT_URL. */
import type { Command } from "commander";
import { createLogger } from "../../lib/log.js";
import { untilSignal } from "../../lib/signals.js";

interface HubFlags {
  data?: string;
  host?: string;
  port?: string;
  mqttPort?: string;
  mqttHost?: string;
  insecure?: boolean;
  tls?: string;
  tlsCert?: string;
  tlsKey?: string;
  tlsCa?: string;
  mqttUrl?: string;
  databaseUrl?: string;
  publicUrl?: string;
  logLevel?: string;
  /** false with --no-trainer; commander leaves it true otherwise (then env/defaults decide). */
  trainer?: boolean;
}

/** Registers `edgefleet hub`. */
export function registerHubCommand(program: Command): void {
  program
    .command("hub")
    .description("run the hub: HTTP API, registry, embedded MQTT broker and storage")
    .option("--data <dir>", "data folder (EDGEFLEET_DATA, default ./.edgefleet)")
    .option("--host <host>", "HTTP listen address (EDGEFLEET_HOST, default 127.0.0.1)")
    .option("--port <port>", "HTTP port (EDGEFLEET_PORT, default 8470)")
    .option("--mqtt-host <host>", "embedded broker listen address (EDGEFLEET_MQTT_HOST, default 127.0.0.1)")
    .option(
      "--insecure",
      "allow plaintext HTTP/MQTT on addresses beyond loopback, for a network you trust (EDGEFLEET_INSECURE=1)",
    )
    .option(
      "--tls <mode>",
      "auto: HTTPS and MQTTS with the hub's own CA in the data folder; off: plaintext (EDGEFLEET_TLS; default: on with --tls-cert, auto beyond loopback)",
    )
    .option("--tls-cert <file>", "PEM server certificate (chain) for HTTPS and MQTTS (EDGEFLEET_TLS_CERT)")
    .option("--tls-key <file>", "PEM private key of --tls-cert (EDGEFLEET_TLS_KEY)")
    .option(
      "--tls-ca <file>",
      "PEM CA bundle devices get to verify the hub (EDGEFLEET_TLS_CA; default the hub's own CA)",
    )
    .option("--mqtt-port <port>", "embedded broker port (EDGEFLEET_MQTT_PORT, default 1883)")
    .option("--mqtt-url <url>", "use an external broker instead of the embedded one (MQTT_URL)")
    .option("--database-url <url>", "use PostgreSQL instead of PGlite (DATABASE_URL)")
    .option("--public-url <url>", "URL devices use to reach this hub (EDGEFLEET_PUBLIC_URL)")
    .option("--log-level <level>", "log level (EDGEFLEET_LOG_LEVEL, default info)")
    .option("--no-trainer", "do not run a trainer worker inside the hub (EDGEFLEET_TRAINER=0)")
    .action(async (flags: HubFlags) => {
      // Loaded here so that `edgefleet --help` and the operator commands do not load the hub.
      const { parseHubConfig } = await import("../../hub/config.js");
      const config = parseHubConfig(
        {
          dataDir: flags.data,
          host: flags.host,
          port: flags.port as never,
          mqttHost: flags.mqttHost,
          mqttPort: flags.mqttPort as never,
          mqttUrl: flags.mqttUrl,
          databaseUrl: flags.databaseUrl,
          publicUrl: flags.publicUrl,
          logLevel: flags.logLevel as never,
          trainer: flags.trainer === false ? false : undefined,
          insecure: flags.insecure,
          tls: flags.tls as never,
          tlsCert: flags.tlsCert,
          tlsKey: flags.tlsKey,
          tlsCa: flags.tlsCa,
        },
        process.env,
      );
      const log = createLogger({ component: "hub", level: config.logLevel });
      const { startHub } = await import("../../hub/main.js");
      const hub = await startHub(config, { log });
      process.stderr.write(
        `edgefleet hub ${hub.parts.version}: API ${hub.url}/api/v1  MQTT ${hub.mqttUrl}  data ${config.dataDir}\n`,
      );
      await untilSignal();
      await hub.close();
    });
}
