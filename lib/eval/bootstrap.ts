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
  const { resamples = 2000, level = 0.95, seed = 0 } = opts;
  const n = values.length;
  if (n === 0) throw new RangeError("bootstrapMean: no values");
  if (!values.every(Number.isFinite)) {
    throw new RangeError("bootstrapMean: values must be finite numbers");
  }
  const rng = new Rng(seed);
  const means = new Float64Array(resamples);
  for (let r = 0; r < resamples; r++) {
    let s = 0;
    for (let i = 0; i < n; i++) s += values[rng.int(n)];
    means[r] = s / n;
  }
  means.sort();
  const q = (p: number) =>
    means[Math.min(resamples - 1, Math.max(0, Math.floor(p * resamples)))];
  return {
    mean: values.reduce((a, b) => a + b, 0) / n,
    low: q((1 - level) / 2),
    high: q((1 + level) / 2),
    n,
    level,
  };
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
