/** Repeatable `--flag k=v` options: collecting them, and turning them into objects. */
import { CliError } from "./hub-target.js";

/** Commander collector for a repeatable option: `--param a=1 --param b=2` → ["a=1", "b=2"]. */
export function collect(value: string, previous: string[] = []): string[] {
  return [...previous, value];
}

/** `["a=1", "b=x"]` → `{a: "1", b: "x"}`; a pair without `=` or with an empty key is refused. */
export function keyValues(pairs: string[] | undefined, flag: string): Record<string, string> {
  const out: Record<string, string> = {};
  for (const pair of pairs ?? []) {
    const eq = pair.indexOf("=");
    if (eq <= 0) throw new CliError(`${flag} takes key=value, got "${pair}"`);
    out[pair.slice(0, eq).trim()] = pair.slice(eq + 1);
  }
  return out;
}

/**
 * Training parameters from `--param k=v`: each value is read as JSON when it parses
 * (`epochs=50`, `hidden=[16,8]`, `early=true`) and kept as text otherwise (`solver=adam`).
 */
export function paramValues(pairs: string[] | undefined): Record<string, unknown> {
  return Object.fromEntries(
    Object.entries(keyValues(pairs, "--param")).map(([key, text]) => {
      try {
        return [key, JSON.parse(text)];
      } catch {
        return [key, text];
      }
    }),
  );
}

/** `name@version` → `{name, version}` (version undefined when there is no `@`). */
export function splitAt(text: string): { name: string; version?: string } {
  const at = text.lastIndexOf("@");
  if (at < 0) return { name: text };
  const version = text.slice(at + 1);
  return version ? { name: text.slice(0, at), version } : { name: text.slice(0, at) };
}
