/**
 * `Idempotency-Key` on the creating POSTs: the first request with a key claims it and runs; its
 * successful (2xx) answer is stored, and a later request with the same key from the same caller
 * to the same route with the same body gets that answer back (`Idempotent-Replayed: true`) without
 * running again. The same key with another route or body is refused (422); a request whose key is
 * still held by a running one waits for it in this hub, or gets 409 with `Retry-After` when the
 * holder is elsewhere (another replica, or a hub that was killed before it answered: then the
 * outcome is unknown and the key stays held until it expires). A request that did not succeed
 * changed nothing, so its key is released for a retry. Requests without the header run as always.
 *
 * The database holds only a sha256 of each key, and the stored answer sealed (AES-256-GCM) with a
 * secret derived from the key itself: a `POST /devices` answer carries the device's secret, which
 * must not lie readable in the database for a day. Only a caller that holds the key can replay it.
 */
import { createCipheriv, createDecipheriv, createHash, randomBytes } from "node:crypto";
import type { Context, MiddlewareHandler } from "hono";
import { IDEMPOTENCY_HEADER, IDEMPOTENT_POST_PATHS } from "../../hub-api/idempotency.js";
import type { Logger } from "../../lib/log.js";
import type { IdempotencyRecord, IdempotencyRepo, IdempotentRequest } from "../repos/index.js";
import type { Principal } from "./auth.js";
import { ApiError } from "./errors.js";
import type { ApiEnv } from "./router.js";

export const IDEMPOTENCY_DEFAULTS = {
  /** How long a key and its stored answer are kept (ms): long enough for any client's retries. */
  ttlMs: 24 * 60 * 60_000,
} as const;

/** The creating POSTs that honour the header (the list clients share): a retry must not create twice. */
export const IDEMPOTENT_ROUTES: ReadonlySet<string> = new Set(
  [...IDEMPOTENT_POST_PATHS].map((path) => `POST ${path}`),
);

/** 1 to 255 visible ASCII characters: room for a UUID with a suffix, nothing that needs escaping. */
const KEY_PATTERN = /^[\x21-\x7e]{1,255}$/;

export interface IdempotencyOptions {
  keys: Pick<IdempotencyRepo, "claim" | "complete" | "release">;
  /** The routes that honour the header, as `METHOD /concrete/path`. */
  routes: ReadonlySet<string>;
  log: Logger;
  ttlMs?: number;
}

/** What the database stores for a key: its sha256, never the key. */
const storedKey = (key: string) => createHash("sha256").update(key).digest("hex");

/** The AES key an answer is sealed with: derived from the caller's key, which the database never sees. */
const sealingKey = (principal: string, key: string) =>
  createHash("sha256").update(`edgefleet idempotency\0${principal}\0${key}`).digest();

/** Seals an answer's body: base64 of IV (12 bytes), GCM tag (16 bytes) and ciphertext. */
function seal(secret: Buffer, text: string): string {
  const iv = randomBytes(12);
  const cipher = createCipheriv("aes-256-gcm", secret, iv);
  const sealed = Buffer.concat([cipher.update(text, "utf8"), cipher.final()]);
  return Buffer.concat([iv, cipher.getAuthTag(), sealed]).toString("base64");
}

/** Opens a sealed body; throws when it was not sealed with this secret. */
function unseal(secret: Buffer, stored: string): string {
  const bytes = Buffer.from(stored, "base64");
  const decipher = createDecipheriv("aes-256-gcm", secret, bytes.subarray(0, 12));
  decipher.setAuthTag(bytes.subarray(12, 28));
  return Buffer.concat([decipher.update(bytes.subarray(28)), decipher.final()]).toString("utf8");
}

/** The caller a key belongs to: keys of different tokens or devices never meet. */
function principalKey(principal: Principal): string {
  if (principal.kind === "operator") return `token:${principal.tokenId}`;
  if (principal.kind === "device") return `device:${principal.deviceId}`;
  return `attempt:${principal.runId}/${principal.attempt}`;
}

