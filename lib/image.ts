/**
 * Image decoding and encoding with sharp (libvips), and conversions between
 * 8-bit RGB pixel buffers and tfjs tensors.
 *
 * Pixel buffers are HWC, RGB, 8 bits per channel, row-major
 * (`data[(y * width + x) * 3 + c]`). Every failure is an {@link ImageError}
 * naming the file, never a stack trace from libvips.
 *
 * @module
 */
import sharp from "sharp";
import type { Metadata, Sharp } from "sharp";
import * as tf from "@tensorflow/tfjs-core";

/** An 8-bit RGB image, HWC: `data.length === width * height * 3`. */
export interface RgbImage {
  /** Pixels, row-major, 3 bytes (R, G, B) per pixel. */
  data: Uint8Array;
  /** Width in pixels. */
  width: number;
  /** Height in pixels. */
  height: number;
}

/** A decoded image, with a note when the file was not plain 8-bit RGB. */
export interface DecodedImage extends RgbImage {
  /**
   * What was converted, e.g. `"grayscale converted to RGB"` or
   * `"RGBA: alpha channel dropped"`; absent for plain RGB files.
   */
  note?: string;
}

/** A file that could not be read, decoded or written; `message` names it. */
export class ImageError extends Error {
  /** The path (or name) of the offending file. */
  readonly file: string;
  /** Why, without the file name, e.g. `"empty file (0 bytes)"`. */
  readonly reason: string;

  /**
   * @param file path or name of the file
   * @param reason short explanation, shown after the file name
   */
  constructor(file: string, reason: string) {
    super(`${file}: ${reason}`);
    this.name = "ImageError";
    this.file = file;
    this.reason = reason;
  }
}

/** File extensions (lower case, no dot) treated as images in a dataset. */
export const IMAGE_EXTENSIONS: readonly string[] = [
  "jpg",
  "jpeg",
  "png",
  "webp",
  "tif",
  "tiff",
];

/** Whether `path` has one of the {@link IMAGE_EXTENSIONS}. */
export function isImagePath(path: string): boolean {
  const dot = path.lastIndexOf(".");
  return dot >= 0 &&
    IMAGE_EXTENSIONS.includes(path.slice(dot + 1).toLowerCase());
}

/** Compare file names so that `2.jpg` sorts before `10.jpg`. */
export function naturalCompare(a: string, b: string): number {
  return a.localeCompare(b, "en", { numeric: true });
}

function conversionNote(meta: Metadata): string | undefined {
  const notes: string[] = [];
  const channels = meta.channels ?? 3;
  if (meta.space === "cmyk") notes.push("CMYK converted to RGB");
  else if (channels <= 2) notes.push("grayscale converted to RGB");
  if (meta.hasAlpha || channels === 2 || channels === 4) {
    notes.push("alpha channel dropped");
  }
  if (meta.depth && meta.depth !== "uchar") {
    notes.push(`${meta.depth} samples converted to 8 bits`);
  }
  return notes.length ? notes.join("; ") : undefined;
}

function libvipsReason(err: unknown): string {
  const msg = err instanceof Error ? err.message : String(err);
  return msg.split("\n")[0].trim();
}

/**
 * Decode an encoded image (JPEG, PNG, WebP, TIFF) held in memory to 8-bit
 * RGB. Grayscale is expanded to RGB, alpha is dropped, CMYK and 16-bit
 * images are converted; each such conversion is described in `note`.
 * Truncated files are errors (libvips `failOn: "warning"`).
 *
 * @param bytes the encoded file
 * @param name file name used in error messages
 * @throws ImageError naming `name` for empty, corrupt, truncated or non-image input
 */
export async function decodeRgb(
  bytes: Uint8Array,
  name: string,
): Promise<DecodedImage> {
  if (bytes.length === 0) throw new ImageError(name, "empty file (0 bytes)");
  try {
    const image = sharp(bytes, { failOn: "warning" });
    const meta = await image.metadata();
    const { data, info } = await image
      .removeAlpha()
      .toColourspace("srgb")
      .raw({ depth: "uchar" })
      .toBuffer({ resolveWithObject: true });
    if (info.channels !== 3) {
      throw new Error(`decoded to ${info.channels} channels, expected 3`);
    }
    const out: DecodedImage = {
      data: new Uint8Array(data.buffer, data.byteOffset, data.length),
      width: info.width,
      height: info.height,
    };
    const note = conversionNote(meta);
    if (note) out.note = note;
    return out;
  } catch (err) {
    throw new ImageError(
      name,
      `not a readable image (${libvipsReason(err)})`,
    );
  }
}

