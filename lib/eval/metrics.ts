/**
 * Image-quality and segmentation metrics, pure TypeScript on typed arrays.
 *
 * Conventions (all image metrics):
 * - images are {@link FloatImage}s: interleaved HWC floats in **[0, 1]**
 *   (use {@link floatImageFromRgb8} for 8-bit RGB);
 * - {@link l1} is the mean absolute difference on [0, 1]. The training loss
 *   works on [-1, 1], where the same pair gives exactly twice this value;
 * - {@link psnr} uses a peak of 1 (images on [0, 1]) and is capped at
 *   {@link PSNR_MAX} (100 dB, as x264 and libvpx report): identical images
 *   would give infinity, which makes means and JSON meaningless;
 * - {@link ssim} is Wang et al. (2004): 11x11 Gaussian window, sigma 1.5,
 *   K1 = 0.01, K2 = 0.03, data range 1, population (not sample) statistics,
 *   averaged over the "valid" window positions (no padding) and then over
 *   channels. It equals `skimage.metrics.structural_similarity(a, b,
 *   gaussian_weights=True, sigma=1.5, use_sample_covariance=False,
 *   data_range=1, channel_axis=-1)` and MATLAB's `ssim_index`;
 * - {@link colourfulness} is Hasler & Süsstrunk (2003) on the 0-255 scale.
 *
 * Segmentation scores come from a confusion matrix accumulated over a whole
 * set of images (as the pix2pix FCN-score scripts do), see
 * {@link segmentationScores} for how absent classes are treated.
 *
 * @module
 */

/** An image as interleaved HWC floats, values in [0, 1]. */
export interface FloatImage {
  /** `height * width * channels` values, row-major, channels last. */
  data: Float32Array;
  height: number;
  width: number;
  channels: number;
}

/**
 * Wraps 8-bit interleaved pixels as a {@link FloatImage} on [0, 1].
 *
 * @param bytes `height * width * channels` bytes, HWC
 */
export function floatImageFromRgb8(
  bytes: Uint8Array,
  height: number,
  width: number,
  channels = 3,
): FloatImage {
  if (bytes.length !== height * width * channels) {
    throw new RangeError(
      `floatImageFromRgb8: ${height}x${width}x${channels} needs ${
        height * width * channels
      } bytes, got ${bytes.length}`,
    );
  }
  const data = new Float32Array(bytes.length);
  for (let i = 0; i < bytes.length; i++) data[i] = bytes[i] / 255;
  return { data, height, width, channels };
}

function assertSameShape(name: string, a: FloatImage, b: FloatImage): void {
  if (
    a.height !== b.height || a.width !== b.width || a.channels !== b.channels
  ) {
    throw new RangeError(
      `${name}: image shapes differ: ${a.height}x${a.width}x${a.channels} vs ${b.height}x${b.width}x${b.channels}`,
    );
  }
  if (a.data.length !== a.height * a.width * a.channels) {
    throw new RangeError(`${name}: data length does not match the shape`);
  }
}

/** Mean absolute difference of two images on [0, 1] (half the [-1, 1] L1). */
export function l1(a: FloatImage, b: FloatImage): number {
  assertSameShape("l1", a, b);
  let s = 0;
  for (let i = 0; i < a.data.length; i++) s += Math.abs(a.data[i] - b.data[i]);
  return s / a.data.length;
}

/** Mean squared difference of two images on [0, 1]. */
export function mse(a: FloatImage, b: FloatImage): number {
  assertSameShape("mse", a, b);
  let s = 0;
  for (let i = 0; i < a.data.length; i++) {
    const d = a.data[i] - b.data[i];
    s += d * d;
  }
  return s / a.data.length;
}

/** The PSNR of identical images (and of any with MSE below 1e-10), dB. */
export const PSNR_MAX = 100;

/**
 * Peak signal-to-noise ratio in dB, peak 1 (images on [0, 1]):
 * `10 log10(1 / MSE)`, at most {@link PSNR_MAX} (identical images).
 */
export function psnr(a: FloatImage, b: FloatImage): number {
  return Math.min(PSNR_MAX, 10 * Math.log10(1 / mse(a, b)));
}

/** Window side of {@link ssim} (pixels). */
export const SSIM_WINDOW = 11;
/** Gaussian sigma of the {@link ssim} window (pixels). */
export const SSIM_SIGMA = 1.5;

