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
import { listSplit } from "../data.ts";
import { N_FACADE_CLASSES, rgbToClasses } from "../datasets/facades.ts";
import {
  cropRgb,
  readRgb,
  resizeRgb,
  type RgbImage,
  rgbToFloat,
} from "../util/image.ts";
import {
  addToConfusion,
  type FcnScores,
  newConfusion,
  segmentationScores,
} from "./metrics.ts";
import { deriveSeed, Rng } from "../util/rng.ts";
import { buildGenerator } from "../unet.ts";
import { lossReadEvery } from "../runtime/backend.ts";
import { Adam } from "../adam.ts";
import { lrAt, totalEpochs } from "../schedule.ts";

/** Architecture and training schedule of a segmenter. */
export interface SegmenterConfig {
  /** Network input side in pixels; a multiple of 2^numDowns. */
  size: number;
  /** Stride-2 levels of the U-Net (at least 5). */
  numDowns: number;
  /** Filters of the first U-Net layer. */
  ngf: number;
  /** Passes over the training photos at the initial learning rate. */
  epochs: number;
  /**
   * Further passes with the learning rate falling linearly towards zero
   * (pix2pix's schedule, `lib/schedule.ts`; 0 = a constant rate). Records
   * written before this field existed read as 0.
   */
  epochsDecay: number;
  batchSize: number;
  /** Adam learning rate (beta1 0.9, beta2 0.999). */
  lr: number;
  /** Seed of weight init, data order and flips. */
  seed: number;
  /** Use only the first this many training pairs (0 = all; for tests). */
  maxTrain: number;
  /**
   * Share of the training pairs held out as a validation split (a seeded
   * pick, recorded by name in {@link SegmenterRecord}; 0 = none). Its
   * per-pixel accuracy, at the network size, is measured after every epoch.
   */
  valFraction: number;
  /**
   * Jitter (as the paper's): each training photo is resized to
   * {@link jitterLoadSize} and a random `size` x `size` crop of it is taken
   * (flips are always on).
   */
  jitter: boolean;
  /**
   * Early stopping: stop after this many epochs without a better validation
   * per-pixel accuracy, and keep the best epoch's weights (0 = train every
   * epoch; needs `valFraction` > 0).
   */
  patience: number;
  /**
   * Test-time flip averaging: every prediction (validation, test scores,
   * FCN-scores) sums the logits of the photo and of its mirror image
   * (mirrored back) before the argmax. Twice the inference cost; training is
   * unchanged. Records written before this field existed read as `false`.
   */
  flipTest: boolean;
}

/** Side a photo is resized to before the random crop of jitter: size * 286 / 256. */
export function jitterLoadSize(size: number): number {
  return Math.round(size * 286 / 256);
}

/**
 * Defaults: 256x256 U-Net (8 levels), ngf 32, 16 epochs at Adam 1e-3 then
 * 16 of linear decay, batch 4, on 360 of the 400 facades photos (the other
 * 40 are the validation split, seed 0; the best validation epoch is kept),
 * jitter on, flip-averaged predictions. Measured on the shared 2-core
 * machine (native backend, one thread, with two ablation runs on the same two
 * cores): 2880 steps in 3727 s, best validation epoch 32 of 32 (per-pixel
 * 0.618); on the test split's 106 real photos per-pixel 0.628, per-class
 * 0.417, IoU 0.312. 24 + 24 epochs (`--epochs 24 --epochs-decay 24`, 4320
 * steps in 6474 s beside two ablation runs, best validation epoch 44 of 48 at
 * 0.628): 0.636 / 0.435 / 0.325 on the test photos, not yet the default (the
 * README's scores use the 16 + 16 one).
 * The same at ngf 16 (1519 s, same load for its first half): 0.615 / 0.383 /
 * 0.281 without flip averaging, 0.618 / 0.385 / 0.283 with it; 24 + 24 epochs
 * at ngf 16 (2322 s, no flips): 0.612 / 0.400 / 0.294.
 * Earlier settings, same split and jitter, no flips: 256 px, 20 epochs at a
 * constant rate: 0.593 / 0.372 / 0.265 (1658 s); 128 px ngf 16, 20 epochs:
 * 0.566 / 0.338 / 0.239 (more epochs did not help at a constant rate);
 * before validation and jitter (128 px, all 400 photos): 30 epochs 0.558,
 * 0.357, 0.244.
 */
