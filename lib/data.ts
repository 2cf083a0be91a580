/**
 * Aligned pix2pix datasets: a folder with split subfolders (`train/`, `val/`,
 * `test/`), every image holding the pair side by side, A left and B right.
 *
 * Preprocessing follows the reference PyTorch pix2pix
 * (`data/base_dataset.py`, `get_params` / `get_transform`, and
 * `data/aligned_dataset.py`): both halves get the same resize, the same
 * random crop and the same random horizontal flip, then are scaled to
 * [-1, 1]. Batches are NHWC float32 tensors.
 *
 * Only the file list is held in memory; images are decoded on demand with
 * sharp (in libvips threads), and a few batches are kept in flight so that
 * decoding overlaps the consumer's work.
 *
 * Decisions on bad input:
 * - missing or empty dataroot / split, bad options: stop ({@link DatasetError}
 *   naming the folder or flag);
 * - corrupt, truncated or non-image file with an image extension, odd width
 *   (halves cannot be equal), halves smaller than `cropSize` with a
 *   cropping preprocess: skip the file with a warning (counted in
 *   {@link DataStats.skipped}); an epoch where every file is skipped stops;
 * - grayscale, RGBA, CMYK or 16-bit files: converted to 8-bit RGB with a
 *   warning ({@link DataStats.warnings});
 * - width != 2 * height: accepted, each half is (width / 2) x height and the
 *   preprocessing decides (`resize_and_crop` makes them square, as the
 *   reference does);
 * - files without an image extension: ignored (reported once on open);
 * - a batch mixing image sizes (possible with `scale_width` or `none`):
 *   stop with an error naming both files.
 *
 * @module
 */
import * as tf from "@tensorflow/tfjs";
import {
  DIRECTIONS,
  LOAD_THEN_CROP,
  PREPROCESS_MODES,
  type TrainConfig,
} from "./config.ts";
import { DatasetError } from "./errors.ts";
import { listFolder, PNG_MAX_CHANNELS } from "./util/image.ts";
import { deriveSeed, Rng } from "./util/rng.ts";
import type { LoadedPair, PairOk, PairOptions } from "./datasets/pair.ts";
import { loadPairInPool } from "./datasets/pair_pool.ts";

/** Options of {@link openAlignedDataset}: the data fields of `TrainConfig` plus pipeline knobs. */
export interface DatasetOptions extends
  Pick<
    TrainConfig,
    | "phase"
    | "direction"
    | "preprocess"
    | "loadSize"
    | "cropSize"
    | "noFlip"
    | "batchSize"
    | "seed"
  > {
  /** Dataset root holding the split folders. Must be set (the trainer resolves `null` to the synthetic set first). */
  dataroot: string;
  /** Batches kept in flight ahead of the consumer (default 2). */
  prefetch?: number;
  /**
   * Data worker threads that decode and preprocess (default: cores - 1,
   * 1 to 4), from a pool shared by all datasets; 0 decodes on the main
   * thread, where a synchronous training step blocks it.
   */
  workers?: number;
  /** Shuffle the order every epoch (default: `phase === "train"`; pass false for test). */
  shuffle?: boolean;
  /** Use only the first N files of the split (natural sort order). */
  maxItems?: number;
  /**
   * With `preprocess: "none"`, sides are rounded to a multiple of this
   * (default 4, as the reference). A U-Net of depth d needs 2^d
   * (`unet_256`: 256, `unet_128`: 128); the trainer should pass that.
   */
  sizeMultiple?: number;
  /** Where warnings go (default `console.warn`); each file is reported once. */
  onWarning?: (message: string) => void;
  /** Keep only the split's files (paths as listed) that this accepts, e.g. a validation slice. */
  filter?: (path: string) => boolean;
  /**
   * Channels of the network input (default 3): 1 converts the input half to
   * grayscale (ITU-R 601 luma, as PIL's `convert("L")` in the reference),
   * 2 to grayscale + alpha, 3 RGB, 4 RGBA (files without alpha read as
   * opaque). More than PNG holds (4) is an error.
   */
  inputNc?: number;
  /** Channels of the target (default 3), as `inputNc`. */
  outputNc?: number;
}

