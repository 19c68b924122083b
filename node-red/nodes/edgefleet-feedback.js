/**
 * `edgefleet feedback`: sends the ground truth for a prediction back to the agent
 * (POST /v1/feedback), which counts it in telemetry and forwards it to the hub. The prediction
 * id comes from msg.predictionId or msg.edgefleet.predictionId (as the score and predictions
 * nodes leave it); the truth is msg.payload, sent as a label or a value as configured.
 */

const { errorInfo, failureStatus } = require("../lib/agent-client.js");

/** The feedback body for a message; throws a plain Error when something is missing. */
function feedbackBody(msg, kind) {
  const payload = msg.payload;
  // A complete body passes through (e.g. built by a function node).
  if (typeof payload === "object" && payload !== null && typeof payload.predictionId === "string") {
    return payload;
  }
  const predictionId = msg.predictionId ?? msg.edgefleet?.predictionId;
  if (typeof predictionId !== "string" || predictionId === "") {
    throw new Error("no prediction id: set msg.predictionId or msg.edgefleet.predictionId");
  }
  if (kind === "value") {
    const value = typeof payload === "string" ? Number(payload) : payload;
    if (typeof value !== "number" || !Number.isFinite(value)) {
      throw new Error("msg.payload must be the true value as a number");
    }
    return { predictionId, value };
  }
  if (!["string", "number", "boolean"].includes(typeof payload) || payload === "") {
    throw new Error("msg.payload must be the true label (a string, number or boolean)");
  }
  return { predictionId, label: payload };
}

module.exports = function register(RED) {
  function EdgefleetFeedbackNode(config) {
    RED.nodes.createNode(this, config);
    this.agent = RED.nodes.getNode(config.agent);
    this.kind = config.kind === "value" ? "value" : "label";

    this.on("input", async (msg, send, done) => {
      // Catch nodes get this msg: keep the prediction's context and say what failed.
      const fail = (error, status) => {
        msg.edgefleet = { ...(msg.edgefleet ?? {}), error: errorInfo(error) };
        this.status(status);
        done(error);
      };
      if (!this.agent) {
        fail(new Error("edgefleet feedback has no agent configured"), {
          fill: "red",
          shape: "ring",
          text: "no agent",
        });
        return;
      }
      let body;
      try {
        body = feedbackBody(msg, this.kind);
      } catch (error) {
        fail(error, { fill: "red", shape: "ring", text: "bad message" });
        return;
      }
      let answer;
      try {
        answer = await this.agent.request("POST", "/v1/feedback", { json: body });
      } catch (error) {
        fail(error, failureStatus(error));
        return;
      }
      msg.payload = answer;
      const text = answer.correct === undefined ? "sent" : answer.correct ? "correct" : "wrong";
      this.status({ fill: "green", shape: "dot", text });
      send(msg);
      done();
    });

    this.on("close", (_removed, done) => {
      this.status({});
      done();
    });
  }

  RED.nodes.registerType("edgefleet feedback", EdgefleetFeedbackNode);
};

module.exports.feedbackBody = feedbackBody;
