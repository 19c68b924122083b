/**
 * Prometheus series for the telemetry spool: windows waiting on disk and windows dropped past the
 * bound. Values are read at scrape time from whatever `source` returns (the outbox is created after
 * the scoring server, so the source may be empty at first).
 */
import { Counter, Gauge, type Registry } from "prom-client";

export interface SpoolFigures {
  /** Windows waiting on disk. */
  queued: number;
  /** Windows dropped since the spool folder was created. */
  dropped: number;
}

/** Registers the spool series on `registry`; pass the result as the scoring app's `registerMetrics`. */
export function spoolMetrics(source: () => SpoolFigures | undefined): (registry: Registry) => void {
  return (registry) => {
    new Gauge({
      name: "edgefleet_agent_telemetry_spooled_windows",
      help: "Telemetry windows waiting for the broker (on disk, or held in memory while the disk refuses writes)",
      registers: [registry],
      collect() {
        this.set(source()?.queued ?? 0);
      },
    });
    let reported = 0;
    new Counter({
      name: "edgefleet_agent_telemetry_dropped_windows_total",
      help: "Telemetry windows dropped: past the spool bound, or held in memory past its bound while the disk refused writes",
      registers: [registry],
      collect() {
        // The spool persists its total across restarts; the counter follows it upward only.
        const total = source()?.dropped ?? 0;
        if (total > reported) this.inc(total - reported);
        reported = Math.max(reported, total);
      },
    });
  };
}
