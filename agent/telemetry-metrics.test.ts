/** Spool series in a real prom-client registry: read at scrape time, the drop counter only grows. */
import { Registry } from "prom-client";
import { describe, expect, it } from "vitest";
import { type SpoolFigures, spoolMetrics } from "./telemetry-metrics.js";

async function value(registry: Registry, name: string): Promise<number | undefined> {
  const metric = (await registry.getMetricsAsJSON()).find((m) => m.name === name);
  return metric?.values[0]?.value;
}

describe("spoolMetrics", () => {
  it("exposes waiting and dropped windows as they are at scrape time", async () => {
    const registry = new Registry();
    let figures: SpoolFigures | undefined;
    spoolMetrics(() => figures)(registry);
    expect(await value(registry, "edgefleet_agent_telemetry_spooled_windows")).toBe(0);
    expect(await value(registry, "edgefleet_agent_telemetry_dropped_windows_total")).toBe(0);
    figures = { queued: 12, dropped: 3 };
    expect(await value(registry, "edgefleet_agent_telemetry_spooled_windows")).toBe(12);
    expect(await value(registry, "edgefleet_agent_telemetry_dropped_windows_total")).toBe(3);
    figures = { queued: 0, dropped: 5 };
    expect(await value(registry, "edgefleet_agent_telemetry_spooled_windows")).toBe(0);
    expect(await value(registry, "edgefleet_agent_telemetry_dropped_windows_total")).toBe(5);
    expect(await registry.metrics()).toContain(
      "# TYPE edgefleet_agent_telemetry_dropped_windows_total counter",
    );
  });
});
