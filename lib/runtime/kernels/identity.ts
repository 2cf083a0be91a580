/**
 * A wasm `Identity` that shares the input's heap buffer instead of copying it.
 *
 * tfjs calls `Identity` through `tf.clone` whenever a gradient tape saves a
 * tensor for the backward pass, so during training every saved activation
 * and every weight a layer uses is cloned (1,500-1,600 calls per pix2pix
 * step). The stock wasm kernel copies the bytes, which doubles the memory the
 * tape holds (a second copy of all weights: 218 MB for the 256 px U-Net) and
 * costs the copies' time. Tensors are immutable in tfjs (`Variable.assign`
 * swaps the buffer, it does not write into it), so the clone can share the
 * buffer with one more reference, as the wasm `Reshape` and the cpu backend's
 * `Identity` already do.
 *
 * @module
 */
import {
  Identity,
  type KernelConfig,
  type KernelFunc,
  type TensorInfo,
} from "@tensorflow/tfjs";

/** The part of the wasm backend this kernel uses. */
interface RefCounted {
  /** Adds one reference to a tensor's data (freed when all are dropped). */
  incRef(dataId: object): void;
}

/**
 * Builds the replacement `Identity` kernel config. String tensors (kept in
 * JS, not on the heap) go to `original`.
 */
export function makeIdentityConfig(original: KernelConfig): KernelConfig {
  const kernelFunc: KernelFunc = (args) => {
    const { x } = args.inputs as { x: TensorInfo };
    if (x.dtype === "string") return original.kernelFunc(args);
    (args.backend as unknown as RefCounted).incRef(x.dataId);
    return { dataId: x.dataId, shape: [...x.shape], dtype: x.dtype };
  };
  return {
    kernelName: Identity,
    backendName: "wasm",
    kernelFunc,
    setupFunc: original.setupFunc,
    disposeFunc: original.disposeFunc,
  };
}
