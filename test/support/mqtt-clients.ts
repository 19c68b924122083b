/** mqtt.js clients for tests: connect once (no reconnect), wait for messages by predicate. */
import { connect, type IClientOptions, type MqttClient } from "mqtt";

export interface ReceivedMessage {
  topic: string;
  payload: Buffer;
  retain: boolean;
}

/** Connects an MQTT 3.1.1 client that never reconnects; rejects with the CONNACK error when refused. */
export function connectClient(url: string, options: IClientOptions = {}): Promise<MqttClient> {
  return new Promise((resolve, reject) => {
    const client = connect(url, {
      protocolVersion: 4,
      reconnectPeriod: 0,
      connectTimeout: 5_000,
      ...options,
    });
    const onError = (error: Error) => {
      client.removeListener("connect", onConnect);
      client.end(true);
      reject(error);
    };
    const onConnect = () => {
      client.removeListener("error", onError);
      resolve(client);
    };
    client.once("error", onError);
    client.once("connect", onConnect);
  });
}

/** Every message the client receives from now on, in order. */
export function recordMessages(client: MqttClient): ReceivedMessage[] {
  const received: ReceivedMessage[] = [];
  client.on("message", (topic, payload, packet) => received.push({ topic, payload, retain: packet.retain }));
  return received;
}

/** Resolves with the first message (from now on) that matches. */
export function nextMessage(
  client: MqttClient,
  matches: (message: ReceivedMessage) => boolean,
): Promise<ReceivedMessage> {
  return new Promise((resolve) => {
    const onMessage = (topic: string, payload: Buffer, packet: { retain: boolean }) => {
      const message = { topic, payload, retain: packet.retain };
      if (!matches(message)) return;
      client.removeListener("message", onMessage);
      resolve(message);
    };
    client.on("message", onMessage);
  });
}

/** Resolves when the client's connection closes. */
export function closed(client: MqttClient): Promise<void> {
  return new Promise((resolve) => client.once("close", () => resolve()));
}

/** Ends clients, ignoring ones already gone. */
export async function endAll(clients: MqttClient[]): Promise<void> {
  await Promise.all(clients.map((client) => client.endAsync(true).catch(() => undefined)));
}

/** Subscribes and resolves with the QoS granted per filter, 128 included (mqtt.js rejects on 128). */
export function subscribeGranted(client: MqttClient, filters: string[], qos: 0 | 1 = 1): Promise<number[]> {
  return new Promise((resolve, reject) => {
    client.subscribe(filters, { qos }, (_error, _grants, packet) => {
      if (!packet) return reject(new Error("no SUBACK"));
      resolve(packet.granted.map(Number));
    });
  });
}
