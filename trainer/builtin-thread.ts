/**
 * Worker-thread entry for built-in jobs: training is synchronous CPU work, and run inside the
 * worker's (or the hub's) event loop it would stall heartbeats, log streaming and, in the hub,
 * every request. Messages out (lib/worker-thread.ts): `{progress}` per event, then `{done}` or `{error}`.
 */
import { serveThread } from "../lib/worker-thread.js";
import { trainBuiltin } from "./builtin-train.js";

await serveThread(trainBuiltin);
