/** Monitors and alerts: per column the p-values and drift scores over time against their thresholds, data quality, retraining cycles. */
import { api, apiPath } from "../api.js";
import { Chart, COLORS } from "../chart.js";
import { useData } from "../live.js";
import { href, type Route } from "../router.js";
import { Ago, Badge, ErrorNote, Facts, Loading, num, Section } from "../ui.js";

interface Monitor {
  id: string;
  name: string;
  module: string;
  moduleVersion: string;
  state: string;
  enabled: boolean;
  intervalMs: number;
  lastEvaluatedAt: string | null;
  settings: { alpha: number; columns?: string[] };
  action: { kind: string };
}

interface Alert {
  id: string;
  monitorId: string;
  at: string;
  message: string;
  webhookStatus: string;
}

interface Evaluation {
  id: number;
  at: string;
  verdict: string;
  rows: number;
  devices: number;
  report: {
    columns?: { name: string; role: string; drifted: boolean }[];
    fired?: { column: string; windows: number; test: string; pValue: number }[];
    dataQuality?: { flagged: boolean; columns: { name: string; [k: string]: unknown }[] };
  };
}

interface SeriesPoint {
  at: string;
  verdict: string;
  drifted: boolean;
  fired: { windows: number; test: string; pValue: number }[];
  scales: { windows: number; rows: number; tests: { ks?: { pValue: number }; chi2?: { pValue: number } } }[];
  scores: { js: number; psi: number; wasserstein?: number };
  thresholds: { js?: number; psi?: number; wasserstein?: number } | null;
}

export function MonitorsPage() {
  const monitors = useData(() => api<{ monitors: Monitor[] }>("monitors"), [], ["monitors"]);
  const alerts = useData(() => api<{ alerts: Alert[] }>(apiPath("alerts", { limit: 50 })), [], ["monitors"]);
  return (
    <main>
      <h1>Monitors and alerts</h1>
      <ErrorNote error={monitors.error} />
      {!monitors.data ? (
        <Loading />
      ) : (
        <table data-testid="monitors-table">
          <thead>
            <tr>
              <th>monitor</th>
              <th>module</th>
              <th>state</th>
              <th>action</th>
              <th>last evaluated</th>
            </tr>
          </thead>
          <tbody>
            {monitors.data.monitors.map((m) => (
              <tr key={m.id}>
                <td>
                  <a href={href(`monitors/${m.id}`)}>{m.name}</a>
                </td>
                <td>
                  {m.module}@{m.moduleVersion}
                </td>
                <td>
                  <Badge value={m.state} />
                </td>
                <td>{m.action.kind}</td>
                <td>
                  <Ago at={m.lastEvaluatedAt} />
                </td>
              </tr>
            ))}
          </tbody>
        </table>
      )}
      <Section title="Recent alerts">
        <AlertList alerts={alerts.data?.alerts ?? []} />
      </Section>
    </main>
  );
}

function AlertList({ alerts }: { alerts: Alert[] }) {
  if (alerts.length === 0) return <p class="muted">No alerts.</p>;
  return (
    <table data-testid="alerts">
      <tbody>
        {alerts.map((a) => (
          <tr key={a.id}>
            <td>
              <Ago at={a.at} />
            </td>
            <td>
              <a href={href(`monitors/${a.monitorId}`)}>{a.message}</a>
            </td>
            <td>webhook {a.webhookStatus}</td>
          </tr>
        ))}
      </tbody>
    </table>
  );
}

