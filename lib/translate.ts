/**
 * Running a trained generator: `translate()` for one image or a batch (for
 * notebooks and scripts), and `translateSplit()` for a whole dataset split,
 * writing `images/<name>_real_A.png`, `<name>_fake_B.png`, `<name>_real_B.png`
 * and an `index.html` gallery like the reference's results pages, plus
 * `translate.json` ({@link ResultsInfo}: which checkpoint and dataset) and,
 * on request, a full-size sample sheet (`sheet.png`).
 *
 * Test mode follows the paper by default: batch norm uses the batch's own
 * statistics and dropout stays on (`training: true`); `eval: true` uses the
 * moving statistics and no dropout instead (deterministic).
 *
 * Sizes: by default images are resized to the model's training size, as
 * the reference's `test.py`; `preprocess: "none"` keeps each image's own
 * size (padded to the generator's size multiple and cropped back, large
 * images in blended tiles: `lib/tiling.ts`). `datasetMode: "single"` reads a
 * folder of plain images (no target half), as the reference's `single` mode.
 *
 * @module
 */

import { resolve } from "node:path";
import * as tf from "@tensorflow/tfjs";
import type * as tfl from "@tensorflow/tfjs-layers";
import { loadGenerator } from "./checkpoint.ts";
import { ConfigError, DatasetError, Pix2PixError } from "./errors.ts";
import type { Direction, TrainConfig } from "./config.ts";
import { hasAlpha, openAlignedDataset, toChannels } from "./data.ts";
import { resolveDataroot } from "./datasets/dataroot.ts";
import {
  distinctStems,
  hconcat,
  listFolder,
  readRgb,
  resizeRgb,
  rgbToFloat,
  vconcat,
  writePng,
  writeTensorPng,
} from "./util/image.ts";
import type { ApplyArgs } from "./layers.ts";
import { sizeMultiple } from "./config.ts";
import { writeGallery } from "./report/run_page.ts";
import { deriveSeed } from "./util/rng.ts";
import { modelSizeMultiple, runAnySize } from "./tiling.ts";

/** Options of {@link translate}. */
export interface TranslateOptions {
  /** Inference mode: moving batch-norm statistics, no dropout (default false, the paper's test mode). */
  eval?: boolean;
  /** Seed of the dropout masks when `eval` is false (default: fresh random masks). */
  dropoutSeed?: number | null;
}

/**
 * Runs generator `model` on `image`: `[h, w, c]` or `[n, h, w, c]` in [-1, 1]
 * → the output of the same rank, in [-1, 1]. The model's state is left as it
 * was: in the paper's test mode (`training: true`) tfjs batch norm would
 * update its moving statistics, so they are restored afterwards.
 */
export function translate<T extends tf.Tensor3D | tf.Tensor4D>(
  model: tfl.LayersModel,
  image: T,
  opts: TranslateOptions = {},
): T {
  const training = !opts.eval;
  const stats = training ? model.nonTrainableWeights : [];
  return tf.tidy(() => {
    const saved = stats.map((w) => tf.clone(w.read()));
    const batch = image.rank === 3 ? tf.expandDims(image, 0) : image;
    const out = model.apply(
      batch,
      {
        training,
        dropoutSeed: opts.dropoutSeed ?? null,
      } satisfies ApplyArgs,
    ) as tf.Tensor4D;
    stats.forEach((w, i) => w.write(saved[i]));
    return (image.rank === 3 ? tf.squeeze(out, [0]) : out) as T;
  });
}

/** Options of {@link translateImage}. */
export interface TranslateImageOptions extends TranslateOptions {
  /** Tile side for large images (a multiple of the generator's size multiple; 0: never tile). */
  tile?: number;
  /** Pixels neighbouring tiles share (default `tile / 4`). */
  tileOverlap?: number;
}

/**
 * Runs generator `model` on one image of any size, `[h, w, c]` in [-1, 1]
 * → `[h, w, outputNc]`: sizes that are not a multiple of 2^downsamplings are
 * mirror-padded and cropped back, images larger than `tile` go through
 * overlapping tiles with blended seams.
 */
export async function translateImage(
  model: tfl.LayersModel,
  image: tf.Tensor3D,
  opts: TranslateImageOptions = {},
): Promise<tf.Tensor3D> {
  return await runAnySize((x) => translate(model, x, opts), image, {
    multiple: modelSizeMultiple(model),
    tile: opts.tile ?? 0,
    ...(opts.tileOverlap !== undefined ? { overlap: opts.tileOverlap } : {}),
  });
}

/** Where {@link translateSplit} reads: aligned A|B pairs or single images. */
export const DATASET_MODES = ["aligned", "single"] as const;
/** One of {@link DATASET_MODES}. */
export type DatasetMode = typeof DATASET_MODES[number];

/** Default tile side of {@link translateSplit} with `preprocess: "none"`. */
export const DEFAULT_TILE = 1024;

