/**
 * Reading tensors back in a notebook cell, asynchronously: tfjs's
 * `dataSync()` blocks and, on WebGPU under Deno, fails (it needs an
 * OffscreenCanvas), while `data()` works on every backend. `tf.tidy` cannot
 * wrap an `await`, so these take the computation as a function, tidy it, read
 * the result and dispose it.
 *
 * @example
 * ```ts
 * const l1 = await scalarOf(() => tf.mean(tf.abs(tf.sub(fake, target))));
 * const row = await valuesOf(() => tf.sigmoid(logits));
 * const v = await scalarOf(variable); // a tensor given as such is kept
 * ```
 *
 * @module
 */
import * as tf from "@tensorflow/tfjs";

/**
 * Every value of `t`, or of the tensor `t()` computes (its intermediates
 * and result disposed once read), as numbers.
 */
export async function valuesOf(
  t: tf.Tensor | (() => tf.Tensor),
): Promise<number[]> {
  const tensor = typeof t === "function" ? tf.tidy(t) : t;
  try {
    return Array.from(await tensor.data());
  } finally {
    if (tensor !== t) tensor.dispose();
  }
}

/** The first value of `t` (a scalar's value), as {@link valuesOf} reads it. */
export async function scalarOf(
  t: tf.Tensor | (() => tf.Tensor),
): Promise<number> {
  return (await valuesOf(t))[0];
}
