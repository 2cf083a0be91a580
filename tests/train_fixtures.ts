/**
 * Test fixtures of the trainer: a tiny pix2pix config and seeded random
 * image pairs, shared by the training and checkpoint tests.
 *
 * @module
 */
import * as tf from "@tensorflow/tfjs";
import { DEFAULT_CONFIG, type TrainConfig } from "../lib/config.ts";
import { randomPair as libRandomPair } from "../lib/data.ts";
import { Pix2Pix } from "../lib/train.ts";
import { relError } from "./conv_grad_cases.ts";

/**
 * A 64px U-Net (`unet_64`, the smallest with a dropout block) with ngf 4 and a
 * 16x16 PatchGAN (`n_layers`, 1 layer, ndf 4) on the cpu backend: tiny and fast.
 */
export const TINY: TrainConfig = {
  ...DEFAULT_CONFIG,
  netG: "unet_64",
  netD: "n_layers",
  nLayersD: 1,
  cropSize: 64,
  loadSize: 64,
  ngf: 4,
  ndf: 4,
  backend: "cpu",
};

/** {@link libRandomPair} at {@link TINY}'s crop size unless told. */
export function randomPair(
  seed: number,
  size = TINY.cropSize,
): { input: tf.Tensor4D; target: tf.Tensor4D } {
  return libRandomPair(seed, size);
}

/** {@link TINY} with the 32 px U-Net (`unet_32`). */
export const TINY32: TrainConfig = {
  ...TINY,
  netG: "unet_32",
  cropSize: 32,
  loadSize: 32,
};

/** One first training step's results: its losses and Adam's first moments. */
export interface FirstStep {
  /** G_GAN, G_L1, D_real, D_fake. */
  losses: Float32Array;
  /** Every G and D variable's first moment, `(1 - beta1) * gradient`. */
  moments: Float32Array[];
}

/**
 * Switches to `backend` and takes one training step of a fresh `cfg` model
 * on `randomPair(10, cfg.cropSize)`. The first moments are compared rather
 * than the weights: after one step those move by ~lr * sign(gradient),
 * which flips for gradients near zero.
 */
export async function firstStepOn(
  backend: string,
  cfg: TrainConfig,
): Promise<FirstStep> {
  if (!(await tf.setBackend(backend))) throw new Error(`no ${backend}`);
  const model = Pix2Pix.create(cfg);
  const b = randomPair(10, cfg.cropSize);
  const l = await model.trainStep(b, 0);
  tf.dispose([b.input, b.target]);
  const moments: Float32Array[] = [];
  for (const opt of [model.optimizerG, model.optimizerD!]) {
    const ws = await opt.getWeights();
    // [iterations, every m, every v]: keep the m's.
    for (const w of ws.slice(1, 1 + (ws.length - 1) / 2)) {
      moments.push((await w.tensor.data()) as Float32Array);
    }
  }
  model.dispose();
  return {
    losses: new Float32Array([l.G_GAN, l.G_L1, l.D_real, l.D_fake]),
    moments,
  };
}

/**
 * The relative errors ({@link relError}) of `got` against `ref`: of the
 * losses, and the worst over the moments (Infinity if their counts differ).
 */
export function firstStepError(
  got: FirstStep,
  ref: FirstStep,
): { losses: number; moments: number } {
  let moments = got.moments.length === ref.moments.length ? 0 : Infinity;
  ref.moments.forEach((m, i) => {
    moments = Math.max(
      moments,
      relError(got.moments[i] ?? new Float32Array(), m),
    );
  });
  return { losses: relError(got.losses, ref.losses), moments };
}
