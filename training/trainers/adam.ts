/** The Adam optimiser (Kingma & Ba, 2015) over one flat parameter vector. */
export class Adam {
  readonly #m: Float64Array;
  readonly #v: Float64Array;
  #t = 0;

  /** `size` parameters, learning rate `lr`; betas and epsilon as in the paper. */
  constructor(
    size: number,
    private readonly lr: number,
    private readonly beta1 = 0.9,
    private readonly beta2 = 0.999,
    private readonly epsilon = 1e-8,
  ) {
    this.#m = new Float64Array(size);
    this.#v = new Float64Array(size);
  }

  /** Moves `params` against `grads` by one step. */
  step(params: Float64Array, grads: Float64Array): void {
    this.#t++;
    const c1 = 1 - this.beta1 ** this.#t;
    const c2 = 1 - this.beta2 ** this.#t;
    for (let i = 0; i < params.length; i++) {
      const g = grads[i]!;
      this.#m[i] = this.beta1 * this.#m[i]! + (1 - this.beta1) * g;
      this.#v[i] = this.beta2 * this.#v[i]! + (1 - this.beta2) * g * g;
      params[i]! -= (this.lr * (this.#m[i]! / c1)) / (Math.sqrt(this.#v[i]! / c2) + this.epsilon);
    }
  }
}
