/**
 * The embedded MQTT broker: aedes 1.x (MQTT 3.1.1) on a plain TCP or a TLS socket, with `policy.ts` as its
 * authenticate/authorize handlers. The hub itself connects to it as an ordinary MQTT client
 * (`hub/mqtt/hub-link.ts`), exactly as it would to an external broker.
 */
import { createServer, type Server } from "node:net";
import { createServer as createTlsServer, type TLSSocket } from "node:tls";
import { Aedes, type AuthenticateError, type Client, type PublishPacket } from "aedes";
import type { Logger } from "../../lib/log.js";
import type { AuthThrottle } from "../credentials/auth-throttle.js";
import { peerDeviceCertificate } from "../tls/peer-certificate.js";
import {
  authenticate,
  authorizePublish,
  authorizeSubscribe,
  BROKER_DEFAULTS,
  type BrokerLimits,
  HUB_CLIENT_ID_PREFIX,
  type Principal,
  type PublishRequest,
  principalForOrphanWill,
  type VerifyDevice,
  type VerifyDeviceCertificate,
} from "./policy.js";

export interface EmbeddedBrokerOptions {
  /** Interface to listen on, e.g. "0.0.0.0" or "127.0.0.1". */
  host: string;
  /** TCP port; 0 picks a free one. */
  port: number;
  /** Password of the hub principal (username "edgefleet-hub"). */
  hubSecret: string;
  verifyDevice: VerifyDevice;
  /** MQTTS instead of plain TCP: the server certificate and the CA device certificates must chain to. */
  tls?: { cert: string; key: string; clientCa: string };
  /** Checks a device certificate against the device's record; needed for certificate logins. */
  verifyDeviceCertificate?: VerifyDeviceCertificate;
  /** A secret verified moments ago (no scrypt), admitted even while its id is throttled. */
  recentlyVerified?: (deviceId: string, secret: string) => boolean;
  /** Failed-auth back-off per source and device, shared with the HTTP API. */
  throttle?: AuthThrottle;
  log: Logger;
  limits?: Partial<BrokerLimits>;
  /** Told of every refused CONNECT (the hub writes it to the audit trail); must not throw. */
  onConnectRefused?: (refusal: ConnectRefusal) => void;
  /**
   * Stores a device's publish before the broker acknowledges it (`hub/mqtt/in-process-ingest.ts`):
   * true once stored (the hub's own connection is then not sent it), false for a message it does
   * not handle; a rejection refuses the publish, so the device sends it again after reconnecting.
   */
  ingest?: (topic: string, payload: Buffer, retained: boolean) => Promise<boolean>;
  /** Told of every refused connect, publish and subscribe (the hub counts them); must not throw. */
  onRefused?: (action: "connect" | "publish" | "subscribe") => void;
}

/** A CONNECT the policy refused: who it claimed to be, from where, and why. */
export interface ConnectRefusal {
  clientId: string;
  username: string | undefined;
  source: string | null;
  reason: string;
}

export interface EmbeddedBroker {
  /** URL a client on this machine connects to, e.g. mqtt://127.0.0.1:1883 (mqtts:// with TLS). */
  url: string;
  port: number;
  /**
   * Stops taking connections and closes every device's, keeping the hub's: what follows (the
   * hub link's drain) then sees every device message the broker ever acknowledged.
   */
  disconnectDevices(): Promise<void>;
  /** Closes one device's live session now (disabled, deleted, credential rotated); false if none. */
  disconnectDevice(deviceId: string): Promise<boolean>;
  close(): Promise<void>;
  connectedClients(): number;
}

/** Shortest hub secret we accept, in characters; it guards every device's desired state. */
const MIN_HUB_SECRET_LENGTH = 16;

/** Error a caller can tell apart: `edgefleet up` picks another port, `edgefleet hub` fails. */
export class BrokerListenError extends Error {
  constructor(
    message: string,
    readonly code: string,
  ) {
    super(message);
    this.name = "BrokerListenError";
  }
}

type WillPacket = PublishRequest;

function requestOf(packet: {
  topic: string;
  payload?: Buffer | string | null;
  retain?: boolean;
}): PublishRequest {
  const payload = packet.payload ?? "";
  return { topic: packet.topic, payloadBytes: Buffer.byteLength(payload), retain: packet.retain === true };
}