/** Normalised 1-D Gaussian taps (the 2-D window is their outer product). */
function gaussianTaps(size: number, sigma: number): Float64Array {
  const taps = new Float64Array(size);
  const r = (size - 1) / 2;
  let s = 0;
  for (let i = 0; i < size; i++) {
    taps[i] = Math.exp(-((i - r) ** 2) / (2 * sigma * sigma));
    s += taps[i];
  }
  for (let i = 0; i < size; i++) taps[i] /= s;
  return taps;
}

/**
 * 'valid' separable filtering of one h x w plane with the taps in both
 * directions; output `(h - k + 1) x (w - k + 1)`.
 */
function filterValid(
  src: Float64Array,
  h: number,
  w: number,
  taps: Float64Array,
): Float64Array {
  const k = taps.length;
  const ow = w - k + 1, oh = h - k + 1;
  const tmp = new Float64Array(h * ow);
  for (let y = 0; y < h; y++) {
    const row = y * w;
    for (let x = 0; x < ow; x++) {
      let s = 0;
      for (let t = 0; t < k; t++) s += taps[t] * src[row + x + t];
      tmp[y * ow + x] = s;
    }
  }
  const out = new Float64Array(oh * ow);
  for (let y = 0; y < oh; y++) {
    for (let x = 0; x < ow; x++) {
      let s = 0;
      for (let t = 0; t < k; t++) s += taps[t] * tmp[(y + t) * ow + x];
      out[y * ow + x] = s;
    }
  }
  return out;
}

/**
 * Structural similarity (Wang et al. 2004), mean over valid window positions
 * and channels; images on [0, 1], both at least 11x11. Identical images give 1.
 */
export function ssim(a: FloatImage, b: FloatImage): number {
  assertSameShape("ssim", a, b);
  const { height: h, width: w, channels: nc } = a;
  if (h < SSIM_WINDOW || w < SSIM_WINDOW) {
    throw new RangeError(
      `ssim: images must be at least ${SSIM_WINDOW}x${SSIM_WINDOW}, got ${h}x${w}`,
    );
  }
  const taps = gaussianTaps(SSIM_WINDOW, SSIM_SIGMA);
  const c1 = (0.01 * 1) ** 2, c2 = (0.03 * 1) ** 2;
  const n = h * w;
  const x = new Float64Array(n), y = new Float64Array(n);
  const xx = new Float64Array(n), yy = new Float64Array(n);
  const xy = new Float64Array(n);
  let total = 0;
  for (let c = 0; c < nc; c++) {
    for (let i = 0; i < n; i++) {
      const u = a.data[i * nc + c], v = b.data[i * nc + c];
      x[i] = u;
      y[i] = v;
      xx[i] = u * u;
      yy[i] = v * v;
      xy[i] = u * v;
    }
    const mx = filterValid(x, h, w, taps), my = filterValid(y, h, w, taps);
    const sxx = filterValid(xx, h, w, taps), syy = filterValid(yy, h, w, taps);
    const sxy = filterValid(xy, h, w, taps);
    let s = 0;
    for (let i = 0; i < mx.length; i++) {
      const ux = mx[i], uy = my[i];
      const vx = sxx[i] - ux * ux, vy = syy[i] - uy * uy;
      const cov = sxy[i] - ux * uy;
      s += ((2 * ux * uy + c1) * (2 * cov + c2)) /
        ((ux * ux + uy * uy + c1) * (vx + vy + c2));
    }
    total += s / mx.length;
  }
  return total / nc;
}

/**
 * Colourfulness of Hasler & Süsstrunk (2003) on the 0-255 scale:
 * `sqrt(sd(rg)^2 + sd(yb)^2) + 0.3 sqrt(mean(rg)^2 + mean(yb)^2)` with
 * `rg = R - G`, `yb = (R + G) / 2 - B` (population standard deviations).
 * Grey images give 0; their paper calls ~33 "moderately" and ~59 "quite"
 * colourful. Needs an RGB image (3 channels).
 */
