import assert from "node:assert/strict";
import {
  addToConfusion,
  colourfulness,
  type FloatImage,
  floatImageFromRgb8,
  highFrequencyEnergy,
  l1,
  meanPairwiseL1,
  mse,
  newConfusion,
  ownAndOtherL1,
  psnr,
  PSNR_MAX,
  segmentationScores,
  ssim,
} from "../lib/eval/metrics.ts";
import {
  bootstrapMean,
  bootstrapPairedDifference,
} from "../lib/eval/bootstrap.ts";

/** A deterministic, textured h x w x 3 test image on [0, 1]. */
function pattern(h: number, w: number): FloatImage {
  const data = new Float32Array(h * w * 3);
  for (let y = 0; y < h; y++) {
    for (let x = 0; x < w; x++) {
      for (let c = 0; c < 3; c++) {
        data[(y * w + x) * 3 + c] = ((x * 7 + y * 13 + c * 29) % 31) / 30;
      }
    }
  }
  return { data, height: h, width: w, channels: 3 };
}

/** `img` with every value mapped through `f(value, x, y, c)`. */
function mapImage(
  img: FloatImage,
  f: (v: number, x: number, y: number, c: number) => number,
): FloatImage {
  const data = new Float32Array(img.data.length);
  for (let y = 0; y < img.height; y++) {
    for (let x = 0; x < img.width; x++) {
      for (let c = 0; c < img.channels; c++) {
        const i = (y * img.width + x) * img.channels + c;
        data[i] = f(img.data[i], x, y, c);
      }
    }
  }
  return { ...img, data };
}

function constant(h: number, w: number, rgb: number[]): FloatImage {
  const data = new Float32Array(h * w * 3);
  for (let i = 0; i < h * w; i++) data.set(rgb, 3 * i);
  return { data, height: h, width: w, channels: 3 };
}

const clamp01 = (v: number) => Math.min(1, Math.max(0, v));

Deno.test("l1, mse and psnr: identical images and a known shift", () => {
  const a = pattern(12, 16);
  assert.equal(l1(a, a), 0);
  assert.equal(psnr(a, a), PSNR_MAX); // capped, not Infinity
  assert.equal(PSNR_MAX, 100);
  const shifted = mapImage(a, (v) => v + 0.1);
  assert.ok(Math.abs(l1(a, shifted) - 0.1) < 1e-6);
  assert.ok(Math.abs(mse(a, shifted) - 0.01) < 1e-7);
  // PSNR of a uniform 0.1 error with peak 1 is 10 log10(1 / 0.01) = 20 dB.
  assert.ok(Math.abs(psnr(a, shifted) - 20) < 1e-4);
  // Black vs white: MSE 1, PSNR 0 dB, L1 1.
  const black = constant(4, 4, [0, 0, 0]), white = constant(4, 4, [1, 1, 1]);
  assert.equal(l1(black, white), 1);
  assert.equal(psnr(black, white), 0);
});

Deno.test("floatImageFromRgb8 scales bytes to [0, 1] and checks length", () => {
  const img = floatImageFromRgb8(Uint8Array.from([0, 255, 51]), 1, 1);
  assert.deepEqual(Array.from(img.data), [0, 1, 0.2].map(Math.fround));
  assert.throws(
    () => floatImageFromRgb8(new Uint8Array(5), 1, 2),
    /needs 6 bytes/,
  );
});

Deno.test("metrics reject images of different shapes", () => {
  assert.throws(() => l1(pattern(12, 12), pattern(12, 13)), /shapes differ/);
  assert.throws(() => ssim(pattern(12, 12), pattern(13, 12)), /shapes differ/);
});

Deno.test("ssim: identical images give 1, tiny images are refused", () => {
  const a = pattern(20, 24);
  assert.ok(Math.abs(ssim(a, a) - 1) < 1e-12);
  assert.throws(() => ssim(pattern(10, 24), pattern(10, 24)), /at least 11x11/);
});

Deno.test("ssim: constant images match the formula by hand", () => {
  // Means 0.5 and 0.25, no variance: SSIM = (2 mu_x mu_y + C1) / (mu_x^2 + mu_y^2 + C1).
  const c1 = 0.01 ** 2;
  const expected = (2 * 0.5 * 0.25 + c1) / (0.25 + 0.0625 + c1);
  const got = ssim(
    constant(11, 13, [0.5, 0.5, 0.5]),
    constant(11, 13, [0.25, 0.25, 0.25]),
  );
  assert.ok(Math.abs(got - expected) < 1e-9, `${got} vs ${expected}`);
});

