/** `edgefleet devices list|show|provision|disable|enable|rotate-secret|delete|certificate|revoke-certificate`. */
import { writeFile } from "node:fs/promises";
import { basename, dirname, resolve } from "node:path";
import type { Command } from "commander";
import { resolveHubClient } from "../hub-target.js";
import { printObject, printTable } from "../output.js";
import { issueDeviceCertificate } from "./device-certificate.js";
import { type HubOptions, withHubOptions } from "./operator-options.js";

type Device = Record<string, unknown> & { id: string; tags: Record<string, string>; online: boolean };

/** Registers the devices command group. */
export function registerDevicesCommand(program: Command): void {
  const devices = program.command("devices").description("provision and inspect devices");

  withHubOptions(devices.command("list"))
    .description("list devices")
    .option("--selector <tags>", "only devices with these tags, e.g. site=plant-1,line=2")
    .action(async (options: HubOptions & { selector?: string }) => {
      const client = await resolveHubClient(options, process.env);
      const query = options.selector ? `?tag=${encodeURIComponent(options.selector)}` : "";
      const { devices: rows } = await client.get<{ devices: Device[] }>(`/api/v1/devices${query}`);
      const view = rows.map((d) => ({ ...d, modules: activeModules(d) }));
      printTable(
        view,
        ["id", "online", "profile", "tags", "agentVersion", "modules", "lastSeenAt"],
        Boolean(options.json),
        rows,
      );
    });

  withHubOptions(devices.command("show <id>"))
    .description("show one device: status, desired and reported state")
    .action(async (id: string, options: HubOptions) => {
      const client = await resolveHubClient(options, process.env);
      printObject(await client.get(`/api/v1/devices/${encodeURIComponent(id)}`));
    });

  const lifecycle: [string, string, string, string][] = [
    ["disable <id>", "refuse the device's credentials and close its live MQTT session", "POST", "disable"],
    ["enable <id>", "accept a disabled device's credentials again", "POST", "enable"],
    [
      "rotate-secret <id>",
      "issue a new secret (shown once); the old one stops working at once",
      "POST",
      "rotate-secret",
    ],
    [
      "delete <id>",
      "delete the device; its credentials stop working at once (history is kept)",
      "DELETE",
      "",
    ],
  ];
  for (const [usage, description, method, action] of lifecycle) {
    withHubOptions(devices.command(usage))
      .description(description)
      .action(async (id: string, options: HubOptions) => {
        const client = await resolveHubClient(options, process.env);
        const path = `/api/v1/devices/${encodeURIComponent(id)}${action ? `/${action}` : ""}`;
        printObject(await client.request(method, path, method === "POST" ? {} : undefined));
      });
  }

  withHubOptions(devices.command("provision [id]"))
    .description(
      "provision a device; writes its agent bundle (hub and broker URLs, id, secret or certificate, trust key, CA) and prints how to start it",
    )
    .option(
      "--cert",
      "give the device a certificate from the hub's CA (key made here, 0600) instead of putting its secret in the bundle",
    )
    .option("--name <name>", "display name")
    .option("--tag <key=value...>", "tags (repeatable)")
    .option("--profile <profile>", "firmware profile id")
    .option("--bundle <file>", "where to write the agent bundle (default ./<id>.agent.json, mode 0600)")
    .action(
      async (
        id: string | undefined,
        options: HubOptions & {
          name?: string;
          tag?: string[];
          profile?: string;
          bundle?: string;
          cert?: boolean;
        },
      ) => {
        const client = await resolveHubClient(options, process.env);
        const tags = Object.fromEntries(
          (options.tag ?? []).map((pair) => [pair.split("=")[0], pair.split("=").slice(1).join("=")]),
        );
        const result = await client.post<{
          device: Device;
          secret: string;
          hubUrl: string;
          mqttUrl: string;
          trustKey: string;
          ca?: string;
        }>("/api/v1/devices", {
          id,
          name: options.name,
          tags,
          profile: options.profile,
        });
        if (options.json && !options.cert) return printObject(result);
        const bundlePath = resolve(options.bundle ?? `${result.device.id}.agent.json`);
        // With a certificate the bundle names its files beside it, and carries no secret.
        const certificate = options.cert
          ? await issueDeviceCertificate(client, result.device.id, dirname(bundlePath))
          : undefined;
        await writeAgentBundle(bundlePath, {
          hubUrl: result.hubUrl,
          mqttUrl: result.mqttUrl,
          deviceId: result.device.id,
          ...(certificate
            ? { certFile: basename(certificate.certFile), keyFile: basename(certificate.keyFile) }
            : { deviceSecret: result.secret }),
          trustKey: result.trustKey,
          ...((certificate?.ca ?? result.ca) ? { ca: certificate?.ca ?? result.ca! } : {}),
          ...(result.device.profile ? { profile: String(result.device.profile) } : {}),
        });
        if (options.json)
          return printObject({ ...result, secret: undefined, bundle: bundlePath, certificate });
        const files = certificate
          ? `  ${bundlePath}\n  ${certificate.certFile}\n  ${certificate.keyFile} (the private key)\n`
          : `  ${bundlePath}\n`;
        process.stdout.write(
          `device ${result.device.id} provisioned. Its ${certificate ? "key" : "secret"} is only here:\n${files}\n` +
            `copy ${certificate ? "these files" : "it"} to the device and start the agent with:\n  edgefleet agent --config ${basename(bundlePath)}\n`,
        );
      },
    );

  withHubOptions(devices.command("certificate <id>"))
    .description(
      "issue the device a new certificate from the hub's CA (key made here); its earlier certificate stops working at once",
    )
    .option("--out <dir>", "folder for <id>.cert.pem and <id>.key.pem (default .)")
    .action(async (id: string, options: HubOptions & { out?: string }) => {
      const client = await resolveHubClient(options, process.env);
      printObject(await issueDeviceCertificate(client, id, resolve(options.out ?? ".")));
    });

  withHubOptions(devices.command("revoke-certificate <id>"))
    .description("refuse the device's certificate from now on and close its live MQTT session")
    .action(async (id: string, options: HubOptions) => {
      const client = await resolveHubClient(options, process.env);
      printObject(await client.request("DELETE", `/api/v1/devices/${encodeURIComponent(id)}/certificate`));
    });
}

/**
 * The agent's JSON config file with everything a device needs: where the hub and broker are, its
 * id and secret, and the key its modules must be signed with (so it never trusts a first answer).
 * Written 0600 and never over an existing file: it holds the device secret.
 */
async function writeAgentBundle(path: string, bundle: Record<string, string>): Promise<void> {
  await writeFile(path, `${JSON.stringify(bundle, null, 2)}\n`, { mode: 0o600, flag: "wx" });
}

function activeModules(device: Device): string {
  const reported = device.reported as { modules?: { name: string; version: string; state: string }[] } | null;
  return (reported?.modules ?? []).map((m) => `${m.name}@${m.version}:${m.state}`).join(" ") || "-";
}
