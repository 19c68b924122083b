/** Worker-thread entry for measure.ts: quantizing and two ONNX runs over the test split are seconds of CPU. */
import { serveThread } from "../../lib/worker-thread.js";
import { measureInt8 } from "./measure.js";

await serveThread(measureInt8);
