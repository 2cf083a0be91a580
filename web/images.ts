/// <reference lib="dom" />
/**
 * Image files and canvases in the page: decoding a dropped or chosen file to
 * 8-bit RGB at a given size (taking one half of an aligned A|B pair), and
 * drawing RGB pixels.
 *
 * @module
 */
import type { Direction } from "../lib/config.ts";
import { inputRegion } from "../lib/site/input_region.ts";
import type { Picture } from "./generator.ts";

/** Longest side kept when an upload keeps its own size (larger ones are scaled down). */
export const MAX_SIDE = 2048;

/**
 * Decodes an image file to 8-bit RGB, `size x size` (resized without keeping
 * the aspect ratio), or at its own size with `size` null (scaled down to
 * {@link MAX_SIDE} when larger).
 *
 * @param file the image file (any format the browser decodes)
 * @param size output height and width, pixels, or null for the file's size
 * @param direction picks the half of an A|B pair (see {@link inputRegion})
 * @param smooth bilinear resizing (photos) or nearest (label maps)
 * @throws Error naming the file when the browser cannot decode it
 */
export async function fileToRgb(
  file: Blob & { name?: string },
  size: number | null,
  direction: Direction,
  smooth: boolean,
): Promise<Picture> {
  let bitmap: ImageBitmap;
  try {
    bitmap = await createImageBitmap(file);
  } catch {
    throw new Error(
      `${file.name ?? "file"}: not an image this browser can decode`,
    );
  }
  const region = inputRegion(bitmap.width, bitmap.height, direction);
  const scale = Math.min(1, MAX_SIDE / Math.max(region.width, bitmap.height));
  const width = size ?? Math.max(1, Math.round(region.width * scale));
  const height = size ?? Math.max(1, Math.round(bitmap.height * scale));
  const canvas = new OffscreenCanvas(width, height);
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
    width,
    height,
  );
  bitmap.close();
  const rgb = rgbaToRgb(ctx.getImageData(0, 0, width, height).data);
  return { rgb, width, height };
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

/** Shows a picture on `canvas` (its pixel size becomes the picture's). */
export function showRgb(canvas: HTMLCanvasElement, p: Picture): void {
  canvas.width = p.width;
  canvas.height = p.height;
  canvas.getContext("2d")!.putImageData(
    rgbToImageData(p.rgb, p.width, p.height),
    0,
    0,
  );
}
