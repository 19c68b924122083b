/**
 * Which addresses a monitor's webhook may reach. A webhook is a request the hub makes on an
 * operator's behalf from inside its network, so by default it may not go to this machine
 * (loopback), the local network (RFC 1918, unique-local IPv6), link-local (cloud metadata at
 * 169.254.169.254 included) or other special ranges: an operator could otherwise make the hub
 * read or poke internal services (server-side request forgery). Ranges the operator trusts are
 * allowed with `EDGEFLEET_WEBHOOK_ALLOW` (CIDRs).
 *
 * The check runs twice: when a monitor is created or patched (an IP literal or a name that
 * resolves to a refused address is a 400), and at every send, inside the socket's own DNS
 * lookup, so the address checked is the address connected to (no DNS-rebinding gap).
 */
import { lookup as dnsLookup, type LookupAddress } from "node:dns";
import { BlockList, isIP, type LookupFunction } from "node:net";
import { ValidationError } from "../../lib/errors.js";

/** Ranges a webhook may not reach unless allowed, with the name a refusal gives. */
const REFUSED_RANGES: readonly { cidr: string; name: string }[] = [
  { cidr: "0.0.0.0/8", name: "this network" },
  { cidr: "10.0.0.0/8", name: "private" },
  { cidr: "100.64.0.0/10", name: "carrier-grade NAT" },
  { cidr: "127.0.0.0/8", name: "loopback" },
  { cidr: "169.254.0.0/16", name: "link-local (cloud metadata)" },
  { cidr: "172.16.0.0/12", name: "private" },
  { cidr: "192.0.0.0/24", name: "IETF protocol assignments" },
  { cidr: "192.168.0.0/16", name: "private" },
  { cidr: "198.18.0.0/15", name: "benchmarking" },
  { cidr: "224.0.0.0/4", name: "multicast" },
  { cidr: "240.0.0.0/4", name: "reserved" },
  { cidr: "::/128", name: "unspecified" },
  { cidr: "::1/128", name: "loopback" },
  { cidr: "fc00::/7", name: "unique-local (private)" },
  { cidr: "fe80::/10", name: "link-local" },
  { cidr: "ff00::/8", name: "multicast" },
];

/**
 * IPv6 forms that carry an IPv4 address the kernel would reach: mapped (::ffff:a.b.c.d) and NAT64
 * (64:ff9b::/96), dotted or in the hex form URL parsing normalises them to (::ffff:a9fe:a9fe).
 */
const EMBEDDED_V4_DOTTED = /^(?:::ffff:|64:ff9b::)(\d{1,3}(?:\.\d{1,3}){3})$/i;
const EMBEDDED_V4_HEX = /^(?:::ffff:|64:ff9b::)([0-9a-f]{1,4}):([0-9a-f]{1,4})$/i;

/** The IPv4 address an IPv4-carrying IPv6 address reaches, or undefined. */
function embeddedV4(address: string): string | undefined {
  const dotted = EMBEDDED_V4_DOTTED.exec(address)?.[1];
  if (dotted) return dotted;
  const hex = EMBEDDED_V4_HEX.exec(address);
  if (!hex) return undefined;
  const high = Number.parseInt(hex[1]!, 16);
  const low = Number.parseInt(hex[2]!, 16);
  return [high >> 8, high & 255, low >> 8, low & 255].join(".");
}

/** Decides which resolved addresses a webhook may reach. */
export class WebhookTargets {
  readonly #allowed = new BlockList();
  readonly #allowedCidrs: readonly string[];

  /** `allow`: CIDRs (or single addresses) the operator trusts, e.g. `["127.0.0.1/32", "10.0.0.0/8"]`. */
  constructor(allow: readonly string[] = []) {
    this.#allowedCidrs = allow;
    for (const entry of allow) {
      const [address, bits] = entry.split("/");
      const family = isIP(address ?? "");
      if (family === 0) throw new Error(`webhook allow entry "${entry}" is not an address or CIDR`);
      const type = family === 4 ? "ipv4" : "ipv6";
      if (bits === undefined) this.#allowed.addAddress(address!, type);
      else this.#allowed.addSubnet(address!, Number(bits), type);
    }
  }

  /** Why the address may not be reached (the range's name), or null when it may. */
  refusal(address: string): string | null {
    const bare = address.replace(/^\[|\]$/g, "");
    const embedded = embeddedV4(bare);
    const candidate = embedded ?? bare;
    const family = isIP(candidate);
    if (family === 0) return "not an IP address";
    const type = family === 4 ? "ipv4" : "ipv6";
    if (this.#allowed.check(candidate, type)) return null;
    for (const range of REFUSED_RANGES) {
      const [net, bits] = range.cidr.split("/") as [string, string];
      if (isIP(net) !== family) continue;
      const list = new BlockList();
      list.addSubnet(net, Number(bits), type);
      if (list.check(candidate, type)) return range.name;
    }
    return null;
  }

  /** Checks a webhook URL when a monitor is defined: a 400 for a refused literal or resolved address. */
  async checkUrl(url: string): Promise<void> {
    const host = new URL(url).hostname.replace(/^\[|\]$/g, "");
    const addresses = isIP(host) ? [host] : await resolveAll(host);
    for (const address of addresses) {
      const why = this.refusal(address);
      if (why) throw new ValidationError(this.#message(host, address, why));
    }
  }

  /**
   * Throws for an IP-literal host that is refused. Sockets skip `lookup` for literals, so a send
   * checks them here and names through `lookup()`.
   */
  assertLiteral(hostname: string): void {
    const host = hostname.replace(/^\[|\]$/g, "");
    if (isIP(host) === 0) return;
    const why = this.refusal(host);
    if (why) throw new Error(this.#message(host, host, why));
  }

  /** A socket `lookup` that resolves as usual and fails for refused addresses, so a send never connects to one. */
  lookup(): LookupFunction {
    return (hostname, options, callback) => {
      dnsLookup(hostname, { ...options, all: true }, (error, resolved: LookupAddress[]) => {
        if (error) return callback(error, "", 0);
        const refused = resolved.map((entry) => [entry, this.refusal(entry.address)] as const);
        const first = refused.find(([, why]) => why !== null);
        if (first) {
          return callback(new Error(this.#message(hostname, first[0].address, first[1]!)), "", 0);
        }
        if (options.all)
          return (callback as unknown as (e: null, a: LookupAddress[]) => void)(null, resolved);
        const chosen = resolved[0]!;
        callback(null, chosen.address, chosen.family);
      });
    };
  }

  #message(host: string, address: string, why: string): string {
    const allowed = this.#allowedCidrs.length > 0 ? ` (allowed: ${this.#allowedCidrs.join(", ")})` : "";
    return `webhook target ${host} (${address}) is in a ${why} range, which webhooks may not reach; allow it with EDGEFLEET_WEBHOOK_ALLOW${allowed}`;
  }
}

/** Every address a name resolves to; a name that does not resolve now is checked again at send time. */
async function resolveAll(host: string): Promise<string[]> {
  return new Promise((resolve) => {
    dnsLookup(host, { all: true }, (error, addresses) =>
      resolve(error ? [] : addresses.map((a) => a.address)),
    );
  });
}
