/**
 * Test fixtures of the data pipeline: tiny aligned images written with sharp,
 * a corpus of bad files, and the location of the shared facades set.
 *
 * @module
 */
import sharp from "sharp";
import { FACADES_DIR } from "../lib/datasets/dataroot.ts";
import type { RgbImage } from "../lib/util/image.ts";

/** `<repo>/../shared/datasets/facades`, or null (with a printed reason) when missing. */
export async function facadesRoot(): Promise<string | null> {
  const root = FACADES_DIR;
  if ((await Deno.stat(`${root}/train`).catch(() => null))?.isDirectory) {
    return root;
  }
  console.log(`skipping: facades not found at ${root}`);
  return null;
}

/** A `width` x `height` RGB image whose pixel values depend on (x, y, c) and `salt`. */
export function pattern(width: number, height: number, salt = 0): RgbImage {
  const data = new Uint8Array(width * height * 3);
  for (let y = 0; y < height; y++) {
    for (let x = 0; x < width; x++) {
      for (let c = 0; c < 3; c++) {
        data[(y * width + x) * 3 + c] = (x * 7 + y * 3 + c * 50 + salt) % 256;
      }
    }
  }
  return { data, width, height };
}

function raw(img: RgbImage) {
  return sharp(img.data, {
    raw: { width: img.width, height: img.height, channels: 3 },
  });
}

/** Encode `img` as PNG bytes (lossless). */
export async function pngBytes(img: RgbImage): Promise<Uint8Array> {
  return new Uint8Array(await raw(img).png().toBuffer());
}

/** Encode `img` as JPEG bytes. */
export async function jpegBytes(img: RgbImage): Promise<Uint8Array> {
  return new Uint8Array(await raw(img).jpeg({ quality: 90 }).toBuffer());
}

/** What each file of {@link writeBadCorpus} should produce. */
export interface BadCorpus {
  /** Split folder holding the files. */
  split: string;
  /** File names that load (some with a conversion note). */
  good: string[];
  /** File names that load with a conversion (grayscale, RGBA, 16-bit, CMYK). */
  converted: string[];
  /** File names that must be skipped/flagged as errors. */
  bad: string[];
  /** Non-image file names (ignored). */
  ignored: string[];
}

/**
 * Write a split folder `<root>/train/` mixing good and bad files: a good
 * JPEG, a 2:1-halves (non-square) JPEG, a grayscale PNG, an RGBA PNG, a
 * 16-bit PNG, a CMYK JPEG, a text file named .jpg, a truncated JPEG, an
 * empty .jpg, an odd-width PNG and a .txt file. Images are 64x32 (two 32x32
 * halves) unless said.
 */
export async function writeBadCorpus(root: string): Promise<BadCorpus> {
  const split = `${root}/train`;
  await Deno.mkdir(split, { recursive: true });
  const img = pattern(64, 32);
  const jpeg = await jpegBytes(img);
  await Deno.writeFile(`${split}/good.jpg`, jpeg);
  await Deno.writeFile(`${split}/wide.jpg`, await jpegBytes(pattern(128, 32)));
  await raw(img).toColourspace("b-w").png().toFile(`${split}/gray.png`);
  await raw(img).ensureAlpha(0.5).png().toFile(`${split}/rgba.png`);
  await raw(img).toColourspace("rgb16").png().toFile(`${split}/deep.png`);
  await raw(img).toColourspace("cmyk").jpeg().toFile(`${split}/cmyk.jpg`);
  await Deno.writeTextFile(`${split}/corrupt.jpg`, "this is not a JPEG file\n");
  await Deno.writeFile(
    `${split}/truncated.jpg`,
    jpeg.slice(0, jpeg.length >> 1),
  );
  await Deno.writeFile(`${split}/empty.jpg`, new Uint8Array());
  await Deno.writeFile(`${split}/odd.png`, await pngBytes(pattern(65, 32)));
  await Deno.writeTextFile(`${split}/notes.txt`, "not an image\n");
  return {
    split,
    good: [
      "good.jpg",
      "wide.jpg",
      "gray.png",
      "rgba.png",
      "deep.png",
      "cmyk.jpg",
    ],
    converted: ["gray.png", "rgba.png", "deep.png", "cmyk.jpg"],
    bad: ["corrupt.jpg", "truncated.jpg", "empty.jpg", "odd.png"],
    ignored: ["notes.txt"],
  };
}

/**
 * Assert two pixel arrays are equal, reporting only the first difference
 * (`assert.deepEqual` on large typed arrays builds a diff that can take
 * gigabytes when they differ).
 */
export function assertSamePixels(
  actual: ArrayLike<number>,
  expected: ArrayLike<number>,
  label = "pixels",
): void {
  if (actual.length !== expected.length) {
    throw new Error(`${label}: length ${actual.length} != ${expected.length}`);
  }
  for (let i = 0; i < actual.length; i++) {
    if (actual[i] !== expected[i]) {
      throw new Error(
        `${label}: first difference at ${i}: ${actual[i]} != ${expected[i]}`,
      );
    }
  }
}

/** Whether two pixel arrays are equal (same length and values). */
export function samePixels(
  a: ArrayLike<number>,
  b: ArrayLike<number>,
): boolean {
  if (a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return false;
  return true;
}
