/** `npm run build:agent -- --profile <id> [--out DIR] [--force]`: see build-agent.ts. */
import { parseArgs } from "node:util";
import { buildAgent } from "./build-agent.js";

function mib(bytes: number): string {
  return `${(bytes / 2 ** 20).toFixed(1)} MiB`;
}

/** Builds and prints the files with their sizes. */
async function main(): Promise<void> {
  const { values } = parseArgs({
    options: {
      profile: { type: "string" },
      out: { type: "string" },
      force: { type: "boolean", default: false },
    },
  });
  if (!values.profile) throw new Error("usage: npm run build:agent -- --profile <id> [--out DIR] [--force]");
  const started = Date.now();
  const built = await buildAgent({
    profile: values.profile,
    outDir: values.out,
    force: values.force,
    log: (line) => console.log(line),
  });
  const top = built.files.filter((f) => !f.path.includes("/")).map((f) => `  ${f.path}  ${mib(f.bytes)}`);
  const folders = new Map<string, number>();
  for (const file of built.files.filter((f) => f.path.includes("/"))) {
    const folder = `${file.path.split("/")[0]}/`;
    folders.set(folder, (folders.get(folder) ?? 0) + file.bytes);
  }
  for (const [folder, bytes] of folders) top.push(`  ${folder}  ${mib(bytes)}`);
  console.log(
    [
      `${built.cached ? "reused" : "built"} ${built.folder} in ${((Date.now() - started) / 1000).toFixed(1)} s`,
      ...top,
      `archive ${built.archive}  ${mib(built.archiveBytes)}`,
    ].join("\n"),
  );
}

main().catch((error: unknown) => {
  console.error((error as Error).message ?? error);
  process.exit(1);
});
