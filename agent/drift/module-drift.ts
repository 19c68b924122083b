/**
 * Drift state of one module version on the device: its summariser, the summary held back while it
 * has fewer than `minRows` rows (sent merged with the next window: a small window would all but
 * reveal its rows), and, while the hub asked for samples and the manifest allows them, a reservoir
 * of raw rows that is emitted with the summary.
 */
import { randomUUID } from "node:crypto";
import type { Monitoring } from "../../drift-summary/monitoring.js";
import { type DriftSummary, mergeSummaries } from "../../drift-summary/summary.js";
import type { Manifest } from "../../modules/manifest.js";
import type { SampleLabel, SampleRow } from "../../wire/samples.js";
import { Reservoir } from "./reservoir.js";
import {
  type CapturedInputs,
  type CompiledColumn,
  DriftSummariser,
  readValue,
  strideOf,
  type TensorMap,
} from "./summariser.js";

/** Ground truth from /v1/feedback. */
export type Truth = Pick<SampleLabel, "label" | "value">;

/** What a window gets from one module version: its summary (when released) and samples. */
export interface DriftRelease {
  drift?: DriftSummary;
  rows?: SampleRow[];
  labels?: SampleLabel[];
}

/** Labels of rows already sent that wait for the next window (bounded: the oldest go first). */
const PENDING_LABELS_LIMIT = 1000;

export class ModuleDrift {
  readonly name: string;
  readonly version: string;
  readonly spec: Monitoring;
  readonly summariser: DriftSummariser;
  held: DriftSummary | undefined;
  #reservoir: Reservoir<SampleRow> | undefined;
  /** Sampled rows by prediction id, for labels that arrive while they are still in the reservoir. */
  #sampledIds = new Map<string, SampleRow>();
  #pendingLabels: SampleLabel[] = [];

  constructor(manifest: Manifest & { monitoring: Monitoring }) {
    this.name = manifest.name;
    this.version = manifest.version;
    this.spec = manifest.monitoring;
    this.summariser = new DriftSummariser(manifest.monitoring, manifest);
  }

  /** Most rows per window the manifest lets leave the device; 0 when samples are not allowed. */
  get sampleCap(): number {
    const samples = this.spec.samples;
    return samples?.allowed ? samples.maxPerWindow : 0;
  }

  /** Whether a reservoir is collecting. */
  get sampling(): boolean {
    return this.#reservoir !== undefined;
  }

  /** Starts (or keeps) a reservoir of `capacity` rows for the rows until the next release. */
  startSampling(capacity: number, seed: number): void {
    if (this.#reservoir === undefined || this.#reservoir.capacity !== capacity) {
      this.#reservoir = new Reservoir(capacity, seed);
      this.#sampledIds.clear();
    }
  }

  stopSampling(): void {
    this.#reservoir = undefined;
    this.#sampledIds.clear();
  }

  capture(feeds: TensorMap, rows: number): CapturedInputs {
    return this.summariser.capture(feeds, rows);
  }

  /** Counts a scored request; `ids` are the prediction ids the caller got (score route). */
  commit(captured: CapturedInputs, outputs: TensorMap, ids?: readonly string[], now = Date.now()): void {
    this.summariser.commit(captured, outputs, now);
    const reservoir = this.#reservoir;
    if (reservoir === undefined) {
      this.summariser.recycle(captured);
      return;
    }
    for (let r = 0; r < captured.rows; r++) {
      const slot = reservoir.slot();
      if (slot < 0) continue;
      const replaced = reservoir.items[slot];
      if (replaced !== undefined) this.#sampledIds.delete(replaced.id);
      const row = this.#sampleRow(captured, r, outputs, ids?.[r] ?? randomUUID(), now);
      reservoir.put(slot, row);
      this.#sampledIds.set(row.id, row);
    }
    this.summariser.recycle(captured);
  }

  /** Joins feedback to a row still in the reservoir; true when it was one. */
  labelInReservoir(id: string, truth: Truth): boolean {
    const row = this.#sampledIds.get(id);
    if (row === undefined) return false;
    Object.assign(row, truth);
    return true;
  }

  /** Queues feedback for a row sent earlier. */
  queueLabel(id: string, truth: Truth): void {
    this.#pendingLabels.push({ id, ...truth });
    if (this.#pendingLabels.length > PENDING_LABELS_LIMIT) this.#pendingLabels.shift();
  }

  /**
   * Closes the window: the summary since the last release plus what was held; released when it
   * reaches minRows and the window has an entry for this version (`canRelease`), held otherwise.
   * Sample rows go with a released summary only, when some were sampled; queued labels go with any
   * window.
   */
  release(canRelease: boolean, now = Date.now()): DriftRelease {
    const current = this.summariser.take(now);
    const merged =
      this.held === undefined
        ? current
        : current === undefined
          ? this.held
          : mergeSummaries(this.held, current);
    const out: DriftRelease = {};
    if (canRelease && this.#pendingLabels.length > 0) out.labels = this.#pendingLabels.splice(0);
    if (merged === undefined) return out;
    if (!canRelease || merged.rows < this.spec.minRows) {
      this.held = merged;
      return out;
    }
    this.held = undefined;
    out.drift = merged;
    // A reservoir armed after this window's rows were scored stays armed for the next window:
    // a window with no sampled rows does not use up one of the windows the hub asked for.
    if (this.#reservoir !== undefined && this.#reservoir.items.length > 0) {
      out.rows = [...this.#reservoir.items];
      this.#reservoir = undefined;
      this.#sampledIds.clear();
    }
    return out;
  }

  #sampleRow(captured: CapturedInputs, r: number, outputs: TensorMap, id: string, now: number): SampleRow {
    const inputs: SampleRow["inputs"] = {};
    const width = this.summariser.inputs.length;
    this.summariser.inputs.forEach((column, c) => {
      inputs[column.name] = cell(column, captured.values[r * width + c]!);
    });
    const outs: SampleRow["outputs"] = {};
    for (const column of this.summariser.outputs) {
      const tensor = outputs[column.tensor];
      outs[column.name] =
        tensor === undefined
          ? null
          : cell(column, readValue(column, tensor.data, strideOf(tensor, captured.rows), r));
    }
    return { id, at: new Date(now).toISOString(), inputs, outputs: outs };
  }
}

/** A value as a sample carries it: numbers as is, categoricals as their vocabulary entry, else null. */
function cell(column: CompiledColumn, x: number): number | string | null {
  if (Number.isNaN(x)) return null;
  if (column.numeric) return x;
  return column.vocabulary[x] ?? null;
}
