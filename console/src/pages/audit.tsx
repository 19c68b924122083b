/** Audit (admins): who changed what, and refused authentications, newest first, paged on the server. */
import { api, apiPath } from "../api.js";
import { useData } from "../live.js";
import { href, navigate, type Route } from "../router.js";
import { Ago, Badge, ErrorNote, Loading } from "../ui.js";

interface Entry {
  id: number;
  at: string;
  actorKind: string;
  actor: string | null;
  role: string | null;
  action: string;
  target: string | null;
  outcome: string;
  status: number | null;
  source?: string | null;
}

export function AuditPage({ route }: { route: Route }) {
  const actor = route.query.get("actor") ?? "";
  const outcome = route.query.get("outcome") ?? "";
  const before = route.query.get("before") ?? "";
  const page = useData(
    () =>
      api<{ entries: Entry[]; nextBefore: number | null }>(
        apiPath("audit", { actor, outcome, before, limit: 100 }),
      ),
    [actor, outcome, before],
    ["audit"],
  );
  return (
    <main>
      <h1>Audit</h1>
      <form
        class="filters"
        onSubmit={(e) => {
          e.preventDefault();
          const data = new FormData(e.currentTarget);
          navigate(
            href("audit", {
              actor: String(data.get("actor") ?? ""),
              outcome: String(data.get("outcome") ?? ""),
            }),
          );
        }}
      >
        <label>
          Actor
          <input name="actor" defaultValue={actor} />
        </label>
        <label>
          Outcome
          <select name="outcome" defaultValue={outcome}>
            <option value="">any</option>
            <option value="ok">ok</option>
            <option value="denied">denied</option>
            <option value="refused">refused</option>
            <option value="failed">failed</option>
          </select>
        </label>
        <button type="submit">Filter</button>
      </form>
      <ErrorNote error={page.error} />
      {!page.data ? (
        <Loading />
      ) : (
        <div class="scroll">
          <table data-testid="audit-table">
            <thead>
              <tr>
                <th>at</th>
                <th>actor</th>
                <th>action</th>
                <th>target</th>
                <th>outcome</th>
              </tr>
            </thead>
            <tbody>
              {page.data.entries.map((e) => (
                <tr key={e.id}>
                  <td>
                    <Ago at={e.at} />
                  </td>
                  <td>
                    {e.actor ?? e.actorKind} {e.role && <span class="muted">({e.role})</span>}
                  </td>
                  <td>{e.action}</td>
                  <td>{e.target ?? ""}</td>
                  <td>
                    <Badge value={e.outcome} /> {e.status ?? ""}
                  </td>
                </tr>
              ))}
            </tbody>
          </table>
          {page.data.nextBefore && (
            <a href={href("audit", { actor, outcome, before: String(page.data.nextBefore) })}>Older →</a>
          )}
        </div>
      )}
    </main>
  );
}
