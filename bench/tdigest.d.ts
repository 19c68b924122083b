/** Types for the parts of `tdigest` (MIT, no bundled types) that bench D1 uses. */
declare module "tdigest" {
  export class TDigest {
    constructor(delta?: number | false, K?: number, CX?: number);
    push(x: number | number[], n?: number): void;
    compress(): void;
    toArray(everything?: boolean): { mean: number; n: number }[];
  }
}