export function colourfulness(img: FloatImage): number {
  if (img.channels !== 3) {
    throw new RangeError(
      `colourfulness: needs 3 channels, got ${img.channels}`,
    );
  }
  const n = img.height * img.width;
  let srg = 0, syb = 0, srg2 = 0, syb2 = 0;
  for (let i = 0; i < n; i++) {
    const r = img.data[3 * i] * 255, g = img.data[3 * i + 1] * 255;
    const b = img.data[3 * i + 2] * 255;
    const rg = r - g, yb = 0.5 * (r + g) - b;
    srg += rg;
    syb += yb;
    srg2 += rg * rg;
    syb2 += yb * yb;
  }
  const mrg = srg / n, myb = syb / n;
  const vrg = Math.max(0, srg2 / n - mrg * mrg);
  const vyb = Math.max(0, syb2 / n - myb * myb);
  return Math.sqrt(vrg + vyb) + 0.3 * Math.sqrt(mrg * mrg + myb * myb);
}

/** Grey level on [0, 1] of pixel `p` (ITU-R 601 luma; a 1-channel image is its own grey). */
function greyAt(img: FloatImage, p: number): number {
  if (img.channels === 1) return img.data[p];
  const i = p * img.channels;
  return 0.299 * img.data[i] + 0.587 * img.data[i + 1] +
    0.114 * img.data[i + 2];
}

/**
 * High-frequency energy: the mean squared difference between an image's grey
 * levels (on [0, 1]) and their 3x3 box blur (edges clamped). Flat or blurry
 * images give values near 0; fine texture, edges and noise raise it. Compare
 * generated photos with the real ones: a blurry generator falls below them.
 *
 * @example
 * ```ts
 * const flat = { data: new Float32Array(27).fill(0.5), height: 3, width: 3, channels: 3 };
 * highFrequencyEnergy(flat); // 0
 * ```
 */
export function highFrequencyEnergy(img: FloatImage): number {
  const { width: w, height: h } = img;
  if (img.data.length !== w * h * img.channels) {
    throw new RangeError(
      "highFrequencyEnergy: data length does not match the shape",
    );
  }
  const g = new Float64Array(w * h);
  for (let p = 0; p < w * h; p++) g[p] = greyAt(img, p);
  const at = (x: number, y: number) =>
    g[Math.min(h - 1, Math.max(0, y)) * w + Math.min(w - 1, Math.max(0, x))];
  let s = 0;
  for (let y = 0; y < h; y++) {
    for (let x = 0; x < w; x++) {
      let box = 0;
      for (let dy = -1; dy <= 1; dy++) {
        for (let dx = -1; dx <= 1; dx++) box += at(x + dx, y + dy);
      }
      const r = g[y * w + x] - box / 9;
      s += r * r;
    }
  }
  return s / (w * h);
}

/**
 * Spread of a set of images: the mean {@link l1} distance over all pairs.
 * Outputs of a generator for different inputs should spread about as much
 * as the real photos of those inputs do; a generator that ignores its input
 * (mode collapse) gives outputs that spread much less.
 *
 * @throws RangeError with fewer than two images or different shapes
 */
export function meanPairwiseL1(images: readonly FloatImage[]): number {
  if (images.length < 2) {
    throw new RangeError(
      `meanPairwiseL1: needs at least 2 images, got ${images.length}`,
    );
  }
  let s = 0, n = 0;
  for (let i = 0; i < images.length; i++) {
    for (let j = i + 1; j < images.length; j++, n++) {
      s += l1(images[i], images[j]);
    }
  }
  return s / n;
}

/**
 * Whether outputs follow their inputs: for each output `i`, its {@link l1}
 * distance to its own target (`own[i]`) and the mean distance to the other
 * targets (`other[i]`). A generator that uses its input is closer to its own
 * target (`own < other`); one that ignores it is as far from its own target
 * as from any other (`own ≈ other`), however varied its outputs are.
 *
 * @throws RangeError with fewer than two pairs or unequal counts
 */
export function ownAndOtherL1(
  outputs: readonly FloatImage[],
  targets: readonly FloatImage[],
): { own: number[]; other: number[] } {
  if (outputs.length !== targets.length || outputs.length < 2) {
    throw new RangeError(
      `ownAndOtherL1: needs as many targets as outputs, at least 2 (got ${outputs.length} and ${targets.length})`,
    );
  }
  const own: number[] = [], other: number[] = [];
  outputs.forEach((o, i) => {
    let s = 0;
    targets.forEach((t, j) => {
      if (j === i) own.push(l1(o, t));
      else s += l1(o, t);
    });
    other.push(s / (targets.length - 1));
  });
  return { own, other };
}

/**
 * A confusion matrix: `counts[gt * nClasses + pred]` pixels of ground-truth
 * class `gt` predicted as `pred` (rows = ground truth, columns = prediction).
 */
