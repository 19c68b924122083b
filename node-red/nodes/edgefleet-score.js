/**
 * `edgefleet score`: msg.payload → POST /v1/modules/{module}/score on the local agent → the
 * prediction in msg.payload. Features (an object), a batch (an array of objects) or a body the
 * agent understands as is (`{features}`, `{instances}`, `{inputs}`) go as JSON; a Buffer goes as
 * raw image bytes (`application/octet-stream`). Failures go to Catch nodes through done(err).
 */

const { errorInfo, failureStatus } = require("../lib/agent-client.js");

const BODY_KEYS = ["features", "instances", "inputs"];

/** The score request for a payload; throws a plain Error for payloads that cannot be scored. */
function scoreBody(payload) {
  if (Buffer.isBuffer(payload)) {
    if (payload.length === 0) throw new Error("msg.payload is an empty Buffer; send image bytes");
    return { bytes: payload, contentType: "application/octet-stream" };
  }
  if (Array.isArray(payload)) {
    if (payload.length === 0 || !payload.every(isPlainObject)) {
      throw new Error("msg.payload array must hold one object of features per row");
    }
    return { json: { instances: payload } };
  }
  if (isPlainObject(payload)) {
    const keys = Object.keys(payload);
    // A ready-made request body passes through; anything else is one row of features.
    if (keys.length === 1 && BODY_KEYS.includes(keys[0])) return { json: payload };
    return { json: { features: payload } };
  }
  throw new Error(
    `msg.payload must be an object of features, an array of them, or an image Buffer (got ${typeof payload})`,
  );
}

function isPlainObject(value) {
  return typeof value === "object" && value !== null && !Array.isArray(value) && !Buffer.isBuffer(value);
}

/** A short status text for a prediction: its label when it has one. */
function statusText(prediction) {
  const label = prediction?.label ?? prediction?.top?.[0]?.label;
  return typeof label === "string" ? label.slice(0, 20) : "ok";
}

module.exports = function register(RED) {
  function EdgefleetScoreNode(config) {
    RED.nodes.createNode(this, config);
    this.agent = RED.nodes.getNode(config.agent);
    this.module = (config.module || "").trim();

    this.on("input", async (msg, send, done) => {
      // The node's own setting wins, so a flow cannot be redirected to another module by accident.
      const module = this.module || (typeof msg.module === "string" ? msg.module.trim() : "");
      // Catch nodes get this msg: say what failed in a shape a flow can branch on.
      const fail = (error, status) => {
        msg.edgefleet = { module, error: errorInfo(error) };
        this.status(status);
        done(error);
      };
      if (!this.agent) {
        fail(new Error("edgefleet score has no agent configured"), {
          fill: "red",
          shape: "ring",
          text: "no agent",
        });
        return;
      }
      if (!module) {
        const error = new Error("no module to score with: set one in the node or in msg.module");
        fail(error, { fill: "red", shape: "ring", text: "no module" });
        return;
      }
      let body;
      try {
        body = scoreBody(msg.payload);
      } catch (error) {
        fail(error, { fill: "red", shape: "ring", text: "bad payload" });
        return;
      }
      this.status({ fill: "blue", shape: "dot", text: "scoring" });
      let answer;
      try {
        answer = await this.agent.request("POST", `/v1/modules/${encodeURIComponent(module)}/score`, body);
      } catch (error) {
        fail(error, failureStatus(error));
        return;
      }
      const batch = Array.isArray(msg.payload);
      msg.payload = batch ? answer.predictions : answer.predictions[0];
      msg.edgefleet = batch
        ? { module: answer.module, version: answer.version, predictionIds: answer.predictionIds }
        : { module: answer.module, version: answer.version, predictionId: answer.predictionIds[0] };
      const text = batch ? `${answer.predictions.length} rows` : statusText(msg.payload);
      this.status({ fill: "green", shape: "dot", text });
      send(msg);
      done();
    });

    this.on("close", (_removed, done) => {
      this.status({});
      done();
    });
  }

  RED.nodes.registerType("edgefleet score", EdgefleetScoreNode);
};

module.exports.scoreBody = scoreBody;