export function MonitorPage({ id, route }: { id: string; route: Route }) {
  const monitor = useData(() => api<Monitor>(`monitors/${id}`), [id], ["monitors"]);
  const evaluations = useData(
    () => api<{ evaluations: Evaluation[] }>(apiPath(`monitors/${id}/evaluations`, { limit: 200 })),
    [id],
    ["monitors"],
  );
  const alerts = useData(
    () => api<{ alerts: Alert[] }>(apiPath("alerts", { monitor: id, limit: 20 })),
    [id],
    ["monitors"],
  );
  const cycles = useData(
    () =>
      api<{
        cycles: {
          id: string;
          status: string;
          startedAt: string;
          error?: string | null;
          steps: { step: string; status: string; message: string; at: string }[];
        }[];
      }>(`monitors/${id}/retraining`),
    [id],
    ["monitors"],
  );
  const m = monitor.data;
  if (monitor.error)
    return (
      <main>
        <ErrorNote error={monitor.error} />
      </main>
    );
  if (!m)
    return (
      <main>
        <Loading />
      </main>
    );
  const latest = evaluations.data?.evaluations[0];
  const columns = latest?.report.columns?.map((c) => c.name) ?? [];
  const column = route.query.get("column") ?? columns[0] ?? "";
  return (
    <main>
      <h1>
        {m.name} <Badge value={m.state} />
      </h1>
      <Facts
        items={[
          ["module", `${m.module}@${m.moduleVersion}`],
          ["alpha", m.settings.alpha],
          ["every", `${Math.round(m.intervalMs / 1000)} s`],
          ["action", m.action.kind],
          ["last evaluated", <Ago at={m.lastEvaluatedAt} />],
        ]}
      />
      {latest?.report.fired && latest.report.fired.length > 0 && (
        <p class="error" data-testid="fired">
          Fired:{" "}
          {latest.report.fired
            .map(
              (f) =>
                `${f.column} (${f.test} at ${f.windows} window${f.windows === 1 ? "" : "s"}, p=${num(f.pValue)})`,
            )
            .join("; ")}
        </p>
      )}
      <nav class="chips" aria-label="columns">
        {columns.map((c) => (
          <a
            key={c}
            href={href(`monitors/${id}`, { column: c })}
            aria-current={c === column ? "page" : undefined}
          >
            {c}
            {latest?.report.columns?.find((x) => x.name === c)?.drifted ? " ⚠" : ""}
          </a>
        ))}
      </nav>
      {column && <ColumnCharts id={id} column={column} alpha={m.settings.alpha} />}
      <Section title="Data quality (latest evaluation)">
        {latest?.report.dataQuality ? (
          <table>
            <tbody>
              {latest.report.dataQuality.columns.map((c) => (
                <tr key={c.name}>
                  <td>{c.name}</td>
                  <td class="muted">
                    {Object.entries(c)
                      .filter(([k]) => k !== "name")
                      .map(([k, v]) => `${k} ${typeof v === "number" ? num(v) : JSON.stringify(v)}`)
                      .join(", ")}
                  </td>
                </tr>
              ))}
            </tbody>
          </table>
        ) : (
          <p class="muted">no evaluation yet</p>
        )}
      </Section>
      <Section title="Alerts">
        <AlertList alerts={alerts.data?.alerts ?? []} />
      </Section>
      <Section title="Retraining cycles">
        {(cycles.data?.cycles ?? []).length === 0 && <p class="muted">none</p>}
        {(cycles.data?.cycles ?? []).map((c) => (
          <div key={c.id} class="cycle">
            <b>{c.id.slice(0, 8)}</b> <Badge value={c.status} /> <Ago at={c.startedAt} />{" "}
            {c.error && <span class="error">{c.error}</span>}
            <ol>
              {c.steps.map((s, i) => (
                <li key={`${s.at}-${i}`}>
                  {s.step} <Badge value={s.status} /> {s.message}
                </li>
              ))}
            </ol>
          </div>
        ))}
      </Section>
    </main>
  );
}

function ColumnCharts({ id, column, alpha }: { id: string; column: string; alpha: number }) {
  const series = useData(
    () => api<{ points: SeriesPoint[] }>(apiPath(`monitors/${id}/series`, { column, limit: 500 })),
    [id, column],
    ["monitors"],
  );
  if (series.error) return <ErrorNote error={series.error} />;
  const points = series.data?.points ?? [];
  if (points.length === 0) return <p class="muted">No evaluations of {column} yet.</p>;
  const x = points.map((p) => Date.parse(p.at) / 1000);
  const scales = [...new Set(points.flatMap((p) => p.scales.map((s) => s.windows)))].sort((a, b) => a - b);
  const pValue = (p: SeriesPoint, windows: number) => {
    const tests = p.scales.find((s) => s.windows === windows)?.tests;
    const v = tests?.ks?.pValue ?? tests?.chi2?.pValue;
    return v === undefined ? null : Math.max(v, 1e-12);
  };
  const drifted = points.filter((p) => p.drifted).length;
  return (
    <Section title={`${column}: tests and scores`}>
      <p class={drifted > 0 ? "error" : "muted"} data-testid="drift-count">
        {drifted} of {points.length} evaluations drifted
      </p>
      <div class="columns">
        <Chart
          title="p-value per scale (log), alpha dashed"
          log
          x={x}
          lines={[
            ...scales.map((w, i) => ({
              label: `${w} window${w === 1 ? "" : "s"}`,
              values: points.map((p) => pValue(p, w)),
              color: COLORS[i % COLORS.length]!,
            })),
            { label: "alpha", values: points.map(() => alpha), color: "#57606a", dashed: true },
          ]}
        />
        <Chart
          title="drift scores, thresholds dashed"
          x={x}
          lines={[
            { label: "JS", values: points.map((p) => p.scores.js), color: COLORS[0]! },
            {
              label: "JS threshold",
              values: points.map((p) => p.thresholds?.js ?? null),
              color: COLORS[0]!,
              dashed: true,
            },
            { label: "PSI", values: points.map((p) => p.scores.psi), color: COLORS[1]! },
            {
              label: "PSI threshold",
              values: points.map((p) => p.thresholds?.psi ?? null),
              color: COLORS[1]!,
              dashed: true,
            },
          ]}
        />
      </div>
      <table>
        <thead>
          <tr>
            <th>at</th>
            <th>verdict</th>
            <th>fired</th>
          </tr>
        </thead>
        <tbody>
          {points
            .slice(-10)
            .reverse()
            .map((p) => (
              <tr key={p.at}>
                <td>
                  <Ago at={p.at} />
                </td>
                <td>
                  <Badge value={p.drifted ? "drift" : p.verdict} />
                </td>
                <td>{p.fired.map((f) => `${f.test} @${f.windows}w p=${num(f.pValue)}`).join(", ")}</td>
              </tr>
            ))}
        </tbody>
      </table>
    </Section>
  );
}
