/**
 * Starts the threaded SIMD build of tfjs-backend-wasm 4.22 under Deno.
 *
 * As shipped it does not start: Deno looks like Node to tfjs, which then
 * disables threads, and Emscripten's Node path hands `worker_threads` a
 * `blob:` URL for the pthread worker, which Deno (and Node: tfjs issue
 * #3830) rejects. During start-up only, this module:
 * - sets `WASM_HAS_MULTITHREAD_SUPPORT`;
 * - pins the global `Worker` to a `node:worker_threads` Worker that
 *   evaluates the package's pthread worker script (after making Deno's
 *   getter-only worker globals writable for its `Object.assign`) and points
 *   its `load` message at the Emscripten glue file instead of a Blob;
 * - reports at least `2 * threads` CPUs, as the C++ side caps the pool at
 *   half the logical cores.
 *
 * It leans on tfjs and Emscripten internals (the glue's `load` message, the
 * worker script export), so tfjs is pinned exactly and the start-up is
 * tested (tests/backend.test.ts).
 *
 * @module
 */
import * as tf from "@tensorflow/tfjs";
import {
  getThreadsCount,
  setThreadsCount,
} from "@tensorflow/tfjs-backend-wasm";
import { createRequire } from "node:module";
import os from "node:os";
import { Worker as NodeWorker } from "node:worker_threads";

const WORKER_JS =
  "@tensorflow/tfjs-backend-wasm/wasm-out/tfjs-backend-wasm-threaded-simd.worker.js";

/** How long the pthread pool may take to start before we give up, ms. */
const START_TIMEOUT_MS = 60_000;

/** The thread pool did not start in time (the engine may be stuck). */
export class ThreadsTimeout extends Error {
  constructor() {
    super(
      `threaded wasm did not start within ${START_TIMEOUT_MS / 1000} s; ` +
        "run without threads",
    );
  }
}

/** Deno worker globals the Emscripten worker script assigns to. */
const WORKER_GLOBALS = [
  "location",
  "self",
  "importScripts",
  "postMessage",
  "performance",
  "onmessage",
];

/** Builds the pthread Worker class Emscripten will instantiate. */
function pthreadWorkerClass(): typeof NodeWorker {
  const require = createRequire(import.meta.url);
  const workerFile = require.resolve(WORKER_JS);
  const glueFile = workerFile.replace(/\.worker\.js$/, ".js");
  // The exported script holds raw newlines inside string literals (tfjs
  // escapes them the same way before making its Blob).
  const script = (require(workerFile).wasmWorkerContents as string)
    .replace(/\n/g, "\\n");
  const prelude = `for (const k of ${JSON.stringify(WORKER_GLOBALS)}) {
  try {
    Object.defineProperty(globalThis, k,
      { value: globalThis[k], writable: true, configurable: true });
  } catch (_) { /* not present */ }
}
if (typeof __filename === "undefined") {
  globalThis.__filename = ${JSON.stringify(workerFile)};
}
`;
  return class PthreadWorker extends NodeWorker {
    constructor(_url: unknown) {
      super(prelude + script, { eval: true });
    }
    override postMessage(msg: unknown, transfer?: readonly unknown[]): void {
      const m = msg as { cmd?: string } | null;
      super.postMessage(
        m?.cmd === "load" ? { ...m, urlOrBlob: glueFile } : msg,
        transfer as never,
      );
      // Pthreads must not keep the process alive. Deno re-refs a worker
      // when listeners are added, so unref after Emscripten has added them.
      this.unref();
    }
  };
}

/** Runs `f` with the global `Worker` pinned to `cls` (Emscripten assigns it). */
async function withWorker<T>(cls: unknown, f: () => Promise<T>): Promise<T> {
  const saved = Object.getOwnPropertyDescriptor(globalThis, "Worker");
  Object.defineProperty(globalThis, "Worker", {
    configurable: true,
    get: () => cls,
    set: () => {},
  });
  try {
    return await f();
  } finally {
    if (saved) Object.defineProperty(globalThis, "Worker", saved);
    else delete (globalThis as { Worker?: unknown }).Worker;
  }
}

/** Runs `f` while `os.cpus()` reports at least `n` CPUs. */
async function withCpus<T>(n: number, f: () => Promise<T>): Promise<T> {
  const osMut = os as unknown as { cpus: typeof os.cpus };
  const cpus = osMut.cpus;
  osMut.cpus = () => {
    const c = cpus();
    while (c.length > 0 && c.length < n) c.push(c[0]);
    return c;
  };
  try {
    return await f();
  } finally {
    osMut.cpus = cpus;
  }
}

/** True once the wasm backend was started in this process. */
export function wasmStarted(): boolean {
  const registry = (tf.engine() as unknown as { registry: object }).registry;
  return "wasm" in registry;
}

/**
 * Makes `wasm` the active backend with `threads` pthreads (`threads >= 2`).
 * Must run before the wasm backend's first start in the process.
 *
 * @returns the thread count the backend reports.
 * @throws Error if wasm already started or the threaded build fails;
 *   {@link ThreadsTimeout} if it does not start within a minute.
 */
export async function startThreadedWasm(threads: number): Promise<number> {
  if (wasmStarted()) {
    throw new Error(
      "wasm threads must be chosen before the wasm backend first starts",
    );
  }
  tf.env().set("WASM_HAS_MULTITHREAD_SUPPORT", true);
  setThreadsCount(threads);
  let timer: ReturnType<typeof setTimeout> | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(
      () => reject(new ThreadsTimeout()),
      START_TIMEOUT_MS,
    );
  });
  try {
    const ok = await withCpus(
      2 * threads,
      () =>
        withWorker(
          pthreadWorkerClass(),
          () => Promise.race([tf.setBackend("wasm"), timeout]),
        ),
    );
    if (!ok) throw new Error("threaded wasm backend failed to start");
  } catch (e) {
    // Let a later plain start take the single-threaded build.
    tf.env().set("WASM_HAS_MULTITHREAD_SUPPORT", false);
    setThreadsCount(1);
    throw e;
  } finally {
    clearTimeout(timer);
  }
  return getThreadsCount();
}
