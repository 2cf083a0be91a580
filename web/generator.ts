/// <reference lib="dom" />
/**
 * The generator in the page: loading it over HTTP and running it on 8-bit
 * RGB pixels.
 *
 * @module
 */
import * as tf from "@tensorflow/tfjs";
import * as tfl from "@tensorflow/tfjs-layers";
import "../lib/layers.ts"; // registers the custom layers named in model.json
import { modelSizeMultiple, runAnySize } from "../lib/tiling.ts";
import { valuesToRgb } from "../lib/util/pixels.ts";

/** Images with a side above this go through blended tiles of this side. */
const TILE = 1024;

/** 8-bit RGB pixels, HWC, `width * height * 3` bytes. */
export interface Picture {
  rgb: Uint8Array;
  width: number;
  height: number;
}

/** A loaded generator and its square input size. */
export interface Generator {
  model: tfl.LayersModel;
  /** Input height = width it was trained at, pixels (from the model's input shape). */
  size: number;
  /** Other sizes must be multiples of this (2^downsamplings); others are padded. */
  multiple: number;
  /** Input channels: 1 gray, 2 gray + alpha, 3 RGB, 4 RGBA. */
  channels: number;
}

/** A translation's result. */
export interface Translation {
  /** Output pixels, the input's size. */
  output: Picture;
  /** The model's raw output in [-1, 1], HWC (before rounding to bytes). */
  values: Float32Array;
  /** Wall time of the forward pass including the read-back, ms. */
  ms: number;
}

/**
 * Loads a generator saved in tfjs LayersModel format.
 *
 * @param url URL of `model.json`
 * @throws Error when the model is not a square-input image generator
 */
export async function loadGenerator(url: string): Promise<Generator> {
  const model = await tfl.loadLayersModel(url);
  const [, h, w, c] = model.inputs[0].shape;
  if (h === null || h !== w || c === null) {
    throw new Error(
      `${url}: input shape [${model.inputs[0].shape}] is not [n, s, s, c]`,
    );
  }
  return { model, size: h, multiple: modelSizeMultiple(model), channels: c };
}

/**
 * Runs the generator on one image of any size (padded to the generator's
 * size multiple and cropped back; large images in blended tiles).
 *
 * `evalMode` true (the demo's default) applies the model with
 * `training: false`: moving batch-norm statistics, no dropout, deterministic,
 * the same as `deno task translate --eval`. false is the paper's test mode
 * (batch statistics, dropout on; a different output on every call), and the
 * moving statistics, which tfjs updates in that mode, are restored afterwards.
 *
 * @param gen the generator
 * @param input input pixels
 * @param evalMode inference mode (see above)
 */
export async function runGenerator(
  gen: Generator,
  input: Picture,
  evalMode: boolean,
): Promise<Translation> {
  const t0 = performance.now();
  const stats = evalMode ? [] : gen.model.nonTrainableWeights;
  const run = (x: tf.Tensor4D) =>
    tf.tidy(() => {
      const saved = stats.map((w) => tf.clone(w.read()));
      const y = gen.model.apply(x, { training: !evalMode }) as tf.Tensor4D;
      stats.forEach((w, i) => w.write(saved[i]));
      return y;
    });
  const { width, height } = input;
  const x = tf.tidy((): tf.Tensor3D => {
    const rgb = tf.sub(
      tf.div(tf.tensor3d(input.rgb, [height, width, 3], "float32"), 127.5),
      1,
    ) as tf.Tensor3D;
    // Gray models get the luma (ITU-R 601, as lib/data.ts); models with
    // alpha (2 and 4 channels) an opaque one, as lib/data.ts gives files
    // without alpha.
    const color: tf.Tensor3D = gen.channels <= 2
      ? tf.sum(tf.mul(rgb, tf.tensor1d([0.299, 0.587, 0.114])), -1, true)
      : rgb;
    return gen.channels % 2 === 0
      ? tf.concat(
        [color, tf.onesLike(tf.slice(rgb, [0, 0, 0], [-1, -1, 1]))],
        2,
      ) as tf.Tensor3D
      : color;
  });
  const out = await runAnySize(run, x, { multiple: gen.multiple, tile: TILE });
  x.dispose();
  const values = await out.data() as Float32Array;
  const channels = out.shape[2];
  out.dispose();
  const ms = performance.now() - t0;
  // Shown as RGB: gray (1, 2) repeated, alpha (2, 4) left out.
  const rgb = valuesToRgb(values, [height, width, channels]);
  return { output: { rgb, width, height }, values, ms };
}
