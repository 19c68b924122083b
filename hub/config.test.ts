/** Hub config: plaintext listeners stay on loopback unless the operator says --insecure (issue 12). */
import { describe, expect, it } from "vitest";
import { HUB_DEFAULTS, hubTlsMode, isLoopbackHost, parseHubConfig } from "./config.js";

describe("parseHubConfig: plaintext only on loopback by default", () => {
  it("binds HTTP and the embedded broker to loopback by default", () => {
    const config = parseHubConfig({ dataDir: "/tmp/x" });
    expect(config.host).toBe("127.0.0.1");
    expect(config.mqttHost).toBe("127.0.0.1");
    expect(HUB_DEFAULTS.insecure).toBe(false);
  });

  it("refuses a plaintext listener on a wildcard or LAN address, naming each and the way out", () => {
    expect(() => parseHubConfig({ mqttHost: "0.0.0.0", tls: "off" })).toThrow(
      /embedded MQTT broker on 0\.0\.0\.0:1883.*--insecure/s,
    );
    expect(() => parseHubConfig({}, { EDGEFLEET_HOST: "192.168.1.10", EDGEFLEET_TLS: "off" })).toThrow(
      /HTTP on 192\.168\.1\.10:8470/,
    );
    expect(() => parseHubConfig({ host: "::", tls: "off" })).toThrow(/plaintext beyond this machine/);
  });

  it("turns TLS on with the hub's own CA when a listener leaves loopback and nothing was said", () => {
    expect(hubTlsMode(parseHubConfig({ mqttHost: "0.0.0.0" }))).toBe("auto");
    expect(hubTlsMode(parseHubConfig({ host: "192.168.1.10" }))).toBe("auto");
    expect(hubTlsMode(parseHubConfig({}))).toBe("off");
    expect(hubTlsMode(parseHubConfig({}, { EDGEFLEET_TLS: "auto" }))).toBe("auto");
    expect(hubTlsMode(parseHubConfig({ host: "0.0.0.0", insecure: true }))).toBe("off");
    expect(hubTlsMode(parseHubConfig({ tlsCert: "c.pem", tlsKey: "k.pem", host: "0.0.0.0" }))).toBe("files");
    expect(() => parseHubConfig({ tlsCert: "c.pem" })).toThrow(/go together/);
    expect(() => parseHubConfig({ tls: "off", tlsCert: "c.pem", tlsKey: "k.pem" })).toThrow(/contradicts/);
  });

  it("allows them with --insecure or EDGEFLEET_INSECURE=1, and an external broker's address is not ours to judge", () => {
    expect(parseHubConfig({ mqttHost: "0.0.0.0", insecure: true }).mqttHost).toBe("0.0.0.0");
    expect(parseHubConfig({ host: "0.0.0.0" }, { EDGEFLEET_INSECURE: "1" }).host).toBe("0.0.0.0");
    expect(parseHubConfig({ mqttHost: "0.0.0.0", mqttUrl: "mqtts://broker.lan:8883" }).mqttUrl).toBe(
      "mqtts://broker.lan:8883",
    );
  });

  it("knows loopback names", () => {
    for (const host of ["127.0.0.1", "127.1.2.3", "localhost", "::1", "[::1]"])
      expect(isLoopbackHost(host)).toBe(true);
    for (const host of ["0.0.0.0", "::", "10.0.0.1", "hub.local"]) expect(isLoopbackHost(host)).toBe(false);
  });

  it("reads webhook allow ranges from EDGEFLEET_WEBHOOK_ALLOW and refuses what is not an address or CIDR", () => {
    expect(parseHubConfig().webhookAllow).toEqual([]);
    expect(
      parseHubConfig({}, { EDGEFLEET_WEBHOOK_ALLOW: "10.0.0.0/8, 127.0.0.1/32,::1" }).webhookAllow,
    ).toEqual(["10.0.0.0/8", "127.0.0.1/32", "::1"]);
    expect(() => parseHubConfig({}, { EDGEFLEET_WEBHOOK_ALLOW: "intranet.example" })).toThrow(/webhookAllow/);
  });
});
