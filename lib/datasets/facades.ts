/**
 * The CMP Facades label palette as it appears in the pix2pix release of the
 * dataset (B halves of `facades/{train,test}/*.jpg`), and the mapping between
 * label-map colours and class indices.
 *
 * The JPEGs were re-encoded, so label colours are near, not exactly, the
 * palette: {@link rgbToClasses} maps every pixel to the nearest palette colour
 * (squared RGB distance). Class indices here are 0-based (`0` = background ...
 * `11` = shop); the dataset README numbers them from 1.
 *
 * @module
 */

/** Class names, index = class id (0-based). */
export const FACADE_CLASSES: readonly string[] = Object.freeze([
  "background",
  "facade",
  "window",
  "door",
  "cornice",
  "sill",
  "balcony",
  "blind",
  "deco",
  "molding",
  "pillar",
  "shop",
]);

/** Number of facade classes (12). */
export const N_FACADE_CLASSES = 12;

/**
 * Label colours, 3 bytes (R, G, B) per class in class order: the medians of
 * interior pixels measured on the pix2pix facades JPEGs (dataset README).
 */
export const FACADE_PALETTE: Readonly<Uint8Array> = Uint8Array.from([
  0,
  0,
  222, // background
  1,
  48,
  254, // facade
  3,
  127,
  254, // window
  2,
  207,
  255, // door
  36,
  252,
  226, // cornice
  113,
  251,
  150, // sill
  192,
  254,
  65, // balcony
  248,
  239,
  22, // blind
  253,
  159,
  5, // deco
  252,
  81,
  4, // molding
  240,
  5,
  13, // pillar
  174,
  0,
  2, // shop
]);

/**
 * Maps an interleaved RGB image to class indices by nearest palette colour
 * (squared Euclidean distance in RGB; ties go to the lower class id).
 *
 * @param rgb interleaved 8-bit RGB, `3 * n` bytes (HWC order, any H and W)
 * @param n number of pixels
 * @returns `n` class ids in `[0, 12)`
 */
export function rgbToClasses(rgb: Uint8Array, n: number): Uint8Array {
  if (rgb.length < 3 * n) {
    throw new RangeError(
      `rgbToClasses: ${n} pixels need ${3 * n} bytes, got ${rgb.length}`,
    );
  }
  const out = new Uint8Array(n);
  const pal = FACADE_PALETTE;
  for (let i = 0, p = 0; i < n; i++, p += 3) {
    const r = rgb[p], g = rgb[p + 1], b = rgb[p + 2];
    let best = 0;
    let bestD = Infinity;
    for (let c = 0, q = 0; c < N_FACADE_CLASSES; c++, q += 3) {
      const dr = r - pal[q], dg = g - pal[q + 1], db = b - pal[q + 2];
      const d = dr * dr + dg * dg + db * db;
      if (d < bestD) {
        bestD = d;
        best = c;
      }
    }
    out[i] = best;
  }
  return out;
}

/**
 * Paints class ids with the palette colours.
 *
 * @param classes class ids in `[0, 12)`, one per pixel
 * @returns interleaved 8-bit RGB, `3 * classes.length` bytes
 */
export function classesToRgb(classes: Uint8Array): Uint8Array {
  const out = new Uint8Array(classes.length * 3);
  for (let i = 0; i < classes.length; i++) {
    const c = classes[i];
    if (c >= N_FACADE_CLASSES) {
      throw new RangeError(
        `classesToRgb: class id ${c} at pixel ${i} is not in [0, 12)`,
      );
    }
    out[3 * i] = FACADE_PALETTE[3 * c];
    out[3 * i + 1] = FACADE_PALETTE[3 * c + 1];
    out[3 * i + 2] = FACADE_PALETTE[3 * c + 2];
  }
  return out;
}

/**
 * Whether an image is a facades-style label map: at least `minShare` of its
 * pixels lie within `tolerance` (Euclidean RGB distance) of a palette colour.
 * Measured on the first 60 pairs of each split: the JPEG label maps have
 * shares of 0.66-1 (facades) and 0.52-1 (the embedded synthetic set, whose
 * 72 px maps are mostly edges), their photos at most 0.007.
 *
 * @param rgb interleaved 8-bit RGB, `3 * n` bytes
 * @param n number of pixels
 * @example
 * ```ts
 * looksLikeLabelMap(classesToRgb(new Uint8Array(16).fill(2)), 16); // true
 * ```
 */
export function looksLikeLabelMap(
  rgb: Uint8Array,
  n: number,
  minShare = 0.3,
  tolerance = 48,
): boolean {
  const pal = FACADE_PALETTE, t2 = tolerance * tolerance;
  let near = 0;
  for (let p = 0; p < 3 * n; p += 3) {
    for (let q = 0; q < pal.length; q += 3) {
      const dr = rgb[p] - pal[q],
        dg = rgb[p + 1] - pal[q + 1],
        db = rgb[p + 2] - pal[q + 2];
      if (dr * dr + dg * dg + db * db <= t2) {
        near++;
        break;
      }
    }
  }
  return n > 0 && near >= minShare * n;
}
