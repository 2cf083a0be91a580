/**
 * Child process of the wasm-threads test in tests/backend.test.ts (the
 * threaded build must start before any other wasm start in its process):
 * starts wasm with 2 threads, runs conv gradients on it and on cpu, and
 * prints one JSON line `{ name, reason, maxRelError }`.
 *
 * @module
 */
import { initBackend } from "../lib/runtime/backend.ts";
import { CONV_CASES, convGradients, relError } from "./conv_grad_cases.ts";

const choice = await initBackend("wasm", { threads: 2 });
let maxRelError = 0;
for (const c of CONV_CASES.slice(0, 4)) {
  const got = await convGradients("wasm", c);
  const ref = await convGradients("cpu", c);
  for (const k of ["y", "dx", "dw"] as const) {
    maxRelError = Math.max(maxRelError, relError(got[k], ref[k]));
  }
}
console.log(JSON.stringify({ ...choice, maxRelError }));