Deno.test("ssim matches scikit-image's structural_similarity", () => {
  // Reference values from scikit-image 0.19.3 (Debian python3-skimage):
  // structural_similarity(a, b, gaussian_weights=True, sigma=1.5,
  //   use_sample_covariance=False, data_range=1, channel_axis=-1)
  // on the same images built with numpy.
  const a = pattern(20, 24);
  const noisy = mapImage(
    a,
    (v, x, y, c) => clamp01(v + 0.1 * Math.sin(x + 2 * y + c)),
  );
  const contrast = mapImage(a, (v) => clamp01(v * 0.5 + 0.2));
  assert.ok(Math.abs(ssim(a, noisy) - 0.9737511896227727) < 1e-6);
  assert.ok(Math.abs(ssim(a, contrast) - 0.797142253497419) < 1e-6);
  // Symmetric in its arguments.
  assert.ok(Math.abs(ssim(noisy, a) - ssim(a, noisy)) < 1e-12);
});

Deno.test("colourfulness: grey is 0, hand-computed red and red|green", () => {
  assert.equal(colourfulness(constant(3, 3, [0.4, 0.4, 0.4])), 0);
  // Pure red: rg = 255, yb = 127.5, no spread.
  const red = colourfulness(constant(2, 2, [1, 0, 0]));
  assert.ok(Math.abs(red - 0.3 * Math.hypot(255, 127.5)) < 1e-3);
  // Half red, half green: rg = +-255 (sd 255, mean 0), yb = 127.5 (sd 0).
  const data = new Float32Array([1, 0, 0, 0, 1, 0]);
  const rg = colourfulness({ data, height: 1, width: 2, channels: 3 });
  assert.ok(Math.abs(rg - (255 + 0.3 * 127.5)) < 1e-3);
  assert.throws(
    () =>
      colourfulness({
        data: new Float32Array(4),
        height: 2,
        width: 2,
        channels: 1,
      }),
    /3 channels/,
  );
});

Deno.test("segmentation scores of a hand-computed confusion matrix", () => {
  // gt    0 0 1 1 2 ; class 3 absent from both -> excluded everywhere.
  // pred  0 1 1 1 0
  const cm = newConfusion(4);
  addToConfusion(
    cm,
    Uint8Array.from([0, 0, 1, 1, 2]),
    Uint8Array.from([0, 1, 1, 1, 0]),
  );
  assert.deepEqual(Array.from(cm.counts.slice(0, 4)), [1, 1, 0, 0]);
  const s = segmentationScores(cm);
  assert.ok(Math.abs(s.per_pixel_acc - 3 / 5) < 1e-12);
  // Per class: 1/2, 2/2, 0/1.
  assert.ok(Math.abs(s.per_class_acc - (0.5 + 1 + 0) / 3) < 1e-12);
  // IoU: 1/(2+2-1), 2/(2+3-2), 0/(1+0-0).
  assert.ok(Math.abs(s.class_iou - (1 / 3 + 2 / 3 + 0) / 3) < 1e-12);
});

Deno.test("segmentation scores: a predicted class absent from the ground truth", () => {
  const cm = newConfusion(2);
  addToConfusion(cm, Uint8Array.from([0, 0]), Uint8Array.from([0, 1]));
  const s = segmentationScores(cm);
  assert.equal(s.per_pixel_acc, 0.5);
  assert.equal(s.per_class_acc, 0.5); // class 1 has no ground truth: no accuracy
  assert.equal(s.class_iou, (0.5 + 0) / 2); // but IoU 0 (it was predicted)
  // Accumulating a second image adds up.
  addToConfusion(cm, Uint8Array.from([1]), Uint8Array.from([1]));
  assert.ok(Math.abs(segmentationScores(cm).per_pixel_acc - 2 / 3) < 1e-12);
});

Deno.test("confusion matrix rejects bad input", () => {
  const cm = newConfusion(3);
  assert.throws(
    () => addToConfusion(cm, new Uint8Array(2), new Uint8Array(3)),
    /2 ground-truth/,
  );
  assert.throws(
    () => addToConfusion(cm, Uint8Array.from([3]), Uint8Array.from([0])),
    /not below 3/,
  );
  assert.throws(() => newConfusion(0), /bad class count/);
});

