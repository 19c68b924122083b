/** Runs: the list; one run's live log and metric curves, the `auto` leaderboard, attempts and workers. */
import { useEffect, useRef, useState } from "preact/hooks";
import { api, apiPath, type Me, may, readEvents } from "../api.js";
import { Chart, COLORS } from "../chart.js";
import { useData } from "../live.js";
import { href } from "../router.js";
import { ActionButton, Ago, Badge, ErrorNote, Facts, Loading, num, Section } from "../ui.js";

interface Run {
  id: string;
  experiment: string;
  status: string;
  kind: string;
  spec: Record<string, unknown>;
  attempt: number;
  maxAttempts: number;
  attempts: {
    n: number;
    workerId?: string;
    status: string;
    startedAt?: string;
    finishedAt?: string;
    error?: { message: string };
  }[];
  metrics: Record<string, unknown>;
  outputs: { model?: { name: string; version: number }; leaderboard?: Record<string, unknown>[] };
  error?: { code: string; message: string };
  createdAt: string;
  durationMs?: number;
}

type Point = { step: number; value: number };
type LogLine = { seq: number; attempt: number; stream: string; text: string; at: string };

const TERMINAL = new Set(["succeeded", "failed", "cancelled"]);

export function RunsPage() {
  const runs = useData(() => api<{ runs: Run[] }>(apiPath("runs", { limit: 100 })), [], ["runs"]);
  const workers = useData(
    () =>
      api<{
        workers: {
          id: string;
          name: string;
          labels: Record<string, string>;
          lastSeenAt?: string;
          status?: string;
        }[];
      }>("workers"),
    [],
    ["runs"],
  );
  return (
    <main>
      <h1>Runs</h1>
      <ErrorNote error={runs.error} />
      {!runs.data ? (
        <Loading />
      ) : (
        <div class="scroll">
          <table data-testid="runs-table">
            <thead>
              <tr>
                <th>run</th>
                <th>experiment</th>
                <th>status</th>
                <th>attempt</th>
                <th>created</th>
                <th>model</th>
              </tr>
            </thead>
            <tbody>
              {runs.data.runs.map((r) => (
                <tr key={r.id}>
                  <td>
                    <a href={href(`runs/${r.id}`)}>{r.id.slice(0, 8)}</a>
                  </td>
                  <td>{r.experiment}</td>
                  <td>
                    <Badge value={r.status} />
                  </td>
                  <td>
                    {r.attempt}/{r.maxAttempts}
                  </td>
                  <td>
                    <Ago at={r.createdAt} />
                  </td>
                  <td>{r.outputs.model ? `${r.outputs.model.name} v${r.outputs.model.version}` : "—"}</td>
                </tr>
              ))}
            </tbody>
          </table>
        </div>
      )}
      <Section title="Workers">
        <table>
          <tbody>
            {(workers.data?.workers ?? []).map((w) => (
              <tr key={w.id}>
                <td>{w.name}</td>
                <td>
                  {Object.entries(w.labels ?? {})
                    .map(([k, v]) => `${k}=${v}`)
                    .join(", ")}
                </td>
                <td>
                  <Ago at={w.lastSeenAt} />
                </td>
              </tr>
            ))}
          </tbody>
        </table>
      </Section>
    </main>
  );
}

