/**
 * 8-bit weight quantization, per output channel. Weights are asymmetric uint8 with a zero point
 * per channel: onnxruntime's CPU ConvInteger takes uint8 weights only, and uint8 × uint8 GEMMs
 * never saturate the 16-bit intermediate sums that x86 AVX2 u8 × s8 kernels can overflow
 * (onnxruntime's quantization guide, "reduce_range"), so one scheme serves MatMul, Gemm and Conv
 * on every CPU. The range always holds 0, so zero padding and ReLU zeros stay exact.
 */

/** The zero point of symmetric uint8 weights: values 1…255 stand for -127…127 steps. */
export const SYMMETRIC_ZERO_POINT = 128;

/** One quantized weight tensor: q[i] = round(w[i] / scale[c]) + zeroPoint[c] for i's channel c. */
export interface QuantizedWeights {
  values: Uint8Array;
  /** One per channel. */
  scales: Float32Array;
  zeroPoints: Uint8Array;
}

/**
 * Quantizes `weights`, where `channelOf(i)` names the channel of element i and `channels` is
 * their number. A channel of all zeros gets scale 1 (any scale represents it exactly).
 */
export function quantizePerChannel(
  weights: Float32Array,
  channels: number,
  channelOf: (index: number) => number,
  options: { symmetric?: boolean } = {},
): QuantizedWeights {
  const min = new Float32Array(channels); // 0 is the starting bound on both sides: the range holds 0.
  const max = new Float32Array(channels);
  for (let i = 0; i < weights.length; i++) {
    const c = channelOf(i);
    const w = weights[i]!;
    if (!Number.isFinite(w)) throw new RangeError(`weight ${i} is ${w}; only finite weights quantize`);
    if (w < min[c]!) min[c] = w;
    if (w > max[c]!) max[c] = w;
  }
  const scales = new Float32Array(channels);
  const zeroPoints = new Uint8Array(channels);
  for (let c = 0; c < channels; c++) {
    if (options.symmetric) {
      // One zero point (128) for every channel, the scale still per channel: for kernels that
      // take a single weight zero point (onnxruntime's ConvInteger), yet keep per-channel precision.
      const bound = Math.max(-min[c]!, max[c]!);
      scales[c] = bound > 0 ? bound / 127 : 1;
      zeroPoints[c] = SYMMETRIC_ZERO_POINT;
      continue;
    }
    const range = max[c]! - min[c]!;
    scales[c] = range > 0 ? range / 255 : 1;
    zeroPoints[c] = Math.min(255, Math.max(0, Math.round(-min[c]! / scales[c]!)));
  }
  const values = new Uint8Array(weights.length);
  for (let i = 0; i < weights.length; i++) {
    const c = channelOf(i);
    values[i] = Math.min(255, Math.max(0, Math.round(weights[i]! / scales[c]!) + zeroPoints[c]!));
  }
  return { values, scales, zeroPoints };
}

/** The float each quantized value stands for (for tests and error reports). */
export function dequantize(q: QuantizedWeights, channelOf: (index: number) => number): Float32Array {
  return Float32Array.from(q.values, (v, i) => (v - q.zeroPoints[channelOf(i)]!) * q.scales[channelOf(i)]!);
}
