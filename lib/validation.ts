/**
 * The validation split of a training run and its score.
 *
 * {@link resolveValidation} decides where validation pairs come from (the
 * dataset's `val/` folder, a seeded slice held out of the training split, or
 * none; see {@link TrainConfig.valSource}) and returns the resolved config to
 * record. {@link validationScores} scores a generator on it: the mean
 * absolute error between outputs and targets on [0, 1] pixel values (the L1
 * of `deno task eval`) and, given a facades segmenter (labels → photo runs),
 * the FCN-score per-pixel accuracy of the outputs; in the paper's test mode
 * with fixed dropout masks, so that epochs are comparable.
 *
 * @example
 * ```ts
 * const v = await resolveValidation(cfg, dataroot);
 * const train = await openAlignedDataset({ ...v.config, dataroot, filter: v.trainFilter });
 * const scores = v.dataset ? await validationScores(G, v.dataset, cfg.seed) : null;
 * ```
 *
 * @module
 */
import * as tf from "@tensorflow/tfjs";
import type * as tfl from "@tensorflow/tfjs-layers";
import type { TrainConfig } from "./config.ts";
import { type AlignedDataset, listSplit, openAlignedDataset } from "./data.ts";
import { N_FACADE_CLASSES, rgbToClasses } from "./datasets/facades.ts";
import {
  addToConfusion,
  type FcnScores,
  newConfusion,
  segmentationScores,
} from "./eval/metrics.ts";
import type { PhotoSegmenter } from "./eval/segmenter.ts";
import type { FcnField, ValRecord } from "./report/run_page.ts";
import { listFolder, tensorToRgb } from "./util/image.ts";
import { deriveSeed, Rng } from "./util/rng.ts";
import { translate } from "./translate.ts";

/** Validation uses at most this many pairs (the first, in file order). */
export const VAL_MAX_ITEMS = 100;

/** Name of the validation folder under the dataroot. */
export const VAL_FOLDER = "val";

/** Salt of the seed that picks a held-out slice. */
const SLICE_SALT = 0x5a11ce;

/** Where a run's validation pairs are, as {@link resolveValidation} decided. */
export interface Validation {
  /** The config with `valSource` resolved (`folder`, `slice` or `none`). */
  config: TrainConfig;
  /** The validation pairs (no jitter, file order), or null for `none`. */
  dataset: AlignedDataset | null;
  /** Which training files to train on (all but a held-out slice). */
  trainFilter: (path: string) => boolean;
  /** One line for the log, e.g. "validation: 40 pairs held out of train (10%, seeded)". */
  description: string;
}

/**
 * The file paths held out of `files` for validation: `floor(fraction * n)`
 * of them, picked by a shuffle seeded with `seed`; none when that is 0.
 */
export function heldOutSlice(
  files: readonly string[],
  fraction: number,
  seed: number,
): Set<string> {
  const count = Math.floor(fraction * files.length);
  const order = files.map((_, i) => i);
  new Rng(deriveSeed(seed, SLICE_SALT)).shuffle(order);
  return new Set(order.slice(0, count).map((i) => files[i]));
}

/**
 * Resolves `cfg.valSource` for the dataset at `dataroot` and opens the
 * validation pairs. `auto` becomes `folder` when `<dataroot>/val/` holds
 * images, else `slice`; a slice too small to hold one pair becomes `none`.
 *
 * @throws DatasetError for `folder` without a `val/` folder, or a dataroot
 *   without the training split
 */
