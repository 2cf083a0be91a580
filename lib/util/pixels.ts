/**
 * Model outputs in [-1, 1] as 8-bit pixels, without any image library, so
 * the browser page (`web/`) and the library convert alike.
 *
 * @example
 * ```ts
 * unitToByte(0); // → 128
 * valuesToRgb([-1, 1], [1, 1, 2]); // → Uint8Array [0, 0, 0] (gray, alpha left out)
 * ```
 *
 * @module
 */

/** A value in [-1, 1] as a byte: `round((v + 1) * 127.5)`, clamped to [0, 255]. */
export function unitToByte(v: number): number {
  const byte = Math.round((v + 1) * 127.5);
  return byte < 0 ? 0 : byte > 255 ? 255 : byte;
}

/**
 * HWC values in [-1, 1] of 1 to 4 channels as 8-bit RGB: gray (1 or 2
 * channels) repeated into R, G and B, alpha (2 or 4) left out.
 *
 * @param values HWC values in [-1, 1]
 * @param shape [height, width, channels], channels 1 to 4
 * @returns HWC RGB bytes, `height * width * 3` long
 * @throws RangeError for other channel counts
 */
export function valuesToRgb(
  values: ArrayLike<number>,
  shape: readonly [number, number, number],
): Uint8Array {
  const [height, width, channels] = shape;
  if (!(channels >= 1 && channels <= 4)) {
    throw new RangeError(
      `valuesToRgb: expected 1 to 4 channels, got shape [${shape}]`,
    );
  }
  const out = new Uint8Array(height * width * 3);
  for (let p = 0; p < height * width; p++) {
    for (let c = 0; c < 3; c++) {
      out[p * 3 + c] = unitToByte(
        values[p * channels + (channels <= 2 ? 0 : c)],
      );
    }
  }
  return out;
}
