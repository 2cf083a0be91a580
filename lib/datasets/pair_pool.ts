/**
 * The process-wide pool of data worker threads (`node:worker_threads`
 * running `pair_worker.ts`) shared by every open dataset. Workers start on
 * the first request and are unref'd while idle, so they never keep the
 * process alive and need no explicit shutdown.
 *
 * @module
 */
import { Worker } from "node:worker_threads";
import { type LoadedPair, loadPair, type PairOptions } from "./pair.ts";
import type { PairRequest, PairResponse } from "./pair_worker.ts";

interface Slot {
  worker: Worker;
  busy: number;
}

interface Waiting {
  slot: Slot;
  resolve: (pair: LoadedPair) => void;
  reject: (err: Error) => void;
}

const slots: Slot[] = [];
const waiting = new Map<number, Waiting>();
let nextId = 0;

function settle(id: number): Waiting | undefined {
  const entry = waiting.get(id);
  if (!entry) return undefined;
  waiting.delete(id);
  if (--entry.slot.busy === 0) entry.slot.worker.unref();
  return entry;
}

function startWorker(): void {
  const worker = new Worker(new URL("./pair_worker.ts", import.meta.url));
  const slot: Slot = { worker, busy: 0 };
  worker.unref();
  worker.on("message", (msg: PairResponse) => {
    const entry = settle(msg.id);
    if (!entry) return;
    if ("error" in msg) entry.reject(new Error(`data worker: ${msg.error}`));
    else entry.resolve(msg.pair);
  });
  const fail = (reason: string) => {
    const index = slots.indexOf(slot);
    if (index >= 0) slots.splice(index, 1);
    for (const [id, entry] of [...waiting]) {
      if (entry.slot === slot) {
        settle(id)?.reject(new Error(`data worker ${reason}`));
      }
    }
  };
  worker.on("error", (err: Error) => fail(`failed: ${err.message}`));
  worker.on("exit", (code: number) => fail(`exited (code ${code})`));
  slots.push(slot);
}

/**
 * Load and preprocess one pair (see `loadPair`) in the least busy worker;
 * the pool grows to `workers` threads. With `workers` 0 it runs on the
 * calling thread.
 *
 * @param path image file, A left and B right
 * @param seed seed of the pair's crop and flip
 * @param options preprocessing options
 * @param workers threads wanted in the pool (0 = none)
 */
export function loadPairInPool(
  path: string,
  seed: number,
  options: PairOptions,
  workers: number,
): Promise<LoadedPair> {
  if (workers === 0) return loadPair(path, seed, options);
  while (slots.length < workers) startWorker();
  const slot = slots.reduce((a, b) => (b.busy < a.busy ? b : a));
  const id = nextId++;
  if (slot.busy++ === 0) slot.worker.ref();
  return new Promise((resolve, reject) => {
    waiting.set(id, { slot, resolve, reject });
    slot.worker.postMessage(
      { id, path, seed, options } satisfies PairRequest,
    );
  });
}