/** Options of {@link translateSplit}; unset fields come from the checkpoint's config. */
export interface TranslateSplitOptions {
  /** Checkpoint folder, run `checkpoints/` folder or run folder. */
  checkpoint: string;
  /** Output folder (gets `images/` and `index.html`). */
  out: string;
  /** Dataset root; default: the one the model was trained on. */
  dataroot?: string | null;
  /** Split to translate (default `test`). */
  phase?: string;
  direction?: Direction;
  /** Inference mode (see {@link TranslateOptions.eval}). */
  eval?: boolean;
  /** Translate at most this many images (default: all). */
  numTest?: number;
  /** Dropout seed in the paper's test mode (default: the config's seed). */
  seed?: number;
  /** `aligned` (default): A|B pairs in `<dataroot>/<phase>`; `single`: the images in `dataroot`, no target. */
  datasetMode?: DatasetMode;
  /** `resize` (default): to the model's training size; `none`: keep each image's size. */
  preprocess?: "resize" | "none";
  /** With `preprocess: "none"`: tile side for large images (default {@link DEFAULT_TILE}; 0: never tile). */
  tile?: number;
  /** Pixels neighbouring tiles share (default `tile / 4`). */
  tileOverlap?: number;
  /**
   * Also write {@link SHEET_FILE}: the first this many images as rows of
   * input | output | target at full size (0 or unset: no sheet; needs one
   * image size, so not with `preprocess: "none"`).
   */
  sheet?: number;
}

/** File name of the sample sheet {@link translateSplit} writes with `sheet`. */
export const SHEET_FILE = "sheet.png";

/** `translate.json` of a results folder: where its images came from. */
export interface ResultsInfo {
  /** The checkpoint folder (`--checkpoint` as given). */
  checkpoint: string;
  /** Absolute path of the dataset root that was translated. */
  dataroot: string;
  phase: string;
  direction: Direction;
  /** Inference mode (else the paper's test mode). */
  eval: boolean;
  /** Images translated. */
  count: number;
}

/** File name of {@link ResultsInfo} in a results folder. */
export const RESULTS_INFO_FILE = "translate.json";

/**
 * The {@link ResultsInfo} of a results folder, or null when it has none
 * (written by an older version, or not by {@link translateSplit}).
 */
export async function readResultsInfo(
  dir: string,
): Promise<ResultsInfo | null> {
  try {
    return JSON.parse(
      await Deno.readTextFile(`${dir}/${RESULTS_INFO_FILE}`),
    ) as ResultsInfo;
  } catch (e) {
    if (e instanceof Deno.errors.NotFound) return null;
    throw new Pix2PixError(
      `${dir}/${RESULTS_INFO_FILE}: unreadable (${(e as Error).message})`,
      { file: `${dir}/${RESULTS_INFO_FILE}`, cause: e },
    );
  }
}

/** What {@link translateSplit} wrote. */
export interface TranslateSummary {
  /** Images translated. */
  count: number;
  /** The gallery page. */
  page: string;
  /** The config of the checkpoint, with the overrides applied. */
  config: TrainConfig;
}

/** One input of a split, as tensors in [-1, 1]; the caller disposes them. */
interface SplitItem {
  /** File name stem for the outputs (`1.jpg` and `1.png` in one folder: `1_jpg`, `1_png`). */
  name: string;
  input: tf.Tensor3D;
  target: tf.Tensor3D | null;
}

async function* alignedItems(
  config: TrainConfig,
  keepSize: boolean,
  numTest: number | undefined,
): AsyncGenerator<SplitItem> {
  const dataset = await openAlignedDataset({
    ...config,
    dataroot: config.dataroot ?? await resolveDataroot(config),
    loadSize: config.cropSize,
    sizeMultiple: sizeMultiple(config.netG),
    noFlip: true,
    batchSize: 1,
    shuffle: false,
    ...(keepSize ? { preprocess: "none", sizeMultiple: 1 } : {}),
    ...(numTest ? { maxItems: numTest } : {}),
  });
  const stems = distinctStems(dataset.files);
  const names = new Map(dataset.files.map((f, i) => [f, stems[i]]));
  for await (const batch of dataset.batches(0)) {
    const [input, target] = tf.tidy(() => [
      tf.squeeze(batch.input, [0]) as tf.Tensor3D,
      tf.squeeze(batch.target, [0]) as tf.Tensor3D,
    ]);
    tf.dispose([batch.input, batch.target]);
    yield { name: names.get(batch.paths[0])!, input, target };
  }
}

function singleRoot(dataroot: string | null | undefined): string {
  if (!dataroot) {
    throw new DatasetError(
      "dataroot: single mode needs the folder of images to translate",
      { field: "dataroot" },
    );
  }
  return dataroot;
}

