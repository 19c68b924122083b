import { describe, expect, it } from "vitest";
import { commandTopic, deviceTopic, responseTopic } from "../../wire/topics.js";
import {
  authenticate,
  authorizePublish,
  authorizeSubscribe,
  BROKER_DEFAULTS,
  CONNACK,
  type ConnectRequest,
  HUB_USERNAME,
  isReservedDeviceId,
  type PolicyDeps,
  type Principal,
  principalForOrphanWill,
} from "./policy.js";

const HUB_SECRET = "hub-secret-0123456789";
const SECRETS = new Map([["dev-1", "s3cret-1"]]);
const deps: PolicyDeps = {
  hubSecret: HUB_SECRET,
  verifyDevice: async (id, secret) => SECRETS.get(id) === secret,
};
const device: Principal = { kind: "device", deviceId: "dev-1" };
const hub: Principal = { kind: "hub" };

function connect(overrides: Partial<ConnectRequest>): ConnectRequest {
  return {
    clientId: "dev-1",
    username: "dev-1",
    password: Buffer.from("s3cret-1"),
    connectedClients: 0,
    takesOverSession: false,
    ...overrides,
  };
}

const publish = (topic: string, extra: { payloadBytes?: number; retain?: boolean } = {}) => ({
  topic,
  payloadBytes: extra.payloadBytes ?? 10,
  retain: extra.retain ?? false,
});

describe("authenticate: hub", () => {
  it("admits the hub with its secret and a client id carrying the hub prefix", async () => {
    for (const clientId of [HUB_USERNAME, "edgefleet-hub-a1"]) {
      const decision = await authenticate(
        connect({ clientId, username: HUB_USERNAME, password: HUB_SECRET }),
        deps,
      );
      expect(decision).toEqual({ ok: true, principal: hub });
    }
  });

  it("refuses a wrong hub secret with code 4", async () => {
    const decision = await authenticate(
      connect({ clientId: HUB_USERNAME, username: HUB_USERNAME, password: "x" }),
      deps,
    );
    expect(decision).toMatchObject({ ok: false, returnCode: CONNACK.badUsernameOrPassword });
  });

  it("refuses the hub with a foreign client id with code 2", async () => {
    const decision = await authenticate(
      connect({ clientId: "dev-1", username: HUB_USERNAME, password: HUB_SECRET }),
      deps,
    );
    expect(decision).toMatchObject({ ok: false, returnCode: CONNACK.identifierRejected });
  });

  it("admits the hub even past the connection limit", async () => {
    const request = connect({ clientId: HUB_USERNAME, username: HUB_USERNAME, password: HUB_SECRET });
    const decision = await authenticate({ ...request, connectedClients: 5 }, deps, {
      ...BROKER_DEFAULTS,
      maxConnections: 1,
    });
    expect(decision.ok).toBe(true);
  });
});

describe("authenticate: devices", () => {
  it("admits a device whose secret verifies", async () => {
    expect(await authenticate(connect({}), deps)).toEqual({ ok: true, principal: device });
  });

  it("admits a device whose will is its own retained status", async () => {
    const will = publish(deviceTopic("dev-1", "status"), { retain: true });
    expect((await authenticate(connect({ will }), deps)).ok).toBe(true);
  });

  it.each([
    ["no username", { username: undefined }, CONNACK.badUsernameOrPassword],
    ["no password", { password: undefined }, CONNACK.badUsernameOrPassword],
    ["empty password", { password: "" }, CONNACK.badUsernameOrPassword],
    ["wrong secret", { password: "nope" }, CONNACK.badUsernameOrPassword],
    ["unknown device", { clientId: "dev-9", username: "dev-9" }, CONNACK.badUsernameOrPassword],
    ["invalid device id", { clientId: "Dev_1", username: "Dev_1" }, CONNACK.badUsernameOrPassword],
    [
      "reserved device id",
      { clientId: "edgefleet-hub-x", username: "edgefleet-hub-x" },
      CONNACK.badUsernameOrPassword,
    ],
    ["client id not the device id [WIRE-2.2]", { clientId: "dev-2" }, CONNACK.identifierRejected],
    ["hub-like client id", { clientId: "edgefleet-hub" }, CONNACK.identifierRejected],
    ["will on another device", { will: publish(deviceTopic("dev-2", "status")) }, CONNACK.notAuthorized],
    ["will on desired", { will: publish(deviceTopic("dev-1", "desired")) }, CONNACK.notAuthorized],
  ] as const)("refuses %s", async (_name, overrides, returnCode) => {
    const decision = await authenticate(connect(overrides as Partial<ConnectRequest>), deps);
    expect(decision).toMatchObject({ ok: false, returnCode });
    if (!decision.ok) expect(decision.reason).not.toContain("s3cret");
  });

  it("refuses a new device at the connection limit with code 3 but admits a session takeover", async () => {
    const limits = { ...BROKER_DEFAULTS, maxConnections: 2 };
    const full = await authenticate(connect({ connectedClients: 2 }), deps, limits);
    expect(full).toMatchObject({ ok: false, returnCode: CONNACK.serverUnavailable });
    const takeover = await authenticate(
      connect({ connectedClients: 2, takesOverSession: true }),
      deps,
      limits,
    );
    expect(takeover.ok).toBe(true);
  });

  it("answers code 3 when the credential check throws, so the device retries", async () => {
    const failing: PolicyDeps = {
      hubSecret: HUB_SECRET,
      verifyDevice: async () => {
        throw new Error("database unavailable");
      },
    };
    const decision = await authenticate(connect({}), failing);
    expect(decision).toMatchObject({ ok: false, returnCode: CONNACK.serverUnavailable });
  });

  it("does not ask the credential store about malformed or reserved ids", async () => {
    const asked: string[] = [];
    const recording: PolicyDeps = {
      hubSecret: HUB_SECRET,
      verifyDevice: async (id) => {
        asked.push(id);
        return true;
      },
    };
    await authenticate(connect({ clientId: "a/b", username: "a/b" }), recording);
    await authenticate(connect({ clientId: "edgefleet-hub-1", username: "edgefleet-hub-1" }), recording);
    expect(asked).toEqual([]);
  });
});

