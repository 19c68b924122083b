/**
 * Depth-limited trees over histogram bins, grown on per-row statistics: a gradient per output and
 * a shared hessian. Boosting passes loss gradients (second-order, as XGBoost and LightGBM fit
 * them); a forest passes `-y` (or `-onehot(y)`) with hessian 1 and no penalty, which makes the gain
 * exactly CART's squared-error (or Gini) reduction and each leaf the mean (or class frequencies)
 * of its rows. Thresholds are float32 cut points between training values; a row goes left when
 * `x <= threshold`, exactly ONNX-ML's BRANCH_LEQ on float32 inputs.
 */

/** Per-feature cut points and each row's bin (the number of cut points below the value). */
export interface Binned {
  edges: Float32Array[];
  /** bins[feature][row]. */
  bins: Uint8Array[];
}

/** A node: a split (feature, threshold, children) or a leaf (one value per output). Node 0 is the root. */
export type TreeNode =
  | { leaf: false; feature: number; threshold: number; left: number; right: number }
  | { leaf: true; values: number[] };

export interface TreeOptions {
  /** Deepest level a split may create (the root is depth 0). */
  maxDepth: number;
  minSamplesLeaf: number;
  /** L2 penalty on leaf values (added to the hessian sum). */
  lambda: number;
  /** Multiplies every leaf value (the learning rate). */
  shrinkage: number;
  /**
   * Features examined per split, drawn afresh at every node (a random forest's feature
   * subsampling); all features when absent. As in CART implementations, more are examined when
   * none of the drawn ones can split the node.
   */
  maxFeatures?: number;
  /** The random source for `maxFeatures`; required with it. */
  random?: () => number;
}

/** Per-row statistics a tree is grown on. */
export interface TreeTargets {
  /** Number of outputs K: one leaf value each. */
  outputs: number;
  /** Row-major [rows × K]. */
  gradients: Float64Array;
  /** One per row, shared by every output. */
  hessians: Float64Array;
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

interface BestSplit {
  gain: number;
  feature: number;
  bin: number;
}

/**
 * Fits one tree to the statistics of the given rows (a row may appear more than once: a bootstrap
 * sample); leaf values are float32.
 */
export function fitTree(
  binned: Binned,
  rows: Uint32Array,
  targets: TreeTargets,
  options: TreeOptions,
): TreeNode[] {
  const { outputs: K, gradients, hessians } = targets;
  const width = binned.edges.length;
  if (options.maxFeatures !== undefined && options.random === undefined) {
    throw new Error("fitTree: maxFeatures needs a random source");
  }
  const subsample = options.maxFeatures !== undefined && options.maxFeatures < width;
  const order = Uint32Array.from({ length: width }, (_, j) => j);
  // Histogram buffers, reused by every node: gradient sums [bin × K], hessian sums and counts per bin.
  const maxBins = Math.max(1, ...binned.edges.map((e) => e.length + 1));
  const hg = new Float64Array(maxBins * K);
  const hh = new Float64Array(maxBins);
  const hc = new Uint32Array(maxBins);
  const gl = new Float64Array(K);
  const g = new Float64Array(K);
  const nodes: TreeNode[] = [];

  const score = (sums: Float64Array, offset: number, h: number, subtract?: Float64Array) => {
    let s = 0;
    for (let k = 0; k < K; k++) {
      const v = subtract ? subtract[k]! - sums[offset + k]! : sums[offset + k]!;
      s += v * v;
    }
    return s / (h + options.lambda);
  };

  /** The best split of `members` on one feature, if it beats `best`. */
  const scanFeature = (members: Uint32Array, feature: number, h: number, parent: number, best: BestSplit) => {
    const edges = binned.edges[feature]!;
    if (edges.length === 0) return false;
    const bins = binned.bins[feature]!;
    const nb = edges.length + 1;
    hg.fill(0, 0, nb * K);
    hh.fill(0, 0, nb);
    hc.fill(0, 0, nb);
    for (const r of members) {
      const b = bins[r]!;
      for (let k = 0; k < K; k++) hg[b * K + k]! += gradients[r * K + k]!;
      hh[b]! += hessians[r]!;
      hc[b]!++;
    }
    // A feature that holds one value in this node cannot split it (it does not count as examined).
    let occupied = 0;
    for (let b = 0; b < nb && occupied < 2; b++) if (hc[b]! > 0) occupied++;
    if (occupied < 2) return false;
    gl.fill(0);
    let hl = 0;
    let cl = 0;
    for (let b = 0; b < nb - 1; b++) {
      for (let k = 0; k < K; k++) gl[k]! += hg[b * K + k]!;
      hl += hh[b]!;
      cl += hc[b]!;
      if (hc[b]! === 0) continue;
      const cr = members.length - cl;
      if (cl < options.minSamplesLeaf) continue;
      if (cr < options.minSamplesLeaf) break;
      const gain = score(gl, 0, hl) + score(gl, 0, h - hl, g) - parent;
      if (gain > best.gain) {
        best.gain = gain;
        best.feature = feature;
        best.bin = b;
      }
    }
    return true;
  };

  const grow = (members: Uint32Array, depth: number): number => {
    const id = nodes.length;
    g.fill(0);
    let h = 0;
    for (const r of members) {
      for (let k = 0; k < K; k++) g[k]! += gradients[r * K + k]!;
      h += hessians[r]!;
    }
    const values = Array.from(g, (gk) => Math.fround((-gk / (h + options.lambda)) * options.shrinkage));
    nodes.push({ leaf: true, values });
    if (depth >= options.maxDepth || members.length < 2 * options.minSamplesLeaf) return id;
    const parent = score(g, 0, h);
    // Relative to the node's own score, so a split that only moves rounding noise is not taken.
    const best: BestSplit = { gain: Math.max(1e-12, parent * 1e-12), feature: -1, bin: -1 };
    if (subsample) {
      // Partial Fisher–Yates: examine features in a random order until maxFeatures usable ones
      // were examined and one of them splits (or every feature was tried).
      let examined = 0;
      for (let i = 0; i < width; i++) {
        const j = i + Math.floor(options.random!() * (width - i));
        const f = order[j]!;
        order[j] = order[i]!;
        order[i] = f;
        if (scanFeature(members, f, h, parent, best)) examined++;
        if (examined >= options.maxFeatures! && best.feature >= 0) break;
      }
    } else {
      for (let f = 0; f < width; f++) scanFeature(members, f, h, parent, best);
    }
    if (best.feature < 0) return id;
    const bins = binned.bins[best.feature]!;
    const left = members.filter((r) => bins[r]! <= best.bin);
    const right = members.filter((r) => bins[r]! > best.bin);
    const { feature, bin } = best;
    const leftId = grow(left, depth + 1);
    const rightId = grow(right, depth + 1);
    const threshold = binned.edges[feature]![bin]!;
    nodes[id] = { leaf: false, feature, threshold, left: leftId, right: rightId };
    return id;
  };
  grow(rows, 0);
  return nodes;
}

/** The leaf a row of the design matrix reaches. */
export function treeLeaf(nodes: readonly TreeNode[], x: Float32Array, offset: number): number[] {
  let node = nodes[0]!;
  while (!node.leaf) node = nodes[x[offset + node.feature]! <= node.threshold ? node.left : node.right]!;
  return node.values;
}

/** The first output's leaf value a row reaches (single-output trees). */
export function treeValue(nodes: readonly TreeNode[], x: Float32Array, offset: number): number {
  return treeLeaf(nodes, x, offset)[0]!;
}
