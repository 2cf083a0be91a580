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
 * @module
 */
import * as tf from "@tensorflow/tfjs";

let registered = false;

/** Registers the overrides (idempotent, every backend). */
export function registerGradients(): void {
  if (registered) return;
  registered = true;
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
