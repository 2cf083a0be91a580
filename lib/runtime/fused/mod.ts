/**
 * Fused element-wise kernels for tfjs-wasm (`fused.wat`, a small WebAssembly
 * module with 128-bit SIMD that imports tfjs-wasm's memory and computes in
 * place on its heap). Registered for the `wasm` backend, so the `native`
 * backend (wasm plus BLAS) has them too; other backends run the plain tfjs
 * ops instead.
 *
 * - {@link fusedAdam}: one Adam update of one variable in one pass over
 *   memory, bit-identical to tfjs's twelve ops.
 *
 * @example
 * ```ts
 * import { fusedAdam, registerFusedKernels } from "./mod.ts";
 * registerFusedKernels(); // before or after tf.setBackend("wasm")
 * // in an optimizer: const r = fusedAdam(value, gradient, m, v, scalars);
 * // r is null where the active backend has no fused kernel.
 * ```
 *
 * @module
 */
import * as tf from "@tensorflow/tfjs";
import type {
  KernelConfig,
  KernelFunc,
  NamedAttrMap,
  TensorInfo,
} from "@tensorflow/tfjs";
import type { WasmBackendLike } from "../../kernels/wasm_ops.ts";
import { FUSED_WASM_BASE64 } from "./fused_wasm.ts";

/** The custom kernel name of {@link fusedAdam}. */
export const ADAM_KERNEL = "Pix2PixFusedAdam";

/** The float32 scalars of one Adam update (see `fused.wat`). */
export interface AdamScalars {
  beta1: number;
  beta2: number;
  /** 1 - beta1^t, as tfjs computes it (float32). */
  oneMinusAcc1: number;
  /** 1 - beta2^t. */
  oneMinusAcc2: number;
  epsilon: number;
  learningRate: number;
}

/** The module's exports. */
interface FusedExports {
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
}

/** tfjs-wasm's Emscripten module: its exports hold the heap's Memory. */
interface WasmModuleLike {
  asm?: { memory?: WebAssembly.Memory };
}

let compiled: WebAssembly.Module | null = null;
const instances = new WeakMap<object, FusedExports>();

/** The fused module instantiated on `backend`'s heap (once per backend). */
function exportsFor(backend: WasmBackendLike): FusedExports {
  let ex = instances.get(backend);
  if (ex != null) return ex;
  const memory = (backend as unknown as { wasm: WasmModuleLike }).wasm?.asm
    ?.memory;
  if (!(memory instanceof WebAssembly.Memory)) {
    throw new Error(
      "tfjs-wasm's heap memory (wasm.asm.memory) not found: the fused " +
        "kernels need @tensorflow/tfjs-backend-wasm 4.22",
    );
  }
  compiled ??= new WebAssembly.Module(
    Uint8Array.from(atob(FUSED_WASM_BASE64), (c) => c.charCodeAt(0)),
  );
  ex = new WebAssembly.Instance(compiled, { env: { memory } })
    .exports as unknown as FusedExports;
  instances.set(backend, ex);
  return ex;
}

const adamKernel: KernelFunc = ({ inputs, attrs, backend }) => {
  const { value, gradient, m, v } = inputs as Record<string, TensorInfo>;
  const s = attrs as unknown as AdamScalars;
  const be = backend as unknown as WasmBackendLike;
  const outs = [value, m, v].map((t) => be.makeOutput(t.shape, "float32"));
  const ptr = (t: TensorInfo) => be.typedArrayFromHeap(t).byteOffset;
  const f = Math.fround;
  exportsFor(be).adam(
    ptr(value),
    ptr(gradient),
    ptr(m),
    ptr(v),
    ptr(outs[0]),
    ptr(outs[1]),
    ptr(outs[2]),
    tf.util.sizeFromShape(value.shape),
    f(s.beta1),
    f(1 - s.beta1),
    f(s.beta2),
    f(1 - s.beta2),
    f(s.oneMinusAcc1),
    f(s.oneMinusAcc2),
    f(s.epsilon),
    f(-s.learningRate),
  );
  return outs;
};

let registered = false;

/** Registers the fused kernels for the `wasm` backend (idempotent). */
export function registerFusedKernels(): void {
  if (registered) return;
  registered = true;
  const config: KernelConfig = {
    kernelName: ADAM_KERNEL,
    backendName: "wasm",
    kernelFunc: adamKernel,
  };
  tf.registerKernel(config);
}

/** Whether the active backend has the fused Adam kernel. */
export function hasFusedAdam(): boolean {
  return tf.getKernel(ADAM_KERNEL, tf.getBackend()) != null;
}

/**
 * One Adam update of a float32 variable in one fused pass: returns the new
 * value, first and second moments (new tensors; the caller assigns and
 * disposes them), or null when the active backend has no fused kernel.
 */
export function fusedAdam(
  value: tf.Tensor,
  gradient: tf.Tensor,
  m: tf.Tensor,
  v: tf.Tensor,
  scalars: AdamScalars,
): [tf.Tensor, tf.Tensor, tf.Tensor] | null {
  if (!hasFusedAdam()) return null;
  if ([value, gradient, m, v].some((t) => t.dtype !== "float32")) return null;
  return tf.engine().runKernel(
    ADAM_KERNEL,
    { value, gradient, m, v },
    scalars as unknown as NamedAttrMap,
  ) as unknown as [tf.Tensor, tf.Tensor, tf.Tensor];
}