/** Starts aedes with our policy on host:port; rejects with code EADDRINUSE when the port is taken. */
export async function startEmbeddedBroker(options: EmbeddedBrokerOptions): Promise<EmbeddedBroker> {
  const { log, hubSecret, verifyDevice } = options;
  if (hubSecret.length < MIN_HUB_SECRET_LENGTH) {
    throw new Error(`hub secret must be at least ${MIN_HUB_SECRET_LENGTH} characters`);
  }
  const limits: BrokerLimits = { ...BROKER_DEFAULTS, ...options.limits };
  // Principals and wills live beside aedes' client objects, not on them.
  const principals = new WeakMap<Client, Principal>();
  const wills = new WeakMap<Client, WillPacket | null>();
  // Payloads `ingest` stored; aedes hands subscribers the publisher's payload buffer itself.
  const ingested = new WeakSet<Buffer>();
  const ingest = options.ingest;

  const broker: Aedes = await Aedes.createBroker({
    connectTimeout: limits.connectTimeoutMs,
    keepaliveLimit: limits.keepaliveLimitS,
    maxTopicLevels: limits.maxTopicLevels,
    queueLimit: limits.queueLimit,
    // preConnect is the only handler that sees the CONNECT packet; keep its will for authenticate.
    preConnect(client, packet, done) {
      wills.set(client, packet.will ? requestOf(packet.will) : null);
      done(null, true);
    },
    authenticate(client, username, password, done) {
      const peer = peerDeviceCertificate(client.conn as unknown as TLSSocket);
      if (peer.kind === "unverified") {
        log.warn({ event: "mqtt.connect.refused", clientId: client.id, username, reason: peer.reason });
        options.onConnectRefused?.({
          clientId: client.id,
          username,
          source: remoteAddress(client),
          reason: peer.reason,
        });
        const error = new Error(peer.reason) as AuthenticateError;
        error.returnCode = 5;
        return done(error, false);
      }
      const request = {
        certificate: peer.kind === "verified" ? peer.certificate : undefined,
        clientId: client.id,
        username,
        password,
        will: wills.get(client) ?? null,
        connectedClients: broker.connectedClients,
        takesOverSession: clientIsConnected(broker, client.id),
        source: remoteAddress(client),
      };
      const deps = {
        hubSecret,
        verifyDevice,
        ...(options.recentlyVerified ? { recentlyVerified: options.recentlyVerified } : {}),
        ...(options.verifyDeviceCertificate
          ? { verifyDeviceCertificate: options.verifyDeviceCertificate }
          : {}),
        ...(options.throttle ? { throttle: options.throttle } : {}),
      };
      authenticate(request, deps, limits).then(
        (decision) => {
          if (decision.ok) {
            principals.set(client, decision.principal);
            return done(null, true);
          }
          options.onRefused?.("connect");
          log.warn({ event: "mqtt.connect.refused", clientId: client.id, username, reason: decision.reason });
          const conn = client.conn as { remoteAddress?: string } | undefined;
          options.onConnectRefused?.({
            clientId: client.id,
            username,
            source: conn?.remoteAddress ?? null,
            reason: decision.reason,
          });
          const error = new Error(decision.reason) as AuthenticateError;
          error.returnCode = decision.returnCode as AuthenticateError["returnCode"];
          done(error, false);
        },
        (error: Error) => done(Object.assign(error, { returnCode: 3 }) as AuthenticateError, false),
      );
    },
    authorizePublish(client, packet, done) {
      const principal = client ? principals.get(client) : principalForOrphanWill(orphanClientId(packet));
      const decision = principal
        ? authorizePublish(principal, requestOf(packet), limits)
        : { ok: false as const, reason: "client has no principal" };
      if (decision.ok && principal?.kind === "device" && ingest) {
        const payload = typeof packet.payload === "string" ? Buffer.from(packet.payload) : packet.payload;
        // Held here, before aedes writes the PUBACK, until the hub has stored the message.
        return ingest(packet.topic, payload, packet.retain).then(
          (stored) => {
            if (stored) ingested.add(payload);
            packet.payload = payload;
            done(null);
          },
          (error: Error) => done(new Error(`publish not stored: ${error.message}`)),
        );
      }
      if (decision.ok) return done(null);
      options.onRefused?.("publish");
      log.warn({
        event: "mqtt.publish.refused",
        clientId: client?.id ?? null,
        topic: packet.topic,
        reason: decision.reason,
      });
      // aedes closes the connection on an error; MQTT 3.1.1 has no negative PUBACK [MQTT-3.3.5-2].
      done(new Error(`publish refused: ${decision.reason}`));
    },
    // What the hub stored on the way in is not sent to the hub's link a second time; other
    // subscribers still get it.
    authorizeForward(client, packet) {
      if (ingested.has(packet.payload as Buffer) && principals.get(client)?.kind === "hub") return null;
      return packet;
    },
    authorizeSubscribe(client, subscription, done) {
      const principal = principals.get(client);
      const decision = principal
        ? authorizeSubscribe(principal, subscription.topic)
        : { ok: false, reason: "no principal" };
      if (decision.ok) return done(null, subscription);
      options.onRefused?.("subscribe");
      log.warn({
        event: "mqtt.subscribe.refused",
        clientId: client.id,
        topic: subscription.topic,
        reason: "reason" in decision ? decision.reason : "",
      });
      // A null subscription is granted as 0x80 (failure) and the connection stays up [MQTT-3.9.3].
      done(null, null);
    },
  });

  broker.on("clientReady", (client) => {
    const principal = principals.get(client);
    log.info({
      event: "mqtt.client.connected",
      clientId: client.id,
      principal: principal?.kind,
      clean: client.clean,
    });
  });
  broker.on("clientDisconnect", (client) => {
    log.info({ event: "mqtt.client.disconnected", clientId: client.id });
  });
  broker.on("clientError", (client, error) => {
    log.debug({ event: "mqtt.client.error", clientId: client.id, error: error.message });
  });
  broker.on("connectionError", (client, error) => {
    log.debug({ event: "mqtt.connection.error", clientId: client?.id ?? null, error: error.message });
  });

  const tls = options.tls;
  // With TLS a client certificate is asked for, not required: devices with a secret still log in.
  const server = tls
    ? createTlsServer(
        { cert: tls.cert, key: tls.key, ca: tls.clientCa, requestCert: true, rejectUnauthorized: false },
        (socket) => broker.handle(socket),
      )
    : createServer((socket) => broker.handle(socket));
  try {
    await listen(server, options.host, options.port);
  } catch (error) {
    await new Promise<void>((resolve) => broker.close(() => resolve()));
    throw error;
  }
  const address = server.address();
  const port = typeof address === "object" && address ? address.port : options.port;
  const url = `${tls ? "mqtts" : "mqtt"}://${loopbackFor(options.host)}:${port}`;
  log.info({ event: "mqtt.broker.listening", host: options.host, port });

  let closing: Promise<void> | null = null;
  // Resolves once the listener closed, which is when every connection it accepted has ended.
  let serverClosed: Promise<void> | undefined;
  const stopListening = () => {
    serverClosed ??= new Promise<void>((resolve) => server.close(() => resolve()));
    return serverClosed;
  };
  return {
    url,
    port,
    connectedClients: () => broker.connectedClients,
    async disconnectDevices() {
      void stopListening();
      const clients = (broker as unknown as { clients: Record<string, Client> }).clients;
      const devices = Object.values(clients).filter((c) => !c.id.startsWith(HUB_CLIENT_ID_PREFIX));
      await Promise.all(
        devices.map((client) => new Promise<void>((resolve) => client.close(() => resolve()))),
      );
      log.info({ event: "mqtt.broker.devices_disconnected", count: devices.length });
    },
    async disconnectDevice(deviceId) {
      if (deviceId.startsWith(HUB_CLIENT_ID_PREFIX)) return false;
      const client = (broker as unknown as { clients: Record<string, Client> }).clients[deviceId];
      if (!client) return false;
      await new Promise<void>((resolve) => client.close(() => resolve()));
      log.info({ event: "mqtt.client.cut_off", clientId: deviceId });
      return true;
    },
    close() {
      closing ??= (async () => {
        const serverClosed = stopListening();
        // aedes closes every client socket, which lets the server's close complete.
        await new Promise<void>((resolve) => broker.close(() => resolve()));
        await serverClosed;
        log.info({ event: "mqtt.broker.closed", port });
      })();
      return closing;
    },
  };
}