async function* singleItems(
  dir: string,
  size: number | null,
  channels: number,
  numTest: number | undefined,
): AsyncGenerator<SplitItem> {
  const listing = await listFolder(dir).catch((e) => {
    throw new DatasetError(`dataroot ${dir}: ${(e as Error).message}`, {
      field: "dataroot",
      file: dir,
      cause: e,
    });
  });
  const files = listing.images.slice(0, numTest || undefined);
  if (files.length === 0) {
    throw new DatasetError(`dataroot ${dir}: no images (single mode)`, {
      field: "dataroot",
      file: dir,
    });
  }
  const stems = distinctStems(files);
  for (const [i, file] of files.entries()) {
    const path = `${dir}/${file}`;
    const decoded = await readRgb(path, hasAlpha(channels));
    const rgb = size ? await resizeRgb(decoded, size, size) : decoded;
    const values = new Float32Array(rgb.data.length);
    rgbToFloat(rgb, values);
    const input = tf.tidy(() =>
      tf.squeeze(
        toChannels(
          tf.tensor4d(values, [1, rgb.height, rgb.width, rgb.channels ?? 3]),
          channels,
        ),
        [0],
      ) as tf.Tensor3D
    );
    yield { name: stems[i], input, target: null };
  }
}

/**
 * Translates a dataset split with a checkpoint's generator, as the
 * reference's `test.py`: no flips, no random crop (images are resized to
 * the crop size unless `preprocess: "none"`), input order as on disk.
 */
export async function translateSplit(
  o: TranslateSplitOptions,
): Promise<TranslateSummary> {
  const ckpt = await loadGenerator(o.checkpoint);
  const config: TrainConfig = {
    ...ckpt.config,
    ...(o.dataroot !== undefined ? { dataroot: o.dataroot } : {}),
    ...(o.direction ? { direction: o.direction } : {}),
    phase: o.phase ?? "test",
  };
  const keepSize = o.preprocess === "none";
  if (o.sheet && keepSize) {
    throw new ConfigError(
      "sheet",
      "sheet: a sample sheet needs images of one size; not with preprocess none",
    );
  }
  const single = o.datasetMode === "single";
  const dataroot = single
    ? singleRoot(o.dataroot)
    : await resolveDataroot(config);
  const items = single
    ? singleItems(
      dataroot,
      keepSize ? null : config.cropSize,
      config.inputNc,
      o.numTest,
    )
    : alignedItems({ ...config, dataroot }, keepSize, o.numTest);
  const tile = keepSize ? o.tile ?? DEFAULT_TILE : 0;
  await Deno.mkdir(`${o.out}/images`, { recursive: true });
  const rows = [];
  let index = 0;
  for await (const item of items) {
    const name = item.name;
    const fake = await translateImage(ckpt.G, item.input, {
      eval: o.eval,
      dropoutSeed: deriveSeed(o.seed ?? config.seed, index++),
      tile,
      ...(o.tileOverlap !== undefined ? { tileOverlap: o.tileOverlap } : {}),
    });
    const files: [string, tf.Tensor3D][] = [
      [`${name}_real_A.png`, item.input],
      [`${name}_fake_B.png`, fake],
    ];
    if (item.target) files.push([`${name}_real_B.png`, item.target]);
    for (const [file, image] of files) {
      await writeTensorPng(`${o.out}/images/${file}`, image);
    }
    tf.dispose([item.input, fake, ...(item.target ? [item.target] : [])]);
    rows.push({ name, images: files.map(([f]) => `images/${f}`) });
  }
  ckpt.G.dispose();
  if (o.sheet) {
    const sheet = [];
    for (const row of rows.slice(0, o.sheet)) {
      sheet.push(
        hconcat(
          ...await Promise.all(
            row.images.map((f) => readRgb(`${o.out}/${f}`)),
          ),
        ),
      );
    }
    await writePng(`${o.out}/${SHEET_FILE}`, vconcat(sheet));
  }
  const mode = o.eval
    ? "eval mode (--eval: moving batch-norm statistics, no dropout)"
    : "paper test mode (no --eval: batch statistics, dropout on)";
  await writeGallery(
    o.out,
    `${config.name}: ${config.phase}, ${config.direction}, ${mode}`,
    ["real_A (input)", `fake_B (output, ${mode})`, "real_B (target)"].slice(
      0,
      o.datasetMode === "single" ? 2 : 3,
    ),
    rows,
  );
  const info: ResultsInfo = {
    checkpoint: o.checkpoint,
    dataroot: resolve(dataroot),
    phase: config.phase,
    direction: config.direction,
    eval: o.eval ?? false,
    count: rows.length,
  };
  await Deno.writeTextFile(
    `${o.out}/${RESULTS_INFO_FILE}`,
    JSON.stringify(info, null, 2) + "\n",
  );
  return { count: rows.length, page: `${o.out}/index.html`, config };
}
