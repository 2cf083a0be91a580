/**
 * The facades segmenter of the FCN-score protocol: a network trained on the
 * real photos (A halves) of the facades train split to predict the 12 label
 * classes of their label maps (B halves). `lib/eval/evaluate.ts` runs it on generated
 * photos and compares its segmentation with the input label map, as the
 * paper's FCN-8s does on Cityscapes.
 *
 * The network is this library's U-Net (`lib/unet.ts`) with 12 linear output
 * channels (logits), trained with softmax cross-entropy and Adam at a small
 * input size (photos are resized to `size` x `size` with a cubic filter).
 * At inference the logits are resized bilinearly back to the photo's own size
 * before the arg-max, so scores are computed at the label map's resolution.
 *
 * Trained segmenters are cached in `.cache/segmenter/<key>/` (model.json and
 * weight shards as written by `lib/checkpoint.ts`'s `fileHandler`, plus
 * `segmenter.json` with the config, training time and test-split scores);
 * the key hashes the config and the list of training files.
 *
 * @module
 */
import * as tf from "@tensorflow/tfjs";
import * as tfl from "@tensorflow/tfjs-layers";
import { fileHandler } from "../checkpoint.ts";
import { N_FACADE_CLASSES, rgbToClasses } from "../datasets/facades.ts";
import {
  cropRgb,
  isImagePath,
  readRgb,
  resizeRgb,
  type RgbImage,
  rgbToFloat,
} from "../util/image.ts";
import {
  addToConfusion,
  newConfusion,
  type SegmentationScores,
  segmentationScores,
} from "./metrics.ts";
import { Rng } from "../util/rng.ts";
import { buildGenerator } from "../unet.ts";

/** Architecture and training schedule of a segmenter. */
export interface SegmenterConfig {
  /** Network input side in pixels; a multiple of 2^numDowns. */
  size: number;
  /** Stride-2 levels of the U-Net (at least 5). */
  numDowns: number;
  /** Filters of the first U-Net layer. */
  ngf: number;
  /** Passes over the training photos. */
  epochs: number;
  batchSize: number;
  /** Adam learning rate (beta1 0.9, beta2 0.999). */
  lr: number;
  /** Seed of weight init, data order and flips. */
  seed: number;
  /** Use only the first this many training pairs (0 = all; for tests). */
  maxTrain: number;
}

/**
 * Defaults: 128x128 U-Net, ngf 16, 30 epochs of the 400 facades photos
 * (3000 steps of batch 4; ~28 min on wasm on the shared 2-core machine).
 * On the test split's real photos it scored per-pixel 0.558, per-class 0.357,
 * IoU 0.244 (10 epochs: 0.553, 0.299, 0.205 in 15 min).
 */
export const DEFAULT_SEGMENTER_CONFIG: Readonly<SegmenterConfig> = Object
  .freeze({
    size: 128,
    numDowns: 7,
    ngf: 16,
    epochs: 30,
    batchSize: 4,
    lr: 1e-3,
    seed: 0,
    maxTrain: 0,
  });

/**
 * Defaults for the embedded synthetic set (`lib/datasets/synth.ts`; the `smoke`
 * preset's 64 training pairs of 72 px): a 64x64 U-Net (6 levels), ngf 16,
 * 12 epochs of batch 4 (192 steps), Adam 2e-3. On the shared 2-core machine
 * (one thread, load average 10-13) it trained in 68 s and scored per-pixel
 * 0.79, per-class 0.42, IoU 0.36 on the 16 real test "photos" (15 epochs:
 * 106 s at load 9, 0.79 / 0.44 / 0.37).
 */
export const SYNTH_SEGMENTER_CONFIG: Readonly<SegmenterConfig> = Object
  .freeze({
    size: 64,
    numDowns: 6,
    ngf: 16,
    epochs: 12,
    batchSize: 4,
    lr: 2e-3,
    seed: 0,
    maxTrain: 0,
  });

