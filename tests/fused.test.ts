import assert from "node:assert/strict";
import * as tf from "@tensorflow/tfjs";
import { Adam } from "../lib/adam.ts";
import { initBackend } from "../lib/runtime/backend.ts";
import { hasFusedAdam } from "../lib/runtime/fused/mod.ts";
import {
  compileFusedWat,
  fusedWasmModule,
} from "../lib/runtime/fused/build.ts";

await initBackend("wasm");

Deno.test("fused_wasm.ts is fused.wat compiled (deno task build-wasm)", async () => {
  const committed = await Deno.readTextFile(
    new URL("../lib/runtime/fused/fused_wasm.ts", import.meta.url),
  );
  assert.equal(
    committed,
    fusedWasmModule(await compileFusedWat(), await compileFusedWat(true)),
  );
});

/** Runs `steps` updates on seeded variables (odd sizes: the scalar tail too). */
function run(opt: tf.Optimizer, tag: string, steps: number): Float32Array[] {
  const vars = [1, 3, 4, 7, 130, 4099].map((n, i) =>
    tf.tidy(() =>
      tf.variable(
        tf.randomNormal([n], 0, 1, "float32", i + 1),
        true,
        `${tag}${i}`,
      )
    )
  );
  for (let t = 0; t < steps; t++) {
    const g = Object.fromEntries(vars.map((v, i) => [
      v.name,
      tf.randomNormal(v.shape, 0, 1, "float32", 100 * t + i + 1),
    ]));
    opt.applyGradients(g);
    tf.dispose(Object.values(g));
  }
  const out = vars.map((v) => v.dataSync() as Float32Array);
  tf.dispose(vars);
  return out;
}

Deno.test("fused Adam on wasm is bit-identical to tf.train.adam", () => {
  assert.ok(hasFusedAdam(), "the wasm backend has the fused kernel");
  const ours = new Adam(2e-4, 0.5, 0.999, 1e-8);
  const theirs = tf.train.adam(2e-4, 0.5, 0.999, 1e-8);
  const a = run(ours, "ours", 5);
  const b = run(theirs, "theirs", 5);
  for (let i = 0; i < a.length; i++) assert.deepEqual(a[i], b[i], `var ${i}`);
  const moved = run(new Adam(2e-4, 0.5, 0.999, 1e-8), "moved", 0);
  assert.notDeepEqual(a[5], moved[5], "the update changed the weights");
  ours.dispose();
  theirs.dispose();
});

Deno.test("fused Adam frees its intermediates", () => {
  const opt = new Adam(1e-3, 0.5, 0.999, 1e-8);
  run(opt, "warm", 1);
  const before = tf.memory().numTensors;
  run(opt, "warm", 2);
  assert.equal(tf.memory().numTensors, before);
  opt.dispose();
});

/** `f` on cpu and on wasm (fused kernels registered), both as arrays. */
async function onBoth(
  f: () => tf.Tensor | tf.Tensor[],
): Promise<[Float32Array[], Float32Array[]]> {
  const out: Float32Array[][] = [];
  for (const b of ["cpu", "wasm"]) {
    await tf.setBackend(b);
    const ys = tf.tidy(() => [f()].flat());
    out.push(ys.map((y) => y.dataSync() as Float32Array));
    tf.dispose(ys);
  }
  return [out[0], out[1]];
}

const rand = (shape: number[], seed: number) =>
  tf.randomUniform(shape, -1, 1, "float32", seed);

/** max |a - b| / max |b| over every pair of arrays. */
function worst(a: Float32Array[], b: Float32Array[]): number {
  assert.equal(a.length, b.length);
  let diff = 0, scale = 0;
  a.forEach((x, i) => {
    assert.equal(x.length, b[i].length);
    x.forEach((v, j) => {
      diff = Math.max(diff, Math.abs(v - b[i][j]));
      scale = Math.max(scale, Math.abs(b[i][j]));
    });
  });
  return diff / scale;
}

