/**
 * Where each output's batch is. Exporters name the batch dimension (`batch`, `N`, `batch_size`) on
 * the inputs and carry the same name to the outputs, wherever it sits: an LSTM state is
 * `[layers, batch, hidden]`. Splitting every output along dimension 0 gives each row the wrong
 * slice of such an output, silently, so the packer records the axis whose symbol matches the
 * inputs' batch symbol, or null (return the tensor whole) for an output whose leading dimension is
 * fixed and that has no batch symbol.
 */
import type { OnnxInfo } from "./onnx/inspect.js";

/**
 * The batch axis of every output, or undefined when the inputs name no batch dimension (nothing
 * to match against: the postprocessor then splits along dimension 0 when its size is the batch).
 */
export function batchAxesFromModel(
  info: Pick<OnnxInfo, "inputs" | "outputs" | "symbols">,
): Record<string, number | null> | undefined {
  // The batch symbol: the name of dimension 0 of the inputs that have one there.
  const leading = info.inputs
    .map((spec) => info.symbols.inputs[spec.name]?.[0] ?? null)
    .filter((symbol): symbol is string => symbol !== null);
  const symbol = leading[0];
  if (symbol === undefined) return undefined;
  const axes: Record<string, number | null> = {};
  for (const output of info.outputs) {
    const axis = (info.symbols.outputs[output.name] ?? []).indexOf(symbol);
    if (axis >= 0) axes[output.name] = axis;
    // A fixed leading dimension without the batch symbol is not the batch (a state's layers):
    // whole. A dynamic one under another name (exporters rename dims they infer) keeps the
    // size check on dimension 0, so it is left out.
    else if ((output.shape[0] ?? 0) >= 0) axes[output.name] = null;
  }
  return axes;
}
