/**
 * `deployments show ID --watch`: one progress bar per wave (devices released into it, with its
 * state) and a line of device counts, redrawn every second until the rollout stops.
 */
import { MultiBar, Presets, type SingleBar } from "cli-progress";
import type { HubClient } from "../../hub-api/client.js";

interface WatchedDeployment {
  id: string;
  status: string;
  moduleName: string;
  moduleVersion: string;
  counts: Record<string, number>;
  waves: {
    index: number;
    devices: number;
    released: number;
    state: string;
    bakeEndsAt?: string;
    activationDeadlineAt?: string;
  }[];
  outcome: { message: string } | null;
  devices: { deviceId: string; state: string; error?: string; verdict?: string; reason?: string }[];
}

/** Statuses after which nothing moves without an operator. */
const FINAL = new Set([
  "completed",
  "partially-applied",
  "aborted",
  "rolled-back",
  "superseded",
  "cancelled",
]);

/** Polls a deployment and draws its waves until it stops; returns the last state. */
export async function watchDeployment(
  client: HubClient,
  id: string,
  options: { intervalMs?: number; out?: NodeJS.WriteStream } = {},
): Promise<WatchedDeployment> {
  const path = `/api/v1/deployments/${encodeURIComponent(id)}`;
  let d = await client.get<WatchedDeployment>(path);
  const multi = new MultiBar(
    {
      format: " {label} |{bar}| {value}/{total} {state}",
      hideCursor: true,
      clearOnComplete: false,
      stream: options.out ?? process.stderr,
      // Keep drawing in pipes and CI logs too, where a rollout is often watched.
      noTTYOutput: true,
      notTTYSchedule: 2_000,
    },
    Presets.shades_classic,
  );
  const summary = multi.create(0, 0, {}, { format: " {text}" });
  const bars: SingleBar[] = d.waves.map((w) =>
    multi.create(Math.max(1, w.devices), 0, { label: `wave ${w.index + 1}`, state: w.state }),
  );
  const draw = () => {
    for (const [i, w] of d.waves.entries()) {
      bars[i]?.update(w.released, {
        state:
          w.bakeEndsAt && w.state === "baking"
            ? `baking until ${w.bakeEndsAt}`
            : w.state === "settling"
              ? `waiting for devices to report (deadline ${w.activationDeadlineAt})`
              : w.state,
      });
    }
    const counts = Object.entries(d.counts)
      .filter(([key, value]) => key === "targeted" || value > 0)
      .map(([key, value]) => `${key} ${value}`)
      .join(", ");
    summary.update(0, { text: `${d.moduleName}@${d.moduleVersion} ${d.status}: ${counts}` });
  };
  draw();
  while (!FINAL.has(d.status)) {
    await new Promise((resolve) => setTimeout(resolve, options.intervalMs ?? 1_000));
    d = await client.get<WatchedDeployment>(path);
    draw();
  }
  multi.stop();
  return d;
}
