/**
 * Webhook targets (issue 12, defect 13): private, loopback, link-local, metadata and other special
 * ranges are refused for IPv4 and IPv6 unless allowed, both for a URL checked at definition and in
 * the socket lookup every send goes through (a name resolving to loopback included).
 */
import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { postWebhook } from "./webhook-post.js";
import { WebhookTargets } from "./webhook-target.js";

describe("WebhookTargets.refusal", () => {
  const targets = new WebhookTargets();
  it.each([
    ["127.0.0.1", "loopback"],
    ["127.8.9.10", "loopback"],
    ["10.1.2.3", "private"],
    ["172.20.0.1", "private"],
    ["192.168.1.1", "private"],
    ["169.254.169.254", "link-local (cloud metadata)"],
    ["100.100.100.200", "carrier-grade NAT"],
    ["0.0.0.0", "this network"],
    ["224.0.0.1", "multicast"],
    ["::1", "loopback"],
    ["::", "unspecified"],
    ["fe80::1", "link-local"],
    ["fd00:ec2::254", "unique-local (private)"],
    ["::ffff:169.254.169.254", "link-local (cloud metadata)"],
    ["::ffff:127.0.0.1", "loopback"],
    ["64:ff9b::10.0.0.1", "private"],
    ["::ffff:a9fe:a9fe", "link-local (cloud metadata)"],
    ["64:ff9b::a00:1", "private"],
  ])("refuses %s (%s)", (address, range) => {
    expect(targets.refusal(address)).toBe(range);
  });

  it.each(["93.184.215.14", "8.8.8.8", "2606:4700::1111", "172.32.0.1"])("lets %s through", (address) => {
    expect(targets.refusal(address)).toBeNull();
  });

  it("lets configured ranges through, and only those", () => {
    const allowing = new WebhookTargets(["127.0.0.1/32", "10.0.0.0/8", "::1"]);
    expect(allowing.refusal("127.0.0.1")).toBeNull();
    expect(allowing.refusal("10.9.9.9")).toBeNull();
    expect(allowing.refusal("::1")).toBeNull();
    expect(allowing.refusal("127.0.0.2")).toBe("loopback");
    expect(allowing.refusal("169.254.169.254")).toBe("link-local (cloud metadata)");
  });

  it("refuses a malformed allow entry when it is built", () => {
    expect(() => new WebhookTargets(["not-an-address/8"])).toThrow(/not an address or CIDR/);
  });
});

describe("WebhookTargets.checkUrl (at definition)", () => {
  const targets = new WebhookTargets();
  it.each([
    "http://169.254.169.254/latest/meta-data/",
    "http://[::1]:8080/hook",
    "https://10.0.0.5/hook",
    "http://[fe80::1]/hook",
    "http://localhost:9000/hook",
    "http://[::ffff:169.254.169.254]/latest/meta-data/",
  ])("refuses %s with a 400 naming the setting", async (url) => {
    await expect(targets.checkUrl(url)).rejects.toMatchObject({
      code: "bad_request",
      message: expect.stringMatching(/which webhooks may not reach; allow it with EDGEFLEET_WEBHOOK_ALLOW/),
    });
  });

  it("accepts a public address", async () => {
    await expect(targets.checkUrl("https://93.184.215.14/hook")).resolves.toBeUndefined();
  });
});

describe("postWebhook (at send, on the resolved address)", () => {
  let server: Server;
  let port: number;
  let received = 0;
  beforeAll(async () => {
    server = createServer((request, response) => {
      received++;
      request.resume();
      response.writeHead(204).end();
    });
    await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
    port = (server.address() as AddressInfo).port;
  });
  afterAll(async () => new Promise((resolve) => server.close(resolve)));

  const post = (url: string, targets: WebhookTargets) =>
    postWebhook({ url, headers: {}, body: "{}", timeoutMs: 5_000, targets });

  it("never connects to a refused address, by literal or by name", async () => {
    await expect(post(`http://127.0.0.1:${port}/hook`, new WebhookTargets())).rejects.toThrow(
      /127\.0\.0\.1 \(127\.0\.0\.1\) is in a loopback range/,
    );
    await expect(post(`http://localhost:${port}/hook`, new WebhookTargets())).rejects.toThrow(
      /localhost \((127\.0\.0\.1|::1)\) is in a loopback range/,
    );
    expect(received).toBe(0);
  });

  it("delivers to an allowed range", async () => {
    await expect(post(`http://127.0.0.1:${port}/hook`, new WebhookTargets(["127.0.0.1/32"]))).resolves.toBe(
      204,
    );
    expect(received).toBe(1);
  });
});
