/**
 * A wasm `Slice` that copies through views of the wasm heap.
 *
 * The stock wasm `Slice` first copies the whole input out of the heap
 * (`readSync`) on every call, so the 16 per-tap slices of a 4x4 filter
 * gradient copied the full activation 16 times. This one copies only the
 * selected elements, one `TypedArray.set` per contiguous run.
 *
 * @module
 */
import {
  type KernelConfig,
  type KernelFunc,
  Slice,
  slice_util,
  type TensorInfo,
  util,
} from "@tensorflow/tfjs-core";
import type { WasmBackendLike } from "./wasm_ops.ts";

/**
 * Copies `x[begin : begin + size]` (stride 1 on every axis) into a new wasm
 * tensor. `x` must be numeric (float32, int32 or bool). Any rank.
 */
export function sliceHeap(
  backend: WasmBackendLike,
  x: TensorInfo,
  begin: number[],
  size: number[],
): TensorInfo {
  const out = backend.makeOutput(size, x.dtype);
  const total = util.sizeFromShape(size);
  if (total === 0) return out;
  // Views are made after makeOutput: a heap growth detaches older views.
  const src = backend.typedArrayFromHeap(x);
  const dst = backend.typedArrayFromHeap(out);
  const shape = x.shape;
  const strides = [...util.computeStrides(shape), 1];
  // Innermost axis that is sliced partially: everything after it is whole,
  // so each run is size[k] * strides[k] contiguous elements.
  let k = shape.length - 1;
  while (k > 0 && size[k] === shape[k]) k--;
  const run = k < 0 ? total : size[k] * strides[k];
  let base = 0;
  for (let i = 0; i < shape.length; i++) base += begin[i] * strides[i];
  const outer = total / run;
  const idx = new Array<number>(Math.max(k, 0)).fill(0);
  let off = base;
  for (let r = 0; r < outer; r++) {
    dst.set(src.subarray(off, off + run), r * run);
    // Advance the odometer over axes k-1 .. 0.
    for (let a = k - 1; a >= 0; a--) {
      off += strides[a];
      if (++idx[a] < size[a]) break;
      off -= strides[a] * size[a];
      idx[a] = 0;
    }
  }
  return out;
}

/**
 * Builds the replacement `Slice` kernel config. String tensors (kept in JS,
 * not on the heap) go to `original`.
 */
export function makeSliceConfig(original: KernelConfig): KernelConfig {
  const kernelFunc: KernelFunc = (args) => {
    const { x } = args.inputs as { x: TensorInfo };
    if (x.dtype === "string") return original.kernelFunc(args);
    const { begin, size } = args.attrs as unknown as {
      begin: number | number[];
      size: number | number[];
    };
    const [b, s] = slice_util.parseSliceParams(
      x as never,
      begin,
      size,
    );
    return sliceHeap(args.backend as unknown as WasmBackendLike, x, b, s);
  };
  return {
    kernelName: Slice,
    backendName: "wasm",
    kernelFunc,
    setupFunc: original.setupFunc,
    disposeFunc: original.disposeFunc,
  };
}