export const DEFAULT_SEGMENTER_CONFIG: Readonly<SegmenterConfig> = Object
  .freeze({
    size: 256,
    numDowns: 8,
    ngf: 32,
    epochs: 16,
    epochsDecay: 16,
    batchSize: 4,
    lr: 1e-3,
    seed: 0,
    maxTrain: 0,
    valFraction: 0.1,
    jitter: true,
    patience: 0,
    flipTest: true,
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
    epochsDecay: 0,
    batchSize: 4,
    lr: 2e-3,
    seed: 0,
    maxTrain: 0,
    valFraction: 0,
    jitter: false,
    patience: 0,
    flipTest: false,
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
  /** Training pairs used (the validation split excluded). */
  nTrain: number;
  /**
   * The validation split carved from `train` (file names, per-pixel and
   * per-class accuracy of the kept weights at the network size) and the
   * epochs run; absent when `config.valFraction` is 0 (and in records
   * written before validation splits existed).
   */
  validation?: {
    files: string[];
    per_pixel_acc: number;
    per_class_acc: number;
    /** 1-based epoch whose weights were kept. */
    bestEpoch: number;
    epochsRun: number;
  };
  /** Wall-clock seconds of the training loop (data loading excluded). */
  trainSeconds: number;
  /** tfjs backend it was trained on. */
  backend: string;
  /** Mean cross-entropy of the last epoch. */
  finalLoss: number;
  /** Scores on the real photos of the dataset's `test` split. */
  test: FcnScores & { nImages: number };
  /** ISO time of creation. */
  createdAt: string;
}

/**
 * What a score table says about the segmenter behind it: how it was
 * trained, its validation accuracy and its accuracy on the real photos of
 * the test split (the ceiling generated photos are measured against).
 *
 * @example
 * ```ts
 * segmenterSummary(record);
 * // "segmenter: U-Net 128 px, ngf 16, 360 training photos + 40 validation
 * //  (best epoch 17 of 23), jitter on, flip-averaged; validation per-pixel acc 0.612;
 * //  real test photos (106): per-pixel acc 0.583, per-class acc 0.351,
 * //  class IoU 0.243"
 * ```
 */
export function segmenterSummary(r: SegmenterRecord): string {
  const f = (v: number) => v.toFixed(3);
  const c = r.config;
  const v = r.validation;
  const data = v
    ? `${r.nTrain} training photos + ${v.files.length} validation (best epoch ${v.bestEpoch} of ${v.epochsRun})`
    : `${r.nTrain} training photos, ${totalEpochs(c)} epochs`;
  return `segmenter: U-Net ${c.size} px, ngf ${c.ngf}, ${data}, jitter ${
    c.jitter ? "on" : "off"
  }${c.flipTest ? ", flip-averaged" : ""}; ` +
    (v ? `validation per-pixel acc ${f(v.per_pixel_acc)}; ` : "") +
    `real test photos (${r.test.nImages}): per-pixel acc ${
      f(r.test.per_pixel_acc)
    }, per-class acc ${f(r.test.per_class_acc)}, class IoU ${
      f(r.test.class_iou)
    }`;
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
  /** Validation per-pixel accuracy after the last finished epoch (NaN before, or without a split). */
  valAcc: number;
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
      const logits = predictLogits(this.model, x, this.config.flipTest);
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

/**
 * Inference-mode logits `[n, s, s, 12]` of photos `x` `[n, s, s, 3]`; with
 * `flipTest`, plus those of the mirrored photos mirrored back (same argmax
 * as their mean). Call inside `tf.tidy`.
 */
function predictLogits(
  model: tfl.LayersModel,
  x: tf.Tensor4D,
  flipTest: boolean,
): tf.Tensor4D {
  const logits = model.apply(x, { training: false }) as tf.Tensor4D;
  if (!flipTest) return logits;
  const mirrored = model.apply(tf.reverse(x, 2), {
    training: false,
  }) as tf.Tensor4D;
  return tf.add(logits, tf.reverse(mirrored, 2));
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
): Promise<FcnScores & { nImages: number }> {
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
  /**
   * Backend name to record (what `initBackend` chose, e.g. `native`, which
   * tfjs itself reports as `wasm`, whose heap it runs on); default
   * `tf.getBackend()`.
   */
  backend?: string;
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

/**
 * Copies a `size` x `size` window of item `i` (at offset `ox`, `oy` of its
 * `side` x `side` image) into slot `b` of a batch, mirrored left-right when
 * `flip`.
 */
function fillSlot(
  set: TrainingSet,
  i: number,
  b: number,
  crop: { size: number; side: number; ox: number; oy: number; flip: boolean },
  x: Float32Array,
  y: Int32Array,
): void {
  const { size, side, ox, oy, flip } = crop;
  const input = set.inputs[i], target = set.targets[i];
  for (let r = 0; r < size; r++) {
    for (let c = 0; c < size; c++) {
      const src = (oy + r) * side + ox + (flip ? size - 1 - c : c);
      const dst = b * size * size + r * size + c;
      y[dst] = target[src];
      x[3 * dst] = input[3 * src];
      x[3 * dst + 1] = input[3 * src + 1];
      x[3 * dst + 2] = input[3 * src + 2];
    }
  }
}

/**
 * The training files a config uses: `dataroot/train`, cut to `maxTrain`
 * (the validation split included).
 */
export async function segmenterTrainFiles(
  dataroot: string,
  config: SegmenterConfig,
): Promise<string[]> {
  const { files } = await listSplit(dataroot, "train");
  return config.maxTrain > 0 ? files.slice(0, config.maxTrain) : files;
}

/**
 * Splits the training files into the pairs trained on and the validation
 * split: `round(n * valFraction)` files (at least 1 when `valFraction` > 0,
 * at most n - 1) picked by a shuffle seeded with `config.seed`. Both lists
 * keep the files' order.
 */
export function splitValidation(
  files: string[],
  config: Pick<SegmenterConfig, "valFraction" | "seed">,
): { train: string[]; val: string[] } {
  const n = files.length;
  const want = config.valFraction > 0
    ? Math.min(n - 1, Math.max(1, Math.round(n * config.valFraction)))
    : 0;
  const order = new Rng(deriveSeed(config.seed, VALIDATION_STREAM)).shuffle(
    Array.from({ length: n }, (_, i) => i),
  );
  const isVal = new Set(order.slice(0, want));
  return {
    train: files.filter((_, i) => !isVal.has(i)),
    val: files.filter((_, i) => isVal.has(i)),
  };
}

/** Stream id of the validation pick (`deriveSeed(seed, VALIDATION_STREAM)`). */
const VALIDATION_STREAM = 0x7a1;

/**
 * Scores `model` on `set` (inputs and class maps at the network size) in
 * inference mode, `batch` images at a time, flip-averaged with `flipTest`.
 */
async function scoreAtNetworkSize(
  model: tfl.LayersModel,
  set: TrainingSet,
  size: number,
  batch: number,
  flipTest: boolean,
): Promise<FcnScores> {
  const cm = newConfusion(N_FACADE_CLASSES);
  const area = size * size;
  for (let k = 0; k < set.inputs.length; k += batch) {
    const idx = set.inputs.slice(k, k + batch);
    const x = new Float32Array(idx.length * area * 3);
    idx.forEach((input, b) => x.set(input, b * area * 3));
    const pred = tf.tidy(() =>
      tf.argMax(
        predictLogits(
          model,
          tf.tensor4d(x, [idx.length, size, size, 3]),
          flipTest,
        ),
        -1,
      )
    );
    const data = await pred.data();
    pred.dispose();
    idx.forEach((_, b) =>
      addToConfusion(
        cm,
        set.targets[k + b],
        Uint8Array.from(data.subarray(b * area, (b + 1) * area)),
      )
    );
  }
  return segmentationScores(cm);
}

/**
 * Early stopping on validation accuracy: given the accuracy after each
 * epoch so far (`history[0]` after epoch 1), the best epoch (1-based, the
 * first of equals) and whether to stop now (`patience` epochs have passed
 * since it; never when `patience` is 0).
 *
 * @example
 * ```ts
 * earlyStopping([0.5, 0.6, 0.58, 0.59], 2); // { best: 2, stop: true }
 * ```
 */
export function earlyStopping(
  history: readonly number[],
  patience: number,
): { best: number; stop: boolean } {
  let best = 0;
  history.forEach((acc, i) => {
    if (acc > history[best]) best = i;
  });
  return {
    best: best + 1,
    stop: patience > 0 && history.length - (best + 1) >= patience,
  };
}

/**
 * Trains a segmenter on the real photos of `dataroot/train` minus a
 * validation split (seeded shuffles, flips, random crops with `jitter`),
 * scoring the split after every epoch and stopping early on it (see
 * {@link SegmenterConfig}), then scores it on `dataroot/test`. Uses the
 * active tfjs backend.
 */
export async function trainSegmenter(
  o: TrainSegmenterOptions,
): Promise<TrainedSegmenter> {
  const cfg = o.config;
  const split = splitValidation(
    await segmenterTrainFiles(o.dataroot, cfg),
    cfg,
  );
  const s = cfg.size;
  const side = cfg.jitter ? jitterLoadSize(s) : s;
  const set = await loadTrainingSet(split.train, side);
  const valSet = await loadTrainingSet(split.val, s);
  const model = buildSegmenterModel(cfg);
  const optimizer = new Adam(cfg.lr, 0.9, 0.999, 1e-8);
  const rng = new Rng(cfg.seed);
  const n = split.train.length;
  const stepsPerEpoch = Math.ceil(n / cfg.batchSize);
  const epochs = totalEpochs(cfg);
  const totalSteps = stepsPerEpoch * epochs;
  let step = 0, finalLoss = NaN, valAcc = NaN, epochsRun = 0;
  const history: number[] = [];
  let best: { epoch: number; scores: FcnScores } | null = null;
  let bestWeights: tf.Tensor[] = [];
  // Losses read in batches: one GPU round trip per `readEvery` steps on WebGPU.
  const readEvery = lossReadEvery(tf.getBackend());
  const t0 = performance.now();
  for (let epoch = 0; epoch < epochs; epoch++) {
    optimizer.learningRate = lrAt(cfg, epoch);
    const order = rng.shuffle(Array.from({ length: n }, (_, i) => i));
    let epochLoss = 0;
    let pending: tf.Scalar[] = [];
    for (let k = 0; k < stepsPerEpoch; k++) {
      const idx = order.slice(k * cfg.batchSize, (k + 1) * cfg.batchSize);
      const x = new Float32Array(idx.length * s * s * 3);
      const y = new Int32Array(idx.length * s * s);
      idx.forEach((i, b) => {
        const flip = rng.next() < 0.5;
        const ox = side > s ? rng.int(side - s + 1) : 0;
        const oy = side > s ? rng.int(side - s + 1) : 0;
        fillSlot(set, i, b, { size: s, side, ox, oy, flip }, x, y);
      });
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
      pending.push(loss);
      if (pending.length < readEvery && k < stepsPerEpoch - 1) continue;
      const all = tf.stack(pending);
      const values = await all.data();
      tf.dispose([all, ...pending]);
      pending = [];
      for (const value of values) {
        epochLoss += value;
        step++;
        o.onProgress?.({ step, totalSteps, epoch, loss: value, valAcc });
      }
      // Let timers run (progress bars redraw on a timer off a terminal).
      await new Promise((resolve) => setTimeout(resolve, 0));
    }
    finalLoss = epochLoss / stepsPerEpoch;
    epochsRun = epoch + 1;
    if (valSet.inputs.length === 0) continue;
    const scores = await scoreAtNetworkSize(
      model,
      valSet,
      s,
      cfg.batchSize,
      cfg.flipTest,
    );
    valAcc = scores.per_pixel_acc;
    history.push(valAcc);
    const decision = earlyStopping(history, cfg.patience);
    if (decision.best === epochsRun) {
      best = { epoch: epochsRun, scores };
      tf.dispose(bestWeights);
      bestWeights = model.getWeights().map((w) => w.clone());
    } else if (decision.stop) break;
  }
  const trainSeconds = (performance.now() - t0) / 1000;
  optimizer.dispose();
  if (best) {
    model.setWeights(bestWeights);
    tf.dispose(bestWeights);
  }
  const segmenter = new Segmenter(model, cfg);
  const testFiles = (await listSplit(o.dataroot, "test")).files.slice(
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
      ...(best
        ? {
          validation: {
            files: split.val.map((f) => f.replace(/^.*\//, "")),
            per_pixel_acc: best.scores.per_pixel_acc,
            per_class_acc: best.scores.per_class_acc,
            bestEpoch: best.epoch,
            epochsRun,
          },
        }
        : {}),
      trainSeconds,
      backend: o.backend ?? tf.getBackend(),
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
 * A record with its scores as {@link FcnScores}: `segmenter.json` files
 * written before the scores took the results files' spelling have
 * `perPixelAcc`, `perClassAcc`, `classIou` (cached segmenters are kept:
 * training one takes hours on a CPU).
 */
export function withFcnScores(record: SegmenterRecord): SegmenterRecord {
  const OLD: Record<string, string> = {
    perPixelAcc: "per_pixel_acc",
    perClassAcc: "per_class_acc",
    classIou: "class_iou",
  };
  // deno-lint-ignore no-explicit-any
  const renamed = (o: any) =>
    o && Object.fromEntries(
      Object.entries(o).map(([k, v]) => [OLD[k] ?? k, v]),
    );
  return {
    ...record,
    ...(record.config
      ? {
        config: {
          ...record.config,
          epochsDecay: record.config.epochsDecay ?? 0,
          flipTest: record.config.flipTest ?? false,
        },
      }
      : {}),
    test: renamed(record.test),
    ...(record.validation ? { validation: renamed(record.validation) } : {}),
  };
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
  record = withFcnScores(record);
  return {
    segmenter: new Segmenter(model, record.config),
    record,
  };
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
