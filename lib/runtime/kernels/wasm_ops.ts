/**
 * Helpers for kernels composed of other wasm kernels.
 *
 * The composed kernels in this folder run inside a tfjs kernel call, where
 * tensors are plain `TensorInfo`s owned by the wasm backend (no `tf.*` ops,
 * no engine bookkeeping). {@link WasmScope} calls registered wasm kernels by
 * name and frees every intermediate when the composed kernel is done.
 *
 * @module
 */
import {
  type DataType,
  getKernel,
  type NamedAttrMap,
  type NamedTensorInfoMap,
  type TensorInfo,
} from "@tensorflow/tfjs";

/**
 * The parts of tfjs-backend-wasm's `BackendWasm` these kernels use. Declared
 * here (structurally) because the package does not export the class's
 * internals in its types.
 */
export interface WasmBackendLike {
  /** Allocates an output tensor on the wasm heap. */
  makeOutput(shape: number[], dtype: DataType): TensorInfo;
  /** A typed view onto a tensor's bytes in the wasm heap (no copy). */
  typedArrayFromHeap(t: TensorInfo): Float32Array | Int32Array | Uint8Array;
  /** Drops one reference to a tensor's data; frees it at zero. */
  disposeData(dataId: object, force?: boolean): boolean;
}

/**
 * A {@link WasmScope} on a kernel call's `backend` (tfjs types it as the
 * generic `KernelBackend`; in a wasm kernel it is the wasm backend).
 */
export function kernelScope(backend: unknown): WasmScope {
  return new WasmScope(backend as WasmBackendLike);
}

/**
 * Runs wasm kernels by name on one backend and remembers their outputs so
 * that {@link WasmScope.dispose} frees all intermediates. Use
 * {@link WasmScope.keep} on the tensor the composed kernel returns.
 */
export class WasmScope {
  #temps: TensorInfo[] = [];

  /** @param backend the wasm backend the composed kernel was called with. */
  constructor(readonly backend: WasmBackendLike) {}

  /**
   * Runs the wasm kernel `name` (whatever is registered now, including this
   * project's replacements) and tracks its output for disposal.
   */
  run(
    name: string,
    inputs: NamedTensorInfoMap,
    attrs: NamedAttrMap = {},
  ): TensorInfo {
    const kernel = getKernel(name, "wasm");
    if (kernel == null) {
      throw new Error(`wasm kernel ${name} is not registered`);
    }
    const out = kernel.kernelFunc({
      inputs,
      attrs,
      backend: this.backend as never,
    }) as TensorInfo;
    return this.track(out);
  }

  /** Tracks a tensor made outside {@link WasmScope.run} for disposal. */
  track(t: TensorInfo): TensorInfo {
    this.#temps.push(t);
    return t;
  }

  /** Allocates an uninitialised tensor on the heap, tracked for disposal. */
  alloc(shape: number[], dtype: DataType = "float32"): TensorInfo {
    return this.track(this.backend.makeOutput(shape, dtype));
  }

  /**
   * A view of `t`'s elements. Take it after the last allocation before the
   * copy: growing the heap detaches older views.
   */
  view(t: TensorInfo): Float32Array | Int32Array | Uint8Array {
    return this.backend.typedArrayFromHeap(t);
  }

  /** Reshape without copying (shares the data, adds a reference). */
  reshape(x: TensorInfo, shape: number[]): TensorInfo {
    return this.run("Reshape", { x }, { shape });
  }

  /** Permutes axes (native wasm transpose). */
  transpose(x: TensorInfo, perm: number[]): TensorInfo {
    return this.run("Transpose", { x }, { perm });
  }

  /** Zero padding, `paddings` as `[before, after]` per axis. */
  pad(x: TensorInfo, paddings: [number, number][]): TensorInfo {
    if (paddings.every(([a, b]) => a === 0 && b === 0)) return x;
    return this.run("PadV2", { x }, { paddings, constantValue: 0 });
  }

  /** Contiguous (stride-1) slice. */
  slice(x: TensorInfo, begin: number[], size: number[]): TensorInfo {
    return this.run("Slice", { x }, { begin, size });
  }

  /** 2-D transpose `[a, b] -> [b, a]` (the wasm transpose is fast in 2-D). */
  transpose2d(x: TensorInfo): TensorInfo {
    return this.transpose(x, [1, 0]);
  }

  /** Concatenation along `axis`. */
  concat(xs: TensorInfo[], axis: number): TensorInfo {
    if (xs.length === 1) return xs[0];
    return this.run("Concat", xs as unknown as NamedTensorInfoMap, { axis });
  }

  /** `[b, m, k] x [b, k, n] -> [b, m, n]`, never with transposed operands. */
  matMul(a: TensorInfo, b: TensorInfo): TensorInfo {
    return this.run("BatchMatMul", { a, b }, {
      transposeA: false,
      transposeB: false,
    });
  }

  /**
   * Stops tracking `t` (the result to return) and frees everything else.
   * `t` stays valid even when it shares data with a freed intermediate.
   */
  finish(t: TensorInfo): TensorInfo {
    this.#temps = this.#temps.filter((u) => u !== t);
    for (const u of this.#temps) this.backend.disposeData(u.dataId);
    this.#temps = [];
    return t;
  }
}
