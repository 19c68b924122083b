/**
 * The rollout planner: given a deployment's persisted progress and the time, the one next step.
 * Pure (no I/O, no clock of its own), so every branch is a table-driven unit test; the controller
 * persists the step, then does its side effects, then asks again.
 */

/** What the planner needs from a deployment row. */
export interface RolloutProgress {
  status: string;
  /** Cumulative devices per wave (waveCounts). */
  counts: readonly number[];
  /** Bake per wave (ms). */
  bakes: readonly number[];
  ratePerMinute: number | null;
  wave: number;
  released: number;
  waveStartedAt: Date | null;
  bakeStartedAt: Date | null;
}

export type Step =
  /** Nothing to do: the rollout is not active. */
  | { kind: "idle" }
  /** Release devices up to `released` (a prefix of the targets); bake starts when the wave is out. */
  | { kind: "release"; released: number; waveStartedAt: Date; bakeStartedAt: Date | null }
  /** Come back at `at` (rate limit or bake); meanwhile only early gates may stop the rollout. */
  | { kind: "wait"; at: Date; reason: "rate-limit" | "bake" }
  /** The wave has baked: the gates decide; `last` when passing completes the rollout. */
  | { kind: "judge"; last: boolean; nextWave: number };

/** The next step for a rollout at time `now`. */
export function planStep(p: RolloutProgress, now: Date): Step {
  if (p.status !== "active") return { kind: "idle" };
  const target = p.counts[p.wave] ?? p.counts.at(-1) ?? 0;
  const previous = p.wave === 0 ? 0 : (p.counts[p.wave - 1] ?? 0);
  const waveStartedAt = p.waveStartedAt ?? now;
  if (p.released < target) {
    let allowed = target;
    if (p.ratePerMinute !== null) {
      const intervalMs = 60_000 / p.ratePerMinute;
      const elapsed = Math.max(0, now.getTime() - waveStartedAt.getTime());
      allowed = Math.min(target, previous + Math.floor(elapsed / intervalMs) + 1);
      if (allowed <= p.released) {
        const at = new Date(waveStartedAt.getTime() + Math.ceil((p.released - previous) * intervalMs));
        return { kind: "wait", at, reason: "rate-limit" };
      }
    }
    return {
      kind: "release",
      released: allowed,
      waveStartedAt,
      bakeStartedAt: allowed === target ? now : null,
    };
  }
  const bakeStartedAt = p.bakeStartedAt ?? now;
  const bakeEnds = new Date(bakeStartedAt.getTime() + (p.bakes[p.wave] ?? 0));
  if (p.bakeStartedAt === null)
    return { kind: "release", released: p.released, waveStartedAt, bakeStartedAt };
  if (now < bakeEnds) return { kind: "wait", at: bakeEnds, reason: "bake" };
  return { kind: "judge", last: p.wave >= p.counts.length - 1, nextWave: p.wave + 1 };
}
