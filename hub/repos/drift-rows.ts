/**
 * The drift parts of a telemetry module window — its DriftSummary and the rows a device sampled on
 * request, with labels joined on the device — split off into their own tables (drift_summaries,
 * drift_samples), so `telemetry_windows.payload` keeps only the serving statistics. Written by the
 * TelemetryWriter in the same transaction as the window rows.
 */
import { sql } from "drizzle-orm";
import type { ModuleWindow, TelemetryWindow } from "../../wire/messages.js";
import type { Db } from "../db/database.js";
import { driftSamples, driftSummaries } from "../db/schema/index.js";

type SummaryRow = typeof driftSummaries.$inferInsert;
type SampleRow = typeof driftSamples.$inferInsert;

export interface DriftRows {
  summary?: SummaryRow;
  samples: SampleRow[];
}

/** A feedback label as stored: the class label (booleans as text) or the regression value. */
function labelOf(truth: { label?: string | number | boolean | undefined; value?: number | undefined }) {
  if (truth.label !== undefined) return typeof truth.label === "boolean" ? String(truth.label) : truth.label;
  return truth.value ?? null;
}

/** Splits one module window into the telemetry payload and its drift rows; invalid parts are dropped. */
export function driftRowsOf(
  deviceId: string,
  window: TelemetryWindow,
  module: ModuleWindow,
  receivedAt: Date,
): { payload: ModuleWindow; drift: DriftRows } {
  // A packed summary still here was never decoded (hub/services/drift-unpack.ts): not stored.
  const { drift, driftPacked: _packed, samples, ...payload } = module;
  const rows: DriftRows = { samples: [] };
  if (drift) {
    rows.summary = {
      deviceId,
      seq: window.seq,
      epoch: window.epoch ?? "",
      module: module.name,
      moduleVersion: module.version,
      baselineId: drift.baselineId,
      rows: drift.rows,
      windowStart: new Date(drift.windowStart),
      windowEnd: new Date(window.windowEnd),
      summary: drift,
      receivedAt,
    };
  }
  if (samples) {
    const base = { deviceId, module: module.name, moduleVersion: module.version, receivedAt };
    for (const row of samples.rows) {
      rows.samples.push({
        ...base,
        sampleId: row.id,
        inputs: row.inputs,
        outputs: row.outputs,
        label: labelOf(row),
        at: new Date(row.at),
      });
    }
    // Feedback for a row sent before: a row with empty inputs only fills the label (see below).
    for (const late of samples.labels ?? []) {
      const label = labelOf(late);
      if (label === null) continue;
      rows.samples.push({ ...base, sampleId: late.id, inputs: {}, label, at: new Date(window.windowEnd) });
    }
  }
  return { payload, drift: rows };
}

/** Inserts summaries (redeliveries dropped) and upserts samples (a later label fills the row's label). */
export async function writeDriftRows(db: Db, batch: DriftRows[]): Promise<void> {
  const summaries = batch.flatMap((rows) => (rows.summary ? [rows.summary] : []));
  if (summaries.length > 0) {
    await db
      .insert(driftSummaries)
      .values(summaries)
      .onConflictDoNothing({
        target: [driftSummaries.deviceId, driftSummaries.epoch, driftSummaries.seq, driftSummaries.module],
      });
  }
  // One INSERT … ON CONFLICT DO UPDATE may not touch a row twice: merge same-key rows first.
  const byKey = new Map<string, SampleRow>();
  for (const sample of batch.flatMap((rows) => rows.samples)) {
    const key = JSON.stringify([sample.deviceId, sample.module, sample.sampleId]);
    const before = byKey.get(key);
    byKey.set(key, before ? mergeSample(before, sample) : sample);
  }
  if (byKey.size === 0) return;
  await db
    .insert(driftSamples)
    .values([...byKey.values()])
    .onConflictDoUpdate({
      target: [driftSamples.deviceId, driftSamples.module, driftSamples.sampleId],
      set: {
        label: sql`coalesce(excluded.label, ${driftSamples.label})`,
        // A label-only row carries empty inputs; keep the inputs the device sent with the sample.
        inputs: sql`case when excluded.inputs = '{}'::jsonb then ${driftSamples.inputs} else excluded.inputs end`,
        outputs: sql`coalesce(excluded.outputs, ${driftSamples.outputs})`,
      },
    });
}

function mergeSample(a: SampleRow, b: SampleRow): SampleRow {
  const hasInputs = (row: SampleRow) => Object.keys(row.inputs).length > 0;
  return {
    ...(hasInputs(b) || !hasInputs(a) ? b : a),
    label: b.label ?? a.label ?? null,
    outputs: b.outputs ?? a.outputs ?? null,
  };
}
