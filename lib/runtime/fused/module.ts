/**
 * `fused.wat` instantiated on tfjs-wasm's heap: the module imports the
 * backend's `WebAssembly.Memory`, so its functions take tensors' heap byte
 * offsets (`typedArrayFromHeap(t).byteOffset`) and work in place.
 *
 * @module
 */
import type { WasmBackendLike } from "../kernels/wasm_ops.ts";
import { FUSED_WASM_BASE64, FUSED_WASM_SHARED_BASE64 } from "./fused_wasm.ts";

/**
 * A convolution's geometry as `im2col` / `col2im` take it: batch, H, W, C,
 * out H, out W, kernel H, kernel W, stride H, stride W, pad top, pad left.
 */
export type Geometry = [
  number,
  number,
  number,
  number,
  number,
  number,
  number,
  number,
  number,
  number,
  number,
  number,
];

/** The module's exports. */
export interface FusedExports {
  adam(
    w: number,
    g: number,
    m: number,
    v: number,
    ow: number,
    om: number,
    ov: number,
    n: number,
    b1: number,
    c1: number,
    b2: number,
    c2: number,
    oma1: number,
    oma2: number,
    eps: number,
    nlr: number,
  ): void;
  leaky_relu(x: number, out: number, n: number, alpha: number): void;
  leaky_relu_grad(
    dy: number,
    x: number,
    out: number,
    n: number,
    alpha: number,
  ): void;
  relu_grad(dy: number, x: number, out: number, n: number): void;
  colsum(x: number, out: number, rows: number, cols: number): void;
  im2col(x: number, cols: number, ...geometry: Geometry): void;
  col2im(cols: number, x: number, ...geometry: Geometry): void;
  copy_rows(
    src: number,
    srcStride: number,
    dst: number,
    dstStride: number,
    run: number,
    rows: number,
  ): void;
}

/**
 * tfjs-wasm's Emscripten module: the heap's Memory is an export of the plain
 * build (`asm.memory`) and an import of the threaded one (`wasmMemory`).
 */
interface WasmModuleLike {
  asm?: { memory?: WebAssembly.Memory };
  wasmMemory?: WebAssembly.Memory;
}

/** The compiled module for a plain and for a shared heap. */
const compiled = new Map<boolean, WebAssembly.Module>();
const instances = new WeakMap<object, FusedExports>();

/** The fused module instantiated on `backend`'s heap (once per backend). */
export function fusedExports(backend: WasmBackendLike): FusedExports {
  let ex = instances.get(backend);
  if (ex != null) return ex;
  const wasm = (backend as unknown as { wasm?: WasmModuleLike }).wasm;
  const memory = wasm?.asm?.memory ?? wasm?.wasmMemory;
  if (!(memory instanceof WebAssembly.Memory)) {
    throw new Error(
      "tfjs-wasm's heap memory (wasm.asm.memory or wasm.wasmMemory) not " +
        "found: the fused kernels need @tensorflow/tfjs-backend-wasm 4.22",
    );
  }
  const shared = typeof SharedArrayBuffer !== "undefined" &&
    memory.buffer instanceof SharedArrayBuffer;
  let mod = compiled.get(shared);
  if (mod == null) {
    const b64 = shared ? FUSED_WASM_SHARED_BASE64 : FUSED_WASM_BASE64;
    mod = new WebAssembly.Module(
      Uint8Array.from(atob(b64), (c) => c.charCodeAt(0)),
    );
    compiled.set(shared, mod);
  }
  ex = new WebAssembly.Instance(mod, { env: { memory } })
    .exports as unknown as FusedExports;
  instances.set(backend, ex);
  return ex;
}
