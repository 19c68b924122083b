/**
 * The operator console's side of the hub: the fleet summary and paged devices, the live change
 * stream, and the built single-page app under `/`. The pages read everything else from the
 * ordinary API routes, with the same tokens and roles.
 */
export { type FleetRouteDeps, fleetRoutes } from "./fleet-routes.js";
export { LIVE_CHANGES_DEFAULTS, LiveChanges, type LiveMessage, type LiveTopic } from "./live-changes.js";
export { staticConsoleRoutes } from "./static-routes.js";
export { type StreamRouteDeps, streamRoutes } from "./stream-route.js";
