/**
 * How far the grid's numbers can be trusted: every table cell's 95 %
 * interval over training seeds and test images, and the paper's orderings
 * (`PAPER_ORDERINGS`) read as holds / tie / does not hold by the interval of
 * their difference.
 *
 * A run scored with per-image records (`EvalReport.per_image`) lets any
 * score be recomputed on any resample of the test images: L1, PSNR and SSIM
 * as means of the images', the FCN-scores from the images' class counts
 * added up (exactly the pooled confusion's scores). A cell is the mean over
 * the variant's seeds; its interval comes from a two-level bootstrap
 * (`bootstrapNested`): each resample draws the test images with replacement
 * and the seeds with replacement. A difference between two variants draws
 * the same images for both (paired) and each variant's seeds independently.
 *
 * **The verdict rule.** An ordering "A > B" of the paper holds when the 95 %
 * interval of A − B in per-pixel accuracy (the paper's first score, which
 * orders every pair of the 11 strictly) lies above 0, does not hold when it
 * lies below 0, and is a tie when it contains 0. The per-class accuracy and
 * class IoU differences are given beside it, read by the same rule.
 *
 * @module
 */
import {
  type BootstrapInterval,
  bootstrapNested,
  type BootstrapOptions,
} from "../eval/bootstrap.ts";
import type { FcnScores } from "../eval/metrics.ts";
import { fcnScoresOfCounts } from "../eval/metrics.ts";
import type { ImageScores } from "../eval/evaluate.ts";
import {
  PAPER_ORDERINGS,
  type PaperOrdering,
  paperRow,
} from "../eval/paper.ts";
import { intervalVerdict, type Verdict } from "../notebook/findings.ts";
import type { Grid, RunResult, StudyName } from "./grid.ts";

/** The scores of a table cell that carry a spread, in table order. */
export const SPREAD_METRICS = [
  "per_pixel_acc",
  "per_class_acc",
  "class_iou",
  "l1",
  "psnr",
  "ssim",
] as const;

/** One of {@link SPREAD_METRICS}. */
export type SpreadMetric = typeof SPREAD_METRICS[number];

/** The three FCN-scores, the paper's. */
const FCN_METRICS = ["per_pixel_acc", "per_class_acc", "class_iou"] as const;

/** A cell's spread. */
export interface Spread {
  /** The 95 % interval (over seeds and test images) of the mean over seeds. */
  low: number;
  high: number;
  /** The score of each seed, in seed order (on every test image). */
  by_seed: number[];
}

/** Resamples and seed of every interval of the grid: fixed, so tables are reproducible. */
export const SPREAD_BOOTSTRAP: Readonly<Required<BootstrapOptions>> = Object
  .freeze({ resamples: 2000, level: 0.95, seed: 0 });

/** One run's per-image scores in flat arrays (12 classes per image). */
interface Flat {
  n: number;
  classes: number;
  l1: Float64Array;
  psnr: Float64Array;
  ssim: Float64Array;
  label: Float64Array;
  hit: Float64Array;
  pred: Float64Array;
}

function flatten(images: readonly ImageScores[], real = false): Flat {
  const n = images.length, classes = images[0].label.length;
  const f: Flat = {
    n,
    classes,
    l1: Float64Array.from(images, (x) => x.l1),
    psnr: Float64Array.from(images, (x) => x.psnr),
    ssim: Float64Array.from(images, (x) => x.ssim),
    label: new Float64Array(n * classes),
    hit: new Float64Array(n * classes),
    pred: new Float64Array(n * classes),
  };
  images.forEach((x, i) => {
    f.label.set(x.label, i * classes);
    f.hit.set(real ? x.real_hit : x.hit, i * classes);
    f.pred.set(real ? x.real_pred : x.pred, i * classes);
  });
  return f;
}

/** The FCN-scores of the images `idx` of `f` (their counts added up). */
function fcnOf(f: Flat, idx: ArrayLike<number>): number[] {
  const k = f.classes;
  const label = new Array(k).fill(0), hit = new Array(k).fill(0);
  const pred = new Array(k).fill(0);
  for (let j = 0; j < idx.length; j++) {
    const o = idx[j] * k;
    for (let c = 0; c < k; c++) {
      label[c] += f.label[o + c];
      hit[c] += f.hit[o + c];
      pred[c] += f.pred[o + c];
    }
  }
  const s = fcnScoresOfCounts({ label, hit, pred });
  return FCN_METRICS.map((m) => s[m]);
}

/** Every {@link SPREAD_METRICS} score of the images `idx` of `f`. */
function scoresOf(f: Flat, idx: ArrayLike<number>): number[] {
  const mean = (a: Float64Array) => {
    let s = 0;
    for (let j = 0; j < idx.length; j++) s += a[idx[j]];
    return s / idx.length;
  };
  return [...fcnOf(f, idx), mean(f.l1), mean(f.psnr), mean(f.ssim)];
}