/**
 * The default segmenter of a dataset: {@link SYNTH_SEGMENTER_CONFIG} for an
 * embedded synthetic set (a folder with `synth.json`), else
 * {@link DEFAULT_SEGMENTER_CONFIG}.
 */
export async function defaultSegmenterConfig(
  dataroot: string,
): Promise<Readonly<SegmenterConfig>> {
  const synth = await Deno.stat(`${dataroot}/synth.json`).then(
    (s) => s.isFile,
    () => false,
  );
  return synth ? SYNTH_SEGMENTER_CONFIG : DEFAULT_SEGMENTER_CONFIG;
}

/** Anything that segments a photo into facade classes (lets tests inject a fake). */
export interface PhotoSegmenter {
  /** Class id per pixel (`[0, 12)`, row-major) at the photo's own size. */
  segment(photo: RgbImage): Promise<Uint8Array>;
}

/** A photo and its label map's class ids at the same size. */
export interface LabelledPhoto {
  /** Name for error messages (usually the file). */
  name: string;
  photo: RgbImage;
  /** Class id per pixel of `photo`. */
  labels: Uint8Array;
}

/** What a trained segmenter's `segmenter.json` records. */
export interface SegmenterRecord {
  config: SegmenterConfig;
  /** Dataset root it was trained on. */
  dataroot: string;
  /** Training pairs used. */
  nTrain: number;
  /** Wall-clock seconds of the training loop (data loading excluded). */
  trainSeconds: number;
  /** tfjs backend it was trained on. */
  backend: string;
  /** Mean cross-entropy of the last epoch. */
  finalLoss: number;
  /** Scores on the real photos of the dataset's `test` split. */
  test: SegmentationScores & { nImages: number };
  /** ISO time of creation. */
  createdAt: string;
}

/** A trained segmenter with its record. */
export interface TrainedSegmenter {
  segmenter: Segmenter;
  record: SegmenterRecord;
}

/** Progress of {@link trainSegmenter}, reported after every step. */
export interface SegmenterProgress {
  /** Steps done (1-based). */
  step: number;
  totalSteps: number;
  /** 0-based epoch. */
  epoch: number;
  /** Cross-entropy of this step's batch. */
  loss: number;
}

/** A U-Net that maps photos to facade classes. */
export class Segmenter implements PhotoSegmenter {
  /**
   * @param model U-Net with input `[n, size, size, 3]` in [-1, 1] and output
   *   `[n, size, size, 12]` logits
   * @param config how it was built and trained
   */
  constructor(
    readonly model: tfl.LayersModel,
    readonly config: SegmenterConfig,
  ) {}

  /** Class ids (row-major, `photo.width * photo.height`) of an RGB photo of any size. */
  async segment(photo: RgbImage): Promise<Uint8Array> {
    const s = this.config.size;
    const small = await resizeRgb(photo, s, s);
    const input = new Float32Array(s * s * 3);
    rgbToFloat(small, input);
    const classes = tf.tidy(() => {
      const x = tf.tensor4d(input, [1, s, s, 3]);
      const logits = this.model.apply(x, { training: false }) as tf.Tensor4D;
      const full = tf.image.resizeBilinear(logits, [photo.height, photo.width]);
      return tf.argMax(full, -1);
    });
    const data = await classes.data();
    classes.dispose();
    return Uint8Array.from(data);
  }

  /** Frees the model's weights. */
  dispose(): void {
    this.model.dispose();
  }
}

/** Builds an untrained segmenter network for `config`. */
export function buildSegmenterModel(config: SegmenterConfig): tfl.LayersModel {
  return buildGenerator({
    arch: "unet",
    numDowns: config.numDowns,
    inputSize: config.size,
    ngf: config.ngf,
    norm: "batch",
    dropout: false,
    inputNc: 3,
    outputNc: N_FACADE_CLASSES,
    finalActivation: "linear",
    seed: config.seed,
  });
}

