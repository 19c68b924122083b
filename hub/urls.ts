/** The addresses devices use to reach a hub: known once its sockets are bound, fixed afterwards. */
import type { HubConfig } from "./config.js";

export interface HubUrls {
  /** HTTP API base (module downloads, provisioning answers), without a trailing slash. */
  readonly api: string;
  /** Broker URL devices connect to. */
  readonly mqtt: string;
}

/** The public addresses: configured ones win over the bound HTTP address and the broker's URL. */
export function hubUrls(
  config: Pick<HubConfig, "publicUrl" | "publicMqttUrl">,
  bound: { httpUrl: string; brokerUrl: string },
): HubUrls {
  return {
    api: config.publicUrl?.replace(/\/$/, "") ?? bound.httpUrl,
    mqtt: config.publicMqttUrl ?? bound.brokerUrl,
  };
}
