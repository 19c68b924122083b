/** The console's shell: sign-in with an API token, the navigation, the live dot, and the page router. */
import { type JSX, render } from "preact";
import { useEffect, useState } from "preact/hooks";
import { ApiError, api, type Me, may, storedToken, storeToken } from "./api.js";
import { startLive, stopLive, useLiveStatus } from "./live.js";
import { AuditPage } from "./pages/audit.js";
import { DeploymentPage, DeploymentsPage } from "./pages/deployments.js";
import { DevicePage } from "./pages/device.js";
import { FleetPage } from "./pages/fleet.js";
import { MonitorPage, MonitorsPage } from "./pages/monitors.js";
import { RegistryPage } from "./pages/registry.js";
import { RunPage, RunsPage } from "./pages/runs.js";
import { href, useRoute } from "./router.js";
import "./style.css";

// Relative API URLs need the page's URL to end in "/" (a proxy prefix without it would drop a level).
if (!location.pathname.endsWith("/") && !location.pathname.endsWith(".html"))
  location.replace(`${location.pathname}/${location.search}${location.hash}`);

// `edgefleet console` hands the local admin token in the fragment (never sent to the hub, never
// logged); it is moved to session storage and wiped from the address bar at once.
const handed = /[#&]token=([^&]+)/.exec(location.hash);
if (handed) {
  storeToken(decodeURIComponent(handed[1]!));
  history.replaceState(null, "", `${location.pathname}#/fleet`);
}

function SignIn({ onSignedIn }: { onSignedIn: (me: Me) => void }) {
  const [error, setError] = useState<string>();
  return (
    <main class="signin">
      <h1>edgefleet console</h1>
      <form
        onSubmit={async (e) => {
          e.preventDefault();
          const token = String(new FormData(e.currentTarget).get("token") ?? "").trim();
          try {
            const me = await api<Me>("whoami", {}, token);
            if (me.kind !== "operator") throw new Error("that is a device credential, not an operator token");
            storeToken(token);
            onSignedIn(me);
          } catch (err) {
            setError(
              err instanceof ApiError && err.status === 401
                ? "Unknown or revoked token."
                : String((err as Error).message),
            );
          }
        }}
      >
        <label>
          API token
          <input name="token" type="password" autocomplete="off" required autofocus />
        </label>
        <button type="submit">Sign in</button>
        {error && (
          <p class="error" role="alert">
            {error}
          </p>
        )}
        <p class="muted">
          Create one with <code>edgefleet tokens create NAME --role viewer|operator|admin</code>, or run{" "}
          <code>edgefleet console</code> on the hub's machine.
        </p>
      </form>
    </main>
  );
}

const NAV: [string, string, "viewer" | "admin"][] = [
  ["fleet", "Fleet", "viewer"],
  ["deployments", "Deployments", "viewer"],
  ["registry", "Registry", "viewer"],
  ["runs", "Runs", "viewer"],
  ["monitors", "Monitors", "viewer"],
  ["audit", "Audit", "admin"],
];

function App() {
  const [me, setMe] = useState<Me | null>(null);
  const [checking, setChecking] = useState(storedToken() !== null);
  const route = useRoute();
  const live = useLiveStatus();

  useEffect(() => {
    if (!storedToken()) return;
    api<Me>("whoami")
      .then(setMe, () => storeToken(null))
      .finally(() => setChecking(false));
  }, []);
  useEffect(() => {
    if (me) startLive();
    return () => stopLive();
  }, [me]);

  if (checking) return <p class="muted">Signing in…</p>;
  if (!me) return <SignIn onSignedIn={setMe} />;

  const [page = "fleet", id] = route.parts;
  let body: JSX.Element;
  if (page === "fleet") body = <FleetPage route={route} />;
  else if (page === "devices" && id) body = <DevicePage id={id} />;
  else if (page === "deployments")
    body = id ? <DeploymentPage id={id} me={me} /> : <DeploymentsPage route={route} />;
  else if (page === "registry") body = <RegistryPage route={route} />;
  else if (page === "runs") body = id ? <RunPage id={id} me={me} /> : <RunsPage />;
  else if (page === "monitors") body = id ? <MonitorPage id={id} route={route} /> : <MonitorsPage />;
  else if (page === "audit" && may(me, "admin")) body = <AuditPage route={route} />;
  else
    body = (
      <main>
        <h1>Not found</h1>
        <p>No page {route.parts.join("/")}.</p>
      </main>
    );

  return (
    <>
      <button type="button" class="skip" onClick={() => document.getElementById("content")?.focus()}>
        Skip to content
      </button>
      <header>
        <a class="brand" href={href("fleet")}>
          edgefleet
        </a>
        <nav aria-label="pages">
          {NAV.filter(([, , role]) => may(me, role)).map(([path, label]) => (
            <a
              key={path}
              href={href(path)}
              aria-current={page === path || (page === "devices" && path === "fleet") ? "page" : undefined}
            >
              {label}
            </a>
          ))}
        </nav>
        <span
          class={`live ${live ? "on" : ""}`}
          data-testid="live"
          title={live ? "live updates on" : "reconnecting"}
        >
          {live ? "live" : "offline"}
        </span>
        <span class="who" data-testid="who">
          {me.name} · {me.role}
        </span>
        <button
          type="button"
          onClick={() => {
            storeToken(null);
            stopLive();
            setMe(null);
          }}
        >
          Sign out
        </button>
      </header>
      <div id="content" tabIndex={-1}>
        {body}
      </div>
    </>
  );
}

render(<App />, document.getElementById("app")!);