/**
 * The image files of `dataroot/phase`, sorted by name with numbers in
 * numeric order (`2.jpg` before `10.jpg`).
 *
 * @throws Error naming the folder when it is missing or holds no images
 */
export async function listSplit(
  dataroot: string,
  phase: string,
): Promise<string[]> {
  const dir = `${dataroot}/${phase}`;
  const names: string[] = [];
  try {
    for await (const e of Deno.readDir(dir)) {
      if (e.isFile && isImagePath(e.name)) names.push(e.name);
    }
  } catch (err) {
    if (err instanceof Deno.errors.NotFound) {
      throw new Error(
        `${dir}: no such folder (is --dataroot a facades dataset root?)`,
      );
    }
    throw err;
  }
  if (names.length === 0) throw new Error(`${dir}: no images`);
  names.sort((a, b) => a.localeCompare(b, "en", { numeric: true }));
  return names.map((n) => `${dir}/${n}`);
}

/**
 * Reads one aligned facades file: left half = photo, right half = label map,
 * mapped to class ids at the photo's size.
 *
 * @throws Error naming the file when it is not two equal halves side by side
 */
export async function readLabelledPair(path: string): Promise<LabelledPhoto> {
  const ab = await readRgb(path);
  if (ab.width % 2 !== 0) {
    throw new Error(
      `${path}: width ${ab.width} is odd; expected photo|labels side by side`,
    );
  }
  const w = ab.width / 2;
  const photo = cropRgb(ab, 0, 0, w, ab.height);
  const labelRgb = cropRgb(ab, w, 0, w, ab.height);
  return {
    name: path,
    photo,
    labels: rgbToClasses(labelRgb.data, w * ab.height),
  };
}

/** Nearest-neighbour resize of a class map (pixel centres aligned). */
export function resizeClasses(
  classes: Uint8Array,
  width: number,
  height: number,
  newWidth: number,
  newHeight: number,
): Uint8Array {
  const out = new Uint8Array(newWidth * newHeight);
  for (let y = 0; y < newHeight; y++) {
    const sy = Math.min(height - 1, Math.floor((y + 0.5) * height / newHeight));
    for (let x = 0; x < newWidth; x++) {
      const sx = Math.min(width - 1, Math.floor((x + 0.5) * width / newWidth));
      out[y * newWidth + x] = classes[sy * width + sx];
    }
  }
  return out;
}

/**
 * Segments every photo and scores the result against its labels; the
 * confusion matrix is accumulated over all photos (see `segmentationScores`).
 */
export async function scoreSegmenter(
  seg: PhotoSegmenter,
  items: Iterable<LabelledPhoto> | AsyncIterable<LabelledPhoto>,
): Promise<SegmentationScores & { nImages: number }> {
  const cm = newConfusion(N_FACADE_CLASSES);
  let nImages = 0;
  for await (const item of items) {
    addToConfusion(cm, item.labels, await seg.segment(item.photo));
    nImages++;
  }
  return { ...segmentationScores(cm), nImages };
}

/** Options of {@link trainSegmenter}. */
export interface TrainSegmenterOptions {
  /** Facades root with `train/` (and `test/` for the recorded scores). */
  dataroot: string;
  config: SegmenterConfig;
  /** Called after every step. */
  onProgress?: (p: SegmenterProgress) => void;
  /** Score on only the first this many test pairs (default all; for tests). */
  maxTest?: number;
}

/** Training pairs resized to the network size: inputs in [-1, 1] and class maps. */
interface TrainingSet {
  inputs: Float32Array[];
  targets: Uint8Array[];
}

async function loadTrainingSet(
  files: string[],
  size: number,
): Promise<TrainingSet> {
  const set: TrainingSet = { inputs: [], targets: [] };
  for (const f of files) {
    const pair = await readLabelledPair(f);
    const input = new Float32Array(size * size * 3);
    rgbToFloat(await resizeRgb(pair.photo, size, size), input);
    set.inputs.push(input);
    set.targets.push(
      resizeClasses(
        pair.labels,
        pair.photo.width,
        pair.photo.height,
        size,
        size,
      ),
    );
  }
  return set;
}

