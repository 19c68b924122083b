/**
 * Depth-limited regression trees on gradient statistics (second-order boosting, as XGBoost and
 * LightGBM fit them), over histogram bins. Thresholds are float32 cut points between training
 * values; a row goes left when `x <= threshold`, exactly ONNX-ML's BRANCH_LEQ on float32 inputs.
 */

/** Per-feature cut points and each row's bin (the number of cut points below the value). */
export interface Binned {
  edges: Float32Array[];
  /** bins[feature][row]. */
  bins: Uint8Array[];
}

/** A node: a split (feature, threshold, children) or a leaf (value). Node 0 is the root. */
export type TreeNode =
  | { leaf: false; feature: number; threshold: number; left: number; right: number }
  | { leaf: true; value: number };

export interface TreeOptions {
  maxDepth: number;
  minSamplesLeaf: number;
  /** L2 penalty on leaf values. */
  lambda: number;
  /** Multiplies every leaf value (the learning rate). */
  shrinkage: number;
}

/** Index of the first edge >= value: the row's bin, so bin <= b exactly when value <= edges[b]. */
export function binOf(edges: Float32Array, value: number): number {
  let lo = 0;
  let hi = edges.length;
  while (lo < hi) {
    const mid = (lo + hi) >> 1;
    if (edges[mid]! < value) lo = mid + 1;
    else hi = mid;
  }
  return lo;
}

/** Chooses up to `maxBins - 1` cut points per feature from the training quantiles, and bins every row. */
export function binFeatures(x: Float32Array, rows: number, width: number, maxBins: number): Binned {
  const edges: Float32Array[] = [];
  const bins: Uint8Array[] = [];
  for (let j = 0; j < width; j++) {
    const values = new Float32Array(rows);
    for (let i = 0; i < rows; i++) values[i] = x[i * width + j]!;
    const sorted = Float32Array.from(values).sort();
    const distinct: number[] = [];
    for (const v of sorted)
      if (distinct.length === 0 || distinct[distinct.length - 1] !== v) distinct.push(v);
    const cuts = new Set<number>();
    const cutAfter = (v: number) => {
      const next = distinct[distinctIndexAbove(distinct, v)];
      if (next !== undefined) cuts.add(Math.fround((v + next) / 2));
    };
    if (distinct.length <= maxBins) for (const v of distinct) cutAfter(v);
    else for (let b = 1; b < maxBins; b++) cutAfter(sorted[Math.floor((b * rows) / maxBins)]!);
    const featureEdges = Float32Array.from([...cuts].sort((a, b) => a - b));
    edges.push(featureEdges);
    bins.push(Uint8Array.from(values, (v) => binOf(featureEdges, v)));
  }
  return { edges, bins };
}

function distinctIndexAbove(distinct: number[], v: number): number {
  let lo = 0;
  let hi = distinct.length;
  while (lo < hi) {
    const mid = (lo + hi) >> 1;
    if (distinct[mid]! <= v) lo = mid + 1;
    else hi = mid;
  }
  return lo;
}

/** Fits one tree to gradients and hessians of the given rows; leaf values are float32. */
export function fitTree(
  binned: Binned,
  rows: Uint32Array,
  gradients: Float64Array,
  hessians: Float64Array,
  options: TreeOptions,
): TreeNode[] {
  const nodes: TreeNode[] = [];
  const leafValue = (g: number, h: number) => Math.fround((-g / (h + options.lambda)) * options.shrinkage);
  const grow = (members: Uint32Array, depth: number): number => {
    const id = nodes.length;
    let g = 0;
    let h = 0;
    for (const r of members) {
      g += gradients[r]!;
      h += hessians[r]!;
    }
    nodes.push({ leaf: true, value: leafValue(g, h) });
    if (depth >= options.maxDepth || members.length < 2 * options.minSamplesLeaf) return id;
    const parentScore = (g * g) / (h + options.lambda);
    let best = { gain: 1e-12, feature: -1, bin: -1 };
    binned.edges.forEach((edges, feature) => {
      if (edges.length === 0) return;
      const bins = binned.bins[feature]!;
      const nb = edges.length + 1;
      const hg = new Float64Array(nb);
      const hh = new Float64Array(nb);
      const hc = new Uint32Array(nb);
      for (const r of members) {
        const b = bins[r]!;
        hg[b]! += gradients[r]!;
        hh[b]! += hessians[r]!;
        hc[b]!++;
      }
      let gl = 0;
      let hl = 0;
      let cl = 0;
      for (let b = 0; b < nb - 1; b++) {
        gl += hg[b]!;
        hl += hh[b]!;
        cl += hc[b]!;
        const cr = members.length - cl;
        if (cl < options.minSamplesLeaf) continue;
        if (cr < options.minSamplesLeaf) break;
        const gr = g - gl;
        const hr = h - hl;
        const gain = (gl * gl) / (hl + options.lambda) + (gr * gr) / (hr + options.lambda) - parentScore;
        if (gain > best.gain) best = { gain, feature, bin: b };
      }
    });
    if (best.feature < 0) return id;
    const bins = binned.bins[best.feature]!;
    const left = members.filter((r) => bins[r]! <= best.bin);
    const right = members.filter((r) => bins[r]! > best.bin);
    const leftId = grow(left, depth + 1);
    const rightId = grow(right, depth + 1);
    const threshold = binned.edges[best.feature]![best.bin]!;
    nodes[id] = { leaf: false, feature: best.feature, threshold, left: leftId, right: rightId };
    return id;
  };
  grow(rows, 0);
  return nodes;
}

/** The leaf value a row of the design matrix reaches. */
export function treeValue(nodes: readonly TreeNode[], x: Float32Array, offset: number): number {
  let node = nodes[0]!;
  while (!node.leaf) node = nodes[x[offset + node.feature]! <= node.threshold ? node.left : node.right]!;
  return node.value;
}
