/** The hub's code table maps domain errors by type and code, never by a name string. */
import { describe, expect, it } from "vitest";
import { z } from "zod";
import {
  ConflictError,
  DOMAIN_ERROR_CODES,
  DomainError,
  LeaseLostError,
  NotFoundError,
  ValidationError,
} from "../../lib/errors.js";
import { InvalidManifestError } from "../../modules/errors.js";
import { InvalidModelError } from "../../modules/onnx/inspect.js";
import { leaseLost } from "../repos/runs.js";
import { RolloutSpecError } from "../rollouts/spec.js";
import { ApiError, ERROR_STATUS, toApiError } from "./errors.js";

describe("toApiError", () => {
  it("keeps each domain error's code, message and details", () => {
    const cases: [Error, string, number][] = [
      [new ValidationError("bad", { field: "x" }), "bad_request", 400],
      [new NotFoundError("model", "m"), "not_found", 404],
      [new ConflictError("module", "m@1"), "conflict", 409],
      [leaseLost("run_1", 2), "lease_lost", 409],
      [new InvalidModelError("not onnx"), "invalid_model", 400],
      [new InvalidManifestError(["a", "b"]), "bad_request", 400],
      [new RolloutSpecError("waves contradict"), "bad_request", 400],
      [new DomainError("unavailable", "later", { transient: true }), "unavailable", 503],
    ];
    for (const [error, code, status] of cases) {
      const api = toApiError(error)!;
      expect(api).toBeInstanceOf(ApiError);
      expect(api.code).toBe(code);
      expect(ERROR_STATUS[api.code]).toBe(status);
      expect(api.message).toBe(error.message);
    }
    expect(toApiError(new ValidationError("bad", { field: "x" }))!.details).toEqual({ field: "x" });
    expect(toApiError(new InvalidManifestError(["a", "b"]))!.details).toEqual(["a", "b"]);
  });

  it("gives every domain code a status", () => {
    for (const code of DOMAIN_ERROR_CODES) expect(ERROR_STATUS[code]).toBeGreaterThanOrEqual(400);
  });

  it("does not trust a name: a plain Error called NotFoundError stays unknown (a 500)", () => {
    for (const name of [
      "NotFoundError",
      "ConflictError",
      "LeaseLostError",
      "ValidationError",
      "InvalidModelError",
    ]) {
      expect(toApiError(Object.assign(new Error("x"), { name }))).toBeUndefined();
    }
  });

  it("maps validation failures from zod to bad_request with the issues", () => {
    const result = z.object({ a: z.string() }).safeParse({ a: 1 });
    const api = toApiError(result.error)!;
    expect(api.code).toBe("bad_request");
    expect(Array.isArray(api.details)).toBe(true);
  });
});

describe("lease_lost", () => {
  it("is the shared LeaseLostError, with the attempt it is about", () => {
    const error = leaseLost("run_1", 2);
    expect(error).toBeInstanceOf(LeaseLostError);
    expect(error.attempt).toEqual({ runId: "run_1", attempt: 2 });
    expect(error.transient).toBe(false);
  });
});
