/** Maps a manifest's runtime options onto onnxruntime-node session options. */
import type { InferenceSession } from "onnxruntime-node";
import type { RuntimeOptions } from "../../modules/manifest.js";

/**
 * Session options for a module. Thread spinning is off unless the manifest allows it: ORT's pool
 * threads otherwise spin-wait between runs and burn a core on an idle device
 * (onnxruntime "Thread management" docs). The Node binding flattens `extra` into dotted config keys.
 */
export function sessionOptions(
  runtime: Pick<
    RuntimeOptions,
    | "intraOpNumThreads"
    | "interOpNumThreads"
    | "graphOptimizationLevel"
    | "executionProviders"
    | "allowSpinning"
  > &
    Partial<RuntimeOptions>,
): InferenceSession.SessionOptions {
  const options: InferenceSession.SessionOptions = {
    intraOpNumThreads: runtime.intraOpNumThreads,
    interOpNumThreads: runtime.interOpNumThreads,
    graphOptimizationLevel: runtime.graphOptimizationLevel,
    executionProviders: runtime.executionProviders,
  };
  if (!runtime.allowSpinning) {
    options.extra = { session: { intra_op: { allow_spinning: "0" }, inter_op: { allow_spinning: "0" } } };
  }
  return options;
}
