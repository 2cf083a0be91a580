/**
 * The `native` backend's kernels: tfjs-wasm with its convolutions and
 * matMuls computed by the system's BLAS through Deno FFI, in place on the
 * wasm heap (see README.md beside this file).
 *
 * @example
 * ```ts
 * import * as tf from "@tensorflow/tfjs";
 * import { loadBlas } from "./blas.ts";
 * import { registerNativeKernels } from "./mod.ts";
 * registerNativeKernels(loadBlas()); // after registerWasmKernels()
 * await tf.setBackend("wasm");
 * ```
 *
 * @module
 */
import { replaceKernel } from "../kernel_registry.ts";
import type { Blas } from "./blas.ts";
import { NATIVE_KERNELS } from "./kernels.ts";

export {
  NATIVE_KERNELS,
  type NativeStats,
  nativeStats,
  resetNativeStats,
} from "./kernels.ts";

export { type Blas, BLAS_ENV, BlasMissingError, loadBlas } from "./blas.ts";

let registeredWith: Blas | null = null;

/**
 * Replaces the wasm kernels in {@link NATIVE_KERNELS} with native ones on
 * `blas` (idempotent). Call after `registerWasmKernels()`: the native
 * kernels fall back to the kernels registered before them for the cases
 * they do not handle.
 */
export function registerNativeKernels(blas: Blas): void {
  if (registeredWith === blas) return;
  if (registeredWith != null) {
    throw new Error("native kernels are already registered with another BLAS");
  }
  registeredWith = blas;
  for (const [name, make] of Object.entries(NATIVE_KERNELS)) {
    replaceKernel("wasm", name, (original) => make(blas, original));
  }
}

/** The kernel names the native backend computes with BLAS. */
export const NATIVE_KERNEL_NAMES: readonly string[] = Object.keys(
  NATIVE_KERNELS,
);
