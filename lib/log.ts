/**
 * Structured logging for every component: pino, JSON lines, stable `event` keys.
 * Level from the caller's parsed config (no env reads here).
 */
import { type Logger, pino } from "pino";

export type { Logger };

export interface LogOptions {
  /** Component name, e.g. "hub" or "agent"; becomes the `component` key. */
  component: string;
  level?: string;
  /** A file to append to instead of stderr. */
  destination?: string;
}

/** Creates the root logger of a process; children carry more bound keys. */
export function createLogger(options: LogOptions): Logger {
  const destination = options.destination
    ? pino.destination({ dest: options.destination, mkdir: true, append: true, sync: false })
    : pino.destination({ fd: 2, sync: false });
  return pino(
    {
      level: options.level ?? "info",
      base: { component: options.component },
      timestamp: pino.stdTimeFunctions.isoTime,
    },
    destination,
  );
}

/** A logger that drops everything; for library callers and tests that do not care. */
export const silentLogger: Logger = pino({ level: "silent" });
