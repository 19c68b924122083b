/** Deployments: the list, and one deployment's waves, bake countdown, gates and devices, with the rollout commands. */
import { useEffect, useState } from "preact/hooks";
import { api, apiPath, type Me, may } from "../api.js";
import { useData } from "../live.js";
import { href, type Route } from "../router.js";
import { ActionButton, Ago, Badge, ErrorNote, Facts, Loading, num, Section } from "../ui.js";

interface DeploymentRow {
  id: string;
  moduleName: string;
  moduleVersion: string;
  status: string;
  strategy: string;
  createdAt: string;
  createdBy: string;
  targetDeviceIds?: string[];
  released: number;
}

interface Wave {
  index: number;
  devices: number;
  cumulative: number;
  released: number;
  bakeMs: number;
  state: string;
  bakeEndsAt?: string;
}

interface Gate {
  gate: string;
  status: string;
  message: string;
  value?: number | null;
  threshold?: number | null;
}

interface Deployment extends DeploymentRow {
  counts: Record<string, number>;
  waves: Wave[];
  devices: { deviceId: string; online: boolean; state: string; reportedVersion?: string; error?: string }[];
  skipped: { deviceId: string; reason: string }[];
  gateResults: { results?: Gate[] } | null;
  outcome: { reason: string; message: string; by: string; at: string } | null;
  rollout: { gates: Record<string, unknown> };
}

export function DeploymentsPage({ route }: { route: Route }) {
  const status = route.query.get("status") ?? "";
  const list = useData(
    () => api<{ deployments: DeploymentRow[] }>(apiPath("deployments", { status })),
    [status],
    ["deployments"],
  );
  return (
    <main>
      <h1>Deployments</h1>
      <nav class="chips" aria-label="filter by status">
        {["", "active", "paused", "completed", "partially-applied", "rolled-back", "aborted"].map((s) => (
          <a
            key={s}
            href={href("deployments", { status: s })}
            aria-current={s === status ? "page" : undefined}
          >
            {s || "all"}
          </a>
        ))}
      </nav>
      <ErrorNote error={list.error} />
      {!list.data ? (
        <Loading />
      ) : (
        <div class="scroll">
          <table data-testid="deployments-table">
            <thead>
              <tr>
                <th>deployment</th>
                <th>module</th>
                <th>status</th>
                <th>strategy</th>
                <th>released</th>
                <th>created</th>
              </tr>
            </thead>
            <tbody>
              {list.data.deployments.map((d) => (
                <tr key={d.id}>
                  <td>
                    <a href={href(`deployments/${d.id}`)}>{d.id.slice(0, 8)}</a>
                  </td>
                  <td>
                    {d.moduleName}@{d.moduleVersion}
                  </td>
                  <td>
                    <Badge value={d.status} />
                  </td>
                  <td>{d.strategy}</td>
                  <td>
                    {d.released}/{d.targetDeviceIds?.length ?? "?"}
                  </td>
                  <td>
                    <Ago at={d.createdAt} /> by {d.createdBy}
                  </td>
                </tr>
              ))}
            </tbody>
          </table>
        </div>
      )}
    </main>
  );
}

/** Seconds left until `at`, ticking once a second. */
function Countdown({ at }: { at: string }) {
  const [now, setNow] = useState(Date.now());
  useEffect(() => {
    const timer = setInterval(() => setNow(Date.now()), 1000);
    return () => clearInterval(timer);
  }, []);
  const left = Math.max(0, Math.round((Date.parse(at) - now) / 1000));
  return <span data-testid="bake-countdown">bake ends in {left} s</span>;
}

