/**
 * The pix2pix objectives (paper, eq. 1-4).
 *
 * L_cGAN(G, D) = E[log D(x, y)] + E[log(1 - D(x, G(x)))]
 * L_L1(G) = E[|y - G(x)|_1]
 * G* = arg min_G max_D L_cGAN(G, D) + lambda L_L1(G)
 *
 * In practice (as in the paper and the reference) G maximises log D(x, G(x))
 * instead of minimising log(1 - D(x, G(x))), the discriminator works on
 * logits, and its loss is halved to slow it down relative to G. All losses
 * are means over every element (batch, patches), returned as scalars.
 *
 * @module
 */
import * as tf from "@tensorflow/tfjs";
import type { GanMode, Objective } from "./config.ts";

/** Which terms an objective has. */
export interface ObjectiveParts {
  /** Has an adversarial term. */
  gan: boolean;
  /** The discriminator also sees the input (cGAN), not only the output. */
  conditional: boolean;
  /** Has the lambda-weighted L1 term. */
  l1: boolean;
}

/** The terms of each objective of the paper's Table 1. */
export function objectiveParts(objective: Objective): ObjectiveParts {
  switch (objective) {
    case "l1":
      return { gan: false, conditional: false, l1: true };
    case "gan":
      return { gan: true, conditional: false, l1: false };
    case "cgan":
      return { gan: true, conditional: true, l1: false };
    case "l1+gan":
      return { gan: true, conditional: false, l1: true };
    case "l1+cgan":
      return { gan: true, conditional: true, l1: true };
  }
}

/**
 * GAN loss of a map of discriminator logits against an all-real or all-fake
 * target. `vanilla`: binary cross-entropy on logits,
 * mean(max(x, 0) - x z + log(1 + exp(-|x|))); `lsgan`: mean((x - z)^2).
 */
export function ganLoss(
  logits: tf.Tensor,
  targetIsReal: boolean,
  mode: GanMode,
): tf.Scalar {
  return tf.tidy(() => {
    const z = targetIsReal ? 1 : 0;
    if (mode === "lsgan") return tf.mean(tf.square(tf.sub(logits, z)));
    const bce = tf.add(
      tf.sub(tf.relu(logits), tf.mul(logits, z)),
      tf.log1p(tf.exp(tf.neg(tf.abs(logits)))),
    );
    return tf.mean(bce);
  });
}

/** Mean absolute error between two tensors of the same shape. */
export function l1Loss(a: tf.Tensor, b: tf.Tensor): tf.Scalar {
  return tf.tidy(() => tf.mean(tf.abs(tf.sub(a, b))));
}

/** The discriminator's losses: `real` and `fake` terms, and `total` = (real + fake) / 2. */
export interface DiscriminatorLosses {
  real: tf.Scalar;
  fake: tf.Scalar;
  total: tf.Scalar;
}

/**
 * The discriminator's loss on its logits for real pairs and for generated
 * pairs, halved as in the paper.
 */
export function discriminatorLoss(
  realLogits: tf.Tensor,
  fakeLogits: tf.Tensor,
  mode: GanMode,
): DiscriminatorLosses {
  const real = ganLoss(realLogits, true, mode);
  const fake = ganLoss(fakeLogits, false, mode);
  const total = tf.tidy(() => tf.mul(tf.add(real, fake), 0.5) as tf.Scalar);
  return { real, fake, total };
}

/** Inputs of the generator's loss. */
export interface GeneratorLossInputs {
  /** D's logits on the generated image (absent for the `l1` objective). */
  fakeLogits?: tf.Tensor;
  /** G(x), NHWC in [-1, 1]. */
  fake: tf.Tensor;
  /** The real target y, same shape as `fake`. */
  target: tf.Tensor;
  objective: Objective;
  /** Weight of the L1 term. */
  lambdaL1: number;
  mode: GanMode;
}

/** The generator's losses: adversarial term, (unweighted) L1, and their weighted sum. */
export interface GeneratorLosses {
  gan: tf.Scalar;
  l1: tf.Scalar;
  /** gan + lambda * l1, with the terms the objective has. */
  total: tf.Scalar;
}

/**
 * The generator's loss: the adversarial term (G wants D to say "real") plus
 * lambda times L1, each only if the objective has it.
 */
export function generatorLoss(o: GeneratorLossInputs): GeneratorLosses {
  const parts = objectiveParts(o.objective);
  if (parts.gan && !o.fakeLogits) {
    throw new Error(
      `objective ${o.objective} needs the discriminator's logits`,
    );
  }
  const gan = parts.gan ? ganLoss(o.fakeLogits!, true, o.mode) : tf.scalar(0);
  const l1 = l1Loss(o.fake, o.target);
  const total = tf.tidy(() => {
    const weighted = parts.l1 ? tf.mul(l1, o.lambdaL1) : tf.scalar(0);
    return tf.add(gan, weighted) as tf.Scalar;
  });
  return { gan, l1, total };
}
