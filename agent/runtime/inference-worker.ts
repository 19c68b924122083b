/**
 * Inference worker thread: owns onnxruntime sessions so their synchronous native runs never block
 * the agent's event loop (Node's event loop guide: never block it with CPU work). Answers one response per request, in the
 * protocol of worker-protocol.ts. Runs of one session are serialised, and a release waits for the
 * session's runs: the binding's run hops through setImmediate, so a release message could
 * otherwise be handled between a run's start and its native call.
 */
import { parentPort } from "node:worker_threads";
import { InferenceSession, Tensor } from "onnxruntime-node";
import {
  type LoadResult,
  type RunResult,
  toWire,
  type WorkerRequest,
  type WorkerResponse,
} from "./worker-protocol.js";

interface Hosted {
  session: InferenceSession;
  /** The last queued operation on this session; the next one chains after it. */
  tail: Promise<unknown>;
}

const sessions = new Map<number, Hosted>();
const port = parentPort;
if (port === null) throw new Error("inference-worker must run in a worker thread");

port.on("message", (request: WorkerRequest) => {
  // Thrown in the listener itself: the thread dies before it reads the next request.
  if (request.op === "crash") throw new Error("inference worker crash requested");
  handle(request).then(
    (result) => reply({ id: request.id, ok: true, result }, result),
    (error: unknown) => {
      const { name, message } = error instanceof Error ? error : new Error(String(error));
      reply({ id: request.id, ok: false, error: { name, message } });
    },
  );
});

async function handle(request: WorkerRequest): Promise<LoadResult | RunResult | null> {
  switch (request.op) {
    case "load": {
      const session = await InferenceSession.create(request.path, request.options);
      sessions.set(request.session, { session, tail: Promise.resolve() });
      return { inputMetadata: [...session.inputMetadata], outputMetadata: [...session.outputMetadata] };
    }
    case "run": {
      const hosted = hostedSession(request.session);
      const feeds: Record<string, Tensor> = {};
      for (const [name, wire] of Object.entries(request.feeds)) {
        feeds[name] = new Tensor(wire.type, wire.data as never, wire.dims);
      }
      const run = hosted.tail.then(async () => {
        const started = performance.now();
        const outputs = await hosted.session.run(feeds, request.outputNames);
        return { outputs: toWire(outputs).wire, runMs: performance.now() - started };
      });
      hosted.tail = run.catch(() => undefined);
      return run;
    }
    case "release": {
      const hosted = hostedSession(request.session);
      sessions.delete(request.session);
      await hosted.tail;
      await hosted.session.release();
      return null;
    }
    case "crash":
      return null;
  }
}

function hostedSession(id: number): Hosted {
  const hosted = sessions.get(id);
  if (hosted === undefined) throw new Error(`no session ${id} in this worker`);
  return hosted;
}

function reply(response: WorkerResponse, result?: LoadResult | RunResult | null): void {
  if (result === undefined || result === null || !("outputs" in result)) {
    port!.postMessage(response);
    return;
  }
  const transfer = toWire(result.outputs).transfer;
  try {
    port!.postMessage(response, transfer);
  } catch {
    // Buffers the binding allocated outside V8 may refuse to detach: a copy still answers.
    port!.postMessage(response);
  }
}