/**
 * Read and decode an image file to 8-bit RGB (see {@link decodeRgb}).
 *
 * @param path file path
 * @throws ImageError naming `path` when missing, unreadable or not an image
 */
export async function readRgb(path: string): Promise<DecodedImage> {
  let bytes: Uint8Array;
  try {
    bytes = await Deno.readFile(path);
  } catch (err) {
    const reason = err instanceof Deno.errors.NotFound
      ? "file not found"
      : err instanceof Deno.errors.IsADirectory
      ? "is a directory, not an image"
      : `cannot read (${libvipsReason(err)})`;
    throw new ImageError(path, reason);
  }
  return await decodeRgb(bytes, path);
}

function checkRgb(rgb: RgbImage, name: string): void {
  if (
    !Number.isInteger(rgb.width) || !Number.isInteger(rgb.height) ||
    rgb.width <= 0 || rgb.height <= 0 ||
    rgb.data.length !== rgb.width * rgb.height * 3
  ) {
    throw new ImageError(
      name,
      `bad RGB buffer: ${rgb.width}x${rgb.height} needs ${
        rgb.width * rgb.height * 3
      } bytes, got ${rgb.data.length}`,
    );
  }
}

function rawSharp(rgb: RgbImage): Sharp {
  return sharp(rgb.data, {
    raw: { width: rgb.width, height: rgb.height, channels: 3 },
  });
}

/**
 * Encode to an image file chosen by the extension of `path`: `.png`
 * (lossless) or `.jpg`/`.jpeg` (JPEG at `quality`, default 95, the quality
 * of the pix2pix facades files). Parent folders are created.
 *
 * @param path output file
 * @param rgb the image
 * @param quality JPEG quality 1..100 (ignored for PNG)
 * @throws ImageError naming `path` for other extensions or write failures
 */
export async function writeImage(
  path: string,
  rgb: RgbImage,
  quality = 95,
): Promise<void> {
  checkRgb(rgb, path);
  const ext = path.slice(path.lastIndexOf(".") + 1).toLowerCase();
  let pipeline = rawSharp(rgb);
  if (ext === "png") pipeline = pipeline.png();
  else if (ext === "jpg" || ext === "jpeg") {
    pipeline = pipeline.jpeg({ quality });
  } else {
    throw new ImageError(
      path,
      "unsupported output extension (use .png or .jpg)",
    );
  }
  try {
    const bytes = await pipeline.toBuffer();
    const dir = path.replace(/[\\/][^\\/]*$/, "");
    if (dir !== path && dir !== "") await Deno.mkdir(dir, { recursive: true });
    await Deno.writeFile(path, bytes);
  } catch (err) {
    throw new ImageError(path, `cannot write (${libvipsReason(err)})`);
  }
}

/**
 * Write an RGB image as a PNG file (parent folders are created).
 *
 * @param path output file, should end in `.png`
 * @param rgb the image
 * @throws ImageError naming `path` when `path` does not end in `.png`
 */
export async function writePng(path: string, rgb: RgbImage): Promise<void> {
  if (!path.toLowerCase().endsWith(".png")) {
    throw new ImageError(path, "writePng needs a .png file name");
  }
  await writeImage(path, rgb);
}

async function toRgb(pipeline: Sharp): Promise<RgbImage> {
  const { data, info } = await pipeline.raw().toBuffer({
    resolveWithObject: true,
  });
  return {
    data: new Uint8Array(data.buffer, data.byteOffset, data.length),
    width: info.width,
    height: info.height,
  };
}

/**
 * Resize with bicubic interpolation, ignoring aspect ratio, matching PIL's
 * `Image.resize(size, BICUBIC)` that the reference uses: on a facades half,
 * 256 -> 286, mean |difference| 0.09 and at most 3 of 255 more than 3 pixels
 * from the border. Within 3 pixels of the border values differ more (up to
 * ~15 on strong edges): Pillow renormalises the clipped kernel, libvips
 * extends the image.
 *
 * libvips' `resize` matches PIL when shrinking (antialiased cubic) but
 * aligns pixel centres differently when enlarging, so axes that grow go
 * through an `affine` transform with a bicubic interpolator and PIL's
 * centre convention instead.
 *
 * @param rgb the image
 * @param width target width, pixels
 * @param height target height, pixels
 * @returns a new image; `rgb` itself when the size already matches
 */
