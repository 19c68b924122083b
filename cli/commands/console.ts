/**
 * `edgefleet console`: opens the operator console in a browser, signed in. The token travels in
 * the URL fragment, which browsers never send to a server (so no access log holds it); the console
 * moves it to the tab's session storage and wipes it from the address bar at once.
 */
import { spawn } from "node:child_process";
import type { Command } from "commander";
import { CliError, resolveHubClient } from "../hub-target.js";
import { type HubOptions, withHubOptions } from "./operator-options.js";

interface ConsoleOptions extends HubOptions {
  open?: boolean;
}

/** The platform's "open this URL" command. */
function opener(url: string): [string, string[]] {
  if (process.platform === "darwin") return ["open", [url]];
  if (process.platform === "win32") return ["cmd", ["/c", "start", "", url]];
  return ["xdg-open", [url]];
}

/** Registers `edgefleet console`. */
export function registerConsoleCommand(program: Command): void {
  withHubOptions(program.command("console"))
    .description("open the operator console in a browser, signed in (the local admin token by default)")
    .option(
      "--no-open",
      "print the sign-in URL instead of opening a browser (it holds the token: keep it private)",
    )
    .action(async (options: ConsoleOptions) => {
      const client = await resolveHubClient(options, process.env);
      const me = await client.get<{ name?: string; role?: string }>("/api/v1/whoami");
      const base = client.url.replace(/\/+$/, "");
      const page = await fetch(`${base}/`).catch(() => undefined);
      if (!page?.ok)
        throw new CliError(
          `the hub at ${base} does not serve the console (${page ? `HTTP ${page.status}` : "no answer"}); build it with npm run build`,
        );
      const url = `${base}/#token=${encodeURIComponent(client.options.token ?? "")}`;
      if (options.json) {
        console.log(JSON.stringify({ url: `${base}/`, signInUrl: options.open ? undefined : url, as: me }));
        if (options.open === false) return;
      }
      if (options.open === false) {
        console.log(url);
        return;
      }
      const [command, args] = opener(url);
      await new Promise<void>((resolve, reject) => {
        const child = spawn(command, args, { stdio: "ignore", detached: true });
        child.once("error", (error) =>
          reject(
            new CliError(
              `could not start ${command} (${error.message}); use --no-open and open the URL yourself`,
            ),
          ),
        );
        child.once("spawn", () => {
          child.unref();
          resolve();
        });
      });
      if (!options.json) console.log(`opened ${base}/ as ${me.name ?? "?"} (${me.role ?? "?"})`);
    });
}
