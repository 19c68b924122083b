/** A pino logger that keeps its entries in memory, so tests can assert on structured events. */
import { pino } from "pino";
import type { Logger } from "../../lib/log.js";

export interface MemoryLog {
  log: Logger;
  entries: Record<string, unknown>[];
  /** Entries whose `event` key equals the given one. */
  events(event: string): Record<string, unknown>[];
}

/** Creates a debug-level logger that records every entry. */
export function memoryLogger(): MemoryLog {
  const entries: Record<string, unknown>[] = [];
  const log = pino({ level: "debug" }, { write: (line: string) => entries.push(JSON.parse(line)) });
  return { log, entries, events: (event) => entries.filter((entry) => entry.event === event) };
}