describe("authorizePublish: devices", () => {
  it.each([
    deviceTopic("dev-1", "reported"),
    deviceTopic("dev-1", "status"),
    deviceTopic("dev-1", "telemetry"),
    deviceTopic("dev-1", "events"),
    responseTopic("dev-1", "req-1"),
    `${responseTopic("dev-1", "req-1")}/part`,
  ])("allows its own %s", (topic) => {
    expect(authorizePublish(device, publish(topic))).toEqual({ ok: true });
  });

  it("allows retained reported and status, including the empty payload that clears them [WIRE-2.4]", () => {
    expect(authorizePublish(device, publish(deviceTopic("dev-1", "reported"), { retain: true })).ok).toBe(
      true,
    );
    expect(
      authorizePublish(device, publish(deviceTopic("dev-1", "status"), { retain: true, payloadBytes: 0 })).ok,
    ).toBe(true);
  });

  it.each([
    ["its own desired", deviceTopic("dev-1", "desired")],
    ["its own commands", commandTopic("dev-1", "ping")],
    ["another device's status", deviceTopic("dev-2", "status")],
    ["another device's responses", responseTopic("dev-2", "r")],
    ["a topic outside the tree", "other/topic"],
    ["the device root", "edgefleet/v1/devices/dev-1"],
    ["an unknown kind", "edgefleet/v1/devices/dev-1/logs"],
    ["responses without an id", "edgefleet/v1/devices/dev-1/responses/"],
    ["responses with an empty level", "edgefleet/v1/devices/dev-1/responses/a//b"],
    ["$SYS", "$SYS/broker/x"],
    ["a wildcard", "edgefleet/v1/devices/+/status"],
  ])("refuses %s", (_name, topic) => {
    const decision = authorizePublish(device, publish(topic));
    expect(decision.ok).toBe(false);
  });

  it.each(["telemetry", "events"] as const)("refuses retained %s", (kind) => {
    const decision = authorizePublish(device, publish(deviceTopic("dev-1", kind), { retain: true }));
    expect(decision).toMatchObject({ ok: false, reason: expect.stringContaining("retained") });
  });

  it("refuses a retained message on another device's topic [WIRE-2.4]", () => {
    expect(authorizePublish(device, publish(deviceTopic("dev-2", "reported"), { retain: true })).ok).toBe(
      false,
    );
  });

  it("refuses a retained response", () => {
    expect(authorizePublish(device, publish(responseTopic("dev-1", "r"), { retain: true })).ok).toBe(false);
  });

  it("enforces the device payload limit at the boundary [WIRE-1.4]", () => {
    const topic = deviceTopic("dev-1", "telemetry");
    const max = BROKER_DEFAULTS.maxDevicePayloadBytes;
    expect(authorizePublish(device, publish(topic, { payloadBytes: max })).ok).toBe(true);
    expect(authorizePublish(device, publish(topic, { payloadBytes: max + 1 })).ok).toBe(false);
  });
});

describe("authorizePublish: hub", () => {
  it("allows any device topic, retained or not", () => {
    expect(authorizePublish(hub, publish(deviceTopic("dev-1", "desired"), { retain: true })).ok).toBe(true);
    expect(authorizePublish(hub, publish(commandTopic("dev-2", "ping"))).ok).toBe(true);
    expect(authorizePublish(hub, publish("anything/else")).ok).toBe(true);
  });

  it("refuses $SYS and payloads over the hub limit [WIRE-2.4] [WIRE-1.4]", () => {
    expect(authorizePublish(hub, publish("$SYS/x")).ok).toBe(false);
    const tooBig = BROKER_DEFAULTS.maxHubPayloadBytes + 1;
    expect(authorizePublish(hub, publish(deviceTopic("dev-1", "desired"), { payloadBytes: tooBig })).ok).toBe(
      false,
    );
  });
});