/** Copies item `i` into slot `b` of a batch, mirrored left-right when `flip`. */
function fillSlot(
  set: TrainingSet,
  i: number,
  b: number,
  size: number,
  flip: boolean,
  x: Float32Array,
  y: Int32Array,
): void {
  const input = set.inputs[i], target = set.targets[i];
  for (let r = 0; r < size; r++) {
    for (let c = 0; c < size; c++) {
      const src = r * size + (flip ? size - 1 - c : c);
      const dst = b * size * size + r * size + c;
      y[dst] = target[src];
      x[3 * dst] = input[3 * src];
      x[3 * dst + 1] = input[3 * src + 1];
      x[3 * dst + 2] = input[3 * src + 2];
    }
  }
}

/**
 * The training files a config uses: `dataroot/train`, cut to `maxTrain`.
 */
export async function segmenterTrainFiles(
  dataroot: string,
  config: SegmenterConfig,
): Promise<string[]> {
  const files = await listSplit(dataroot, "train");
  return config.maxTrain > 0 ? files.slice(0, config.maxTrain) : files;
}

/**
 * Trains a segmenter on the real photos of `dataroot/train` (random
 * left-right flips, seeded shuffles), then scores it on `dataroot/test`.
 * Uses the active tfjs backend.
 */
export async function trainSegmenter(
  o: TrainSegmenterOptions,
): Promise<TrainedSegmenter> {
  const cfg = o.config;
  const files = await segmenterTrainFiles(o.dataroot, cfg);
  const set = await loadTrainingSet(files, cfg.size);
  const model = buildSegmenterModel(cfg);
  const optimizer = tf.train.adam(cfg.lr, 0.9, 0.999);
  const rng = new Rng(cfg.seed);
  const n = files.length, s = cfg.size;
  const stepsPerEpoch = Math.ceil(n / cfg.batchSize);
  const totalSteps = stepsPerEpoch * cfg.epochs;
  let step = 0, finalLoss = NaN;
  const t0 = performance.now();
  for (let epoch = 0; epoch < cfg.epochs; epoch++) {
    const order = Array.from({ length: n }, (_, i) => i);
    for (let i = n - 1; i > 0; i--) {
      const j = rng.int(i + 1);
      [order[i], order[j]] = [order[j], order[i]];
    }
    let epochLoss = 0;
    for (let k = 0; k < stepsPerEpoch; k++) {
      const idx = order.slice(k * cfg.batchSize, (k + 1) * cfg.batchSize);
      const x = new Float32Array(idx.length * s * s * 3);
      const y = new Int32Array(idx.length * s * s);
      idx.forEach((i, b) => fillSlot(set, i, b, s, rng.next() < 0.5, x, y));
      const loss = tf.tidy(() => {
        const xs = tf.tensor4d(x, [idx.length, s, s, 3]);
        const onehot = tf.oneHot(tf.tensor1d(y, "int32"), N_FACADE_CLASSES);
        const ys = tf.reshape(onehot, [idx.length, s, s, N_FACADE_CLASSES]);
        return optimizer.minimize(() =>
          tf.losses.softmaxCrossEntropy(
            ys,
            model.apply(xs, { training: true }) as tf.Tensor,
          ) as tf.Scalar, true)!;
      });
      const value = (await loss.data())[0];
      loss.dispose();
      epochLoss += value;
      step++;
      o.onProgress?.({ step, totalSteps, epoch, loss: value });
      // Let timers run (progress bars redraw on a timer off a terminal).
      await new Promise((resolve) => setTimeout(resolve, 0));
    }
    finalLoss = epochLoss / stepsPerEpoch;
  }
  const trainSeconds = (performance.now() - t0) / 1000;
  optimizer.dispose();
  const segmenter = new Segmenter(model, cfg);
  const testFiles = (await listSplit(o.dataroot, "test")).slice(
    0,
    o.maxTest || undefined,
  );
  const test = await scoreSegmenter(segmenter, readPairs(testFiles));
  return {
    segmenter,
    record: {
      config: cfg,
      dataroot: o.dataroot,
      nTrain: n,
      trainSeconds,
      backend: tf.getBackend(),
      finalLoss,
      test,
      createdAt: new Date().toISOString(),
    },
  };
}

