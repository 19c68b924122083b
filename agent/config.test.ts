/** Agent config: precedence, defaults, trust key sources, and one error listing every problem. */
import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { generateSigningKeyPair } from "../modules/sign.js";
import { AGENT_DEFAULTS, parseAgentConfig, redactAgentConfig } from "./config.js";

const REQUIRED = {
  EDGEFLEET_HUB_URL: "http://hub.local:8470",
  EDGEFLEET_MQTT_URL: "mqtt://hub.local:1883",
  EDGEFLEET_DEVICE_ID: "dev-1",
  EDGEFLEET_DEVICE_SECRET: "top-secret-value",
};
const { publicKeyPem } = generateSigningKeyPair();

let dir: string;
beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), "edgefleet-config-"));
});
afterEach(() => rm(dir, { recursive: true, force: true }));

describe("parseAgentConfig", () => {
  it("fills defaults and resolves the data folder", () => {
    const config = parseAgentConfig({ env: REQUIRED });
    expect(config).toMatchObject({
      hubUrl: "http://hub.local:8470",
      deviceId: "dev-1",
      host: AGENT_DEFAULTS.host,
      port: 8480,
      telemetryIntervalMs: 10_000,
      dataDir: resolve("./.edgefleet-agent"),
      logLevel: "info",
      maxBodyBytes: 16 * 1024 * 1024,
    });
    expect(config.trustKey).toBeUndefined();
  });

  it("takes the body limit from EDGEFLEET_MAX_BODY_BYTES and refuses one too small to hold a request", () => {
    expect(
      parseAgentConfig({ env: { ...REQUIRED, EDGEFLEET_MAX_BODY_BYTES: "33554432" } }).maxBodyBytes,
    ).toBe(32 * 1024 * 1024);
    expect(() => parseAgentConfig({ env: { ...REQUIRED, EDGEFLEET_MAX_BODY_BYTES: "12" } })).toThrow(
      /maxBodyBytes/,
    );
  });

  it("lets flags beat the environment and the environment beat the config file", async () => {
    const file = join(dir, "agent.json");
    await writeFile(
      file,
      JSON.stringify({ port: 9000, host: "0.0.0.0", profile: "from-file", ...fileKeys(REQUIRED) }),
    );
    const config = parseAgentConfig({
      file,
      env: { EDGEFLEET_AGENT_PORT: "9100", EDGEFLEET_PROFILE: "from-env" },
      flags: { port: 9200, profile: undefined },
    });
    expect(config.port).toBe(9200);
    expect(config.profile).toBe("from-env");
    expect(config.host).toBe("0.0.0.0");
    expect(config.mqttUrl).toBe("mqtt://hub.local:1883");
  });

  it("reads the trust key inline or from a file", async () => {
    const keyFile = join(dir, "hub.pem");
    await writeFile(keyFile, publicKeyPem);
    expect(parseAgentConfig({ env: { ...REQUIRED, EDGEFLEET_TRUST_KEY_FILE: keyFile } }).trustKey).toBe(
      publicKeyPem,
    );
    expect(parseAgentConfig({ env: { ...REQUIRED, EDGEFLEET_TRUST_KEY: publicKeyPem } }).trustKey).toBe(
      publicKeyPem,
    );
  });

  it("lists every problem in one error and never echoes the secret", () => {
    let message = "";
    try {
      parseAgentConfig({
        env: {
          EDGEFLEET_HUB_URL: "not a url",
          EDGEFLEET_DEVICE_ID: "Bad_Id",
          EDGEFLEET_DEVICE_SECRET: "top-secret-value",
          EDGEFLEET_AGENT_PORT: "99999",
          EDGEFLEET_TRUST_KEY_FILE: join(dir, "missing.pem"),
        },
      });
    } catch (error) {
      message = (error as Error).message;
    }
    expect(message).toContain("invalid agent configuration");
    for (const key of ["hubUrl", "mqttUrl", "deviceId", "port", "trustKeyFile"])
      expect(message).toContain(key);
    expect(message).not.toContain("top-secret-value");
  });

  it("refuses a config file with unknown keys or that is not JSON", async () => {
    const file = join(dir, "agent.json");
    await writeFile(file, JSON.stringify({ ...fileKeys(REQUIRED), prot: 1 }));
    expect(() => parseAgentConfig({ file })).toThrow(/unknown key "prot"/);
    await writeFile(file, "{ not json");
    expect(() => parseAgentConfig({ file, env: REQUIRED })).toThrow(/config file/);
  });

  it("refuses a trust key that is not a PEM public key", () => {
    expect(() => parseAgentConfig({ env: { ...REQUIRED, EDGEFLEET_TRUST_KEY: "hello" } })).toThrow(
      /trustKey/,
    );
  });

  it("redacts the secret for logs", () => {
    const config = parseAgentConfig({ env: REQUIRED });
    expect(JSON.stringify(redactAgentConfig(config))).not.toContain("top-secret-value");
  });
});

function fileKeys(env: typeof REQUIRED) {
  return {
    hubUrl: env.EDGEFLEET_HUB_URL,
    mqttUrl: env.EDGEFLEET_MQTT_URL,
    deviceId: env.EDGEFLEET_DEVICE_ID,
    deviceSecret: env.EDGEFLEET_DEVICE_SECRET,
  };
}