/**
 * One batch. `input` is A for `AtoB` and B for `BtoA`; both are
 * [batch, height, width, channels] float32 in [-1, 1] (`inputNc` and
 * `outputNc` channels, 3 by default). The caller disposes them.
 */
export interface Batch {
  /** Network input, NHWC in [-1, 1]. */
  input: tf.Tensor4D;
  /** Ground-truth output, NHWC in [-1, 1]. */
  target: tf.Tensor4D;
  /** Source files, one per batch element. */
  paths: string[];
}

/** A file left out, and why. */
export interface FileIssue {
  /** Path of the file. */
  file: string;
  /** Human-readable reason. */
  reason: string;
}

/** Pipeline statistics, cumulative over all epochs of one dataset. */
export interface DataStats {
  /** Batches yielded. */
  batches: number;
  /** Pairs yielded. */
  items: number;
  /** Milliseconds the consumer waited for data (inside `next()`). */
  waitMs: number;
  /** Milliseconds from the first `next()` to the end of each epoch, summed. */
  totalMs: number;
  /** Files skipped (each listed once). */
  skipped: FileIssue[];
  /** Files converted or otherwise noteworthy (each listed once). */
  warnings: FileIssue[];
  /** Files in the split folder without an image extension (ignored). */
  ignored: string[];
  /** A short multi-line report: throughput, wait share, skipped files. */
  summary(): string;
}

/** An opened aligned dataset; see {@link openAlignedDataset}. */
export interface AlignedDataset {
  /** Number of files (before any are skipped). */
  readonly size: number;
  /** Image paths of the split, natural sort order. */
  readonly files: readonly string[];
  /** The options in effect (defaults filled in). */
  readonly options: Readonly<
    Required<Omit<DatasetOptions, "onWarning" | "filter">>
  >;
  /** Statistics, updated while iterating. */
  readonly stats: DataStats;
  /**
   * The batches of one epoch. Order and jitter are derived from
   * `(seed, epoch)`, so the same seed and epoch give the same batches.
   * The last batch may be smaller than `batchSize`.
   */
  batches(epoch: number): AsyncIterableIterator<Batch>;
}

function requirePositiveInt(value: number, field: string): void {
  if (!Number.isInteger(value) || value < 1) {
    throw new DatasetError(
      `${field} must be a positive integer, got ${value}`,
      {
        field,
      },
    );
  }
}

function validateOptions(opts: DatasetOptions): void {
  requirePositiveInt(opts.batchSize, "batchSize");
  requirePositiveInt(opts.loadSize, "loadSize");
  requirePositiveInt(opts.cropSize, "cropSize");
  if (opts.prefetch !== undefined) {
    requirePositiveInt(opts.prefetch, "prefetch");
  }
  if (
    opts.workers !== undefined &&
    !(Number.isInteger(opts.workers) && opts.workers >= 0)
  ) {
    throw new DatasetError(
      `workers must be an integer >= 0, got ${opts.workers}`,
    );
  }
  if (opts.maxItems !== undefined) {
    requirePositiveInt(opts.maxItems, "maxItems");
  }
  if (opts.sizeMultiple !== undefined) {
    requirePositiveInt(opts.sizeMultiple, "sizeMultiple");
  }
  for (const nc of ["inputNc", "outputNc"] as const) {
    const n = opts[nc] ?? 3;
    if (!Number.isInteger(n) || n < 1 || n > PNG_MAX_CHANNELS) {
      throw new DatasetError(
        `${nc} ${n}: image files hold 1 (grayscale), 2 (grayscale + alpha), 3 (RGB) or ${PNG_MAX_CHANNELS} (RGBA) channels`,
        { field: nc },
      );
    }
  }
  if (!DIRECTIONS.includes(opts.direction)) {
    throw new DatasetError(
      `direction must be ${DIRECTIONS.join(" or ")}, got ${opts.direction}`,
      { field: "direction" },
    );
  }
  if (!PREPROCESS_MODES.includes(opts.preprocess)) {
    throw new DatasetError(
      `preprocess must be one of ${
        PREPROCESS_MODES.join(", ")
      }, got ${opts.preprocess}`,
      { field: "preprocess" },
    );
  }
  if (
    LOAD_THEN_CROP.includes(opts.preprocess) && opts.loadSize < opts.cropSize
  ) {
    throw new DatasetError(
      `loadSize (${opts.loadSize}) must be >= cropSize (${opts.cropSize}) with preprocess ${opts.preprocess}`,
      { field: "loadSize" },
    );
  }
}

