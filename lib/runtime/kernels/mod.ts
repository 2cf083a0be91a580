/**
 * Fast wasm kernels for training convolutional nets with
 * `@tensorflow/tfjs-backend-wasm` 4.22.
 *
 * - `Conv2DBackpropFilter`: missing on wasm (training a conv net fails
 *   without it); composed of per-tap slices and XNNPACK matMuls.
 * - `Conv2DBackpropInput` (also conv2dTranspose's forward): the stock kernel
 *   is a naive loop; replaced by sub-pixel XNNPACK convolutions.
 * - `Slice`: the stock kernel copies the whole input out of the heap on
 *   every call; replaced by one that copies only the selected runs.
 * - `Identity` (`tf.clone`, used by the gradient tape for every saved
 *   tensor): shares the buffer instead of copying it.
 * - `Conv2D`, `FusedConv2D`: for weight-heavy layers (few output pixels per
 *   output channel) an im2col matMul, which avoids tfjs's slow re-layout of
 *   new weights every step; the stock kernels otherwise.
 *
 * @module
 */
import { getKernel, registerKernel } from "@tensorflow/tfjs";
import "@tensorflow/tfjs-backend-wasm";
import { replaceKernel } from "../kernel_registry.ts";
import { makeConv2DBackpropFilterConfig } from "./conv2d_backprop_filter.ts";
import { makeConv2DBackpropInputConfig } from "./conv2d_backprop_input.ts";
import { makeSliceConfig } from "./slice.ts";
import { makeIdentityConfig } from "./identity.ts";
import { makeConv2DConfig, makeFusedConv2DConfig } from "./conv2d.ts";

let registered = false;

/**
 * Registers this project's wasm kernels with tfjs (idempotent). Call it
 * before or after `tf.setBackend("wasm")`; the replaced kernels keep the
 * stock ones' set-up so either order works. Other backends are untouched.
 */
export function registerWasmKernels(): void {
  if (registered) return;
  registered = true;
  replaceKernel("wasm", "Slice", makeSliceConfig);
  replaceKernel("wasm", "Identity", makeIdentityConfig);
  replaceKernel("wasm", "Conv2DBackpropInput", makeConv2DBackpropInputConfig);
  replaceKernel("wasm", "Conv2D", makeConv2DConfig);
  replaceKernel("wasm", "FusedConv2D", makeFusedConv2DConfig);
  if (getKernel("Conv2DBackpropFilter", "wasm") == null) {
    registerKernel(makeConv2DBackpropFilterConfig());
  }
}
