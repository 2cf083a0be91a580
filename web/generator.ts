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

/** A loaded generator and its square input size. */
export interface Generator {
  model: tfl.LayersModel;
  /** Input height = width, pixels (from the model's input shape). */
  size: number;
  /** Input channels (3). */
  channels: number;
}

/** A translation's result. */
export interface Translation {
  /** Output pixels, 8-bit RGB, HWC, `size * size * 3` bytes. */
  output: Uint8Array;
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
  return { model, size: h, channels: c };
}

/**
 * Runs the generator on one image.
 *
 * `evalMode` true (the demo's default) applies the model with
 * `training: false`: moving batch-norm statistics, no dropout, deterministic,
 * the same as `deno task translate --eval`. false is the paper's test mode
 * (batch statistics, dropout on; a different output on every call), and the
 * moving statistics, which tfjs updates in that mode, are restored afterwards.
 *
 * @param gen the generator
 * @param rgb input pixels, 8-bit RGB, HWC, `size * size * 3` bytes
 * @param evalMode inference mode (see above)
 */
export async function runGenerator(
  gen: Generator,
  rgb: Uint8Array,
  evalMode: boolean,
): Promise<Translation> {
  const t0 = performance.now();
  const stats = evalMode ? [] : gen.model.nonTrainableWeights;
  const out = tf.tidy(() => {
    const saved = stats.map((w) => tf.clone(w.read()));
    const x = tf.sub(
      tf.div(tf.tensor4d(rgb, [1, gen.size, gen.size, 3], "float32"), 127.5),
      1,
    );
    const y = gen.model.apply(x, { training: !evalMode }) as tf.Tensor;
    stats.forEach((w, i) => w.write(saved[i]));
    return y;
  });
  const values = await out.data() as Float32Array;
  out.dispose();
  const ms = performance.now() - t0;
  const output = new Uint8Array(gen.size * gen.size * 3);
  for (let i = 0; i < output.length; i++) {
    const byte = Math.round((values[i] + 1) * 127.5);
    output[i] = byte < 0 ? 0 : byte > 255 ? 255 : byte;
  }
  return { output, values, ms };
}
