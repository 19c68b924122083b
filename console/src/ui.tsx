/** Small shared pieces: status badges, times, errors, key-value lists, buttons that ask first. */
import type { ComponentChildren } from "preact";
import { useState } from "preact/hooks";

const GOOD = new Set(["active", "online", "completed", "succeeded", "passed", "ok", "true"]);
const BAD = new Set(["failed", "rolled-back", "drift", "offline", "aborted", "rejected", "fail", "error"]);

/** A coloured status word. */
export function Badge({ value }: { value: string | null | undefined }) {
  const v = value ?? "—";
  const tone = GOOD.has(v) ? "good" : BAD.has(v) ? "bad" : "neutral";
  return <span class={`badge ${tone}`}>{v}</span>;
}

/** A time as "12 s ago" with the exact instant on hover. */
export function Ago({ at }: { at: string | null | undefined }) {
  if (!at) return <span>never</span>;
  const ms = Date.now() - Date.parse(at);
  const s = Math.round(ms / 1000);
  const text =
    s < 0
      ? "just now"
      : s < 60
        ? `${s} s ago`
        : s < 3600
          ? `${Math.round(s / 60)} min ago`
          : s < 86400
            ? `${Math.round(s / 3600)} h ago`
            : `${Math.round(s / 86400)} d ago`;
  return (
    <time dateTime={at} title={new Date(at).toLocaleString()}>
      {text}
    </time>
  );
}

export function ErrorNote({ error }: { error: Error | undefined }) {
  if (!error) return null;
  return (
    <p class="error" role="alert">
      {error.message}
    </p>
  );
}

export function Loading() {
  return (
    <p class="muted" aria-live="polite">
      Loading…
    </p>
  );
}

export function Section({ title, children }: { title: string; children: ComponentChildren }) {
  return (
    <section class="card">
      <h2>{title}</h2>
      {children}
    </section>
  );
}

export function Facts({ items }: { items: [string, ComponentChildren][] }) {
  return (
    <dl class="facts">
      {items.map(([k, v]) => (
        <div key={k}>
          <dt>{k}</dt>
          <dd>{v}</dd>
        </div>
      ))}
    </dl>
  );
}

/** A button that runs an API action, says what went wrong, and asks first when `confirm` is set. */
export function ActionButton(props: {
  label: string;
  run: () => Promise<unknown>;
  confirm?: string;
  danger?: boolean;
}) {
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<string>();
  return (
    <span class="action">
      <button
        type="button"
        class={props.danger ? "danger" : ""}
        disabled={busy}
        onClick={async () => {
          if (props.confirm && !window.confirm(props.confirm)) return;
          setBusy(true);
          setError(undefined);
          try {
            await props.run();
          } catch (e) {
            setError(e instanceof Error ? e.message : String(e));
          } finally {
            setBusy(false);
          }
        }}
      >
        {props.label}
      </button>
      {error && (
        <span class="error" role="alert">
          {error}
        </span>
      )}
    </span>
  );
}

/** A number with a fixed number of significant digits, or "—". */
export function num(value: unknown, digits = 3): string {
  if (typeof value !== "number" || !Number.isFinite(value)) return "—";
  if (value !== 0 && Math.abs(value) < 0.001) return value.toExponential(2);
  return Number(value.toPrecision(digits)).toString();
}
