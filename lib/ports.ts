/** TCP port helpers: free ports for processes told their port up front, and probes for optional services. */
import { createServer, Socket } from "node:net";

/** Asks the OS for a free port on a host. */
export function freePort(host = "127.0.0.1"): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once("error", reject);
    server.listen(0, host, () => {
      const address = server.address();
      server.close(() => resolve(typeof address === "object" && address ? address.port : 0));
    });
  });
}

/** Whether a TCP port can be bound on a host right now. */
export function isPortFree(port: number, host = "127.0.0.1"): Promise<boolean> {
  return new Promise((resolve) => {
    const server = createServer();
    server.once("error", () => resolve(false));
    server.listen(port, host, () => server.close(() => resolve(true)));
  });
}

/** The preferred port when free, else one the OS picks (`edgefleet up` copes with taken defaults). */
export async function preferredOrFreePort(preferred: number, host = "127.0.0.1"): Promise<number> {
  return (await isPortFree(preferred, host)) ? preferred : freePort(host);
}

/** Whether something answers on host:port within the timeout (optional external services in tests). */
export function answers(port: number, host = "127.0.0.1", timeoutMs = 1000): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = new Socket();
    const done = (ok: boolean) => {
      socket.destroy();
      resolve(ok);
    };
    socket.setTimeout(timeoutMs, () => done(false));
    socket.once("error", () => done(false));
    socket.connect(port, host, () => done(true));
  });
}
