/** Options every repository takes; the clock is injected so tests need no sleeps. */
export interface RepoOptions {
  /** Current time; defaults to `() => new Date()`. */
  now?: () => Date;
}

/** The clock from options, or the wall clock. */
export function clockOf(options: RepoOptions | undefined): () => Date {
  return options?.now ?? (() => new Date());
}
