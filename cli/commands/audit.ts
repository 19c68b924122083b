/** `edgefleet audit list`: the hub's audit trail (admin token). */
import type { Command } from "commander";
import { resolveHubClient } from "../hub-target.js";
import { integerFlag } from "../number-flags.js";
import { printTable } from "../output.js";
import { sinceFlag } from "../since-flag.js";
import { type HubOptions, withHubOptions } from "./operator-options.js";

interface ListOptions extends HubOptions {
  actor?: string;
  action?: string;
  outcome?: string;
  since?: string;
  until?: string;
  limit?: string;
}

/** Registers the audit command group. */
export function registerAuditCommand(program: Command): void {
  const audit = program
    .command("audit")
    .description("the hub's audit trail: who changed what, refused logins");

  withHubOptions(audit.command("list"))
    .description("list audit entries, newest first (needs an admin token)")
    .option("--actor <name>", "only this actor: a token name or a device id")
    .option("--action <action>", 'only this action, e.g. "POST /api/v1/devices"')
    .option("--outcome <outcome>", "only ok, denied (401/403), refused (other 4xx) or failed (5xx)")
    .option("--since <time>", "from this time: ISO 8601, or an age such as 30m, 12h, 7d")
    .option("--until <time>", "up to this time: ISO 8601, or an age such as 30m, 12h, 7d")
    .option("--limit <n>", "at most this many entries (1–1000, default 100)")
    .action(async (options: ListOptions) => {
      const client = await resolveHubClient(options, process.env);
      const query = new URLSearchParams();
      if (options.actor) query.set("actor", options.actor);
      if (options.action) query.set("action", options.action);
      if (options.outcome) query.set("outcome", options.outcome);
      if (options.since) query.set("since", sinceFlag(options.since));
      if (options.until) query.set("until", sinceFlag(options.until, "--until"));
      if (options.limit) query.set("limit", String(integerFlag("--limit", options.limit, 1, 1000)));
      const text = query.toString();
      const page = await client.get<{ entries: Record<string, unknown>[] }>(
        `/api/v1/audit${text ? `?${text}` : ""}`,
      );
      printTable(
        page.entries,
        ["at", "actor", "role", "action", "target", "outcome", "status", "source"],
        Boolean(options.json),
        page,
      );
    });
}