/**
 * A seeded random batch of one `size` x `size` RGB pair, NHWC
 * `[1, size, size, 3]`, values uniform in [-1, 1]: `input` from `seed`,
 * `target` from `seed + 1`. For benchmarks and tests that train on
 * stand-in data (`bench/`, `tests/`).
 *
 * @example
 * ```ts
 * const { input, target } = randomPair(1, 64);
 * ```
 */
export function randomPair(
  seed: number,
  size: number,
): { input: tf.Tensor4D; target: tf.Tensor4D } {
  const image = (s: number) =>
    tf.randomUniform([1, size, size, 3], -1, 1, "float32", s) as tf.Tensor4D;
  return { input: image(seed), target: image(seed + 1) };
}

/**
 * The image files of `dataroot/phase` in natural order (`2.jpg` before
 * `10.jpg`), and the other files found there.
 *
 * @throws DatasetError naming the folder when it or the split is missing, or
 *   the split holds no images
 */
export async function listSplit(
  dataroot: string,
  phase: string,
): Promise<{ files: string[]; ignored: string[] }> {
  const rootInfo = await Deno.stat(dataroot).catch(() => null);
  if (!rootInfo?.isDirectory) {
    throw new DatasetError(
      `dataroot ${dataroot}: ${
        rootInfo ? "is not a folder" : "folder not found"
      }`,
      { field: "dataroot", file: dataroot },
    );
  }
  const splitDir = `${dataroot.replace(/\/+$/, "")}/${phase}`;
  const splitInfo = await Deno.stat(splitDir).catch(() => null);
  if (!splitInfo?.isDirectory) {
    const { folders } = await listFolder(dataroot);
    throw new DatasetError(
      `dataroot ${dataroot} has no split folder "${phase}/" (found: ${
        folders.join(", ") || "no subfolders"
      })`,
      { field: "dataroot", file: splitDir },
    );
  }
  const listing = await listFolder(splitDir);
  if (listing.images.length === 0) {
    throw new DatasetError(
      `${splitDir}: no images (.jpg, .png, ...) in this split folder`,
    );
  }
  return {
    files: listing.images.map((name) => `${splitDir}/${name}`),
    ignored: listing.other.map((name) => `${splitDir}/${name}`),
  };
}

function defaultWorkers(): number {
  return Math.min(4, Math.max(1, (navigator.hardwareConcurrency ?? 2) - 1));
}

function makeStats(): DataStats {
  return {
    batches: 0,
    items: 0,
    waitMs: 0,
    totalMs: 0,
    skipped: [],
    warnings: [],
    ignored: [],
    summary() {
      const lines = [
        `data: ${this.items} pairs in ${this.batches} batches, ${
          (this.totalMs / 1000).toFixed(1)
        } s; waited on data ${(this.waitMs / 1000).toFixed(1)} s (${
          this.totalMs > 0 ? (100 * this.waitMs / this.totalMs).toFixed(1) : "0"
        }%)`,
      ];
      if (this.skipped.length) {
        lines.push(`skipped ${this.skipped.length} file(s):`);
        for (const s of this.skipped) lines.push(`  ${s.file}: ${s.reason}`);
      }
      if (this.warnings.length) {
        lines.push(`converted ${this.warnings.length} file(s):`);
        for (const w of this.warnings) lines.push(`  ${w.file}: ${w.reason}`);
      }
      if (this.ignored.length) {
        lines.push(`ignored ${this.ignored.length} non-image file(s)`);
      }
      return lines.join("\n");
    },
  };
}

