/**
 * Load and preprocess one aligned A|B pair, as the reference PyTorch pix2pix
 * does in `data/aligned_dataset.py` with `data/base_dataset.py`'s
 * `get_params` and `get_transform`: split the image into halves, give both
 * the same resize, the same random crop and the same random horizontal flip,
 * and scale to [-1, 1].
 *
 * Runs in the data workers (`lib/datasets/pair_worker.ts`) or, without
 * workers, on the main thread; `lib/data.ts` does order and batching.
 *
 * @module
 */
import type { TrainConfig } from "../config.ts";
import { ImageError } from "../errors.ts";
import {
  cropRgb,
  type DecodedImage,
  readRgb,
  resizeRgb,
  type RgbImage,
  rgbToFloat,
} from "../util/image.ts";
import { Rng } from "../util/rng.ts";

/** The options that decide how one pair is preprocessed. */
export interface PairOptions
  extends Pick<TrainConfig, "preprocess" | "loadSize" | "cropSize" | "noFlip"> {
  /** With `preprocess: "none"`, sides are rounded to a multiple of this. */
  sizeMultiple: number;
  /** Keep alpha: halves are RGBA (4 floats a pixel), opaque where a file has none. */
  alpha?: boolean;
}

/** A preprocessed pair: both halves HWC float32 in [-1, 1], same size. */
export interface PairOk {
  /** Discriminant: the pair loaded. */
  ok: true;
  /** Source file. */
  path: string;
  /** Width of each half after preprocessing, pixels. */
  width: number;
  /** Height of each half after preprocessing, pixels. */
  height: number;
  /** Left half (A), `height * width * 3` floats (4 with `alpha`). */
  a: Float32Array<ArrayBuffer>;
  /** Right half (B), as `a`. */
  b: Float32Array<ArrayBuffer>;
  /** Conversions applied (grayscale, alpha, resize for `none`), if any. */
  note?: string;
}

/** A pair that was skipped, and why. */
export interface PairSkipped {
  /** Discriminant: the pair was skipped. */
  ok: false;
  /** Source file. */
  path: string;
  /** Why it was skipped, without the file name. */
  reason: string;
}

/** The result of {@link loadPair}. */
export type LoadedPair = PairOk | PairSkipped;

/** Random parameters of one pair, the reference's `get_params`. */
export interface JitterParams {
  /** Left edge of the crop, pixels. */
  x: number;
  /** Top edge of the crop, pixels. */
  y: number;
  /** Mirror left-right (ignored when `noFlip`). */
  flip: boolean;
}

/** Round to the nearest multiple of `base` (at least `base`), as the reference's `__make_power_2`. */
function roundTo(value: number, base: number): number {
  return Math.max(base, Math.round(value / base) * base);
}

/**
 * Size of a half after the resize step of `opts.preprocess`, before cropping
 * (`[width, height]`, pixels). `resize_and_crop` resizes to a
 * `loadSize` square; `scale_width*` to width `loadSize` keeping the aspect
 * ratio (height at least `cropSize`); `none` rounds to `sizeMultiple`.
 */
export function resizedSize(
  width: number,
  height: number,
  opts: PairOptions,
): [number, number] {
  switch (opts.preprocess) {
    case "resize_and_crop":
      return [opts.loadSize, opts.loadSize];
    case "scale_width":
    case "scale_width_and_crop":
      if (width === opts.loadSize && height >= opts.cropSize) {
        return [width, height];
      }
      return [
        opts.loadSize,
        Math.trunc(Math.max(opts.loadSize * height / width, opts.cropSize)),
      ];
    case "none":
      return [
        roundTo(width, opts.sizeMultiple),
        roundTo(height, opts.sizeMultiple),
      ];
    case "crop":
      return [width, height];
  }
}

/**
 * Draw crop corner and flip, in the reference's order (x, then y, then flip),
 * for a half of `width` x `height` pixels after resizing.
 */
export function drawParams(
  rng: Rng,
  width: number,
  height: number,
  cropSize: number,
): JitterParams {
  const x = rng.int(Math.max(0, width - cropSize) + 1);
  const y = rng.int(Math.max(0, height - cropSize) + 1);
  const flip = rng.next() > 0.5;
  return { x, y, flip };
}

async function transformHalf(
  half: RgbImage,
  size: [number, number],
  params: JitterParams,
  opts: PairOptions,
): Promise<RgbImage> {
  const resized = await resizeRgb(half, size[0], size[1]);
  const flip = params.flip && !opts.noFlip;
  if (opts.preprocess.endsWith("crop")) {
    const { cropSize } = opts;
    return cropRgb(resized, params.x, params.y, cropSize, cropSize, flip);
  }
  return flip
    ? cropRgb(resized, 0, 0, resized.width, resized.height, true)
    : resized;
}

function toFloat(rgb: RgbImage): Float32Array<ArrayBuffer> {
  const out = new Float32Array(rgb.data.length);
  rgbToFloat(rgb, out);
  return out;
}

/**
 * Read one aligned image and preprocess both halves identically.
 *
 * Skips (returns `ok: false` with a reason) a file that cannot be decoded,
 * has an odd width, or whose halves are smaller than `cropSize` under a
 * cropping preprocess. Other failures throw.
 *
 * @param path image file, A left and B right
 * @param seed seed of this pair's jitter (crop corner and flip)
 * @param opts preprocessing options
 */
export async function loadPair(
  path: string,
  seed: number,
  opts: PairOptions,
): Promise<LoadedPair> {
  let image: DecodedImage;
  try {
    image = await readRgb(path, opts.alpha);
  } catch (err) {
    if (err instanceof ImageError) {
      return { ok: false, path, reason: err.reason };
    }
    throw err;
  }
  if (image.width % 2 !== 0) {
    return {
      ok: false,
      path,
      reason:
        `odd width ${image.width}: cannot split into two equal A|B halves`,
    };
  }
  const halfWidth = image.width / 2;
  const size = resizedSize(halfWidth, image.height, opts);
  if (
    opts.preprocess.endsWith("crop") &&
    (size[0] < opts.cropSize || size[1] < opts.cropSize)
  ) {
    return {
      ok: false,
      path,
      reason: `half ${size[0]}x${
        size[1]
      } is smaller than cropSize ${opts.cropSize}`,
    };
  }
  const params = drawParams(new Rng(seed), size[0], size[1], opts.cropSize);
  const [a, b] = await Promise.all(
    [0, halfWidth].map((left) =>
      transformHalf(
        cropRgb(image, left, 0, halfWidth, image.height),
        size,
        params,
        opts,
      )
    ),
  );
  const notes = image.note ? [image.note] : [];
  if (
    opts.preprocess === "none" &&
    (size[0] !== halfWidth || size[1] !== image.height)
  ) {
    notes.push(
      `halves ${halfWidth}x${image.height} resized to ${size[0]}x${
        size[1]
      } (a multiple of ${opts.sizeMultiple})`,
    );
  }
  return {
    ok: true,
    path,
    width: a.width,
    height: a.height,
    a: toFloat(a),
    b: toFloat(b),
    ...(notes.length ? { note: notes.join("; ") } : {}),
  };
}
