import assert from "node:assert/strict";
import * as tf from "@tensorflow/tfjs";
import { Adam } from "../lib/adam.ts";

await tf.setBackend("cpu");

/** `count` seeded variables named `<tag>_<i>`, of shape `shape(i)`. */
function makeVariables(
  tag: string,
  count = 6,
  shape = (i: number) => [64, i + 1],
): tf.Variable[] {
  return Array.from({ length: count }, (_, i) =>
    tf.variable(
      tf.randomNormal(shape(i), 0, 1, "float32", i + 1),
      true,
      `${tag}_${i}`,
    ));
}

/** Gradients of step `t` for `vars`, deterministic (tfjs treats seed 0 as none). */
function grads(vars: tf.Variable[], t: number): tf.NamedTensorMap {
  return Object.fromEntries(
    vars.map((
      v,
      i,
    ) => [v.name, tf.randomNormal(v.shape, 0, 1, "float32", 100 * t + i + 1)]),
  );
}

/** Runs `steps` updates of `opt` on fresh variables; returns their values. */
function run(opt: tf.Optimizer, tag: string, steps: number): Float32Array[] {
  const vars = makeVariables(tag);
  for (let t = 0; t < steps; t++) {
    const g = grads(vars, t);
    opt.applyGradients(g);
    tf.dispose(Object.values(g));
  }
  const out = vars.map((v) => v.dataSync() as Float32Array);
  tf.dispose(vars);
  return out;
}

Deno.test("Adam: bit-identical to tf.train.adam over several steps", () => {
  const ours = new Adam(2e-4, 0.5, 0.999, 1e-8);
  const theirs = tf.train.adam(2e-4, 0.5, 0.999, 1e-8);
  const a = run(ours, "ours", 5);
  const b = run(theirs, "theirs", 5);
  for (let i = 0; i < a.length; i++) assert.deepEqual(a[i], b[i]);
  ours.dispose();
  theirs.dispose();
});

Deno.test("Adam: saved state has tfjs Adam's names and loads into it", async () => {
  const ours = new Adam(1e-3, 0.5, 0.999, 1e-8);
  const theirs = tf.train.adam(1e-3, 0.5, 0.999, 1e-8);
  run(ours, "w", 2);
  run(theirs, "w", 2);
  const ow = await ours.getWeights();
  const tw = await theirs.getWeights();
  assert.deepEqual(ow.map((w) => w.name), tw.map((w) => w.name));
  for (let i = 0; i < ow.length; i++) {
    assert.deepEqual(ow[i].tensor.dataSync(), tw[i].tensor.dataSync());
  }
  // Our state restored into a fresh optimizer continues like the original
  // (with the running powers, which setWeights recomputes with pow()).
  const restored = new Adam(1e-3, 0.5, 0.999, 1e-8);
  await restored.setWeights(
    ow.map((w) => ({ ...w, tensor: w.tensor.clone() })),
  );
  assert.equal(restored.iterations, 2);
  restored.accBeta1.assign(ours.accBeta1);
  restored.accBeta2.assign(ours.accBeta2);
  const a = run(ours, "cont_a", 1);
  const b = run(restored, "cont_b", 1);
  for (let i = 0; i < a.length; i++) assert.deepEqual(a[i], b[i]);
  for (const o of [ours, theirs, restored]) o.dispose();
});

Deno.test("Adam: transient memory is a few copies of one variable, and nothing leaks", async () => {
  /** Peak bytes above the live bytes during one update of 8 equal variables. */
  const transient = async (opt: tf.Optimizer, tag: string) => {
    const vars = makeVariables(tag, 8, () => [4096, 8]);
    const warm = grads(vars, 0);
    opt.applyGradients(warm); // creates the moments
    tf.dispose(Object.values(warm));
    const g = grads(vars, 1);
    const before = tf.memory().numBytes;
    const info = await tf.profile(() => opt.applyGradients(g));
    // Nothing leaks: the update replaces values and moments in place.
    assert.equal(tf.memory().numBytes, before, `${tag} leaked`);
    tf.dispose([...Object.values(g), ...vars]);
    opt.dispose();
    return info.peakBytes - before;
  };
  const one = 4096 * 8 * 4; // bytes of one variable
  const ours = await transient(new Adam(1e-3, 0.5, 0.999, 1e-8), "t_ours");
  const theirs = await transient(tf.train.adam(1e-3, 0.5, 0.999, 1e-8), "t_tf");
  // An update makes ~14 full-size intermediates; tfjs keeps those of all 8
  // variables until the end, ours frees each once used (at most 4 alive).
  assert.ok(theirs >= 8 * 12 * one, `tfjs transient ${theirs} B`);
  assert.ok(
    ours <= 4 * one + 64,
    `ours transient ${ours} B, one variable ${one} B`,
  );
});
