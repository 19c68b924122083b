/**
 * Where a module's session runs: inline on the main thread (tiny models, where the thread hop would
 * cost more than the run) or in a pool worker (anything that would stall the event loop).
 */
import { type InferenceSession, Tensor } from "onnxruntime-node";
import type { WorkerSession } from "./inference-pool.js";
import { toWire } from "./worker-protocol.js";

type Tensors = Record<string, Tensor>;

export interface RunOutcome {
  outputs: Tensors;
  /** Time in session.run itself (for the worker: measured in the worker, without the hop). */
  runMs: number;
}

export interface Executor {
  readonly kind: "inline" | "worker";
  /** Runs the session; worker executors take ownership of the feeds' buffers (they are moved). */
  run(feeds: Tensors, outputNames: readonly string[]): Promise<RunOutcome>;
  /** Releases the session; call once no run is in flight. */
  release(): Promise<void>;
}

/** A session on the main thread. */
export class InlineExecutor implements Executor {
  readonly kind = "inline";

  constructor(private readonly session: InferenceSession) {}

  /** Runs on the main thread (a synchronous native call behind one setImmediate). */
  async run(feeds: Tensors, outputNames: readonly string[]): Promise<RunOutcome> {
    const started = performance.now();
    const outputs = await this.session.run(feeds, outputNames as string[]);
    return { outputs, runMs: performance.now() - started };
  }

  /** Releases the native session. */
  release(): Promise<void> {
    return this.session.release();
  }
}

/** A session in a pool worker; tensors cross as transferred buffers. */
export class WorkerExecutor implements Executor {
  readonly kind = "worker";

  constructor(readonly session: WorkerSession) {}

  /** Posts the feeds to the worker (buffers moved) and rebuilds the output tensors. */
  async run(feeds: Tensors, outputNames: readonly string[]): Promise<RunOutcome> {
    const { wire, transfer } = toWire(feeds);
    const result = await this.session.run(wire, [...outputNames], transfer);
    const outputs: Tensors = {};
    for (const [name, tensor] of Object.entries(result.outputs)) {
      outputs[name] = new Tensor(tensor.type, tensor.data as never, tensor.dims);
    }
    return { outputs, runMs: result.runMs };
  }

  /** Releases the session in its worker. */
  release(): Promise<void> {
    return this.session.release();
  }
}
