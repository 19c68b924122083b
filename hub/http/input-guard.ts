/**
 * Refuses, before any handler or statement sees it, input the store cannot hold as sent: a path
 * or query whose percent-encoding is not UTF-8, and NUL characters or lone UTF-16 surrogates in
 * the path, the query, or any key or string of a JSON body (PostgreSQL `text` and `jsonb` refuse
 * them, and one such value must not fail a statement that carries other callers' data). JSON
 * bodies that do not parse are refused here too, with the same 400 everywhere.
 */
import type { MiddlewareHandler } from "hono";
import { findUnstorable, unstorableReason } from "../../lib/storable-text.js";
import { ApiError } from "./errors.js";
import type { ApiEnv } from "./router.js";

function decoded(text: string, where: string): string {
  try {
    return decodeURIComponent(text.replace(/\+/g, " "));
  } catch {
    throw new ApiError("bad_request", `the ${where} is not valid percent-encoded UTF-8`);
  }
}

function checkText(text: string, where: string): void {
  const reason = unstorableReason(text);
  if (reason) throw new ApiError("bad_request", `the ${where} ${reason}`);
}

/**
 * Checks the path, the query and JSON bodies for text that cannot be stored.
 * @example app.use("/api/v1/*", inputGuard())
 */
export function inputGuard(): MiddlewareHandler<ApiEnv> {
  return async function guardInput(c, next) {
    const url = new URL(c.req.url);
    checkText(decoded(url.pathname, "path"), "path");
    for (const pair of url.search.slice(1).split("&")) {
      if (pair) checkText(decoded(pair, "query"), "query");
    }
    const type = c.req.header("content-type") ?? "";
    if (c.req.raw.body && /^application\/([\w.+-]*\+)?json\b/i.test(type.trim())) {
      const text = await c.req.text();
      if (text.trim().length > 0) {
        let body: unknown;
        try {
          body = JSON.parse(text);
        } catch (error) {
          throw new ApiError("bad_request", `the body is not valid JSON: ${(error as Error).message}`);
        }
        const bad = findUnstorable(body);
        if (bad)
          throw new ApiError("bad_request", `the body at ${bad.path} ${bad.reason}`, { path: bad.path });
      }
    }
    return next();
  };
}