/** Component-wise mean of `score(seed)` over the drawn seeds `reps`. */
function meanOver(
  reps: ArrayLike<number>,
  score: (seed: number) => number[],
): number[] {
  let sum: number[] = [];
  for (let r = 0; r < reps.length; r++) {
    const v = score(reps[r]);
    sum = r === 0 ? v : sum.map((x, k) => x + v[k]);
  }
  return sum.map((x) => x / reps.length);
}

/**
 * The per-image records of `results` (one variant's seeds), flattened, or
 * null when a run has none (a grid scored before they were recorded).
 *
 * @throws Error naming the runs when two of them scored different test images
 */
function perImage(results: readonly RunResult[]): ImageScores[][] | null {
  const all = results.map((r) => r.scores.per_image);
  if (all.length === 0 || all.some((x) => !x?.length)) return null;
  const names = (i: number) => all[i]!.map((x) => x.name).join(",");
  for (let i = 1; i < all.length; i++) {
    if (names(i) !== names(0)) {
      throw new Error(
        `${results[i].config.name}/done.json: scored other test images than ${
          results[0].config.name
        }/done.json; per-image scores must be of the same images`,
      );
    }
  }
  return all as ImageScores[][];
}

/**
 * The spread of every {@link SPREAD_METRICS} score of one variant from its
 * finished seeds' `results`; null without per-image records.
 */
export function cellSpreads(
  results: readonly RunResult[],
  opts: BootstrapOptions = SPREAD_BOOTSTRAP,
): Record<SpreadMetric, Spread> | null {
  const images = perImage(results);
  if (!images) return null;
  const runs = images.map((x) => flatten(x));
  const all = Int32Array.from({ length: runs[0].n }, (_, i) => i);
  const bySeed = runs.map((f) => scoresOf(f, all));
  const ci = bootstrapNested(
    runs[0].n,
    [runs.length],
    (idx, [reps]) => meanOver(reps, (s) => scoresOf(runs[s], idx)),
    opts,
  );
  return Object.fromEntries(
    SPREAD_METRICS.map((m, k) => [m, {
      low: ci[k].low,
      high: ci[k].high,
      by_seed: bySeed.map((v) => v[k]),
    }]),
  ) as Record<SpreadMetric, Spread>;
}

/**
 * The FCN-scores of the real test photos (the ground-truth row) with their
 * 95 % intervals over the test images, from any run's per-image records
 * (every run of a grid scores the same photos with the same segmenter);
 * null without them.
 */
export function groundTruthSpread(
  result: RunResult | null,
  opts: BootstrapOptions = SPREAD_BOOTSTRAP,
): Record<keyof FcnScores, BootstrapInterval> | null {
  const images = result && perImage([result]);
  if (!images) return null;
  const f = flatten(images[0], true);
  const ci = bootstrapNested(f.n, [], (idx) => fcnOf(f, idx), opts);
  return Object.fromEntries(FCN_METRICS.map((m, k) => [m, ci[k]])) as Record<
    keyof FcnScores,
    BootstrapInterval
  >;
}

/** Words of an ordering's verdict. */
export const ORDERING_VERDICTS = [
  "holds",
  "tie",
  "does not hold",
  "not measured",
] as const;

/** One of {@link ORDERING_VERDICTS}. */
export type OrderingVerdict = typeof ORDERING_VERDICTS[number];

const WORDS: Record<Verdict, OrderingVerdict> = {
  agrees: "holds",
  tie: "tie",
  disagrees: "does not hold",
  "not measured": "not measured",
};

/**
 * The verdict on "better > worse" from the interval of better − worse:
 * holds above 0, does not hold below 0, a tie when it contains 0
 * (`intervalVerdict`'s rule); not measured without an interval.
 */
export function orderingVerdict(
  diff: BootstrapInterval | null,
): OrderingVerdict {
  return diff ? WORDS[intervalVerdict(diff).verdict] : "not measured";
}

/** One of the paper's orderings, read off the grid. */
export interface OrderingResult {
  /** `PaperOrdering.id`, e.g. `cgan>gan`. */
  id: string;
  claim: string;
  study: StudyName;
  /** Row labels of the two variants. */
  better: string;
  worse: string;
  /** The paper's per-pixel accuracies of the two rows. */
  paper: { better: number; worse: number };
  /** Finished seeds of each variant. */
  seeds: { better: number; worse: number };
  /**
   * Per FCN-score: better − worse, mean over seeds, with its paired 95 %
   * interval; null when a variant is missing or has no per-image records.
   */
  diff: Record<keyof FcnScores, BootstrapInterval> | null;
  /** The verdict by per-pixel accuracy (the rule above). */
  verdict: OrderingVerdict;
  /** The verdict of each FCN-score by the same rule. */
  verdicts: Record<keyof FcnScores, OrderingVerdict>;
}

