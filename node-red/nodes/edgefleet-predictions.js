/**
 * `edgefleet predictions`: one message per prediction the agent makes for a module, whoever
 * asked for it, for flows that only listen (dashboards, alarms, logging). Keeps a Server-Sent
 * Events stream open to the agent and reconnects with back-off when the agent goes away.
 */

const { listenToPredictions } = require("../lib/prediction-stream.js");

module.exports = function register(RED) {
  function EdgefleetPredictionsNode(config) {
    RED.nodes.createNode(this, config);
    const node = this;
    node.agent = RED.nodes.getNode(config.agent);
    node.module = (config.module || "").trim();
    if (!node.agent || !node.module) {
      node.status({ fill: "red", shape: "ring", text: node.agent ? "no module" : "no agent" });
      node.error(`edgefleet predictions needs ${node.agent ? "a module" : "an agent"}`);
      return;
    }
    let dropped = 0;

    const listener = listenToPredictions({
      url: node.agent.url,
      module: node.module,
      // settings.js may tune reconnects: edgefleetPredictionsBackoff: { minBackoffMs, maxBackoffMs,
      // idleTimeoutMs }. The defaults suit devices; tests shorten them.
      ...(RED.settings.edgefleetPredictionsBackoff ?? {}),
      onReady(info) {
        node.status(
          info.version === null
            ? { fill: "yellow", shape: "dot", text: "waiting for module" }
            : { fill: "green", shape: "dot", text: `listening v${info.version}`.slice(0, 20) },
        );
      },
      onPrediction(record) {
        // msg.topic is the module, as mqtt in would give a topic, so switch nodes can route on it.
        node.send({
          topic: record.module,
          payload: record.prediction,
          edgefleet: {
            module: record.module,
            version: record.version,
            predictionId: record.id,
            at: record.at,
          },
          ...(record.inputs === undefined ? {} : { inputs: record.inputs }),
        });
      },
      onDropped(count) {
        dropped += count;
        node.warn(`fell behind the agent: ${count} predictions dropped (${dropped} in all)`);
      },
      onState(state) {
        if (state.state === "connecting") {
          node.status({ fill: "grey", shape: "ring", text: "connecting" });
        } else if (state.state === "retrying") {
          const seconds = Math.round(state.retryInMs / 1000);
          node.status({ fill: "yellow", shape: "ring", text: `offline, retry ${seconds}s` });
          node.debug(`predictions stream lost: ${state.error.message}`);
        } else {
          node.status({ fill: "red", shape: "ring", text: state.error.code || "error" });
          node.error(state.error.message);
        }
      },
    });

    node.on("close", (_removed, done) => {
      listener.close();
      node.status({});
      done();
    });
  }

  RED.nodes.registerType("edgefleet predictions", EdgefleetPredictionsNode);
};
