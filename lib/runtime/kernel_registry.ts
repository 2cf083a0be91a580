/**
 * Replacing one backend's kernel in tfjs's kernel registry, keeping the
 * stock one to fall back to: the one way `kernels/` (wasm), `native/` and
 * `webgpu/` install theirs.
 *
 * @example
 * ```ts
 * import { replaceKernel } from "./kernel_registry.ts";
 * replaceKernel("webgpu", "Conv2D", (stock) => ({
 *   ...stock,
 *   kernelFunc: (args) => stock.kernelFunc(args),
 * }));
 * ```
 *
 * @module
 */
import {
  getKernel,
  type KernelConfig,
  registerKernel,
  unregisterKernel,
} from "@tensorflow/tfjs";

/**
 * Replaces kernel `name` of `backend` by `make(original)`, where `original`
 * is the kernel registered now (which `make`'s kernel may fall back to);
 * returns `original`, to put back later.
 *
 * @throws Error naming the kernel and backend when none is registered.
 */
export function replaceKernel(
  backend: string,
  name: string,
  make: (original: KernelConfig) => KernelConfig,
): KernelConfig {
  const original = getKernel(name, backend);
  if (original == null) {
    throw new Error(`stock ${backend} kernel ${name} not found`);
  }
  unregisterKernel(name, backend);
  registerKernel(make(original));
  return original;
}
