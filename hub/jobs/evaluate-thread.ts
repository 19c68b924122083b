/**
 * Worker-thread entry for the completion check (evaluate.ts): parsing the dataset, `prepare()`
 * and the ONNX run over the test split are seconds of CPU on a large dataset, and on the hub's
 * event loop they would stall every request, heartbeat and lease sweep meanwhile.
 */
import { serveThread } from "../../lib/worker-thread.js";
import { evaluateModel } from "./evaluate.js";

await serveThread(evaluateModel);