Deno.test("highFrequencyEnergy: flat is 0, a checkerboard by hand, blur lowers it", () => {
  assert.equal(highFrequencyEnergy(constant(5, 5, [0.2, 0.4, 0.6])), 0);
  // A 0/1 grey checkerboard: an interior pixel's 3x3 box holds 5 of its own
  // value and 4 of the other, so the residual is +-4/9 everywhere inside.
  // Edge pixels (clamped) differ, so a large board approaches (4/9)^2.
  const board = mapImage(constant(64, 64, [0, 0, 0]), (_, x, y) => (x + y) % 2);
  const inner = highFrequencyEnergy(board);
  assert.ok(
    inner > (4 / 9) ** 2 && inner - (4 / 9) ** 2 < 0.01,
    `energy ${inner}`,
  );
  const blurred = mapImage(board, (v) => 0.25 + 0.5 * v); // half the contrast
  assert.ok(Math.abs(highFrequencyEnergy(blurred) - inner / 4) < 1e-6);
});

Deno.test("meanPairwiseL1: identical images spread 0, known spread by hand", () => {
  const a = constant(4, 4, [0, 0, 0]);
  assert.equal(meanPairwiseL1([a, a, a]), 0);
  const b = constant(4, 4, [0.5, 0.5, 0.5]);
  const c = constant(4, 4, [1, 1, 1]);
  // pairs: |0-0.5| = 0.5, |0-1| = 1, |0.5-1| = 0.5 -> mean 2/3
  assert.ok(Math.abs(meanPairwiseL1([a, b, c]) - 2 / 3) < 1e-6);
  assert.throws(() => meanPairwiseL1([a]), /at least 2/);
});

Deno.test("bootstrap: constant values give a zero-width interval; intervals shrink with n", () => {
  const flat = bootstrapMean([3, 3, 3, 3]);
  assert.deepEqual([flat.mean, flat.low, flat.high], [3, 3, 3]);
  const small = bootstrapMean([0, 1, 0, 1, 1, 0, 1, 0], { seed: 1 });
  assert.equal(small.mean, 0.5);
  assert.ok(small.low < 0.5 && small.high > 0.5);
  const big = bootstrapMean(Array.from({ length: 800 }, (_, i) => i % 2), {
    seed: 1,
  });
  // Standard error of a 0/1 mean: 0.5 / sqrt(n); the 95 % interval is about +-2 SE.
  assert.ok(big.high - big.low < (small.high - small.low) / 4);
  assert.ok(Math.abs(big.high - big.low - 4 * 0.5 / Math.sqrt(800)) < 0.02);
  assert.deepEqual(
    bootstrapMean([1, 2, 5], { seed: 7 }),
    bootstrapMean([1, 2, 5], { seed: 7 }),
  );
  assert.throws(() => bootstrapMean([]), /no values/);
});

Deno.test("bootstrapPairedDifference: a constant shift is certain, a sign flip is a tie", () => {
  const a = [0.5, 0.6, 0.7, 0.4];
  const shifted = bootstrapPairedDifference(a.map((x) => x + 0.1), a);
  assert.ok(
    Math.abs(shifted.low - 0.1) < 1e-9 && Math.abs(shifted.high - 0.1) < 1e-9,
  );
  const tie = bootstrapPairedDifference([1, 0, 1, 0, 1, 0], [0, 1, 0, 1, 0, 1]);
  assert.ok(tie.low < 0 && tie.high > 0);
  assert.throws(() => bootstrapPairedDifference([1], [1, 2]), /same items/);
});

Deno.test("ownAndOtherL1: a copy of the targets follows them, a constant output does not", () => {
  const t = [0, 0.5, 1].map((v) => constant(4, 4, [v, v, v]));
  const copy = ownAndOtherL1(t, t);
  assert.deepEqual(copy.own, [0, 0, 0]);
  assert.deepEqual(copy.other, [0.75, 0.5, 0.75]); // e.g. |0-0.5| and |0-1| -> 0.75
  const grey = t.map(() => constant(4, 4, [0.5, 0.5, 0.5]));
  const ignore = ownAndOtherL1(grey, t);
  assert.deepEqual(ignore.own, [0.5, 0, 0.5]);
  assert.deepEqual(ignore.other, [0.25, 0.5, 0.25]);
  assert.throws(() => ownAndOtherL1(t, t.slice(1)), /as many targets/);
});
