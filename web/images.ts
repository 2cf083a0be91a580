/// <reference lib="dom" />
/**
 * Image files and canvases in the page: decoding a dropped or chosen file to
 * 8-bit RGB at a given size (taking one half of an aligned A|B pair), and
 * drawing RGB pixels.
 *
 * @module
 */
import type { Direction } from "../lib/config.ts";

/**
 * Which part of an image is the input: for an aligned A|B pair (width about
 * twice the height) the input half of `direction` (`AtoB`: left, `BtoA`:
 * right), otherwise the whole image.
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

/**
 * Decodes an image file to `size x size` 8-bit RGB (HWC, `size * size * 3`
 * bytes), resized without keeping the aspect ratio.
 *
 * @param file the image file (any format the browser decodes)
 * @param size output height and width, pixels
 * @param direction picks the half of an A|B pair (see {@link inputRegion})
 * @param smooth bilinear resizing (photos) or nearest (label maps)
 * @throws Error naming the file when the browser cannot decode it
 */
export async function fileToRgb(
  file: Blob & { name?: string },
  size: number,
  direction: Direction,
  smooth: boolean,
): Promise<Uint8Array> {
  let bitmap: ImageBitmap;
  try {
    bitmap = await createImageBitmap(file);
  } catch {
    throw new Error(
      `${file.name ?? "file"}: not an image this browser can decode`,
    );
  }
  const region = inputRegion(bitmap.width, bitmap.height, direction);
  const canvas = new OffscreenCanvas(size, size);
  const ctx = canvas.getContext("2d")!;
  ctx.imageSmoothingEnabled = smooth;
  ctx.drawImage(
    bitmap,
    region.x,
    0,
    region.width,
    bitmap.height,
    0,
    0,
    size,
    size,
  );
  bitmap.close();
  return rgbaToRgb(ctx.getImageData(0, 0, size, size).data);
}

/** Drops the alpha channel of RGBA bytes. */
export function rgbaToRgb(rgba: Uint8ClampedArray): Uint8Array {
  const rgb = new Uint8Array((rgba.length / 4) * 3);
  for (let i = 0, j = 0; i < rgba.length; i += 4, j += 3) {
    rgb[j] = rgba[i];
    rgb[j + 1] = rgba[i + 1];
    rgb[j + 2] = rgba[i + 2];
  }
  return rgb;
}

/** Opaque RGBA `ImageData` from RGB bytes (HWC). */
export function rgbToImageData(
  rgb: Uint8Array,
  width: number,
  height: number,
): ImageData {
  const rgba = new Uint8ClampedArray(width * height * 4);
  for (let i = 0, j = 0; j < rgb.length; i += 4, j += 3) {
    rgba[i] = rgb[j];
    rgba[i + 1] = rgb[j + 1];
    rgba[i + 2] = rgb[j + 2];
    rgba[i + 3] = 255;
  }
  return new ImageData(rgba, width, height);
}

/** Shows `size x size` RGB pixels on `canvas` (its pixel size becomes `size`). */
export function showRgb(
  canvas: HTMLCanvasElement,
  rgb: Uint8Array,
  size: number,
): void {
  canvas.width = size;
  canvas.height = size;
  canvas.getContext("2d")!.putImageData(rgbToImageData(rgb, size, size), 0, 0);
}