/** Reads labelled pairs one at a time. */
export async function* readPairs(
  files: string[],
): AsyncGenerator<LabelledPhoto> {
  for (const f of files) yield await readLabelledPair(f);
}

/** Default parent of cached segmenters: `<repo>/.cache/segmenter`. */
export const SEGMENTER_CACHE_ROOT: string = decodeURIComponent(
  new URL("../../.cache/segmenter", import.meta.url).pathname,
);

/**
 * The cache folder of a config trained on a dataroot:
 * `<cacheRoot>/<first 16 hex digits of SHA-256(config, training file names and sizes)>`.
 */
export async function segmenterCacheDir(
  dataroot: string,
  config: SegmenterConfig,
  cacheRoot: string = SEGMENTER_CACHE_ROOT,
): Promise<string> {
  const files = await segmenterTrainFiles(dataroot, config);
  const list = await Promise.all(
    files.map(async (f) =>
      `${f.replace(/^.*\//, "")}:${(await Deno.stat(f)).size}`
    ),
  );
  // Sorted keys: the same config in any key order gives the same folder.
  const text = JSON.stringify({
    config: JSON.stringify(config, Object.keys(config).sort()),
    files: list,
  });
  const digest = await crypto.subtle.digest(
    "SHA-256",
    new TextEncoder().encode(text),
  );
  const hex = Array.from(new Uint8Array(digest).slice(0, 8))
    .map((b) => b.toString(16).padStart(2, "0")).join("");
  return `${cacheRoot}/${hex}`;
}

/**
 * Saves a trained segmenter into `dir`: `model.json` + weight shards, then
 * `segmenter.json` last (its presence means the folder is complete).
 */
export async function saveSegmenter(
  dir: string,
  segmenter: Segmenter,
  record: SegmenterRecord,
): Promise<void> {
  await segmenter.model.save(fileHandler(dir));
  await Deno.writeTextFile(
    `${dir}/segmenter.json`,
    JSON.stringify(record, null, 2) + "\n",
  );
}

/**
 * Loads a segmenter saved by {@link saveSegmenter}.
 *
 * @throws Error naming `dir` when it holds no trained segmenter
 */
export async function loadSegmenter(
  dir: string,
): Promise<TrainedSegmenter> {
  let record: SegmenterRecord;
  try {
    record = JSON.parse(await Deno.readTextFile(`${dir}/segmenter.json`));
  } catch (err) {
    if (err instanceof Deno.errors.NotFound) {
      throw new Error(
        `${dir}: no trained segmenter there (train one with the same segmenter options first)`,
      );
    }
    throw new Error(
      `${dir}/segmenter.json: unreadable (${(err as Error).message})`,
    );
  }
  const model = await tfl.loadLayersModel(fileHandler(dir));
  return { segmenter: new Segmenter(model, record.config), record };
}

/**
 * Loads the cached segmenter of `config` trained on `dataroot` (what
 * {@link saveSegmenter} wrote into {@link segmenterCacheDir}).
 *
 * @throws Error naming the cache folder when it has not been trained yet
 */
export async function loadCachedSegmenter(
  dataroot: string,
  config: SegmenterConfig = DEFAULT_SEGMENTER_CONFIG,
  cacheRoot: string = SEGMENTER_CACHE_ROOT,
): Promise<TrainedSegmenter> {
  return await loadSegmenter(
    await segmenterCacheDir(dataroot, config, cacheRoot),
  );
}
