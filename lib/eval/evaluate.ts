/**
 * The facades FCN-score protocol, applied to a results folder written by
 * `translateSplit` (`deno task translate`): `images/<name>_real_A.png` (the
 * input label map, facades being translated B→A), `<name>_fake_B.png` (the
 * generated photo) and `<name>_real_B.png` (the real photo).
 *
 * For every image, the segmenter (`lib/eval/segmenter.ts`, trained on real photos)
 * segments the generated photo; the scores say how well that segmentation
 * matches the input label map (per-pixel accuracy, mean per-class accuracy,
 * mean class IoU, one confusion matrix over all images). The same segmenter
 * on the real photos gives the `ground_truth` row, the ceiling of the
 * protocol. Image metrics compare generated and real photos on [0, 1]
 * (see `lib/eval/metrics.ts`: L1, PSNR, SSIM) and measure the colourfulness of
 * both.
 *
 * @module
 */
import { N_FACADE_CLASSES, rgbToClasses } from "../datasets/facades.ts";
import { readRgb, type RgbImage } from "../util/image.ts";
import { naturalCompare } from "../util/files.ts";
import {
  addToConfusion,
  type ClassCounts,
  classCounts,
  colourfulness,
  type FcnScores,
  fcnScoresOfCounts,
  floatImageFromRgb8,
  l1,
  newConfusion,
  psnr,
  ssim,
} from "./metrics.ts";
import type { PhotoSegmenter } from "./segmenter.ts";

/** One image of a results folder: the three files of one name. */
export interface ResultImages {
  name: string;
  /** Input label map. */
  realA: string;
  /** Generated photo. */
  fakeB: string;
  /** Real photo. */
  realB: string;
}

/**
 * Scores of one results folder (`--json` prints this object). Segmentation
 * scores are of the generated photos; `ground_truth` those of the real
 * photos of the same images. Image metrics are means over images, on [0, 1];
 * `psnr` is the mean of per-image PSNRs in dB, each at most 100 dB
 * (`PSNR_MAX`: a generated image equal to its real photo counts as 100).
 */
export interface EvalReport extends FcnScores {
  n_images: number;
  /** Mean absolute error, generated vs real photo, on [0, 1]. */
  l1: number;
  psnr: number;
  ssim: number;
  /** Hasler-Süsstrunk colourfulness of the generated photos (0-255 scale). */
  colourfulness: number;
  /** Colourfulness of the real photos. */
  colourfulness_real: number;
  ground_truth: FcnScores;
  /** Every image's scores, in name order (with {@link EvalOptions.perImage}). */
  per_image?: ImageScores[];
}

/**
 * One image's scores: enough to recompute every score of {@link EvalReport}
 * (but colourfulness) for any subset of the images, e.g. to bootstrap them
 * (`lib/ablation/spread.ts`). The FCN counts are per class
 * (`ClassCounts`): `label` (ground-truth pixels, shared by both photos),
 * `hit` / `pred` of the generated photo's segmentation, `real_hit` /
 * `real_pred` of the real photo's.
 */
export interface ImageScores {
  name: string;
  l1: number;
  psnr: number;
  ssim: number;
  label: number[];
  hit: number[];
  pred: number[];
  real_hit: number[];
  real_pred: number[];
}

/** The class counts of the generated (`fake`) or real photo of `s`. */
export function imageCounts(
  s: ImageScores,
  photo: "fake" | "real",
): ClassCounts {
  return photo === "fake"
    ? { label: s.label, hit: s.hit, pred: s.pred }
    : { label: s.label, hit: s.real_hit, pred: s.real_pred };
}

/** Class counts of several images added up (those of their pooled confusion). */
export function sumCounts(counts: readonly ClassCounts[]): ClassCounts {
  const n = counts[0]?.label.length ?? 0;
  const sum: ClassCounts = {
    label: new Array(n).fill(0),
    hit: new Array(n).fill(0),
    pred: new Array(n).fill(0),
  };
  for (const c of counts) {
    for (let k = 0; k < n; k++) {
      sum.label[k] += c.label[k];
      sum.hit[k] += c.hit[k];
      sum.pred[k] += c.pred[k];
    }
  }
  return sum;
}

/** Options of {@link evaluateResults}. */
export interface EvalOptions {
  /** The segmenter (a trained `Segmenter`, or a fake in tests). */
  segmenter: PhotoSegmenter;
  /** Called after each image with (done, total). */
  onProgress?: (done: number, total: number) => void;
  /** Also report every image's scores (`per_image`; default false). */
  perImage?: boolean;
}

const SUFFIXES = {
  realA: "_real_A.png",
  fakeB: "_fake_B.png",
  realB: "_real_B.png",
};

/**
 * Lists the images of a results folder (`dir/images/`, or `dir` itself when
 * it has no `images/`), sorted by name with numbers in numeric order.
 *
 * @throws Error naming the folder when it is missing or empty, or naming the
 *   file missing from an incomplete triple
 */
