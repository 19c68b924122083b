/** Device: status and capabilities, desired vs reported with the deployment behind each module, events, telemetry charts. */
import { api, apiPath } from "../api.js";
import { Chart, COLORS } from "../chart.js";
import { useData } from "../live.js";
import { href } from "../router.js";
import { Ago, Badge, ErrorNote, Facts, Loading, Section } from "../ui.js";

interface Device {
  id: string;
  name: string;
  tags: Record<string, string>;
  profile: string | null;
  online: boolean;
  lastSeenAt: string | null;
  agentVersion: string | null;
  capabilities: {
    arch: string;
    platform: string;
    cpus: number;
    memoryMb: number;
    executionProviders: string[];
  } | null;
  status: { scoringUrl?: string } | null;
  desired: { revision: number; modules: { name: string; version: string }[] } | null;
  reported: {
    revision: number;
    modules: {
      name: string;
      version: string;
      state: string;
      error?: string;
      servingVersion?: string | null;
    }[];
  } | null;
  merge: {
    name: string;
    version: string;
    deploymentId: string;
    overrides: { deploymentId: string; version: string }[];
  }[];
  profileCheck: { ok: boolean; problems: string[]; note?: string };
}

interface Window {
  module: string;
  moduleVersion: string;
  windowEnd: string;
  requests: number;
  errors: number;
  payload: { latencyBucketsMs: number[]; latencyCounts: number[] };
}

/** The latency at quantile q from a window's fixed buckets (upper bound of the bucket it falls in). */
function quantile(w: Window, q: number): number | null {
  const total = w.payload.latencyCounts.reduce((a, b) => a + b, 0);
  if (total === 0) return null;
  let seen = 0;
  for (let i = 0; i < w.payload.latencyCounts.length; i++) {
    seen += w.payload.latencyCounts[i]!;
    if (seen >= q * total) return w.payload.latencyBucketsMs[i] ?? w.payload.latencyBucketsMs.at(-1)! * 2;
  }
  return null;
}

export function DevicePage({ id }: { id: string }) {
  const device = useData(
    () => api<Device>(`devices/${encodeURIComponent(id)}`),
    [id],
    ["devices", "deployments"],
    [id],
  );
  const events = useData(
    () =>
      api<{ events: { at: string; kind: string; module?: string; version?: string; message: string }[] }>(
        apiPath("events", { device: id, limit: 30 }),
      ),
    [id],
    ["devices"],
    [id],
  );
  const telemetry = useData(
    () => api<{ windows: Window[] }>(apiPath("telemetry", { device: id, limit: 500 })),
    [id],
    ["devices"],
    [id],
  );
  const d = device.data;
  if (device.error)
    return (
      <main>
        <ErrorNote error={device.error} />
      </main>
    );
  if (!d)
    return (
      <main>
        <Loading />
      </main>
    );
  const modules = [
    ...new Set([...(d.desired?.modules ?? []), ...(d.reported?.modules ?? [])].map((m) => m.name)),
  ];
  const byModule = new Map<string, Window[]>();
  for (const w of [...(telemetry.data?.windows ?? [])].reverse()) {
    if (!byModule.has(w.module)) byModule.set(w.module, []);
    byModule.get(w.module)!.push(w);
  }
  return (
    <main>
      <h1>
        {d.id} <Badge value={d.online ? "online" : "offline"} />
      </h1>
      <div class="columns">
        <Section title="Status">
          <Facts
            items={[
              ["name", d.name],
              [
                "tags",
                Object.entries(d.tags)
                  .map(([k, v]) => `${k}=${v}`)
                  .join(", ") || "—",
              ],
              ["profile", d.profile ?? "—"],
              [
                "profile check",
                d.profileCheck.ok ? (
                  <Badge value="ok" />
                ) : (
                  <span class="error">{d.profileCheck.problems.join("; ")}</span>
                ),
              ],
              ["agent", d.agentVersion ?? "—"],
              ["last seen", <Ago at={d.lastSeenAt} />],
              ["scoring", d.status?.scoringUrl ?? "—"],
            ]}
          />
        </Section>
        <Section title="Capabilities">
          {d.capabilities ? (
            <Facts
              items={[
                ["arch", d.capabilities.arch],
                ["os", d.capabilities.platform],
                ["cores", d.capabilities.cpus],
                ["memory", `${d.capabilities.memoryMb} MiB`],
                ["execution providers", d.capabilities.executionProviders.join(", ")],
              ]}
            />
          ) : (
            <p class="muted">not reported yet</p>
          )}
        </Section>
      </div>
      <Section
        title={`Modules (desired revision ${d.desired?.revision ?? 0}, reported ${d.reported?.revision ?? 0})`}
      >
        <table>
          <thead>
            <tr>
              <th>module</th>
              <th>desired</th>
              <th>reported</th>
              <th>state</th>
              <th>supplied by</th>
            </tr>
          </thead>
          <tbody>
            {modules.map((name) => {
              const want = d.desired?.modules.find((m) => m.name === name);
              const got = d.reported?.modules.find((m) => m.name === name);
              const merge = d.merge.find((m) => m.name === name);
              return (
                <tr key={name}>
                  <td>{name}</td>
                  <td>{want?.version ?? "—"}</td>
                  <td>
                    {got?.version ?? "—"}
                    {got?.servingVersion && got.servingVersion !== got.version && (
                      <div class="muted">serving {got.servingVersion}</div>
                    )}
                  </td>
                  <td>
                    <Badge value={got?.state} />
                    {got?.error && <div class="error">{got.error}</div>}
                  </td>
                  <td>
                    {merge ? (
                      <a href={href(`deployments/${merge.deploymentId}`)}>{merge.deploymentId.slice(0, 8)}</a>
                    ) : (
                      "—"
                    )}
                    {merge?.overrides.map((o) => (
                      <div key={o.deploymentId} class="muted">
                        overrides {o.version} from{" "}
                        <a href={href(`deployments/${o.deploymentId}`)}>{o.deploymentId.slice(0, 8)}</a>
                      </div>
                    ))}
                  </td>
                </tr>
              );
            })}
          </tbody>
        </table>
      </Section>
      {[...byModule].map(([name, windows]) => {
        const x = windows.map((w) => Date.parse(w.windowEnd) / 1000);
        return (
          <Section key={name} title={`Telemetry: ${name}`}>
            <div class="columns">
              <Chart
                title="requests and errors per window"
                x={x}
                lines={[
                  { label: "requests", values: windows.map((w) => w.requests), color: COLORS[0]! },
                  { label: "errors", values: windows.map((w) => w.errors), color: COLORS[1]! },
                ]}
              />
              <Chart
                title="latency (ms, bucket upper bounds)"
                x={x}
                lines={[
                  { label: "p50", values: windows.map((w) => quantile(w, 0.5)), color: COLORS[2]! },
                  { label: "p95", values: windows.map((w) => quantile(w, 0.95)), color: COLORS[3]! },
                  { label: "p99", values: windows.map((w) => quantile(w, 0.99)), color: COLORS[1]! },
                ]}
              />
            </div>
          </Section>
        );
      })}
      <Section title="Recent events">
        <table>
          <tbody>
            {(events.data?.events ?? []).map((e, i) => (
              <tr key={`${e.at}-${i}`}>
                <td>
                  <Ago at={e.at} />
                </td>
                <td>
                  <Badge value={e.kind} />
                </td>
                <td>{e.module ? `${e.module}@${e.version ?? ""}` : ""}</td>
                <td>{e.message}</td>
              </tr>
            ))}
          </tbody>
        </table>
      </Section>
    </main>
  );
}