/**
 * Open an aligned dataset split and check the options.
 *
 * @param opts data fields of the config, plus pipeline options
 * @returns the dataset; nothing is decoded yet
 * @throws DatasetError when the folder or split is missing or empty, or an option is invalid
 */
export async function openAlignedDataset(
  opts: DatasetOptions,
): Promise<AlignedDataset> {
  validateOptions(opts);
  const onWarning = opts.onWarning ?? ((m: string) => console.warn(m));
  // Copy only the dataset's fields: callers may pass a whole TrainConfig.
  const options: Required<Omit<DatasetOptions, "onWarning" | "filter">> = {
    dataroot: opts.dataroot,
    phase: opts.phase,
    direction: opts.direction,
    preprocess: opts.preprocess,
    loadSize: opts.loadSize,
    cropSize: opts.cropSize,
    noFlip: opts.noFlip,
    batchSize: opts.batchSize,
    seed: opts.seed,
    prefetch: opts.prefetch ?? 2,
    workers: opts.workers ?? defaultWorkers(),
    shuffle: opts.shuffle ?? opts.phase === "train",
    maxItems: opts.maxItems ?? Number.MAX_SAFE_INTEGER,
    sizeMultiple: opts.sizeMultiple ?? 4,
    inputNc: opts.inputNc ?? 3,
    outputNc: opts.outputNc ?? 3,
  };
  const pairOptions: PairOptions = {
    preprocess: options.preprocess,
    loadSize: options.loadSize,
    cropSize: options.cropSize,
    noFlip: options.noFlip,
    sizeMultiple: options.sizeMultiple,
    alpha: hasAlpha(options.inputNc) || hasAlpha(options.outputNc),
  };
  const listed = await listSplit(options.dataroot, options.phase);
  const files = listed.files.filter(opts.filter ?? (() => true)).slice(
    0,
    options.maxItems,
  );
  if (files.length === 0) {
    throw new DatasetError(
      `${options.dataroot}/${options.phase}: no images left for this dataset (all ${listed.files.length} held out)`,
    );
  }
  const stats = makeStats();
  stats.ignored = listed.ignored;
  if (listed.ignored.length) {
    onWarning(
      `data: ignoring ${listed.ignored.length} non-image file(s) in ${options.dataroot}/${options.phase} (e.g. ${
        listed.ignored[0]
      })`,
    );
  }
  const reported = new Set<string>();
  const report = (
    list: FileIssue[],
    file: string,
    reason: string,
    verb: string,
  ) => {
    const key = `${verb}:${file}`;
    if (reported.has(key)) return;
    reported.add(key);
    list.push({ file, reason });
    onWarning(`data: ${verb} ${file}: ${reason}`);
  };

  async function* batches(epoch: number): AsyncIterableIterator<Batch> {
    const start = performance.now();
    const order = files.map((_, i) => i);
    if (options.shuffle) {
      new Rng(deriveSeed(options.seed, epoch)).shuffle(order);
    }
    const inFlight = Math.max(2, options.prefetch * options.batchSize);
    const pending: Promise<LoadedPair>[] = [];
    let next = 0;
    const launch = () => {
      while (pending.length < inFlight && next < order.length) {
        const index = order[next++];
        const seed = deriveSeed(options.seed, epoch, index);
        pending.push(
          loadPairInPool(files[index], seed, pairOptions, options.workers),
        );
      }
    };
    let yielded = 0;
    let firstSkip: FileIssue | undefined;
    try {
      launch();
      while (pending.length > 0) {
        const group: PairOk[] = [];
        while (group.length < options.batchSize && pending.length > 0) {
          const t0 = performance.now();
          const item = await pending.shift()!;
          stats.waitMs += performance.now() - t0;
          launch();
          if (!item.ok) {
            firstSkip ??= { file: item.path, reason: item.reason };
            report(stats.skipped, item.path, item.reason, "skipping");
            continue;
          }
          if (item.note) {
            report(stats.warnings, item.path, item.note, "converted");
          }
          const first = group[0];
          if (
            first &&
            (first.width !== item.width || first.height !== item.height)
          ) {
            throw new DatasetError(
              `batch mixes image sizes: ${first.path} gives ${first.width}x${first.height}, ${item.path} gives ${item.width}x${item.height}; use batchSize 1 or a cropping preprocess`,
              { field: "batchSize", file: item.path },
            );
          }
          group.push(item);
        }
        if (group.length === 0) break;
        const batch = assemble(group, options);
        stats.batches++;
        stats.items += group.length;
        yielded += group.length;
        yield batch;
      }
      if (yielded === 0) {
        throw new DatasetError(
          `${options.dataroot}/${options.phase}: all ${files.length} file(s) were skipped (first: ${firstSkip?.file}: ${firstSkip?.reason})`,
        );
      }
    } finally {
      // Loads still in flight after an early exit must not reject unobserved.
      for (const p of pending) p.catch(() => {});
      stats.totalMs += performance.now() - start;
    }
  }

  return {
    size: files.length,
    files,
    options,
    stats,
    batches,
  };
}

