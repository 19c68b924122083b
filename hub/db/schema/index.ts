/** The whole hub schema, one module per domain; drizzle-kit and openDatabase read it from here. */
export * from "./audit.js";
export * from "./deployments.js";
export * from "./devices.js";
export * from "./drift.js";
export * from "./events.js";
export * from "./idempotency.js";
export * from "./models.js";
export * from "./modules.js";
export * from "./pipelines.js";
export * from "./telemetry.js";
export * from "./tokens.js";
export * from "./training.js";
