/** Errors of the inference path that the scoring server maps onto protocol answers. */

/** The module's request queue is full; the client should retry after `retryAfterSeconds`. */
export class OverloadedError extends Error {
  constructor(
    readonly module: string,
    readonly queued: number,
    readonly retryAfterSeconds: number,
  ) {
    super(`module ${module} is overloaded (${queued} requests queued); retry after ${retryAfterSeconds} s`);
    this.name = "OverloadedError";
  }
}

/** A request did not finish within its deadline (queued plus run time). */
export class InferenceTimeoutError extends Error {
  constructor(
    readonly module: string,
    readonly timeoutMs: number,
  ) {
    super(`inference on module ${module} did not finish within ${timeoutMs} ms`);
    this.name = "InferenceTimeoutError";
  }
}

/** The worker thread running a request died; the request failed, the worker is being restarted. */
export class WorkerCrashedError extends Error {
  constructor(message: string, options?: ErrorOptions) {
    super(message, options);
    this.name = "WorkerCrashedError";
  }
}