export async function resolveValidation(
  cfg: TrainConfig,
  dataroot: string,
): Promise<Validation> {
  const all = () => true;
  const hasFolder = await listFolder(`${dataroot}/${VAL_FOLDER}`).then(
    (l) => l.images.length > 0,
    () => false,
  );
  let source = cfg.valSource;
  if (source === "auto") source = hasFolder ? "folder" : "slice";
  const open = (
    phase: string,
    filter: (p: string) => boolean,
    config: TrainConfig,
  ) =>
    openAlignedDataset({
      ...config,
      dataroot,
      phase,
      loadSize: config.cropSize,
      noFlip: true,
      batchSize: 1,
      shuffle: false,
      maxItems: VAL_MAX_ITEMS,
      filter,
      onWarning: () => {},
    });
  if (source === "folder") {
    const config = { ...cfg, valSource: source };
    const dataset = await open(VAL_FOLDER, all, config);
    return {
      config,
      dataset,
      trainFilter: all,
      description:
        `validation: ${dataset.size} pairs from ${dataroot}/${VAL_FOLDER}`,
    };
  }
  if (source === "slice") {
    const { files } = await listSplit(dataroot, cfg.phase);
    const held = heldOutSlice(files, cfg.valFraction, cfg.seed);
    if (held.size > 0 && held.size < files.length) {
      const config = { ...cfg, valSource: source };
      const dataset = await open(cfg.phase, (p) => held.has(p), config);
      return {
        config,
        dataset,
        trainFilter: (p) => !held.has(p),
        description:
          `validation: ${held.size} of ${files.length} ${cfg.phase} pairs held out (${
            (100 * cfg.valFraction).toFixed(0)
          }%, seed ${cfg.seed}), not trained on`,
      };
    }
  }
  return {
    config: { ...cfg, valSource: "none" },
    dataset: null,
    trainFilter: all,
    description: cfg.valSource === "none"
      ? "validation: off (valSource none)"
      : `validation: none (no ${VAL_FOLDER}/ folder, and valFraction ${cfg.valFraction} holds out no pair)`,
  };
}

/** What {@link validationScores} measured. */
export interface ValidationScores {
  /** Mean absolute error of outputs against targets, [0, 1] pixel scale. */
  l1: number;
  /** FCN-scores of the outputs (segmented vs the input labels), or null without a segmenter. */
  fcn: FcnScores | null;
}

/**
 * The `val_log.jsonl` fields of `scores`: `val_L1` and, with a segmenter,
 * `fcn_pixel_acc`, `fcn_class_acc` and `fcn_class_iou`.
 */
export function valRecordScores(
  scores: ValidationScores,
): Pick<ValRecord, "val_L1" | FcnField> {
  return {
    val_L1: scores.l1,
    ...(scores.fcn && {
      fcn_pixel_acc: scores.fcn.per_pixel_acc,
      fcn_class_acc: scores.fcn.per_class_acc,
      fcn_class_iou: scores.fcn.class_iou,
    }),
  };
}

/**
 * Scores `G` on `dataset` in the paper's test mode (batch statistics,
 * dropout masks seeded by `seed` and the pair's index, so every call uses the
 * same): the L1 of outputs against targets and, with `segmenter`, the
 * FCN-scores: per-pixel accuracy, per-class accuracy and class IoU (the
 * segmenter's classes of each output against the classes of its input label
 * map, as `deno task eval`).
 */
export async function validationScores(
  G: tfl.LayersModel,
  dataset: AlignedDataset,
  seed: number,
  segmenter: PhotoSegmenter | null = null,
): Promise<ValidationScores> {
  let sum = 0;
  let count = 0;
  let index = 0;
  const confusion = newConfusion(N_FACADE_CLASSES);
  for await (const batch of dataset.batches(0)) {
    const fake = translate(G, batch.input, {
      dropoutSeed: deriveSeed(seed, index++),
    });
    const err = tf.tidy(() => tf.mean(tf.abs(tf.sub(fake, batch.target))));
    sum += (await err.data())[0] / 2; // [-1, 1] → [0, 1] pixel scale
    count++;
    if (segmenter) {
      const [, height, width] = fake.shape;
      const images = tf.tidy(() =>
        [fake, batch.input].map((t) => tf.squeeze(t, [0]) as tf.Tensor3D)
      );
      const [fakeRgb, labelRgb] = await Promise.all(images.map(tensorToRgb));
      tf.dispose(images);
      const photo = { data: fakeRgb, width, height };
      addToConfusion(
        confusion,
        rgbToClasses(labelRgb, width * height),
        await segmenter.segment(photo),
      );
    }
    tf.dispose([err, fake, batch.input, batch.target]);
  }
  return {
    l1: sum / Math.max(count, 1),
    fcn: segmenter ? segmentationScores(confusion) : null,
  };
}
