/** `--since` values: an ISO 8601 time, or an age such as `30m`, `12h`, `7d` counted back from now. */
import { CliError } from "./hub-target.js";

const UNIT_MS = { s: 1_000, m: 60_000, h: 3_600_000, d: 86_400_000 } as const;

/** The instant a --since (or --until) flag names, as an ISO string the hub accepts. */
export function sinceFlag(text: string, flag = "--since", now: Date = new Date()): string {
  const age = /^(\d+)([smhd])$/.exec(text.trim());
  if (age) {
    const ms = Number(age[1]) * UNIT_MS[age[2] as keyof typeof UNIT_MS];
    return new Date(now.getTime() - ms).toISOString();
  }
  const at = new Date(text);
  if (!/^\d{4}-\d{2}-\d{2}/.test(text.trim()) || Number.isNaN(at.getTime())) {
    throw new CliError(`${flag} ${text}: give an ISO time (2026-01-31T12:00:00Z) or an age (30m, 12h, 7d)`);
  }
  return at.toISOString();
}
