/**
 * A wasm `Slice` that copies through views of the wasm heap.
 *
 * The stock wasm `Slice` first copies the whole input out of the heap
 * (`readSync`) on every call, so 16 per-tap slices of one activation copied
 * it 16 times. This one copies only the selected elements, one
 * `TypedArray.set` per contiguous run.
 *
 * @module
 */
import {
  type KernelConfig,
  type KernelFunc,
  Slice,
  slice_util,
  type TensorInfo,
} from "@tensorflow/tfjs";
import { copyRuns, type HeapView, stridesOf } from "./heap_copy.ts";
import type { WasmBackendLike } from "./wasm_ops.ts";

/**
 * Copies the slice `x[begin : begin + size]` (stride 1 on every axis, any
 * rank) of the heap tensor viewed by `src` (shape `shape`) into `dst` from
 * element `dstOffset` on, contiguously.
 */
export function copySlice(
  src: HeapView,
  shape: number[],
  begin: number[],
  size: number[],
  dst: HeapView,
  dstOffset = 0,
): void {
  const strides = [...stridesOf(shape), 1];
  // Innermost axis sliced partially: the axes after it are whole, so each
  // run is size[k] * strides[k] contiguous elements.
  let k = shape.length - 1;
  while (k > 0 && size[k] === shape[k]) k--;
  const run = k < 0 ? 1 : size[k] * strides[k];
  let offset = 0;
  for (let i = 0; i < shape.length; i++) offset += begin[i] * strides[i];
  const outer = size.slice(0, Math.max(k, 0));
  copyRuns(
    { view: src, offset, strides: strides.slice(0, outer.length) },
    {
      view: dst,
      offset: dstOffset,
      strides: stridesOf([...outer, run]).slice(0, outer.length),
    },
    outer,
    run,
  );
}

/** `x[begin : begin + size]` as a new wasm tensor; `x` must be numeric. */
export function sliceHeap(
  backend: WasmBackendLike,
  x: TensorInfo,
  begin: number[],
  size: number[],
): TensorInfo {
  const out = backend.makeOutput(size, x.dtype);
  // Views are made after makeOutput: a heap growth detaches older views.
  copySlice(
    backend.typedArrayFromHeap(x),
    x.shape,
    begin,
    size,
    backend.typedArrayFromHeap(out),
  );
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
    const [b, s] = slice_util.parseSliceParams(x as never, begin, size);
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
