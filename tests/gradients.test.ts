import assert from "node:assert/strict";
import * as tf from "@tensorflow/tfjs";
import "@tensorflow/tfjs-backend-wasm";

// tfjs's own gradient, taken before lib/runtime/gradients.ts replaces it.
const stock = tf.getGradient("FusedBatchNorm");
const { initBackend } = await import("../lib/runtime/backend.ts");
await initBackend("wasm"); // registers the overrides
const ours = tf.getGradient("FusedBatchNorm");

/** d/dx of a batch-norm layer in training mode (moments of x, scale, offset). */
function batchNormGrad(): { dx: Float32Array; kernels: Promise<string[]> } {
  const x = tf.randomNormal([2, 6, 5, 4], 0, 1, "float32", 7);
  const scale = tf.randomNormal([4], 1, 0.1, "float32", 8);
  const offset = tf.randomNormal([4], 0, 0.1, "float32", 9);
  const f = (t: tf.Tensor) => {
    const { mean, variance } = tf.moments(t, [0, 1, 2]);
    const y = tf.batchNorm(t, mean, variance, offset, scale, 1e-3);
    return tf.sum(tf.mul(y, tf.sin(t)));
  };
  let dx!: Float32Array;
  const kernels = tf.profile(() => {
    const d = tf.grad(f)(x);
    dx = d.dataSync() as Float32Array;
    d.dispose();
  }).then((info) => info.kernels.map((k) => k.name));
  tf.dispose([x, scale, offset]);
  return { dx, kernels };
}

for (const backend of ["cpu", "wasm"]) {
  Deno.test(`FusedBatchNorm gradient on ${backend}: bit-identical to tfjs's, without Tile`, async () => {
    await tf.setBackend(backend);
    try {
      tf.registerGradient(stock);
      const before = batchNormGrad();
      assert.ok((await before.kernels).includes("Tile"));
      tf.registerGradient(ours);
      const after = batchNormGrad();
      assert.deepEqual(after.dx, before.dx);
      assert.ok(!(await after.kernels).includes("Tile"));
    } finally {
      tf.registerGradient(ours);
    }
  });
}
