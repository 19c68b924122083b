/** Registry: models with versions, aliases, metrics side by side and lineage as a graph; modules with manifests and variants. */
import { api, apiPath } from "../api.js";
import { useData } from "../live.js";
import { href, type Route } from "../router.js";
import { Ago, ErrorNote, Loading, num, Section } from "../ui.js";

interface ModelSummary {
  name: string;
  latest?: { version: number } | null;
  versions?: number;
  createdAt: string;
}

interface Version {
  id: number;
  version: number;
  sha256: string;
  size: number;
  createdAt: string;
  lineage: {
    run?: string;
    dataset?: { name: string; version: string };
    recipe?: string;
    experiment?: string;
  } | null;
  metrics: Record<string, Record<string, number | null>> | null;
}

interface ModuleRow {
  name: string;
  version: string;
  modelVersionId: number;
  createdAt: string;
  manifest: {
    variants?: { profile?: string; precision?: string; [k: string]: unknown }[];
    inputs?: unknown[];
    runtime?: unknown;
  };
}

interface DeploymentRow {
  id: string;
  moduleName: string;
  moduleVersion: string;
  status: string;
}

export function RegistryPage({ route }: { route: Route }) {
  const selected = route.query.get("model") ?? "";
  const models = useData(() => api<{ models: ModelSummary[] }>("models"), [], ["registry"]);
  const modules = useData(() => api<{ modules: ModuleRow[] }>("modules"), [], ["registry"]);
  const name = selected || models.data?.models[0]?.name || "";
  return (
    <main>
      <h1>Registry</h1>
      <ErrorNote error={models.error} />
      <nav class="chips" aria-label="models">
        {(models.data?.models ?? []).map((m) => (
          <a
            key={m.name}
            href={href("registry", { model: m.name })}
            aria-current={m.name === name ? "page" : undefined}
          >
            {m.name}
          </a>
        ))}
      </nav>
      {!models.data ? (
        <Loading />
      ) : name ? (
        <ModelView name={name} modules={modules.data?.modules ?? []} />
      ) : (
        <p class="muted">No models yet.</p>
      )}
      <Section title="Modules">
        <div class="scroll">
          <table data-testid="modules-table">
            <thead>
              <tr>
                <th>module</th>
                <th>model version</th>
                <th>variants</th>
                <th>created</th>
              </tr>
            </thead>
            <tbody>
              {(modules.data?.modules ?? []).map((m) => (
                <tr key={`${m.name}@${m.version}`}>
                  <td>
                    {m.name}@{m.version}
                    <details>
                      <summary>manifest</summary>
                      <pre class="json">{JSON.stringify(m.manifest, null, 2)}</pre>
                    </details>
                  </td>
                  <td>#{m.modelVersionId}</td>
                  <td>
                    {(m.manifest.variants ?? [])
                      .map((v) => [v.profile, v.precision].filter(Boolean).join(" "))
                      .join(", ") || "—"}
                  </td>
                  <td>
                    <Ago at={m.createdAt} />
                  </td>
                </tr>
              ))}
            </tbody>
          </table>
        </div>
      </Section>
    </main>
  );
}

function ModelView({ name, modules }: { name: string; modules: ModuleRow[] }) {
  const versions = useData(
    () => api<{ versions: Version[] }>(`models/${encodeURIComponent(name)}/versions`),
    [name],
    ["registry"],
  );
  const aliases = useData(
    () =>
      api<{ aliases: { alias: string; version: number }[] }>(`models/${encodeURIComponent(name)}/aliases`),
    [name],
    ["registry"],
  );
  const deployments = useData(
    () => api<{ deployments: DeploymentRow[] }>(apiPath("deployments")),
    [],
    ["deployments"],
  );
  if (versions.error) return <ErrorNote error={versions.error} />;
  if (!versions.data) return <Loading />;
  const list = versions.data.versions;
  const metricKeys = [
    ...new Set(
      list.flatMap((v) =>
        Object.entries(v.metrics ?? {}).flatMap(([split, m]) =>
          Object.keys(m ?? {}).map((k) => `${split}.${k}`),
        ),
      ),
    ),
  ].sort();
  return (
    <>
      <Section title={`${name}: versions`}>
        <div class="scroll">
          <table data-testid="versions-table">
            <thead>
              <tr>
                <th>version</th>
                <th>aliases</th>
                <th>created</th>
                {metricKeys.map((k) => (
                  <th key={k} class="n">
                    {k}
                  </th>
                ))}
              </tr>
            </thead>
            <tbody>
              {list.map((v) => (
                <tr key={v.version}>
                  <td>v{v.version}</td>
                  <td>
                    {(aliases.data?.aliases ?? [])
                      .filter((a) => a.version === v.version)
                      .map((a) => (
                        <span key={a.alias} class="badge neutral">
                          {a.alias}
                        </span>
                      ))}
                  </td>
                  <td>
                    <Ago at={v.createdAt} />
                  </td>
                  {metricKeys.map((k) => {
                    const [split, metric] = k.split(".") as [string, string];
                    return (
                      <td key={k} class="n">
                        {num(v.metrics?.[split]?.[metric] ?? null, 4)}
                      </td>
                    );
                  })}
                </tr>
              ))}
            </tbody>
          </table>
        </div>
      </Section>
      <Section title="Lineage">
        <Lineage versions={list} modules={modules} deployments={deployments.data?.deployments ?? []} />
      </Section>
    </>
  );
}

