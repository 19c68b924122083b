/**
 * "This device's twin changed" (reported state, online state), from the MQTT handlers to whoever
 * follows devices. It exists so the link (whose handlers publish here) and the rollout controller
 * (which publishes through the link and follows here) are built one after the other, not in a
 * loop: the controller subscribes once it has started; changes before that only update the twin.
 */
export type DeviceChangeListener = (deviceId: string) => Promise<void>;

export class DeviceChanges {
  readonly #listeners = new Set<DeviceChangeListener>();

  /** Follows changes until the returned function is called. */
  subscribe(listener: DeviceChangeListener): () => void {
    this.#listeners.add(listener);
    return () => this.#listeners.delete(listener);
  }

  /** Tells every follower, in subscription order; resolves when each has taken note. */
  async publish(deviceId: string): Promise<void> {
    for (const listener of [...this.#listeners]) await listener(deviceId);
  }
}
