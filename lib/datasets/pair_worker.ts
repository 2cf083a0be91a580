/**
 * Worker entry point (`node:worker_threads`) of the data pipeline: receives
 * {@link PairRequest}s, answers with {@link PairResponse}s, so that JPEG
 * decoding, resizing and float conversion run beside the training loop
 * instead of between its steps. Started by `lib/datasets/pair_pool.ts`.
 *
 * @module
 */
import { isMainThread, parentPort } from "node:worker_threads";
import { type LoadedPair, loadPair, type PairOptions } from "./pair.ts";

/** A request to a data worker: load the pair at `path` with jitter `seed`. */
export interface PairRequest {
  /** Caller's request id, echoed in the response. */
  id: number;
  /** Image file, A left and B right. */
  path: string;
  /** Seed of the pair's crop and flip. */
  seed: number;
  /** How to preprocess it. */
  options: PairOptions;
}

/** A data worker's answer: the loaded pair, or an unexpected error message. */
export type PairResponse =
  | { id: number; pair: LoadedPair }
  | { id: number; error: string };

if (!isMainThread && parentPort) {
  const port = parentPort;
  port.on("message", async (req: PairRequest) => {
    try {
      const pair = await loadPair(req.path, req.seed, req.options);
      const transfer = pair.ok ? [pair.a.buffer, pair.b.buffer] : [];
      port.postMessage({ id: req.id, pair } satisfies PairResponse, transfer);
    } catch (err) {
      const error = `${req.path}: ${
        err instanceof Error ? err.message : String(err)
      }`;
      port.postMessage({ id: req.id, error } satisfies PairResponse);
    }
  });
}
