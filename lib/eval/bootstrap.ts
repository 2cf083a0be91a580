/**
 * Percentile bootstrap for the mean of per-item values (e.g. one score per
 * test image), and for the mean of paired differences between two runs
 * scored on the same items: how much a mean moves when the test set is
 * resampled with replacement.
 *
 * @example
 * ```ts
 * const ci = bootstrapMean([0.52, 0.61, 0.48, 0.57], { resamples: 2000, seed: 0 });
 * // ci.mean 0.545, ci.low / ci.high: the 2.5 % and 97.5 % percentiles
 * ```
 * @module
 */
import { Rng } from "../util/rng.ts";

/** A mean and its percentile bootstrap interval. */
export interface BootstrapInterval {
  /** Mean of the values. */
  mean: number;
  /** Lower end: the `(1 - level) / 2` quantile of the resampled means. */
  low: number;
  /** Upper end: the `(1 + level) / 2` quantile of the resampled means. */
  high: number;
  /** Items resampled. */
  n: number;
  /** Coverage, e.g. 0.95. */
  level: number;
}

/** Options of {@link bootstrapMean}. */
export interface BootstrapOptions {
  /** Resamples drawn (default 2000). */
  resamples?: number;
  /** Coverage of the interval (default 0.95). */
  level?: number;
  /** Seed of the resampling (default 0): the same seed gives the same interval. */
  seed?: number;
}

/**
 * The mean of `values` with a percentile bootstrap interval.
 *
 * @throws RangeError when `values` is empty or holds a non-finite number
 */
export function bootstrapMean(
  values: readonly number[],
  opts: BootstrapOptions = {},
): BootstrapInterval {
  if (values.length === 0) throw new RangeError("bootstrapMean: no values");
  if (!values.every(Number.isFinite)) {
    throw new RangeError("bootstrapMean: values must be finite numbers");
  }
  return bootstrapNested(values.length, [], (items) => {
    let s = 0;
    for (let i = 0; i < items.length; i++) s += values[items[i]];
    return [s / items.length];
  }, opts)[0];
}

/**
 * Percentile bootstrap of a vector statistic over `items` items (e.g. test
 * images) and, per group, over its replicates (e.g. the training seeds of
 * one variant). Each resample draws `items` item indices with replacement,
 * the same for every group (so groups compared on the same images are
 * paired), and for each group `g` its `replicates[g]` replicate indices with
 * replacement, independently. `stat(items, reps)` (`reps[g]`: group g's
 * drawn replicates) gives the statistic; on the data as measured (every item
 * and replicate once) it gives each interval's `mean`. With one replicate
 * per group this is the plain item bootstrap; drawing the seeds too widens
 * the interval by how much the seeds disagree (a two-level bootstrap).
 *
 * @returns one interval per component of the statistic
 * @throws RangeError when there are no items, a group has no replicate, or
 *   the statistic is not finite on the data as measured
 */
export function bootstrapNested(
  items: number,
  replicates: readonly number[],
  stat: (
    items: Int32Array,
    reps: readonly Int32Array[],
  ) => readonly number[],
  opts: BootstrapOptions = {},
): BootstrapInterval[] {
  const { resamples = 2000, level = 0.95, seed = 0 } = opts;
  if (items < 1) throw new RangeError("bootstrapNested: no items");
  if (replicates.some((r) => !(r >= 1))) {
    throw new RangeError("bootstrapNested: a group without replicates");
  }
  const all = (n: number) => Int32Array.from({ length: n }, (_, i) => i);
  const point = stat(all(items), replicates.map(all));
  if (!point.every(Number.isFinite)) {
    throw new RangeError("bootstrapNested: the statistic is not finite");
  }
  const rng = new Rng(seed);
  const draws = point.map(() => new Float64Array(resamples));
  const idx = new Int32Array(items);
  const reps = replicates.map((r) => new Int32Array(r));
  for (let r = 0; r < resamples; r++) {
    for (let i = 0; i < items; i++) idx[i] = rng.int(items);
    for (const [g, n] of replicates.entries()) {
      for (let i = 0; i < n; i++) reps[g][i] = rng.int(n);
    }
    const v = stat(idx, reps);
    for (let k = 0; k < v.length; k++) draws[k][r] = v[k];
  }
  const q = (sorted: Float64Array, p: number) =>
    sorted[Math.min(resamples - 1, Math.max(0, Math.floor(p * resamples)))];
  return draws.map((d, k) => {
    d.sort();
    return {
      mean: point[k],
      low: q(d, (1 - level) / 2),
      high: q(d, (1 + level) / 2),
      n: items,
      level,
    };
  });
}

/**
 * The mean of `a[i] - b[i]` (two runs scored on the same items) with a
 * percentile bootstrap interval. An interval that contains 0 means the test
 * set cannot tell the runs apart.
 *
 * @throws RangeError when the lengths differ
 */
export function bootstrapPairedDifference(
  a: readonly number[],
  b: readonly number[],
  opts: BootstrapOptions = {},
): BootstrapInterval {
  if (a.length !== b.length) {
    throw new RangeError(
      `bootstrapPairedDifference: ${a.length} vs ${b.length} values; pairs need the same items`,
    );
  }
  return bootstrapMean(a.map((x, i) => x - b[i]), opts);
}
