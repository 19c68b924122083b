/** Errors the module format raises; hub and agent map them to HTTP codes and reported states. */
import { DomainError } from "../lib/errors.js";

/** Why a module tarball was refused: its structure, its signature, or its model file's hash/size. */
export type VerificationFailure = "format" | "signature" | "hash";

/** A module tarball failed verification; nothing it contained was kept. */
export class ModuleVerificationError extends Error {
  override readonly name = "ModuleVerificationError";

  /** Wraps `message` with the failed check's `reason`. */
  constructor(
    readonly reason: VerificationFailure,
    message: string,
  ) {
    super(message);
  }
}

/** A manifest handed to the packer is invalid or does not describe the model it comes with. */
export class InvalidManifestError extends DomainError {
  override name = "InvalidManifestError";

  /** `issues` lists every problem found, one line each (the message shows the first few). */
  constructor(readonly issues: string[]) {
    super(
      "bad_request",
      `invalid module manifest: ${issues.slice(0, 3).join("; ")}${issues.length > 3 ? "; …" : ""}`,
      { details: issues },
    );
  }
}