export async function listResults(dir: string): Promise<ResultImages[]> {
  let images = `${dir}/images`;
  try {
    if (!(await Deno.stat(images)).isDirectory) images = dir;
  } catch {
    images = dir;
  }
  const files = new Set<string>();
  try {
    for await (const e of Deno.readDir(images)) if (e.isFile) files.add(e.name);
  } catch (err) {
    if (err instanceof Deno.errors.NotFound) {
      throw new Error(`${dir}: no such results folder`);
    }
    throw err;
  }
  const names = new Set<string>();
  for (const f of files) {
    for (const suffix of Object.values(SUFFIXES)) {
      if (f.endsWith(suffix)) names.add(f.slice(0, -suffix.length));
    }
  }
  if (names.size === 0) {
    throw new Error(
      `${images}: no *_real_A.png / *_fake_B.png / *_real_B.png files (is it a results folder written by translateSplit?)`,
    );
  }
  const sorted = [...names].sort(naturalCompare);
  return sorted.map((name) => {
    const paths = {} as Record<keyof typeof SUFFIXES, string>;
    for (const [key, suffix] of Object.entries(SUFFIXES)) {
      const file = `${name}${suffix}`;
      if (!files.has(file)) {
        throw new Error(
          `${images}/${file}: missing (the results of '${name}' are incomplete)`,
        );
      }
      paths[key as keyof typeof SUFFIXES] = `${images}/${file}`;
    }
    return { name, ...paths };
  });
}

function checkSameSize(a: RgbImage, b: RgbImage, pa: string, pb: string): void {
  if (a.width !== b.width || a.height !== b.height) {
    throw new Error(
      `${pb}: ${b.width}x${b.height}, but ${pa} is ${a.width}x${a.height}; the results of one image must have one size`,
    );
  }
}

/**
 * Scores a results folder with the FCN-score protocol and image metrics.
 *
 * @param dir results folder of `deno task translate` (facades, B→A)
 * @throws Error naming the folder or file for an empty folder, incomplete
 *   triples, unreadable images, or images of one name with different sizes
 */
export async function evaluateResults(
  dir: string,
  opts: EvalOptions,
): Promise<EvalReport> {
  const results = await listResults(dir);
  const images: ImageScores[] = [];
  let sumCol = 0, sumColReal = 0;
  for (const [i, r] of results.entries()) {
    const [labelRgb, fakeRgb, realRgb] = await Promise.all([
      readRgb(r.realA),
      readRgb(r.fakeB),
      readRgb(r.realB),
    ]);
    checkSameSize(labelRgb, fakeRgb, r.realA, r.fakeB);
    checkSameSize(labelRgb, realRgb, r.realA, r.realB);
    const labels = rgbToClasses(
      labelRgb.data,
      labelRgb.width * labelRgb.height,
    );
    const segmented = async (photo: RgbImage) => {
      const cm = newConfusion(N_FACADE_CLASSES);
      addToConfusion(cm, labels, await opts.segmenter.segment(photo));
      return classCounts(cm);
    };
    const fake = await segmented(fakeRgb);
    const real = await segmented(realRgb);
    const f = floatImageFromRgb8(fakeRgb.data, fakeRgb.height, fakeRgb.width);
    const g = floatImageFromRgb8(realRgb.data, realRgb.height, realRgb.width);
    images.push({
      name: r.name,
      l1: l1(f, g),
      psnr: psnr(f, g),
      ssim: ssim(f, g),
      ...fake,
      real_hit: real.hit,
      real_pred: real.pred,
    });
    sumCol += colourfulness(f);
    sumColReal += colourfulness(g);
    opts.onProgress?.(i + 1, results.length);
  }
  const n = results.length;
  const mean = (k: "l1" | "psnr" | "ssim") =>
    images.reduce((s, x) => s + x[k], 0) / n;
  return {
    ...fcnScoresOfCounts(sumCounts(images.map((x) => imageCounts(x, "fake")))),
    n_images: n,
    l1: mean("l1"),
    psnr: mean("psnr"),
    ssim: mean("ssim"),
    colourfulness: sumCol / n,
    colourfulness_real: sumColReal / n,
    ground_truth: fcnScoresOfCounts(
      sumCounts(images.map((x) => imageCounts(x, "real"))),
    ),
    ...(opts.perImage ? { per_image: images } : {}),
  };
}

/** The report as a markdown table (FCN-scores rows like the paper's Table 1, then image metrics). */
export function reportToMarkdown(r: EvalReport, title = "results"): string {
  const f = (v: number) => v.toFixed(3);
  return [
    `| ${title} (${r.n_images} images) | per-pixel acc | per-class acc | class IoU |`,
    "|---|---|---|---|",
    `| generated photos | ${f(r.per_pixel_acc)} | ${f(r.per_class_acc)} | ${
      f(r.class_iou)
    } |`,
    `| ground truth (real photos) | ${f(r.ground_truth.per_pixel_acc)} | ${
      f(r.ground_truth.per_class_acc)
    } | ${f(r.ground_truth.class_iou)} |`,
    "",
    "| L1 [0,1] | PSNR (dB) | SSIM | colourfulness (generated / real) |",
    "|---|---|---|---|",
    `| ${f(r.l1)} | ${r.psnr.toFixed(2)} | ${f(r.ssim)} | ${
      r.colourfulness.toFixed(1)
    } / ${r.colourfulness_real.toFixed(1)} |`,
  ].join("\n");
}