/**
 * The paired difference better − worse of the three FCN-scores, over the
 * seeds of each and the shared test images; null without per-image records.
 * The same array on both sides (two rows of one run) gives exactly 0.
 */
export function fcnDifference(
  better: readonly RunResult[],
  worse: readonly RunResult[],
  opts: BootstrapOptions = SPREAD_BOOTSTRAP,
): Record<keyof FcnScores, BootstrapInterval> | null {
  const a = perImage(better), b = perImage(worse);
  if (!a || !b) return null;
  perImage([better[0], worse[0]]); // the same test images on both sides
  const fa = a.map((x) => flatten(x)), fb = b.map((x) => flatten(x));
  // One run on both sides (rows that share a run): its seeds are paired too.
  const same = better === worse;
  const ci = bootstrapNested(
    fa[0].n,
    same ? [fa.length] : [fa.length, fb.length],
    (idx, reps) => {
      const ma = meanOver(reps[0], (s) => fcnOf(fa[s], idx));
      const mb = meanOver(reps[same ? 0 : 1], (s) => fcnOf(fb[s], idx));
      return ma.map((x, k) => x - mb[k]);
    },
    opts,
  );
  return Object.fromEntries(FCN_METRICS.map((m, k) => [m, ci[k]])) as Record<
    keyof FcnScores,
    BootstrapInterval
  >;
}

/**
 * The paper's orderings whose two rows are both in `grid`, each read off the
 * finished seeds of its variants (`results`: run id → finished seeds).
 */
export function orderingResults(
  grid: Grid,
  results: ReadonlyMap<string, readonly RunResult[]>,
  orderings: readonly PaperOrdering[] = PAPER_ORDERINGS,
): OrderingResult[] {
  const variant = (study: StudyName, id: string) =>
    grid.variants.find((v) => v.study === study && v.paperId === id);
  return orderings.flatMap((o): OrderingResult[] => {
    const a = variant(o.better.study, o.better.id);
    const b = variant(o.worse.study, o.worse.id);
    if (!a || !b) return [];
    const ra = results.get(a.runId) ?? [], rb = results.get(b.runId) ?? [];
    const diff = ra.length && rb.length ? fcnDifference(ra, rb) : null;
    const verdicts = Object.fromEntries(
      FCN_METRICS.map((m) => [m, orderingVerdict(diff?.[m] ?? null)]),
    ) as Record<keyof FcnScores, OrderingVerdict>;
    return [{
      id: o.id,
      claim: o.claim,
      study: o.better.study,
      better: a.label,
      worse: b.label,
      paper: {
        better: paperRow(o.better.study, o.better.id)!.per_pixel_acc,
        worse: paperRow(o.worse.study, o.worse.id)!.per_pixel_acc,
      },
      seeds: { better: ra.length, worse: rb.length },
      diff,
      verdict: verdicts.per_pixel_acc,
      verdicts,
    }];
  });
}

/** `x ± h`: the mean and the larger distance from it to an end of the interval. */
export function plusMinus(
  mean: number | null,
  spread: { low: number; high: number } | null | undefined,
  digits = 3,
): string {
  if (mean === null || !Number.isFinite(mean)) return "—";
  if (!spread) return mean.toFixed(digits);
  const h = Math.max(mean - spread.low, spread.high - mean);
  return `${mean.toFixed(digits)} ± ${h.toFixed(digits)}`;
}

/** One ordering as a Markdown list line: claim, verdict, the numbers. */
export function orderingLine(o: OrderingResult): string {
  const d = o.diff;
  const ci = (m: keyof FcnScores, name: string) =>
    d
      ? `${name} ${d[m].mean >= 0 ? "+" : ""}${d[m].mean.toFixed(3)} [${
        d[m].low.toFixed(3)
      }, ${d[m].high.toFixed(3)}]`
      : "";
  const numbers = d
    ? `per-pixel ${o.better} − ${o.worse}: ${ci("per_pixel_acc", "").trim()}; ${
      ci("per_class_acc", "per-class")
    } (${o.verdicts.per_class_acc}); ${
      ci("class_iou", "IoU")
    } (${o.verdicts.class_iou}); seeds ${o.seeds.better} / ${o.seeds.worse}`
    : o.seeds.better && o.seeds.worse
    ? "no per-image scores in these runs"
    : "a run has not finished";
  return `- **${o.verdict}**: ${o.claim} (paper ${
    o.paper.better.toFixed(2)
  } vs ${o.paper.worse.toFixed(2)}). ${numbers}.`;
}

/** "holds 6, tie 3, does not hold 2" over `orderings`. */
export function verdictCounts(orderings: readonly OrderingResult[]): string {
  return ORDERING_VERDICTS.map((v) =>
    [v, orderings.filter((o) => o.verdict === v).length] as const
  ).filter(([, n]) => n > 0).map(([v, n]) => `${v} ${n}`).join(", ");
}