describe("authorizeSubscribe", () => {
  it.each([
    deviceTopic("dev-1", "desired"),
    "edgefleet/v1/devices/dev-1/commands/#",
    commandTopic("dev-1", "ping"),
  ])("allows a device %s", (filter) => {
    expect(authorizeSubscribe(device, filter)).toEqual({ ok: true });
  });

  it.each([
    ["another device's desired", deviceTopic("dev-2", "desired")],
    ["another device's commands", "edgefleet/v1/devices/dev-2/commands/#"],
    ["all devices' desired", "edgefleet/v1/devices/+/desired"],
    ["everything", "#"],
    ["the whole tree", "edgefleet/v1/devices/#"],
    ["its own subtree by #", "edgefleet/v1/devices/dev-1/#"],
    ["its own subtree by +", "edgefleet/v1/devices/dev-1/+"],
    ["commands by +", "edgefleet/v1/devices/dev-1/commands/+"],
    ["commands/", "edgefleet/v1/devices/dev-1/commands/"],
    ["a command name with #", "edgefleet/v1/devices/dev-1/commands/a/#"],
    ["its own status", deviceTopic("dev-1", "status")],
    ["its own responses", "edgefleet/v1/devices/dev-1/responses/#"],
    ["desired with a suffix", "edgefleet/v1/devices/dev-1/desired/#"],
    ["a shared subscription", "$share/g/edgefleet/v1/devices/dev-1/desired"],
    ["$SYS", "$SYS/#"],
  ])("refuses a device %s", (_name, filter) => {
    expect(authorizeSubscribe(device, filter).ok).toBe(false);
  });

  it("allows the hub any filter", () => {
    for (const filter of ["#", "edgefleet/v1/devices/+/status", "edgefleet/v1/devices/+/responses/+"]) {
      expect(authorizeSubscribe(hub, filter).ok).toBe(true);
    }
  });
});

describe("reserved ids and orphan wills", () => {
  it("reserves the hub prefix", () => {
    expect(isReservedDeviceId("edgefleet-hub")).toBe(true);
    expect(isReservedDeviceId("edgefleet-hub-2")).toBe(true);
    expect(isReservedDeviceId("dev-1")).toBe(false);
  });

  it("judges an orphan will by the device its client id names", () => {
    expect(principalForOrphanWill("dev-1")).toEqual(device);
    expect(principalForOrphanWill("edgefleet-hub")).toBeNull();
    expect(principalForOrphanWill("not a device")).toBeNull();
  });
});

describe("authenticate: throttle and client certificates", () => {
  it("refuses a blocked source with CONNACK 3 before checking the secret, and admits a recently verified one", async () => {
    const { AuthThrottle } = await import("../credentials/auth-throttle.js");
    const throttle = new AuthThrottle({ freeFailuresPerSource: 1, freeFailuresPerDevice: 100 });
    let checks = 0;
    const counting: PolicyDeps = {
      ...deps,
      throttle,
      verifyDevice: async (id, secret) => {
        checks += 1;
        return SECRETS.get(id) === secret;
      },
      recentlyVerified: (id, secret) => id === "dev-1" && secret === "s3cret-1",
    };
    const wrong = connect({
      clientId: "dev-2",
      username: "dev-2",
      password: Buffer.from("x"),
      source: "10.0.0.9",
    });
    expect(await authenticate(wrong, counting)).toMatchObject({
      ok: false,
      returnCode: CONNACK.badUsernameOrPassword,
    });
    expect(await authenticate(wrong, counting)).toMatchObject({
      ok: false,
      returnCode: CONNACK.badUsernameOrPassword,
    });
    const checked = checks;
    expect(await authenticate(wrong, counting)).toMatchObject({
      ok: false,
      returnCode: CONNACK.serverUnavailable,
    });
    expect(checks).toBe(checked);
    expect(await authenticate(connect({ source: "10.0.0.9" }), counting)).toMatchObject({ ok: true });
  });

  it("takes the device id from a verified certificate and checks it is the device's current one", async () => {
    const withCerts: PolicyDeps = {
      ...deps,
      verifyDeviceCertificate: async (id, cert) => id === "dev-1" && cert.sha256 === "aa",
    };
    const cert = { deviceId: "dev-1", sha256: "aa", external: false };
    const noPassword = { username: undefined, password: undefined, certificate: cert };
    expect(await authenticate(connect(noPassword), withCerts)).toEqual({ ok: true, principal: device });
    expect(
      await authenticate(connect({ ...noPassword, certificate: { ...cert, sha256: "bb" } }), withCerts),
    ).toMatchObject({
      ok: false,
      returnCode: CONNACK.notAuthorized,
    });
    // A username or client id naming another device than the certificate is refused.
    expect(await authenticate(connect({ ...noPassword, username: "dev-2" }), withCerts)).toMatchObject({
      ok: false,
    });
    expect(await authenticate(connect({ ...noPassword, clientId: "dev-2" }), withCerts)).toMatchObject({
      ok: false,
      returnCode: CONNACK.identifierRejected,
    });
    // Without a certificate check configured, certificates are not accepted at all.
    expect(await authenticate(connect(noPassword), deps)).toMatchObject({
      ok: false,
      returnCode: CONNACK.notAuthorized,
    });
  });
});