/** ITU-R 601-2 luma weights, PIL's `convert("L")`. */
const LUMA = [0.299, 0.587, 0.114] as const;

/** Whether a channel count has alpha: 2 (gray + alpha) and 4 (RGBA). */
export function hasAlpha(channels: number): boolean {
  return channels === 2 || channels === 4;
}

/**
 * `[n, h, w, 3 or 4]` (RGB or RGBA) → `[n, h, w, channels]`: 1 luma, 2 luma
 * and alpha, 3 RGB, 4 RGBA (the input itself when it already has that many).
 *
 * @throws RangeError when alpha is asked of an RGB input
 */
export function toChannels(x: tf.Tensor4D, channels: number): tf.Tensor4D {
  const nc = x.shape[3];
  if (channels === nc) return x;
  if (hasAlpha(channels) && nc !== 4) {
    throw new RangeError(
      `toChannels: ${channels} channels need an RGBA input, got ${nc}`,
    );
  }
  return tf.tidy(() => {
    const rgb = tf.slice(x, [0, 0, 0, 0], [-1, -1, -1, 3]);
    if (channels === 3) return rgb as tf.Tensor4D;
    const luma = tf.sum(tf.mul(rgb, tf.tensor1d([...LUMA])), -1, true);
    if (channels === 1) return luma as tf.Tensor4D;
    const alpha = tf.slice(x, [0, 0, 0, 3], [-1, -1, -1, 1]);
    return tf.concat([luma, alpha], 3) as tf.Tensor4D;
  });
}

function assemble(
  group: PairOk[],
  { direction, inputNc, outputNc }: Pick<
    DatasetOptions,
    "direction" | "inputNc" | "outputNc"
  >,
): Batch {
  const { width, height } = group[0];
  const per = group[0].a.length;
  const a = new Float32Array(per * group.length);
  const b = new Float32Array(per * group.length);
  group.forEach((item, i) => {
    a.set(item.a, i * per);
    b.set(item.b, i * per);
  });
  const shape: [number, number, number, number] = [
    group.length,
    height,
    width,
    per / (width * height),
  ];
  const [input, target] = direction === "AtoB" ? [a, b] : [b, a];
  const rgbIn = tf.tensor4d(input, shape);
  const rgbOut = tf.tensor4d(target, shape);
  const batchIn = toChannels(rgbIn, inputNc ?? 3);
  const batchOut = toChannels(rgbOut, outputNc ?? 3);
  if (batchIn !== rgbIn) rgbIn.dispose();
  if (batchOut !== rgbOut) rgbOut.dispose();
  return {
    input: batchIn,
    target: batchOut,
    paths: group.map((item) => item.path),
  };
}
