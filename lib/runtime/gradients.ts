/**
 * Gradient overrides that compute tfjs's own values with less work.
 *
 * `FusedBatchNorm` (batch norm in training mode): tfjs 4.22's gradient with
 * respect to `x` multiplies `dy` by 1/sqrt(variance + eps) *tiled* to the
 * full NHWC shape, one extra full-size tensor and pass per batch-norm layer
 * per step (the `Tile` kernel: ~5 % of a 128 px training step on wasm). The
 * multiply broadcasts the [C] vector just as well, element for element the
 * same products, so the gradients are bit-identical. Every other input's
 * gradient is tfjs's, unchanged.
 *
 * The backward pass itself frees gradients and saved tensors as it goes
 * (`lib/runtime/backprop.ts`).
 *
 * `LeakyRelu`, `Relu`: where the active backend has this project's fused
 * gradient kernels (wasm and native, `lib/runtime/fused/`), one pass
 * computes what tfjs's three ops do, with the same values; elsewhere tfjs's
 * own gradient.
 *
 * @module
 */
import * as tf from "@tensorflow/tfjs";
import { installLeanBackprop } from "./backprop.ts";
import { LEAKY_RELU_GRAD_KERNEL, RELU_GRAD_KERNEL } from "./fused/mod.ts";

/**
 * Replaces the gradient of `kernelName`: `kernel` (one of ours) computes the
 * input gradient from `dy` and the saved input where the active backend has
 * it; otherwise tfjs's own gradient runs.
 */
function viaKernel(kernelName: string, kernel: string): void {
  const stock = tf.getGradient(kernelName);
  if (stock == null) throw new Error(`tfjs has no ${kernelName} gradient`);
  tf.registerGradient({
    ...stock,
    gradFunc: (dy, saved, attrs) => {
      if (tf.getKernel(kernel, tf.getBackend()) == null) {
        return stock.gradFunc(dy, saved, attrs);
      }
      return {
        x: () =>
          tf.engine().runKernel(
            kernel,
            { dy: dy as tf.Tensor, x: saved[0] },
            attrs as tf.NamedAttrMap,
          ) as tf.Tensor,
      };
    },
  });
}

let registered = false;

/** Registers the overrides (idempotent, every backend). */
export function registerGradients(): void {
  if (registered) return;
  registered = true;
  installLeanBackprop();
  viaKernel("LeakyRelu", LEAKY_RELU_GRAD_KERNEL);
  viaKernel("Relu", RELU_GRAD_KERNEL);
  const stock = tf.getGradient("FusedBatchNorm");
  if (stock == null) throw new Error("tfjs has no FusedBatchNorm gradient");
  tf.registerGradient({
    ...stock,
    gradFunc: (dy, saved, attrs) => {
      const grads = stock.gradFunc(dy, saved, attrs);
      const [x, mean, variance, scale] = saved;
      if (mean.rank !== 1) return grads;
      const { varianceEpsilon } = attrs as unknown as {
        varianceEpsilon: number;
      };
      return {
        ...grads,
        x: () => {
          const rsqrt = tf.rsqrt(
            tf.add(variance, tf.scalar(varianceEpsilon)),
          );
          const scaled = tf.mul(dy as tf.Tensor, rsqrt);
          return tf.reshape(
            tf.mul(scaled, scale ?? tf.scalar(1)),
            x.shape,
          );
        },
      };
    },
  });
}
