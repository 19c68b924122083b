/** `edgefleet tokens create|list|revoke`: API tokens with a role and an expiry (admin only). */
import type { Command } from "commander";
import { resolveHubClient } from "../hub-target.js";
import { printObject, printTable } from "../output.js";
import { type HubOptions, withHubOptions } from "./operator-options.js";

const UNIT_SECONDS: Record<string, number> = { s: 1, m: 60, h: 3_600, d: 86_400, w: 604_800 };

/** "90d", "12h", "30m", "45s", "2w" → seconds; throws on anything else. */
export function parseDuration(text: string): number {
  const match = /^(\d+)\s*([smhdw])$/.exec(text.trim());
  if (!match) throw new Error(`--expires-in: "${text}" is not a duration like 30m, 12h, 90d or 2w`);
  const seconds = Number(match[1]) * UNIT_SECONDS[match[2]!]!;
  if (seconds <= 0) throw new Error("--expires-in must be more than zero");
  return seconds;
}

/** Registers the tokens command group. */
export function registerTokensCommand(program: Command): void {
  const tokens = program
    .command("tokens")
    .description("API tokens: create with a role and an expiry, list, revoke");

  withHubOptions(tokens.command("create <name>"))
    .description("create a token; prints its secret once")
    .requiredOption(
      "--role <role>",
      "viewer, operator, admin, or trainer (the worker protocol only, for edgefleet trainer)",
    )
    .option("--expires-in <duration>", "lifetime, e.g. 12h, 90d, 2w (default: never expires)")
    .action(async (name: string, options: HubOptions & { role: string; expiresIn?: string }) => {
      const expiresInSeconds = options.expiresIn === undefined ? undefined : parseDuration(options.expiresIn);
      const client = await resolveHubClient(options, process.env);
      const created = await client.post<{
        id: string;
        token: string;
        role: string;
        expiresAt: string | null;
      }>("/api/v1/tokens", { name, role: options.role, ...(expiresInSeconds ? { expiresInSeconds } : {}) });
      if (options.json) return printObject(created);
      process.stdout.write(
        `token ${created.id} (${created.role}, ${created.expiresAt ? `expires ${created.expiresAt}` : "never expires"}). ` +
          `Its secret is shown only now:\n  ${created.token}\n`,
      );
    });

  withHubOptions(tokens.command("list"))
    .description("list tokens (never their secrets)")
    .action(async (options: HubOptions) => {
      const client = await resolveHubClient(options, process.env);
      const { tokens: rows } = await client.get<{ tokens: Record<string, unknown>[] }>("/api/v1/tokens");
      printTable(
        rows,
        ["id", "name", "role", "state", "expiresAt", "lastUsedAt", "createdAt"],
        Boolean(options.json),
        rows,
      );
    });

  withHubOptions(tokens.command("revoke <id>"))
    .description("revoke a token; it stops working at once")
    .action(async (id: string, options: HubOptions) => {
      const client = await resolveHubClient(options, process.env);
      printObject(await client.request("DELETE", `/api/v1/tokens/${encodeURIComponent(id)}`));
    });
}
