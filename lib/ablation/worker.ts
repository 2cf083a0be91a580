/**
 * Worker entry (`node:worker_threads`) of `runAblation({ jobs })`
 * (`lib/ablation/run.ts`): runs one request (`only`: a run id or `segmenter`) with
 * its own tfjs and wasm heap, forwards log lines, and replies with the
 * summary or the error.
 *
 * @module
 */
import { isMainThread, parentPort } from "node:worker_threads";
import { runAblation, type WorkerReply, type WorkerRequest } from "./run.ts";

if (!isMainThread && parentPort) {
  const port = parentPort;
  const reply = (message: WorkerReply) => port.postMessage(message);
  port.on("message", async (request: WorkerRequest) => {
    try {
      const summary = await runAblation({
        ...request,
        log: (line) => reply({ log: line }),
      });
      reply({ summary });
    } catch (err) {
      reply({ error: (err as Error).message });
    }
  });
}
