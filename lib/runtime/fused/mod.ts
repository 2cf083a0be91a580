/**
 * Fused element-wise kernels for tfjs-wasm (`fused.wat`, a small WebAssembly
 * module with 128-bit SIMD that imports tfjs-wasm's memory and computes in
 * place on its heap). Registered for the `wasm` backend, so the `native`
 * backend (wasm plus BLAS) has them too; other backends run the plain tfjs
 * ops instead.
 *
 * - {@link fusedAdam}: one Adam update of one variable in one pass over
 *   memory, bit-identical to tfjs's twelve ops.
 * - `Sum` / `Mean` over leading axes (bias and batch-norm gradients,
 *   batch-norm moments) without tfjs-wasm's transposing copy; `Concat` and
 *   `SplitV` (U-Net skips) as block copies; `LeakyRelu`; and two kernels of
 *   our own for the LeakyReLU / ReLU gradients (one pass instead of
 *   three), used by `lib/runtime/gradients.ts` where registered. See `kernels.ts`.
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
import type { WasmBackendLike } from "../kernels/wasm_ops.ts";
import { fusedExports } from "./module.ts";
import { FUSED_KERNELS } from "./kernels.ts";

export { LEAKY_RELU_GRAD_KERNEL, RELU_GRAD_KERNEL } from "./kernels.ts";

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

/** `adam` over `value`, `gradient`, `m`, `v`, writing to `outs` (may alias). */
function runAdam(
  be: WasmBackendLike,
  [value, gradient, m, v]: TensorInfo[],
  outs: TensorInfo[],
  s: AdamScalars,
): void {
  const ptr = (t: TensorInfo) => be.typedArrayFromHeap(t).byteOffset;
  const f = Math.fround;
  fusedExports(be).adam(
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
}

const adamKernel: KernelFunc = ({ inputs, attrs, backend }) => {
  const { value, gradient, m, v } = inputs as Record<string, TensorInfo>;
  const be = backend as unknown as WasmBackendLike;
  const outs = [value, m, v].map((t) => be.makeOutput(t.shape, "float32"));
  runAdam(be, [value, gradient, m, v], outs, attrs as unknown as AdamScalars);
  return outs;
};

/** The wasm backend's reference count of a tensor's data (1: no sharer). */
function heapRefs(be: unknown, t: tf.Tensor): number {
  const store = (be as { dataIdMap?: { get(id: object): unknown } }).dataIdMap;
  const entry = store?.get(t.dataId) as { refCount?: number } | undefined;
  return entry?.refCount ?? Infinity;
}

let registered = false;

/**
 * Registers the fused kernels for the `wasm` backend (idempotent; after
 * `registerWasmKernels()`, whose kernels the replaced ones fall back to).
 */
export function registerFusedKernels(): void {
  if (registered) return;
  registered = true;
  const config: KernelConfig = {
    kernelName: ADAM_KERNEL,
    backendName: "wasm",
    kernelFunc: adamKernel,
  };
  tf.registerKernel(config);
  for (const [name, make] of Object.entries(FUSED_KERNELS)) {
    const original = tf.getKernel(name, "wasm");
    if (original != null) tf.unregisterKernel(name, "wasm");
    tf.registerKernel(make(original ?? null));
  }
}

/** Whether the active backend has the fused Adam kernel. */
export function hasFusedAdam(): boolean {
  return tf.getKernel(ADAM_KERNEL, tf.getBackend()) != null;
}

/**
 * One Adam update of a float32 variable in one fused pass, true when done
 * (false: the active backend has no fused kernel; use the ops). The value
 * and moments are updated in place when nothing else shares their buffers
 * (no transient copies), else written to new buffers and assigned.
 */
export function fusedAdam(
  value: tf.Variable,
  gradient: tf.Tensor,
  m: tf.Variable,
  v: tf.Variable,
  scalars: AdamScalars,
): boolean {
  if (!hasFusedAdam()) return false;
  if ([value, gradient, m, v].some((t) => t.dtype !== "float32")) return false;
  const be = tf.backend();
  if ([value, m, v].every((t) => heapRefs(be, t) === 1)) {
    const ts = [value, gradient, m, v] as unknown as TensorInfo[];
    runAdam(
      be as unknown as WasmBackendLike,
      ts,
      [ts[0], ts[2], ts[3]],
      scalars,
    );
    return true;
  }
  const outs = tf.engine().runKernel(
    ADAM_KERNEL,
    { value, gradient, m, v },
    scalars as unknown as NamedAttrMap,
  ) as unknown as tf.Tensor[];
  [value, m, v].forEach((x, k) => x.assign(outs[k]));
  tf.dispose(outs);
  return true;
}