export async function resizeRgb(
  rgb: RgbImage,
  width: number,
  height: number,
): Promise<RgbImage> {
  checkRgb(rgb, "resizeRgb input");
  let out = rgb;
  const shrinkW = Math.min(width, out.width);
  const shrinkH = Math.min(height, out.height);
  if (shrinkW < out.width || shrinkH < out.height) {
    out = await toRgb(
      rawSharp(out).resize(shrinkW, shrinkH, { fit: "fill", kernel: "cubic" }),
    );
  }
  if (width > out.width || height > out.height) {
    const sx = width / out.width, sy = height / out.height;
    // Output pixel X samples input x = (X + 0.5) / s - 0.5, as PIL does.
    const grown = await toRgb(
      rawSharp(out).affine([sx, 0, 0, sy], {
        interpolator: sharp.interpolators.bicubic,
        idx: (sx - 1) / (2 * sx),
        idy: (sy - 1) / (2 * sy),
      }),
    );
    out = cropRgb(grown, 0, 0, width, height);
  }
  return out;
}

/**
 * Copy out the rectangle `[x, x + width) x [y, y + height)`, optionally
 * mirrored left-right.
 *
 * @throws RangeError when the rectangle leaves the image
 */
export function cropRgb(
  rgb: RgbImage,
  x: number,
  y: number,
  width: number,
  height: number,
  flip = false,
): RgbImage {
  if (
    x < 0 || y < 0 || width <= 0 || height <= 0 ||
    x + width > rgb.width || y + height > rgb.height
  ) {
    throw new RangeError(
      `crop ${width}x${height} at (${x}, ${y}) leaves the ${rgb.width}x${rgb.height} image`,
    );
  }
  const out = new Uint8Array(width * height * 3);
  for (let row = 0; row < height; row++) {
    const src = ((y + row) * rgb.width + x) * 3;
    const dst = row * width * 3;
    if (!flip) {
      out.set(rgb.data.subarray(src, src + width * 3), dst);
      continue;
    }
    for (let col = 0; col < width; col++) {
      const s = src + (width - 1 - col) * 3;
      const d = dst + col * 3;
      out[d] = rgb.data[s];
      out[d + 1] = rgb.data[s + 1];
      out[d + 2] = rgb.data[s + 2];
    }
  }
  return { data: out, width, height };
}

/**
 * Put two images of the same height side by side (`a` left, `b` right),
 * the aligned pix2pix layout.
 *
 * @throws RangeError when the heights differ
 */
export function hconcat(a: RgbImage, b: RgbImage): RgbImage {
  if (a.height !== b.height) {
    throw new RangeError(
      `hconcat: heights differ (${a.height} vs ${b.height})`,
    );
  }
  const width = a.width + b.width;
  const out = new Uint8Array(width * a.height * 3);
  for (let row = 0; row < a.height; row++) {
    out.set(
      a.data.subarray(row * a.width * 3, (row + 1) * a.width * 3),
      row * width * 3,
    );
    out.set(
      b.data.subarray(row * b.width * 3, (row + 1) * b.width * 3),
      (row * width + a.width) * 3,
    );
  }
  return { data: out, width, height: a.height };
}

/**
 * Scale 8-bit pixels to floats in [-1, 1] (`v / 127.5 - 1`, the reference's
 * `Normalize(0.5, 0.5)`), written into `out` from `offset` on (HWC order).
 *
 * @param rgb the image
 * @param out destination, needs `offset + width * height * 3` elements
 * @param offset first element to write
 */
export function rgbToFloat(
  rgb: RgbImage,
  out: Float32Array,
  offset = 0,
): void {
  const src = rgb.data;
  for (let i = 0; i < src.length; i++) out[offset + i] = src[i] / 127.5 - 1;
}

/**
 * Convert an image tensor in [-1, 1] to 8-bit RGB bytes (values are clamped
 * and rounded). One-channel tensors are repeated into R, G and B.
 *
 * @param t shape [height, width, 3] or [height, width, 1], values in [-1, 1]
 * @returns HWC RGB bytes, `height * width * 3` long
 * @throws RangeError for other channel counts
 */
export function tensorToRgb(t: tf.Tensor3D): Uint8Array {
  const [height, width, channels] = t.shape;
  if (channels !== 3 && channels !== 1) {
    throw new RangeError(
      `tensorToRgb: expected 1 or 3 channels, got shape [${t.shape}]`,
    );
  }
  const values = t.dataSync();
  const out = new Uint8Array(height * width * 3);
  for (let p = 0; p < height * width; p++) {
    for (let c = 0; c < 3; c++) {
      const v = values[p * channels + (channels === 1 ? 0 : c)];
      const byte = Math.round((v + 1) * 127.5);
      out[p * 3 + c] = byte < 0 ? 0 : byte > 255 ? 255 : byte;
    }
  }
  return out;
}