export interface Confusion {
  nClasses: number;
  counts: Float64Array;
}

/** An empty {@link Confusion} for `nClasses` classes. */
export function newConfusion(nClasses: number): Confusion {
  if (!Number.isInteger(nClasses) || nClasses < 1) {
    throw new RangeError(`newConfusion: bad class count ${nClasses}`);
  }
  return { nClasses, counts: new Float64Array(nClasses * nClasses) };
}

/**
 * Adds one image's pixels to a confusion matrix (in place).
 *
 * @param gt ground-truth class ids, one per pixel
 * @param pred predicted class ids, same length
 */
export function addToConfusion(
  cm: Confusion,
  gt: Uint8Array,
  pred: Uint8Array,
): void {
  if (gt.length !== pred.length) {
    throw new RangeError(
      `addToConfusion: ${gt.length} ground-truth pixels vs ${pred.length} predicted`,
    );
  }
  const n = cm.nClasses;
  for (let i = 0; i < gt.length; i++) {
    const g = gt[i], p = pred[i];
    if (g >= n || p >= n) {
      throw new RangeError(
        `addToConfusion: class id ${
          Math.max(g, p)
        } at pixel ${i} is not below ${n}`,
      );
    }
    cm.counts[g * n + p]++;
  }
}

/**
 * The three FCN-score numbers of the pix2pix paper (each in [0, 1]): the one
 * type of them, in the spelling every results file uses (`eval --json`,
 * `done.json`, `results.json`, `segmenter.json`) and the paper's tables.
 */
export interface FcnScores {
  /** Correct pixels / all pixels. */
  per_pixel_acc: number;
  /** Mean over classes of (correct pixels of the class / its ground-truth pixels). */
  per_class_acc: number;
  /** Mean over classes of intersection / union. */
  class_iou: number;
}

/**
 * What the FCN-scores need of a confusion matrix, per class: its
 * ground-truth pixels (row sum), its correctly predicted pixels (diagonal)
 * and its predicted pixels (column sum). Counts of several images add up
 * class by class to the counts of their pooled confusion matrix, so one
 * image's counts (36 numbers for facades' 12 classes) let the scores of any
 * subset of images be recomputed, e.g. to bootstrap them.
 */
export interface ClassCounts {
  /** Ground-truth pixels of each class. */
  label: number[];
  /** Pixels of each class predicted as that class. */
  hit: number[];
  /** Pixels predicted as each class. */
  pred: number[];
}

/** The {@link ClassCounts} of a confusion matrix. */
export function classCounts(cm: Confusion): ClassCounts {
  const n = cm.nClasses, c = cm.counts;
  const counts: ClassCounts = {
    label: new Array(n).fill(0),
    hit: new Array(n).fill(0),
    pred: new Array(n).fill(0),
  };
  for (let k = 0; k < n; k++) {
    for (let j = 0; j < n; j++) {
      counts.label[k] += c[k * n + j];
      counts.pred[k] += c[j * n + k];
    }
    counts.hit[k] = c[k * n + k];
  }
  return counts;
}

/**
 * Per-pixel accuracy, mean per-class accuracy and mean class IoU of a
 * confusion matrix.
 *
 * Absent classes: per-class accuracy averages over the classes that occur in
 * the ground truth (a class with no ground-truth pixels has no accuracy);
 * IoU averages over the classes that occur in the ground truth or in the
 * prediction (a class absent from both has no IoU; one that is predicted but
 * absent from the ground truth counts as IoU 0). An empty matrix gives NaN.
 */
export function segmentationScores(cm: Confusion): FcnScores {
  return fcnScoresOfCounts(classCounts(cm));
}

/** The FCN-scores of {@link ClassCounts} (as {@link segmentationScores}). */
export function fcnScoresOfCounts(counts: ClassCounts): FcnScores {
  const { label, hit, pred } = counts;
  let total = 0, correct = 0;
  let accSum = 0, accN = 0, iouSum = 0, iouN = 0;
  for (let k = 0; k < label.length; k++) {
    const row = label[k], tp = hit[k];
    total += row;
    correct += tp;
    if (row > 0) {
      accSum += tp / row;
      accN++;
    }
    const union = row + pred[k] - tp;
    if (union > 0) {
      iouSum += tp / union;
      iouN++;
    }
  }
  return {
    per_pixel_acc: correct / total,
    per_class_acc: accSum / accN,
    class_iou: iouSum / iouN,
  };
}
