/**
 * Running a fully convolutional generator on images of any size.
 *
 * A U-Net with `d` stride-2 downsamplings takes any height and width that
 * are multiples of 2^d, whatever size it was trained at. {@link runAnySize}
 * pads other sizes up to the next multiple (mirror padding, so the border
 * looks like image content), runs the network and crops the output back to
 * the input's size. Images larger than a tile go through overlapping tiles
 * whose outputs are blended with linear ramps across each overlap, so no
 * seam shows where two tiles meet.
 *
 * Pure tfjs: used by `lib/translate.ts` and by the browser demo.
 *
 * @example
 * ```ts
 * const run = (x: tf.Tensor4D) => G.apply(x, { training: false }) as tf.Tensor4D;
 * const y = await runAnySize(run, image, { multiple: modelSizeMultiple(G), tile: 1024 });
 * // y: [h, w, outputNc] for image [h, w, inputNc]
 * ```
 *
 * @module
 */
import * as tf from "@tensorflow/tfjs";
import type * as tfl from "@tensorflow/tfjs-layers";

/** A generator as a function: `[1, h, w, inputNc]` → `[1, h, w, outputNc]`. */
export type RunGenerator = (x: tf.Tensor4D) => tf.Tensor4D;

/** Options of {@link runAnySize}. */
export interface AnySizeOptions {
  /** Height and width the network needs to be multiples of (2^downsamplings). */
  multiple: number;
  /**
   * Tile side in pixels, a multiple of `multiple`; images whose padded height
   * or width exceeds it are translated tile by tile. 0 (default): never tile.
   */
  tile?: number;
  /** Pixels two neighbouring tiles share at least (default `tile / 4`). */
  overlap?: number;
}

/**
 * The size multiple a generator needs: 2^(its `down<i>_conv` layers), i.e.
 * 256 for `unet_256`; a model without such layers needs its own input size.
 */
export function modelSizeMultiple(model: tfl.LayersModel): number {
  const downs = model.layers.filter((l) => /^down\d+_conv$/.test(l.name));
  if (downs.length > 0) return 2 ** downs.length;
  const [, h] = model.inputs[0].shape;
  return h ?? 1;
}

/** `n` rounded up to a multiple of `m`. */
export function roundUp(n: number, m: number): number {
  return Math.ceil(n / m) * m;
}

/**
 * Mirror-pads `image` ([h, w, c]) to `height` x `width`, the extra rows and
 * columns split evenly before and after; returns the padded image and the
 * offset of the original in it.
 */
export function padTo(
  image: tf.Tensor3D,
  height: number,
  width: number,
): { padded: tf.Tensor3D; top: number; left: number } {
  const [h, w] = image.shape;
  const top = Math.floor((height - h) / 2);
  const left = Math.floor((width - w) / 2);
  let padded = image;
  let rest = [[top, height - h - top], [left, width - w - left]];
  // "symmetric" pads at most the current size per call; repeat for more.
  while (rest.some(([a, b]) => a > 0 || b > 0)) {
    const [ph, pw] = padded.shape;
    const step = rest.map(([a, b], i) => {
      const max = i === 0 ? ph : pw;
      return [Math.min(a, max), Math.min(b, max)];
    });
    const next = tf.mirrorPad(
      padded,
      [step[0] as [number, number], step[1] as [number, number], [0, 0]],
      "symmetric",
    );
    if (padded !== image) padded.dispose();
    padded = next;
    rest = rest.map(([a, b], i) => [a - step[i][0], b - step[i][1]]);
  }
  return { padded: padded === image ? tf.clone(image) : padded, top, left };
}

/**
 * Start offsets of tiles of side `tile` covering `size` pixels, neighbours
 * sharing at least `overlap` pixels; the last tile ends at `size`.
 */
export function tileStarts(
  size: number,
  tile: number,
  overlap: number,
): number[] {
  if (size <= tile) return [0];
  if (overlap >= tile) {
    throw new RangeError(`tile overlap ${overlap} is not below tile ${tile}`);
  }
  const starts: number[] = [];
  for (let s = 0; s + tile < size; s += tile - overlap) starts.push(s);
  starts.push(size - tile);
  return starts;
}

/**
 * Blending weights along one side of a tile: a linear ramp from
 * `1 / (overlap + 1)` up to 1 over the first and last `overlap` pixels,
 * except on a side that lies on the image border (weight 1 there).
 */
