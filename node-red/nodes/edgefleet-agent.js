/**
 * Config node `edgefleet-agent`: where the local edgefleet agent listens, shared by every
 * edgefleet node in the flows. It holds no connection of its own (scoring is plain HTTP requests);
 * the predictions node opens its own stream through `url`.
 */

const { requestJson } = require("../lib/agent-client.js");

const DEFAULT_URL = "http://127.0.0.1:8480";
const DEFAULT_TIMEOUT_MS = 10_000;

module.exports = function register(RED) {
  function EdgefleetAgentNode(config) {
    RED.nodes.createNode(this, config);
    this.name = config.name;
    this.url = (config.url || DEFAULT_URL).trim();
    const timeout = Number(config.timeout);
    this.timeout = Number.isFinite(timeout) && timeout > 0 ? timeout : DEFAULT_TIMEOUT_MS;
  }

  /** Calls the agent and resolves with its JSON answer; rejects with an AgentError. */
  EdgefleetAgentNode.prototype.request = function request(method, path, body) {
    return requestJson({ url: this.url, timeout: this.timeout }, method, path, body);
  };

  RED.nodes.registerType("edgefleet-agent", EdgefleetAgentNode);
};