export function RunPage({ id, me }: { id: string; me: Me | null }) {
  const run = useData(() => api<Run>(`runs/${id}`), [id], ["runs"], [id]);
  const [series, setSeries] = useState<Record<string, Point[]>>({});
  const [lines, setLines] = useState<LogLine[]>([]);
  const logBox = useRef<HTMLPreElement>(null);

  // Logs and metrics: read what exists, then follow the run's own event stream until it ends.
  useEffect(() => {
    const abort = new AbortController();
    let after = 0;
    (async () => {
      const metrics = await api<{ series: Record<string, Point[]> }>(`runs/${id}/metrics`);
      setSeries(metrics.series);
      for (;;) {
        const page = await api<{ lines: LogLine[]; next: number }>(
          apiPath(`runs/${id}/logs`, { after, limit: 1000 }),
        );
        if (page.lines.length === 0) break;
        after = page.next;
        setLines((old) => [...old, ...page.lines].slice(-2000));
      }
      await readEvents(
        apiPath(`runs/${id}/events`),
        (event, data) => {
          const body = JSON.parse(data) as Record<string, unknown>;
          if (event === "log") {
            const fresh = ((body.lines as LogLine[] | undefined) ?? [body as unknown as LogLine]).filter(
              (l) => l.seq === undefined || l.seq > after,
            );
            if (fresh.length) after = Math.max(after, ...fresh.map((l) => l.seq ?? after));
            setLines((old) => [...old, ...fresh].slice(-2000));
          } else if (event === "metric") {
            const points = (body.points as { name: string; step: number; value: number }[] | undefined) ?? [
              body as { name: string; step: number; value: number },
            ];
            setSeries((old) => {
              const next = { ...old };
              for (const p of points)
                next[p.name] = [...(next[p.name] ?? []), { step: p.step, value: p.value }];
              return next;
            });
          } else if (event === "status") {
            run.reload();
            // Points written between the first read and the stream's start come back with this read.
            void api<{ series: Record<string, Point[]> }>(`runs/${id}/metrics`).then((m) =>
              setSeries(m.series),
            );
          }
        },
        abort.signal,
      );
    })().catch(() => undefined);
    return () => abort.abort();
  }, [id]);

  useEffect(() => {
    const box = logBox.current;
    if (box) box.scrollTop = box.scrollHeight;
  }, [lines]);

  const r = run.data;
  if (run.error)
    return (
      <main>
        <ErrorNote error={run.error} />
      </main>
    );
  if (!r)
    return (
      <main>
        <Loading />
      </main>
    );
  const names = Object.keys(series).sort();
  return (
    <main>
      <h1>
        Run {r.id.slice(0, 8)} <Badge value={r.status} />
      </h1>
      <Facts
        items={[
          ["experiment", r.experiment],
          ["recipe", String((r.spec.recipe as string | undefined) ?? r.kind)],
          ["dataset", String((r.spec.dataset as string | undefined) ?? "—")],
          ["attempt", `${r.attempt}/${r.maxAttempts}`],
          ["created", <Ago at={r.createdAt} />],
          ["duration", r.durationMs !== undefined ? `${Math.round(r.durationMs / 100) / 10} s` : "—"],
          [
            "model",
            r.outputs.model ? (
              <a
                href={href("registry", { model: r.outputs.model.name })}
              >{`${r.outputs.model.name} v${r.outputs.model.version}`}</a>
            ) : (
              "—"
            ),
          ],
        ]}
      />
      {r.error && (
        <p class="error">
          {r.error.code}: {r.error.message}
        </p>
      )}
      {may(me, "operator") && !TERMINAL.has(r.status) && (
        <ActionButton
          label="Cancel run"
          danger
          confirm="Cancel this run?"
          run={() => api(`runs/${id}/cancel`, { method: "POST" }).then(run.reload)}
        />
      )}
      <Section title="Metrics">
        {Object.keys(r.metrics).length > 0 && (
          <Facts
            items={Object.entries(r.metrics).map(([k, v]) => [
              k,
              typeof v === "number" ? num(v, 4) : JSON.stringify(v),
            ])}
          />
        )}
        <div class="columns">
          {names.map((name, i) => {
            const points = [...series[name]!].sort((a, b) => a.step - b.step);
            return (
              <Chart
                key={name}
                title={name}
                plainX
                x={points.map((p) => p.step)}
                lines={[
                  { label: name, values: points.map((p) => p.value), color: COLORS[i % COLORS.length]! },
                ]}
              />
            );
          })}
        </div>
        {names.length === 0 && <p class="muted">no metric points yet</p>}
      </Section>
      {r.outputs.leaderboard && (
        <Section title="Leaderboard (auto)">
          <table data-testid="leaderboard">
            <thead>
              <tr>
                <th>rank</th>
                <th>recipe</th>
                <th>metric</th>
                <th>details</th>
              </tr>
            </thead>
            <tbody>
              {r.outputs.leaderboard.map((e) => {
                const metric = e.metric as { name?: string; value?: number; sd?: number } | undefined;
                const { rank, recipe, metric: _m, ...rest } = e;
                return (
                  <tr key={String(rank)}>
                    <td>{String(rank)}</td>
                    <td>{String(recipe)}</td>
                    <td>
                      {metric
                        ? `${metric.name} ${num(metric.value, 4)}${metric.sd !== undefined ? ` ± ${num(metric.sd, 4)}` : ""}`
                        : "—"}
                    </td>
                    <td class="muted">{JSON.stringify(rest)}</td>
                  </tr>
                );
              })}
            </tbody>
          </table>
        </Section>
      )}
      <Section title="Log">
        <pre class="log" ref={logBox} data-testid="run-log">
          {lines.map((l) => `${l.stream === "stderr" ? "! " : ""}${l.text}`).join("\n")}
        </pre>
      </Section>
      <Section title="Attempts">
        <table>
          <tbody>
            {r.attempts.map((a) => (
              <tr key={a.n}>
                <td>#{a.n}</td>
                <td>
                  <Badge value={a.status} />
                </td>
                <td>{a.workerId ?? "—"}</td>
                <td>
                  <Ago at={a.startedAt} />
                </td>
                <td class="error">{a.error?.message ?? ""}</td>
              </tr>
            ))}
          </tbody>
        </table>
      </Section>
    </main>
  );
}
