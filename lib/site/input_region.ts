/**
 * Which part of an image the demo feeds the generator: one half of an
 * aligned A|B pair, or the whole image. Pure, so both the site builder
 * (example inputs) and the page (uploads) use it.
 *
 * @example
 * ```ts
 * inputRegion(512, 256, "BtoA"); // → { x: 256, width: 256 }
 * inputRegion(300, 256, "BtoA"); // → { x: 0, width: 300 }
 * ```
 *
 * @module
 */
import type { Direction } from "../config.ts";

/**
 * Which columns of a `width x height` image are the input: for an aligned
 * A|B pair (width at least 1.5 times the height) the input half of
 * `direction` (`AtoB`: left, `BtoA`: right), otherwise the whole image.
 */
export function inputRegion(
  width: number,
  height: number,
  direction: Direction,
): { x: number; width: number } {
  if (width < 1.5 * height) return { x: 0, width };
  const half = Math.floor(width / 2);
  return direction === "AtoB"
    ? { x: 0, width: half }
    : { x: half, width: half };
}