/** Dataset version → run → model version → module → deployments, as columns of boxes joined by lines. */
function Lineage(props: { versions: Version[]; modules: ModuleRow[]; deployments: DeploymentRow[] }) {
  type Node = { key: string; label: string; link?: string; tone?: string };
  const columns: Node[][] = [[], [], [], [], []];
  const edges: [string, string][] = [];
  const add = (col: number, node: Node) => {
    if (!columns[col]!.some((n) => n.key === node.key)) columns[col]!.push(node);
  };
  for (const v of props.versions) {
    const vk = `v:${v.id}`;
    add(2, { key: vk, label: `v${v.version}` });
    if (v.lineage?.run) {
      const rk = `r:${v.lineage.run}`;
      add(1, {
        key: rk,
        label: `run ${v.lineage.run.slice(0, 8)}${v.lineage.recipe ? ` (${v.lineage.recipe})` : ""}`,
        link: href(`runs/${v.lineage.run}`),
      });
      edges.push([rk, vk]);
      if (v.lineage.dataset) {
        const dk = `d:${v.lineage.dataset.name}@${v.lineage.dataset.version}`;
        add(0, {
          key: dk,
          label: `${v.lineage.dataset.name} ${String(v.lineage.dataset.version).slice(0, 10)}`,
        });
        edges.push([dk, rk]);
      }
    }
    for (const m of props.modules.filter((m) => m.modelVersionId === v.id)) {
      const mk = `m:${m.name}@${m.version}`;
      add(3, { key: mk, label: `${m.name}@${m.version}` });
      edges.push([vk, mk]);
      for (const d of props.deployments.filter(
        (d) => d.moduleName === m.name && d.moduleVersion === m.version,
      )) {
        const dk = `dep:${d.id}`;
        add(4, {
          key: dk,
          label: `${d.id.slice(0, 8)} ${d.status}`,
          link: href(`deployments/${d.id}`),
          tone: d.status,
        });
        edges.push([mk, dk]);
      }
    }
  }
  const W = 190;
  const H = 34;
  const GAP = 14;
  const pos = new Map<string, { x: number; y: number }>();
  for (const [c, col] of columns.entries())
    for (const [r, n] of col.entries()) pos.set(n.key, { x: c * (W + 40), y: 24 + r * (H + GAP) });
  const height = 34 + Math.max(1, ...columns.map((c) => c.length)) * (H + GAP);
  const heads = ["dataset version", "run", "model version", "module", "deployment"];
  return (
    <div class="scroll">
      <svg
        class="lineage"
        width={5 * (W + 40)}
        height={height}
        role="img"
        aria-label="lineage graph"
        data-testid="lineage"
      >
        {heads.map((h, i) => (
          <text key={h} x={i * (W + 40)} y={14} class="muted">
            {h}
          </text>
        ))}
        {edges.map(([a, b]) => {
          const p = pos.get(a);
          const q = pos.get(b);
          if (!p || !q) return null;
          return (
            <line key={`${a}-${b}`} x1={p.x + W} y1={p.y + H / 2} x2={q.x} y2={q.y + H / 2} class="edge" />
          );
        })}
        {columns.flat().map((n) => {
          const p = pos.get(n.key)!;
          const box = (
            <g>
              <rect
                x={p.x}
                y={p.y}
                width={W}
                height={H}
                rx={6}
                class={`node ${n.tone === "rolled-back" || n.tone === "aborted" ? "bad" : ""}`}
              />
              <text x={p.x + 8} y={p.y + 21}>
                {n.label}
              </text>
            </g>
          );
          return n.link ? (
            <a key={n.key} href={n.link}>
              {box}
            </a>
          ) : (
            <g key={n.key}>{box}</g>
          );
        })}
      </svg>
      {columns[0]!.length + columns[1]!.length === 0 && (
        <p class="muted">Uploaded versions have no training lineage.</p>
      )}
    </div>
  );
}