export function blendWindow(
  length: number,
  overlap: number,
  rampStart: boolean,
  rampEnd: boolean,
): Float32Array {
  const w = new Float32Array(length).fill(1);
  for (let i = 0; i < Math.min(overlap, length); i++) {
    const ramp = (i + 1) / (overlap + 1);
    if (rampStart) w[i] = Math.min(w[i], ramp);
    if (rampEnd) w[length - 1 - i] = Math.min(w[length - 1 - i], ramp);
  }
  return w;
}

function checkOptions(o: AnySizeOptions): void {
  const { multiple, tile = 0 } = o;
  if (!Number.isInteger(multiple) || multiple < 1) {
    throw new RangeError(`size multiple ${multiple} is not a positive integer`);
  }
  if (!Number.isInteger(tile) || tile < 0 || tile % multiple !== 0) {
    throw new RangeError(
      `tile ${tile} is not a multiple of ${multiple}, which the generator needs`,
    );
  }
}

/**
 * Translates one image of any size: `[h, w, c]` → `[h, w, outputNc]`.
 * Sizes that are not multiples of `o.multiple` are mirror-padded and cropped
 * back; images larger than `o.tile` go through blended overlapping tiles.
 *
 * @param run the generator on a batch of one
 * @param image input in [-1, 1]
 * @param o size multiple and tiling
 */
export async function runAnySize(
  run: RunGenerator,
  image: tf.Tensor3D,
  o: AnySizeOptions,
): Promise<tf.Tensor3D> {
  checkOptions(o);
  const [h, w] = image.shape;
  const ph = roundUp(h, o.multiple);
  const pw = roundUp(w, o.multiple);
  const tile = o.tile ?? 0;
  if (tile === 0 || (ph <= tile && pw <= tile)) {
    return tf.tidy(() => {
      const { padded, top, left } = padTo(image, ph, pw);
      const out = run(tf.expandDims(padded, 0) as tf.Tensor4D);
      return tf.slice(
        tf.squeeze(out, [0]) as tf.Tensor3D,
        [top, left, 0],
        [h, w, -1],
      );
    });
  }
  return await runTiled(
    run,
    image,
    tile,
    o.overlap ?? Math.floor(tile / 4),
    ph,
    pw,
  );
}

/**
 * The tiles' outputs are blended on the CPU, each read back asynchronously
 * (`data()`, so WebGPU works) while the next tile already runs.
 */
async function runTiled(
  run: RunGenerator,
  image: tf.Tensor3D,
  tile: number,
  overlap: number,
  ph: number,
  pw: number,
): Promise<tf.Tensor3D> {
  const [h, w] = image.shape;
  // Each side is padded only to a multiple when it fits in one tile.
  const th = Math.min(tile, ph);
  const tw = Math.min(tile, pw);
  const height = Math.max(h, th);
  const width = Math.max(w, tw);
  const { padded, top, left } = padTo(image, height, width);
  const ys = tileStarts(height, th, overlap);
  const xs = tileStarts(width, tw, overlap);
  const starts = ys.flatMap((y0) => xs.map((x0) => [y0, x0] as const));
  const launch = ([y0, x0]: readonly [number, number]) =>
    tf.tidy(() =>
      run(tf.expandDims(tf.slice(padded, [y0, x0, 0], [th, tw, -1]), 0))
    );
  let acc: Float32Array | null = null;
  let channels = 0;
  const weight = new Float32Array(height * width);
  let out = launch(starts[0]);
  for (const [i, [y0, x0]] of starts.entries()) {
    const next = i + 1 < starts.length ? launch(starts[i + 1]) : null;
    channels = out.shape[3];
    const values = await out.data();
    out.dispose();
    const wy = blendWindow(th, overlap, y0 > 0, y0 + th < height);
    const wx = blendWindow(tw, overlap, x0 > 0, x0 + tw < width);
    acc ??= new Float32Array(height * width * channels);
    for (let y = 0; y < th; y++) {
      for (let x = 0; x < tw; x++) {
        const k = wy[y] * wx[x];
        const p = (y0 + y) * width + x0 + x;
        weight[p] += k;
        const src = (y * tw + x) * channels;
        for (let c = 0; c < channels; c++) {
          acc[p * channels + c] += k * values[src + c];
        }
      }
    }
    if (next) out = next;
  }
  padded.dispose();
  const sum = acc!;
  for (let p = 0; p < weight.length; p++) {
    for (let c = 0; c < channels; c++) sum[p * channels + c] /= weight[p];
  }
  return tf.tidy(() =>
    tf.slice(
      tf.tensor3d(sum, [height, width, channels]),
      [top, left, 0],
      [h, w, -1],
    )
  );
}
