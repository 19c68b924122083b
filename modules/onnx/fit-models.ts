/**
 * Models shaped like the ones people bring that do not fit the easy defaults, for the tests that
 * prove they serve unchanged:
 * - `buildStatefulVadModel`: Silero-VAD-shaped. "input" FP32 [batch, samples], "state" FP32
 *   [2, batch, 4] (the batch on axis 1, as an LSTM state is), "sr" INT64 scalar []. A reflect pad
 *   of 1 on the samples means it cannot run on length 1, so the default warm-up fails.
 *   → "output" FP32 [batch, 1] = mean(pad(input)) · sr / 16000, "stateN" FP32 [2, batch, 4] =
 *   tanh(state + mean).
 * - `buildDynamicDetectorModel`: detector-shaped, dynamic height and width (below).
 */
import { GraphBuilder, type ModelOptions } from "./builder.js";

export function buildStatefulVadModel(options: { model?: ModelOptions } = {}) {
  const g = new GraphBuilder("stateful_vad");
  g.input("input", "FP32", ["batch", "samples"]);
  g.input("state", "FP32", [2, "batch", 4]);
  g.input("sr", "INT64", []);
  g.initializer("pads", BigInt64Array.of(0n, 1n, 0n, 1n), [4]);
  g.initializer("rate", Float32Array.of(16000), []);
  g.node("Pad", ["input", "pads"], ["padded"], { mode: "reflect" });
  g.node("ReduceMean", ["padded"], ["mean"], { axes: [1], keepdims: 1 });
  g.node("Cast", ["sr"], ["sr_float"], { to: 1 /* FLOAT */ });
  g.node("Div", ["sr_float", "rate"], ["scale"]);
  g.node("Mul", ["mean", "scale"], ["output"]);
  g.node("Add", ["state", "mean"], ["state_sum"]);
  g.node("Tanh", ["state_sum"], ["stateN"]);
  g.output("output", "FP32", ["batch", 1]);
  g.output("stateN", "FP32", [2, "batch", 4]);
  return { bytes: g.toModel({ opset: 17, ...options.model }) };
}

/**
 * Detector-shaped: "images" FP32 [batch, 3, height, width] → "boxes" FP32 [batch, 1, 4], the box
 * (0, 0, width·m, height·m) where m is the image's mean pixel value, so the answer depends on both
 * the input's size and its content; "scores" FP32 [batch, 1] = m.
 */
export function buildDynamicDetectorModel(options: { model?: ModelOptions } = {}) {
  const g = new GraphBuilder("dynamic_detector");
  g.input("images", "FP32", ["batch", 3, "height", "width"]);
  g.node("ReduceMean", ["images"], ["m4"], { axes: [1, 2, 3], keepdims: 0 }); // [batch]
  g.initializer("unsq1", BigInt64Array.of(1n), [1]);
  g.node("Unsqueeze", ["m4", "unsq1"], ["scores"]); // [batch, 1]
  g.node("Shape", ["images"], ["shape"]);
  g.initializer("hw_index", BigInt64Array.of(3n, 2n, 3n, 2n), [4]); // width, height, width, height
  g.node("Gather", ["shape", "hw_index"], ["whwh_int"], { axis: 0 });
  g.node("Cast", ["whwh_int"], ["whwh"], { to: 1 });
  g.initializer("corner_mask", Float32Array.of(0, 0, 1, 1), [4]);
  g.node("Mul", ["whwh", "corner_mask"], ["box"]); // [4]: 0, 0, W, H
  g.node("Mul", ["scores", "box"], ["scaled"]); // [batch, 4]
  g.node("Unsqueeze", ["scaled", "unsq1"], ["boxes"]); // [batch, 1, 4]
  g.output("boxes", "FP32", ["batch", 1, 4]);
  g.output("scores", "FP32", ["batch", 1]);
  return { bytes: g.toModel({ opset: 17, ...options.model }) };
}
