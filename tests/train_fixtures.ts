/**
 * Test fixtures of the trainer: a tiny pix2pix config and seeded random
 * image pairs, shared by the training and checkpoint tests.
 *
 * @module
 */
import * as tf from "@tensorflow/tfjs";
import { DEFAULT_CONFIG, type TrainConfig } from "../lib/config.ts";

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

/**
 * A seeded random batch of one `size` x `size` RGB pair, NHWC [1, size, size, 3],
 * values uniform in [-1, 1]: `input` from `seed`, `target` from `seed + 1`.
 */
export function randomPair(
  seed: number,
  size = TINY.cropSize,
): { input: tf.Tensor4D; target: tf.Tensor4D } {
  const image = (s: number) =>
    tf.randomUniform([1, size, size, 3], -1, 1, "float32", s) as tf.Tensor4D;
  return { input: image(seed), target: image(seed + 1) };
}
