import assert from "node:assert/strict";
import * as tf from "@tensorflow/tfjs";
import "@tensorflow/tfjs-backend-cpu";
import {
  discriminatorLoss,
  ganLoss,
  generatorLoss,
  l1Loss,
  objectiveParts,
} from "../lib/losses.ts";

await tf.setBackend("cpu");
const close = (a: tf.Scalar, b: number) =>
  assert.ok(
    Math.abs(a.dataSync()[0] - b) <= 1e-6 * Math.max(1, Math.abs(b)),
    `${a.dataSync()[0]} != ${b}`,
  );

Deno.test("vanilla GAN loss is BCE on logits (hand-computed)", () => {
  // -log(sigmoid(2)) = log(1 + e^-2), -log(sigmoid(-1)) = log(1 + e^1)
  const logits = tf.tensor([2, -1]);
  close(
    ganLoss(logits, true, "vanilla"),
    (Math.log(1 + Math.exp(-2)) + Math.log(1 + Math.exp(1))) / 2,
  );
  // -log(1 - sigmoid(x)) = log(1 + e^x)
  close(
    ganLoss(logits, false, "vanilla"),
    (Math.log(1 + Math.exp(2)) + Math.log(1 + Math.exp(-1))) / 2,
  );
  close(ganLoss(tf.tensor([0]), true, "vanilla"), Math.log(2));
  // stable for large logits
  close(ganLoss(tf.tensor([100]), false, "vanilla"), 100);
});

Deno.test("LSGAN loss is the mean squared distance to 1 or 0", () => {
  const logits = tf.tensor([0.5, -1]);
  close(ganLoss(logits, true, "lsgan"), (0.25 + 4) / 2);
  close(ganLoss(logits, false, "lsgan"), (0.25 + 1) / 2);
});

Deno.test("discriminator loss is halved", () => {
  const d = discriminatorLoss(tf.tensor([2]), tf.tensor([-1]), "vanilla");
  const real = Math.log(1 + Math.exp(-2));
  const fake = Math.log(1 + Math.exp(-1));
  close(d.real, real);
  close(d.fake, fake);
  close(d.total, (real + fake) / 2);
});

Deno.test("L1 and the five objectives weight their terms as the paper", () => {
  const fake = tf.tensor([0.5, -0.5, 1, 0]);
  const target = tf.tensor([0, 0, 0, 0]);
  close(l1Loss(fake, target), 0.5);
  const logits = tf.tensor([0]);
  const expect: Record<string, number> = {
    "l1": 100 * 0.5,
    "gan": Math.log(2),
    "cgan": Math.log(2),
    "l1+gan": Math.log(2) + 50,
    "l1+cgan": Math.log(2) + 50,
  };
  for (const [objective, total] of Object.entries(expect)) {
    const o = objective as
      & keyof typeof expect
      & Parameters<typeof objectiveParts>[0];
    const g = generatorLoss({
      fakeLogits: logits,
      fake,
      target,
      objective: o,
      lambdaL1: 100,
      mode: "vanilla",
    });
    close(g.total, total);
    close(g.l1, 0.5);
  }
  assert.deepEqual(objectiveParts("gan"), {
    gan: true,
    conditional: false,
    l1: false,
  });
  assert.deepEqual(objectiveParts("l1+cgan"), {
    gan: true,
    conditional: true,
    l1: true,
  });
  assert.throws(
    () =>
      generatorLoss({
        fake,
        target,
        objective: "cgan",
        lambdaL1: 100,
        mode: "vanilla",
      }),
    /needs the discriminator/,
  );
});

Deno.test("GAN loss gradients push fake logits up for G", () => {
  const g = tf.grad((x: tf.Tensor) => ganLoss(x, true, "vanilla"))(
    tf.tensor([0, 0]),
  );
  // d/dx log(1+e^-x) at 0 = -1/2, divided by 2 elements for the mean
  assert.deepEqual(Array.from(g.dataSync()), [-0.25, -0.25]);
});