export function DeploymentPage({ id, me }: { id: string; me: Me | null }) {
  const d = useData(() => api<Deployment>(`deployments/${id}`), [id], ["deployments", "devices"]);
  const command = (name: string) => () => api(`deployments/${id}/${name}`, { method: "POST" }).then(d.reload);
  if (d.error)
    return (
      <main>
        <ErrorNote error={d.error} />
      </main>
    );
  if (!d.data)
    return (
      <main>
        <Loading />
      </main>
    );
  const dep = d.data;
  const operator = may(me, "operator");
  return (
    <main>
      <h1>
        {dep.moduleName}@{dep.moduleVersion} <Badge value={dep.status} />
      </h1>
      <Facts
        items={[
          ["id", dep.id],
          ["strategy", dep.strategy],
          [
            "created",
            <span>
              <Ago at={dep.createdAt} /> by {dep.createdBy}
            </span>,
          ],
          ["targeted", dep.counts.targeted ?? 0],
          [
            "states",
            Object.entries(dep.counts)
              .filter(([k, v]) => k !== "targeted" && v > 0)
              .map(([k, v]) => `${k} ${v}`)
              .join(", ") || "—",
          ],
        ]}
      />
      {dep.outcome && (
        <p class={dep.outcome.reason === "gate-failed" ? "error" : "muted"} data-testid="outcome">
          {dep.outcome.message} ({dep.outcome.by}, <Ago at={dep.outcome.at} />)
        </p>
      )}
      {operator && (
        <div class="toolbar" data-testid="rollout-commands">
          {dep.status === "active" && <ActionButton label="Pause" run={command("pause")} />}
          {dep.status === "paused" && <ActionButton label="Resume" run={command("resume")} />}
          {(dep.status === "active" || dep.status === "paused") && (
            <ActionButton
              label="Abort"
              danger
              confirm="Abort this rollout for good?"
              run={command("abort")}
            />
          )}
          {dep.status !== "rolled-back" && (
            <ActionButton
              label="Roll back"
              danger
              confirm="Take this version back from every released device?"
              run={command("rollback")}
            />
          )}
        </div>
      )}
      <Section title="Waves">
        <ol class="waves">
          {dep.waves.map((w) => (
            <li key={w.index} data-testid={`wave-${w.index}`} data-state={w.state}>
              <div class="wave-head">
                <b>Wave {w.index + 1}</b> · {w.devices} devices · bake {Math.round(w.bakeMs / 1000)} s ·{" "}
                <Badge value={w.state} />
                {w.bakeEndsAt && w.state === "baking" && (
                  <>
                    {" "}
                    · <Countdown at={w.bakeEndsAt} />
                  </>
                )}
              </div>
              <progress
                max={Math.max(1, w.devices)}
                value={w.released}
                aria-label={`wave ${w.index + 1} released`}
              />
              <span class="muted">
                {w.released}/{w.devices} released
              </span>
            </li>
          ))}
        </ol>
      </Section>
      <Section title="Gates">
        {dep.gateResults?.results?.length ? (
          <table data-testid="gates">
            <thead>
              <tr>
                <th>gate</th>
                <th>result</th>
                <th class="n">observed</th>
                <th class="n">threshold</th>
                <th>why</th>
              </tr>
            </thead>
            <tbody>
              {dep.gateResults.results.map((g) => (
                <tr key={g.gate}>
                  <td>{g.gate}</td>
                  <td>
                    <Badge value={g.status} />
                  </td>
                  <td class="n">{num(g.value)}</td>
                  <td class="n">{num(g.threshold)}</td>
                  <td>{g.message}</td>
                </tr>
              ))}
            </tbody>
          </table>
        ) : (
          <p class="muted">
            No gate decision yet. Thresholds:{" "}
            {Object.entries(dep.rollout.gates)
              .map(([k, v]) => `${k} ${String(v)}`)
              .join(", ")}
          </p>
        )}
      </Section>
      <Section title={`Devices (${dep.devices.length})`}>
        <div class="scroll">
          <table data-testid="deployment-devices">
            <thead>
              <tr>
                <th>device</th>
                <th>state</th>
                <th>reported</th>
                <th>reason</th>
              </tr>
            </thead>
            <tbody>
              {dep.devices.slice(0, 500).map((x) => (
                <tr key={x.deviceId}>
                  <td>
                    <a href={href(`devices/${x.deviceId}`)}>{x.deviceId}</a>{" "}
                    {!x.online && <Badge value="offline" />}
                  </td>
                  <td>
                    <Badge value={x.state} />
                  </td>
                  <td>{x.reportedVersion ?? "—"}</td>
                  <td class="error">{x.error ?? ""}</td>
                </tr>
              ))}
              {dep.skipped.map((x) => (
                <tr key={x.deviceId}>
                  <td>{x.deviceId}</td>
                  <td>
                    <Badge value="skipped" />
                  </td>
                  <td>—</td>
                  <td>{x.reason}</td>
                </tr>
              ))}
            </tbody>
          </table>
          {dep.devices.length > 500 && <p class="muted">first 500 of {dep.devices.length} shown</p>}
        </div>
      </Section>
    </main>
  );
}
