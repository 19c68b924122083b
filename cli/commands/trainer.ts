/** `edgefleet trainer`: a trainer worker that takes training runs from a hub (see trainer/README.md). */
import type { Command } from "commander";
import { createLogger } from "../../lib/log.js";
import { untilSignal } from "../../lib/signals.js";
import { parseLabels } from "../../trainer/capabilities.js";
import { CliError } from "../hub-target.js";
import { collect } from "../key-values.js";
import { positiveInt } from "../number-flags.js";

interface TrainerFlags {
  hub?: string;
  token?: string;
  id?: string;
  name?: string;
  label: string[];
  data?: string;
  concurrency?: string;
  kinds?: string;
  grace?: string;
  scriptUser?: string;
  logLevel?: string;
}

/** Registers `edgefleet trainer`. */
export function registerTrainerCommand(program: Command): void {
  program
    .command("trainer")
    .description("run a trainer worker: claim training runs from the hub, train, upload the model")
    .option("--hub <url>", "hub HTTP URL (EDGEFLEET_HUB_URL)")
    .option("--token <token>", "API token with the trainer role (EDGEFLEET_TOKEN)")
    .option("--name <name>", "display name (default: host name)")
    .option("--id <id>", "worker id (default: made once and kept in the data folder)")
    .option("--label <key=value>", "label runs can ask for with compute.labels (repeatable)", collect, [])
    .option("--data <dir>", "worker data folder (EDGEFLEET_TRAINER_DATA, default ./.edgefleet-trainer)")
    .option("--concurrency <n>", "runs at the same time (default 1)")
    .option("--kinds <list>", "job kinds to take: builtin, script or both (default builtin,script)")
    .option(
      "--grace <ms>",
      "on SIGTERM/Ctrl-C, let running jobs finish this long before handing them back (default 30000)",
    )
    .option(
      "--script-user <user>",
      "when the worker runs as root, run scripts as this unprivileged user, name or uid:gid (EDGEFLEET_SCRIPT_USER, default nobody)",
    )
    .option("--log-level <level>", "log level (EDGEFLEET_LOG_LEVEL, default info)")
    .action(async (flags: TrainerFlags) => {
      const hubUrl = flags.hub ?? process.env.EDGEFLEET_HUB_URL;
      const token = flags.token ?? process.env.EDGEFLEET_TOKEN;
      if (!hubUrl) throw new CliError("no hub to talk to: pass --hub URL or set EDGEFLEET_HUB_URL");
      if (!token)
        throw new CliError(
          "no API token: pass --token or set EDGEFLEET_TOKEN (edgefleet tokens create NAME --role trainer)",
        );
      let labels: Record<string, string>;
      try {
        labels = parseLabels(flags.label);
      } catch (error) {
        throw new CliError((error as Error).message);
      }
      const kinds = (flags.kinds ?? "builtin,script").split(",").map((k) => k.trim());
      const unknown = kinds.filter((k) => k !== "builtin" && k !== "script");
      if (unknown.length > 0 || kinds.length === 0)
        throw new CliError(`--kinds takes builtin, script or both (got "${flags.kinds}")`);
      const concurrency = positiveInt(flags.concurrency, "--concurrency") ?? 1;
      const graceMs = positiveInt(flags.grace, "--grace", true) ?? 30_000;
      const log = createLogger({
        component: "trainer",
        level: flags.logLevel ?? process.env.EDGEFLEET_LOG_LEVEL ?? "info",
      });
      const { startTrainerWorker } = await import("../../trainer/worker.js");
      const worker = await startTrainerWorker({
        hubUrl,
        token,
        ...(flags.id ? { id: flags.id } : {}),
        ...(flags.name ? { name: flags.name } : {}),
        labels,
        dataDir: flags.data ?? process.env.EDGEFLEET_TRAINER_DATA ?? "./.edgefleet-trainer",
        concurrency,
        kinds: kinds as ("builtin" | "script")[],
        scriptUser: flags.scriptUser ?? process.env.EDGEFLEET_SCRIPT_USER,
        log,
      });
      process.stderr.write(
        `edgefleet trainer ${worker.capabilities.version}: worker ${worker.id} → ${hubUrl} (${worker.capabilities.cpus} CPUs, ${worker.capabilities.gpus.length} GPUs)\n`,
      );
      await untilSignal();
      const stopping = worker.stop({ graceMs });
      // A second signal stops at once: running attempts are handed back (failed, retryable).
      void untilSignal().then(() => worker.stop({ graceMs: 0 }));
      await stopping;
    });
}
