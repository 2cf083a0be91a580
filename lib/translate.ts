/**
 * Running a trained generator: `translate()` for one image or a batch (for
 * notebooks and scripts), and `translateSplit()` for a whole dataset split,
 * writing `images/<name>_real_A.png`, `<name>_fake_B.png`, `<name>_real_B.png`
 * and an `index.html` gallery like the reference's results pages, plus
 * `translate.json` ({@link ResultsInfo}: which checkpoint and dataset).
 *
 * Test mode follows the paper by default: batch norm uses the batch's own
 * statistics and dropout stays on (`training: true`); `eval: true` uses the
 * moving statistics and no dropout instead (deterministic).
 *
 * @module
 */

import { resolve } from "node:path";
import * as tf from "@tensorflow/tfjs";
import type * as tfl from "@tensorflow/tfjs-layers";
import { loadCheckpoint } from "./checkpoint.ts";
import { Pix2PixError } from "./errors.ts";
import type { Direction, TrainConfig } from "./config.ts";
import { openAlignedDataset } from "./data.ts";
import { resolveDataroot } from "./datasets/dataroot.ts";
import { tensorToRgb, writePng } from "./util/image.ts";
import { setDropoutSeed } from "./layers.ts";
import { writeGallery } from "./report/run_page.ts";
import { deriveSeed } from "./util/rng.ts";

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
  if (training) setDropoutSeed(opts.dropoutSeed ?? null);
  const stats = training ? model.nonTrainableWeights : [];
  return tf.tidy(() => {
    const saved = stats.map((w) => tf.clone(w.read()));
    const batch = image.rank === 3 ? tf.expandDims(image, 0) : image;
    const out = model.apply(batch, { training }) as tf.Tensor4D;
    stats.forEach((w, i) => w.write(saved[i]));
    return (image.rank === 3 ? tf.squeeze(out, [0]) : out) as T;
  });
}

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
}

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

/**
 * Translates a dataset split with a checkpoint's generator, as the
 * reference's `test.py`: no flips, no random crop (images are resized to
 * the crop size), input order as on disk.
 */
export async function translateSplit(
  o: TranslateSplitOptions,
): Promise<TranslateSummary> {
  const ckpt = await loadCheckpoint(o.checkpoint);
  ckpt.D?.dispose();
  ckpt.optimizerG.forEach((w) => w.tensor.dispose());
  ckpt.optimizerD?.forEach((w) => w.tensor.dispose());
  const config: TrainConfig = {
    ...ckpt.config,
    ...(o.dataroot !== undefined ? { dataroot: o.dataroot } : {}),
    ...(o.direction ? { direction: o.direction } : {}),
    phase: o.phase ?? "test",
  };
  const dataroot = await resolveDataroot(config);
  const dataset = await openAlignedDataset({
    ...config,
    dataroot,
    loadSize: config.cropSize,
    noFlip: true,
    batchSize: 1,
    shuffle: false,
    ...(o.numTest ? { maxItems: o.numTest } : {}),
  });
  await Deno.mkdir(`${o.out}/images`, { recursive: true });
  const rows = [];
  let index = 0;
  for await (const batch of dataset.batches(0)) {
    const name = batch.paths[0].replace(/^.*\//, "").replace(/\.[^.]+$/, "");
    const fake = translate(ckpt.G, batch.input, {
      eval: o.eval,
      dropoutSeed: deriveSeed(o.seed ?? config.seed, index++),
    });
    const files = [
      [`${name}_real_A.png`, batch.input],
      [`${name}_fake_B.png`, fake],
      [`${name}_real_B.png`, batch.target],
    ] as const;
    for (const [file, t] of files) {
      const image = tf.tidy(() => tf.squeeze(t, [0]) as tf.Tensor3D);
      const [height, width] = image.shape;
      await writePng(`${o.out}/images/${file}`, {
        data: tensorToRgb(image),
        width,
        height,
      });
      image.dispose();
    }
    tf.dispose([batch.input, batch.target, fake]);
    rows.push({ name, images: files.map(([f]) => `images/${f}`) });
  }
  ckpt.G.dispose();
  const mode = o.eval
    ? "eval mode"
    : "paper test mode (batch statistics, dropout on)";
  await writeGallery(
    o.out,
    `${config.name}: ${config.phase}, ${config.direction}, ${mode}`,
    ["real_A (input)", "fake_B (output)", "real_B (target)"],
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
