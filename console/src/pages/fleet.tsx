/** Fleet: counts, and one server-side page of devices at a time with filters in the URL. */
import { useEffect, useState } from "preact/hooks";
import { api, apiPath } from "../api.js";
import { useData } from "../live.js";
import { href, navigate, type Route } from "../router.js";
import { Ago, Badge, ErrorNote, Loading, Section } from "../ui.js";

interface Summary {
  total: number;
  online: number;
  offline: number;
  byProfile: { profile: string | null; devices: number; online: number }[];
  byModule: { module: string; version: string; state: string; devices: number }[];
  byAgentVersion: { agentVersion: string | null; devices: number }[];
  profileCheck: { failing: number; problems: { profile: string; devices: number; problems: string[] }[] };
}

interface DeviceRow {
  id: string;
  name: string;
  tags: Record<string, string>;
  profile: string | null;
  online: boolean;
  lastSeenAt: string | null;
  agentVersion: string | null;
  modules: { name: string; version: string; state: string }[];
  profileCheck: { ok: boolean; problems: string[] };
}

interface Page {
  devices: DeviceRow[];
  total: number;
  next: string | null;
}

const FILTERS = ["q", "selector", "online", "profile", "module", "version"] as const;

export function FleetPage({ route }: { route: Route }) {
  const filters = Object.fromEntries(FILTERS.map((f) => [f, route.query.get(f) ?? ""])) as Record<
    (typeof FILTERS)[number],
    string
  >;
  const after = route.query.get("after") ?? "";
  const summary = useData(() => api<Summary>("fleet/summary"), [], ["devices"]);
  const page = useData(
    () => api<Page>(apiPath("fleet/devices", { ...filters, after, limit: 50 })),
    [route.query.toString()],
    ["devices"],
  );
  const [text, setText] = useState(filters.q);
  useEffect(() => setText(filters.q), [filters.q]);

  const go = (changes: Record<string, string>, replace = false) => {
    const next: Record<string, string> = { ...filters, ...changes };
    // A new filter starts at the first page.
    if (!("after" in changes)) delete next.after;
    navigate(href("fleet", next), replace);
  };

  const s = summary.data;
  return (
    <main>
      <h1>Fleet</h1>
      <ErrorNote error={summary.error} />
      {s && (
        <div class="tiles">
          <a class="tile" href={href("fleet", { online: "true" })}>
            <b data-testid="online-count">{s.online}</b> online
          </a>
          <a class="tile" href={href("fleet", { online: "false" })}>
            <b data-testid="offline-count">{s.offline}</b> offline
          </a>
          <div class="tile">
            <b>{s.total}</b> devices
          </div>
          <div class={`tile ${s.profileCheck.failing > 0 ? "warn" : ""}`}>
            <b>{s.profileCheck.failing}</b> failing profile checks
          </div>
        </div>
      )}
      {s && (
        <div class="columns">
          <Section title="By module version">
            <table>
              <thead>
                <tr>
                  <th>module</th>
                  <th>version</th>
                  <th>state</th>
                  <th class="n">devices</th>
                </tr>
              </thead>
              <tbody>
                {s.byModule.map((m) => (
                  <tr key={`${m.module}@${m.version}/${m.state}`}>
                    <td>
                      <a href={href("fleet", { module: m.module })}>{m.module}</a>
                    </td>
                    <td>
                      <a href={href("fleet", { module: m.module, version: m.version })}>{m.version}</a>
                    </td>
                    <td>
                      <Badge value={m.state} />
                    </td>
                    <td class="n">{m.devices}</td>
                  </tr>
                ))}
              </tbody>
            </table>
          </Section>
          <Section title="By profile">
            <table>
              <tbody>
                {s.byProfile.map((p) => (
                  <tr key={p.profile ?? "none"}>
                    <td>
                      <a href={href("fleet", { profile: p.profile ?? "none" })}>{p.profile ?? "(none)"}</a>
                    </td>
                    <td class="n">
                      {p.online}/{p.devices} online
                    </td>
                  </tr>
                ))}
              </tbody>
            </table>
            {s.profileCheck.problems.map((p) => (
              <p key={p.profile} class="warn-text">
                {p.devices} × {p.profile}: {p.problems.join("; ")}
              </p>
            ))}
          </Section>
        </div>
      )}
      <form
        class="filters"
        aria-label="filter devices"
        onSubmit={(e) => {
          e.preventDefault();
          const data = new FormData(e.currentTarget);
          go(Object.fromEntries(FILTERS.map((f) => [f, String(data.get(f) ?? "")])));
        }}
      >
        <label>
          Search
          <input
            name="q"
            value={text}
            placeholder="id or name"
            onInput={(e) => {
              const value = e.currentTarget.value;
              setText(value);
              go({ q: value }, true);
            }}
          />
        </label>
        <label>
          Selector
          <input name="selector" defaultValue={filters.selector} placeholder="site=a,line=2" />
        </label>
        <label>
          Online
          <select
            name="online"
            value={filters.online}
            onChange={(e) => go({ online: e.currentTarget.value })}
          >
            <option value="">any</option>
            <option value="true">online</option>
            <option value="false">offline</option>
          </select>
        </label>
        <label>
          Module
          <input name="module" defaultValue={filters.module} />
        </label>
        <label>
          Version
          <input name="version" defaultValue={filters.version} />
        </label>
        <input type="hidden" name="profile" value={filters.profile} />
        <button type="submit">Filter</button>
      </form>
      <ErrorNote error={page.error} />
      {!page.data ? (
        <Loading />
      ) : (
        <>
          <p class="muted" data-testid="device-total">
            {page.data.total} matching devices
          </p>
          <div class="scroll">
            <table data-testid="devices-table">
              <thead>
                <tr>
                  <th>device</th>
                  <th>state</th>
                  <th>modules</th>
                  <th>profile</th>
                  <th>agent</th>
                  <th>last seen</th>
                </tr>
              </thead>
              <tbody>
                {page.data.devices.map((d) => (
                  <tr key={d.id}>
                    <td>
                      <a href={href(`devices/${encodeURIComponent(d.id)}`)}>{d.id}</a>
                      {d.name !== d.id && <div class="muted">{d.name}</div>}
                    </td>
                    <td>
                      <Badge value={d.online ? "online" : "offline"} />
                    </td>
                    <td>
                      {d.modules.map((m) => (
                        <div key={m.name}>
                          {m.name}@{m.version} <Badge value={m.state} />
                        </div>
                      ))}
                    </td>
                    <td>
                      {d.profile ?? "—"}
                      {!d.profileCheck.ok && (
                        <span class="badge bad" title={d.profileCheck.problems.join("; ")}>
                          check failed
                        </span>
                      )}
                    </td>
                    <td>{d.agentVersion ?? "—"}</td>
                    <td>
                      <Ago at={d.lastSeenAt} />
                    </td>
                  </tr>
                ))}
              </tbody>
            </table>
          </div>
          <nav class="pager" aria-label="pages">
            {after && (
              <button type="button" onClick={() => history.back()}>
                ← Previous
              </button>
            )}
            {page.data.next && (
              <button type="button" onClick={() => go({ after: page.data!.next! })}>
                Next →
              </button>
            )}
          </nav>
        </>
      )}
    </main>
  );
}
