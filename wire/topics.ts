/**
 * MQTT topic layout shared by hub, agent, simulator and Node-RED nodes (wire/README.md §2).
 * Every device owns the subtree `edgefleet/v1/devices/{deviceId}/`; nothing else in the protocol
 * lives outside it (but the hub-published alerts tree below), which is what lets the broker ACL be a
 * prefix check.
 */
export const TOPIC_ROOT = "edgefleet/v1/devices";

/** Topic kinds a device subtree holds, with who may publish them. */
export const DEVICE_TOPICS = {
  desired: "hub",
  reported: "device",
  status: "device",
  telemetry: "device",
  events: "device",
} as const;

export type DeviceTopicKind = keyof typeof DEVICE_TOPICS;

/** Device ids are DNS-label-like so they are safe in topics, URLs and file names [WIRE-2.1]. */
export const DEVICE_ID_PATTERN = /^[a-z0-9](?:[a-z0-9-]{0,62}[a-z0-9])?$/;

/** MQTT client ids and usernames the hub uses; no device may take an id starting with it. */
export const HUB_CLIENT_ID_PREFIX = "edgefleet-hub";

/** Whether a device id is well formed and not reserved for the hub. */
export function isValidDeviceId(deviceId: string): boolean {
  return DEVICE_ID_PATTERN.test(deviceId) && !deviceId.startsWith(HUB_CLIENT_ID_PREFIX);
}

/** Prefix of one device's subtree, with the trailing slash. */
export function deviceTopicPrefix(deviceId: string): string {
  return `${TOPIC_ROOT}/${deviceId}/`;
}

/** Topic of one kind for one device. */
export function deviceTopic(deviceId: string, kind: DeviceTopicKind): string {
  return `${TOPIC_ROOT}/${deviceId}/${kind}`;
}

/** Topic a command is sent on (hub → device). */
export function commandTopic(deviceId: string, name: string): string {
  return `${TOPIC_ROOT}/${deviceId}/commands/${name}`;
}

/** Topic a command response is sent on (device → hub). */
export function responseTopic(deviceId: string, requestId: string): string {
  return `${TOPIC_ROOT}/${deviceId}/responses/${requestId}`;
}

/**
 * Monitor alerts (hub → operators' integrations): the one tree outside the device subtrees. Only the
 * hub publishes there, and no device may subscribe to it (hub/broker/policy.ts admits device
 * filters inside the device's own subtree only), so a device never reads another cohort's alerts.
 */
/** The hub's own round trips through the broker (HubLink.drain); no device may use it. */
export const HUB_SYNC_TOPIC_ROOT = "edgefleet/v1/hub/sync";

export const ALERTS_TOPIC_ROOT = "edgefleet/v1/alerts";

/** Topic of one monitor's alerts. */
export function alertTopic(monitorId: string): string {
  if (!/^[A-Za-z0-9_.-]{1,128}$/.test(monitorId))
    throw new Error(`invalid monitor id: ${JSON.stringify(monitorId)}`);
  return `${ALERTS_TOPIC_ROOT}/${monitorId}`;
}

/** Wildcard subscription the hub uses for one kind across all devices. */
export function allDevicesTopic(kind: DeviceTopicKind | "responses/+"): string {
  return `${TOPIC_ROOT}/+/${kind}`;
}

export interface ParsedDeviceTopic {
  deviceId: string;
  /** The part after the device id, e.g. `status` or `commands/ping`. */
  rest: string;
}

/** Splits a topic into device id and remainder; null when it is not a device topic. */
export function parseDeviceTopic(topic: string): ParsedDeviceTopic | null {
  const prefix = `${TOPIC_ROOT}/`;
  if (!topic.startsWith(prefix)) return null;
  const tail = topic.slice(prefix.length);
  const slash = tail.indexOf("/");
  if (slash <= 0) return null;
  const deviceId = tail.slice(0, slash);
  const rest = tail.slice(slash + 1);
  if (!DEVICE_ID_PATTERN.test(deviceId) || rest.length === 0) return null;
  return { deviceId, rest };
}
