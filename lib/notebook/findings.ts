/**
 * How the notebooks read a paper's finding off measured numbers, without
 * added slack: "agrees", "disagrees" or "tie", each with the reason.
 *
 * @module
 */
import type { BootstrapInterval } from "../eval/bootstrap.ts";

/** A finding's reading. */
export type Verdict = "agrees" | "disagrees" | "tie" | "not measured";

/** The three FCN-scores of a row (null when not measured). */
export interface FcnTriple {
  per_pixel_acc: number | null;
  per_class_acc: number | null;
  class_iou: number | null;
}

const FCN_KEYS = ["per_pixel_acc", "per_class_acc", "class_iou"] as const;

/**
 * "a beats b" read off the three FCN-scores of two rows: **agrees** when all
 * three favour `a` and the per-pixel gap exceeds `noise`, **disagrees** when
 * all three favour `b` by more than `noise`, else a **tie** (the scores
 * disagree in sign, or the gap is within the measured noise). `noise` is a
 * measured scale, e.g. how far two scorings of the same photos differ.
 *
 * @example
 * ```ts
 * fcnVerdict({ per_pixel_acc: 0.557, per_class_acc: 0.290, class_iou: 0.201 },
 *   { per_pixel_acc: 0.553, per_class_acc: 0.291, class_iou: 0.202 }, 0.003);
 * // { verdict: "tie", why: "per-pixel +0.004, per-class -0.001, IoU -0.001: the scores disagree" }
 * ```
 */
export function fcnVerdict(
  a: FcnTriple | undefined,
  b: FcnTriple | undefined,
  noise: number,
): { verdict: Verdict; why: string } {
  const d = FCN_KEYS.map((k) =>
    a?.[k] == null || b?.[k] == null ? null : a[k]! - b[k]!
  );
  if (d.some((x) => x === null)) {
    return { verdict: "not measured", why: "a row is missing" };
  }
  const [px, cls, iou] = d as number[];
  const sign = (x: number) => (x > 0 ? "+" : "") + x.toFixed(3);
  const gaps = `per-pixel ${sign(px)}, per-class ${sign(cls)}, IoU ${
    sign(iou)
  }`;
  const all = (f: (x: number) => boolean) => [px, cls, iou].every(f);
  if (all((x) => x > 0)) {
    return px > noise ? { verdict: "agrees", why: gaps } : {
      verdict: "tie",
      why: `${gaps}: within the noise ${noise.toFixed(3)}`,
    };
  }
  if (all((x) => x < 0)) {
    return -px > noise ? { verdict: "disagrees", why: gaps } : {
      verdict: "tie",
      why: `${gaps}: within the noise ${noise.toFixed(3)}`,
    };
  }
  return { verdict: "tie", why: `${gaps}: the scores disagree` };
}

/**
 * "the difference is positive" read off a bootstrap interval of a
 * difference: agrees when the whole interval is above 0, disagrees when it
 * is below, a tie when it contains 0.
 */
export function intervalVerdict(ci: BootstrapInterval, digits = 3): {
  verdict: Verdict;
  why: string;
} {
  const why = `mean ${ci.mean.toFixed(digits)}, ${
    Math.round(ci.level * 100)
  } % interval [${ci.low.toFixed(digits)}, ${
    ci.high.toFixed(digits)
  }] over ${ci.n} images`;
  return {
    verdict: ci.low > 0 ? "agrees" : ci.high < 0 ? "disagrees" : "tie",
    why,
  };
}
