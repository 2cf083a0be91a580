import assert from "node:assert/strict";
import * as tf from "@tensorflow/tfjs";
import { initBackend } from "../lib/runtime/backend.ts";
import { withStockBackprop } from "../lib/runtime/backprop.ts";
import { type LossTensors, Pix2Pix, readLosses } from "../lib/train.ts";
import { randomPair, TINY } from "./train_fixtures.ts";

await initBackend("wasm"); // installs the lean backward pass

/** G's loss gradients of a tiny pix2pix (U-Net, PatchGAN, batch norm, dropout). */
function gradsOf(model: Pix2Pix, seed: number) {
  const b = randomPair(seed);
  const vars = model.G.trainableWeights.map((w) => w.read() as tf.Variable);
  const { value, grads } = tf.variableGrads(() =>
    tf.tidy(() => {
      const fake = model.G.apply(b.input, {
        training: true,
        dropoutSeed: seed,
      }) as tf.Tensor4D;
      const logits = model.D!.apply(tf.concat([b.input, fake], 3), {
        training: true,
      }) as tf.Tensor;
      return tf.add(tf.mean(tf.abs(tf.sub(fake, b.target))), tf.mean(logits))
        .asScalar();
    }), vars);
  tf.dispose([b.input, b.target]);
  return { value, grads };
}

Deno.test("lean backprop: the same gradients as tfjs's, bit for bit", () => {
  const model = Pix2Pix.create({ ...TINY, netD: "basic", seed: 9 });
  const lean = gradsOf(model, 3);
  const stock = withStockBackprop(() => gradsOf(model, 3));
  assert.equal(lean.value.dataSync()[0], stock.value.dataSync()[0]);
  const names = Object.keys(stock.grads);
  assert.deepEqual(Object.keys(lean.grads), names);
  assert.ok(names.length > 10);
  for (const n of names) {
    assert.deepEqual(lean.grads[n].dataSync(), stock.grads[n].dataSync(), n);
  }
  tf.dispose([lean.value, stock.value, ...Object.values(lean.grads)]);
  tf.dispose(Object.values(stock.grads));
  model.dispose();
});

Deno.test("lean backprop: a lower memory peak than tfjs's, and no leaks", async () => {
  const model = Pix2Pix.create({ ...TINY, netD: "basic", ngf: 16, seed: 9 });
  const peak = async (run: () => void) => (await tf.profile(run)).peakBytes;
  const step = () => {
    const { value, grads } = gradsOf(model, 4);
    tf.dispose([value, ...Object.values(grads)]);
  };
  step(); // warm-up
  const tensors = tf.memory().numTensors;
  const lean = await peak(step);
  assert.equal(tf.memory().numTensors, tensors, "lean backprop leaked");
  const stock = await peak(() => withStockBackprop(step));
  assert.equal(tf.memory().numTensors, tensors);
  assert.ok(lean < 0.9 * stock, `peak ${lean} bytes vs tfjs's ${stock}`);
  model.dispose();
});

Deno.test("lean backprop: the trainer's nested D step gives tfjs's losses, no leaks", async () => {
  // Synchronous steps (the backprop is swapped for the call's duration);
  // the losses are read afterwards.
  const run = (steps: number) => {
    const model = Pix2Pix.create({ ...TINY, netD: "basic", seed: 2 });
    const losses: LossTensors[] = [];
    let tensors = 0;
    for (let s = 0; s < steps; s++) {
      if (s === 1) tensors = tf.memory().numTensors; // after Adam's moments
      const b = randomPair(s);
      losses.push(model.dispatchStep(b, s));
      tf.dispose([b.input, b.target]);
    }
    // Only the 4 loss scalars of each later step are new.
    assert.equal(
      tf.memory().numTensors,
      tensors + 4 * (steps - 1),
      "tensors left over",
    );
    model.dispose();
    return losses;
  };
  const lean = await readLosses(run(3));
  assert.deepEqual(lean, await readLosses(withStockBackprop(() => run(3))));
});