const sameRequest = (record: IdempotencyRecord, request: IdempotentRequest) =>
  record.method === request.method &&
  record.path === request.path &&
  record.requestSha256 === request.requestSha256;

/** The answer to a request whose key an earlier request holds. */
function answerHeldKey(
  c: Context,
  record: IdempotencyRecord,
  request: IdempotentRequest,
  secret: Buffer,
): Response {
  if (!sameRequest(record, request)) {
    throw new ApiError(
      "idempotency_key_reused",
      `this ${IDEMPOTENCY_HEADER} was used for a different request (${record.method} ${record.path} with another body); use a new key`,
    );
  }
  if (record.state === "running" || record.responseStatus === null) {
    c.header("retry-after", "1");
    throw new ApiError(
      "conflict",
      `a request with this ${IDEMPOTENCY_HEADER} is still running, or was cut off by a hub restart (its outcome is then unknown: look before sending it again with a new key)`,
      { state: "running" },
    );
  }
  const headers: Record<string, string> = { "idempotent-replayed": "true" };
  if (record.responseType) headers["content-type"] = record.responseType;
  const body = record.responseBody === null ? "" : unseal(secret, record.responseBody);
  return new Response(body, { status: record.responseStatus, headers });
}

/**
 * Runs a keyed creating POST at most once per key and replays its answer.
 * @example app.use("/api/v1/*", idempotency({ keys: repos.idempotency, routes, log }))
 */
export function idempotency(options: IdempotencyOptions): MiddlewareHandler<ApiEnv> {
  const { keys, routes, log } = options;
  const ttlMs = options.ttlMs ?? IDEMPOTENCY_DEFAULTS.ttlMs;
  /** Requests of this hub holding a key, so a concurrent duplicate can wait for the answer. */
  const running = new Map<string, Promise<void>>();

  return async function idempotentRequest(c, next) {
    const key = c.req.header(IDEMPOTENCY_HEADER);
    if (key === undefined || !routes.has(`${c.req.method} ${c.req.path}`)) return next();
    if (!KEY_PATTERN.test(key)) {
      throw new ApiError("bad_request", `${IDEMPOTENCY_HEADER} must be 1 to 255 visible ASCII characters`);
    }
    const principal = principalKey(c.get("principal"));
    const body = await c.req.text();
    const secret = sealingKey(principal, key);
    const request: IdempotentRequest = {
      principal,
      key: storedKey(key),
      method: c.req.method,
      path: c.req.path,
      requestSha256: createHash("sha256").update(body).digest("hex"),
    };
    const slot = `${principal}\n${request.key}`;

    let claim = await keys.claim(request, ttlMs);
    const holder = running.get(slot);
    if (!claim.claimed && holder && sameRequest(claim.existing, request)) {
      await holder;
      claim = await keys.claim(request, ttlMs);
    }
    if (!claim.claimed) return answerHeldKey(c, claim.existing, request, secret);

    let settle = () => {};
    running.set(
      slot,
      new Promise<void>((resolve) => {
        settle = resolve;
      }),
    );
    try {
      await next();
      const response = c.res;
      if (response.status >= 200 && response.status < 300) {
        const stored = {
          status: response.status,
          contentType: response.headers.get("content-type"),
          body: seal(secret, await response.clone().text()),
        };
        await keys.complete(principal, request.key, stored).catch((error: unknown) => {
          // The work is done and answered; a retry will get 409 (outcome unknown), never a second run.
          log.error({ event: "idempotency.store_failed", err: error, path: request.path });
        });
      } else {
        await keys.release(principal, request.key).catch((error: unknown) => {
          log.error({ event: "idempotency.release_failed", err: error, path: request.path });
        });
      }
    } catch (error) {
      await keys.release(principal, request.key).catch(() => {});
      throw error;
    } finally {
      running.delete(slot);
      settle();
    }
  };
}
