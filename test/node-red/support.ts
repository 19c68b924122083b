/**
 * Test support for the Node-RED nodes: node-red-node-test-helper on the installed Node-RED 4,
 * the nodes loaded as Node-RED loads them (CommonJS, through require), a real agent scoring
 * server with real ONNX modules, and small waits on node events.
 */
import { createRequire } from "node:module";
import type { AddressInfo } from "node:net";
import { createServer } from "node:net";
import { type Harness, startHarness } from "../../agent/http/test-harness.js";
import type { ModuleDir } from "../../agent/runtime/test-modules.js";

const require = createRequire(import.meta.url);

// biome-ignore lint/suspicious/noExplicitAny: the helper and Node-RED nodes are untyped JavaScript.
type Untyped = any;

/** node-red-node-test-helper, initialised on the installed node-red package. */
export const helper: Untyped = require("node-red-node-test-helper");
helper.init(require.resolve("node-red"));

/** The package's node modules, as Node-RED requires them. */
export const nodes = {
  agent: require("../../node-red/nodes/edgefleet-agent.js") as Untyped,
  score: require("../../node-red/nodes/edgefleet-score.js") as Untyped,
  predictions: require("../../node-red/nodes/edgefleet-predictions.js") as Untyped,
  feedback: require("../../node-red/nodes/edgefleet-feedback.js") as Untyped,
};

/** A flow node as the helper takes it. */
export type FlowNode = Record<string, unknown> & { id: string; type: string };

/** Starts the helper's Node-RED server (needed for Catch and Status nodes). */
export function startHelperServer(): Promise<void> {
  return new Promise((resolve) => helper.startServer(resolve));
}

/** Stops the helper's Node-RED server. */
export function stopHelperServer(): Promise<void> {
  return new Promise((resolve) => helper.stopServer(resolve));
}

/** A real scoring server over real modules. */
export function startAgent(modules: ModuleDir[]): Promise<Harness> {
  return startHarness(modules);
}

/** The agent config node, pointing at `url`. */
export function agentConfig(url: string, id = "agent"): FlowNode {
  return { id, type: "edgefleet-agent", url, timeout: 5000 };
}

/** A loopback URL where nothing listens (a port taken from the OS and released again). */
export async function deadUrl(): Promise<string> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const { port } = server.address() as AddressInfo;
  await new Promise<void>((resolve) => server.close(() => resolve()));
  return `http://127.0.0.1:${port}`;
}

/** Resolves with the next message a node receives (a helper node's "input"). */
export function nextMessage(node: Untyped): Promise<Untyped> {
  return new Promise((resolve) => node.once("input", resolve));
}

/**
 * Resolves with the first status the node sets that matches; the helper re-emits every
 * `status()` call as a `call:status` event on the node.
 */
export function statusMatching(node: Untyped, matches: (status: Untyped) => boolean): Promise<Untyped> {
  return new Promise((resolve) => {
    const listener = (call: Untyped) => {
      const status = call.args[0];
      if (matches(status)) {
        node.removeListener("call:status", listener);
        resolve(status);
      }
    };
    node.on("call:status", listener);
  });
}

/**
 * A tab holding `flowNodes` (Catch and Status nodes only work inside one). Nodes on a tab need
 * x and y, or Node-RED takes them for config nodes.
 */
export function onTab(flowNodes: FlowNode[], configNodes: FlowNode[] = []): FlowNode[] {
  return [
    { id: "tab", type: "tab" },
    ...configNodes,
    ...flowNodes.map((node, i) => ({ z: "tab", x: 100, y: 40 * (i + 1), ...node })),
  ];
}