Deno.test("fused Sum and Mean match cpu (leading axes fused, others stock)", async () => {
  const x = [2, 5, 6, 7];
  const cases: [number | number[], boolean][] = [
    [[0, 1, 2], false],
    [[0, 1, 2], true],
    [0, false],
    [[1, 0], true],
    [[0, 1, 2, 3], false], // all axes: stock
    [[1, 2], false], // not leading: stock
    [-1, true],
  ];
  for (const [axis, keepDims] of cases) {
    for (const op of [tf.sum, tf.mean]) {
      const [ref, got] = await onBoth(() => op(rand(x, 1), axis, keepDims));
      const e = worst(got, ref);
      assert.ok(e < 1e-5, `${op.name} ${axis} ${keepDims}: ${e}`);
    }
  }
  await tf.setBackend("wasm");
  const y = tf.sum(tf.ones([3, 4, 5]), [0, 1], true);
  assert.deepEqual(y.shape, [1, 1, 5]);
  assert.deepEqual(Array.from(y.dataSync()), [12, 12, 12, 12, 12]);
  y.dispose();
});

Deno.test("fused Concat and SplitV match cpu on every axis", async () => {
  for (let axis = 0; axis < 4; axis++) {
    const shapes = [1, 3, 2].map((k) => {
      const s = [2, 3, 4, 5];
      s[axis] = k;
      return s;
    });
    const [ref, got] = await onBoth(() =>
      tf.concat(shapes.map((s, i) => rand(s, i + 1)), axis)
    );
    assert.equal(worst(got, ref), 0, `concat axis ${axis}`);
    const [sr, sg] = await onBoth(() =>
      tf.split(rand([4, 4, 4, 4], 9), [1, 2, 1], axis)
    );
    assert.equal(worst(sg, sr), 0, `split axis ${axis}`);
  }
});

Deno.test("fused LeakyRelu and the LeakyReLU / ReLU gradients: tfjs's values", async () => {
  const shape = [2, 5, 5, 3]; // 150 elements: SIMD body and scalar tail
  const [ref, got] = await onBoth(() => {
    const x = rand(shape, 3);
    const dy = rand(shape, 4);
    const leaky = tf.grad((a: tf.Tensor) => tf.mul(tf.leakyRelu(a, 0.2), dy));
    const relu = tf.grad((a: tf.Tensor) => tf.mul(tf.relu(a), dy));
    return [tf.leakyRelu(x, 0.2), leaky(x), relu(x)];
  });
  // cpu multiplies by alpha in float64: one float32 ulp apart at most.
  assert.ok(worst(got, ref) < 1e-6, `${worst(got, ref)}`);
  // ...and on wasm the gradients are tfjs's formulas, element for element.
  await tf.setBackend("wasm");
  const x = rand(shape, 3), dy = rand(shape, 4);
  const leaky = tf.grad((a: tf.Tensor) => tf.mul(tf.leakyRelu(a, 0.2), dy))(x);
  const manual = tf.where(tf.greater(x, 0), dy, tf.mul(dy, 0.2));
  assert.deepEqual(leaky.dataSync(), manual.dataSync());
  tf.dispose([x, dy, leaky, manual]);
});

Deno.test("fused Adam updates in place, unless another tensor shares the buffer", async () => {
  await tf.setBackend("wasm");
  const opt = new Adam(0.1, 0.5, 0.999, 1e-8);
  const w = tf.tidy(() => tf.variable(tf.ones([6]), true, "inplace"));
  const g = { inplace: tf.ones([6]) };
  const before = w.dataId;
  opt.applyGradients(g);
  assert.equal(w.dataId, before, "no sharer: same buffer, updated in place");
  const held = tf.clone(w); // wasm Identity shares the buffer
  const heldValues = held.dataSync().slice();
  opt.applyGradients(g);
  assert.notEqual(w.dataId, before, "shared: new buffer assigned");
  assert.deepEqual(held.dataSync(), heldValues, "the sharer kept its values");
  assert.ok(w.dataSync()[0] < heldValues[0], "the variable moved on");
  tf.dispose([w, held, g.inplace]);
  opt.dispose();
});