/** True when a client with this id is connected already (a new CONNECT with it is a takeover). */
function clientIsConnected(broker: Aedes, clientId: string): boolean {
  // `clients` is aedes' id → client map; it is not in the typings.
  const clients = (broker as unknown as { clients: Record<string, unknown> }).clients;
  return clients[clientId] !== undefined;
}

/** The peer address of a client's connection ("unknown" when the stream has none). */
function remoteAddress(client: Client): string {
  const conn = (client as unknown as { conn?: { remoteAddress?: string } }).conn;
  return conn?.remoteAddress ?? "unknown";
}

/** Stored wills carry the id of the client that left them. */
function orphanClientId(packet: PublishPacket): string {
  return (packet as PublishPacket & { clientId?: string }).clientId ?? "";
}

function listen(server: Server, host: string, port: number): Promise<void> {
  return new Promise((resolve, reject) => {
    const onError = (error: NodeJS.ErrnoException) => {
      server.off("listening", onListening);
      if (error.code === "EADDRINUSE") {
        reject(new BrokerListenError(`MQTT port ${port} on ${host} is already in use`, "EADDRINUSE"));
      } else {
        reject(
          new BrokerListenError(
            `cannot listen for MQTT on ${host}:${port}: ${error.message}`,
            error.code ?? "EUNKNOWN",
          ),
        );
      }
    };
    const onListening = () => {
      server.off("error", onError);
      resolve();
    };
    server.once("error", onError);
    server.once("listening", onListening);
    server.listen(port, host);
  });
}

/** Host a local client uses to reach a listener bound to `host`. */
function loopbackFor(host: string): string {
  if (host === "0.0.0.0" || host === "") return "127.0.0.1";
  if (host === "::") return "[::1]";
  return host.includes(":") ? `[${host}]` : host;
}
