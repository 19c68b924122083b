/**
 * One webhook POST over node:http(s), whose `lookup` option lets the target policy see the address
 * the socket is about to connect to (fetch offers no such hook without an extra dependency); IP
 * literals, which sockets never look up, are checked before the request starts.
 */
import { request as httpRequest } from "node:http";
import { request as httpsRequest } from "node:https";
import type { WebhookTargets } from "./webhook-target.js";

export interface WebhookPost {
  url: string;
  headers: Record<string, string>;
  body: string;
  timeoutMs: number;
  targets: Pick<WebhookTargets, "assertLiteral" | "lookup">;
}

/** POSTs and resolves with the status code; rejects on a refused address, network error or timeout. */
export function postWebhook(post: WebhookPost): Promise<number> {
  const target = new URL(post.url);
  const send = target.protocol === "https:" ? httpsRequest : httpRequest;
  return new Promise((resolve, reject) => {
    try {
      post.targets.assertLiteral(target.hostname);
    } catch (refused) {
      return reject(refused);
    }
    const request = send(
      target,
      {
        method: "POST",
        headers: { ...post.headers, "content-length": String(Buffer.byteLength(post.body)) },
        lookup: post.targets.lookup(),
        timeout: post.timeoutMs,
      },
      (response) => {
        // Drain the answer: only its status matters, and an unread body would hold the socket.
        response.resume();
        response.on("end", () => resolve(response.statusCode ?? 0));
        response.on("error", reject);
      },
    );
    request.on("timeout", () => request.destroy(new Error(`no answer within ${post.timeoutMs} ms`)));
    request.on("error", reject);
    request.end(post.body);
  });
}
