/**
 * The pix2pix training step and loop (paper section 3.3 and the reference's
 * `pix2pix_model.py` / `train.py`).
 *
 * Per iteration: G(x) is computed once; the discriminator takes one Adam
 * step on (x, y) as real and (x, G(x)) as fake, its loss halved; then the
 * generator takes one Adam step on the adversarial loss against the updated
 * discriminator plus lambda times L1. Objectives without GAN (`l1`) have no
 * discriminator at all. The learning rate is constant for `epochs` epochs,
 * then decays linearly (lib/schedule.ts).
 *
 * Randomness is seeded: weights from `seed` (G) and `seed + 1` (D), data
 * order and jitter from `(seed, epoch, item)` (lib/data.ts), dropout masks
 * from `(seed, step)`. A run resumed from a checkpoint therefore sees the same
 * data and masks as an uninterrupted one.
 *
 * @module
 */

import * as tf from "@tensorflow/tfjs";
import type * as tfl from "@tensorflow/tfjs-layers";
import { initBackend, lossReadEvery } from "./runtime/backend.ts";
import {
  type Checkpoint,
  checkpointName,
  linkCheckpoint,
  loadCheckpoint,
  restoreOptimizer,
  saveCheckpoint,
  type TrainingPosition,
} from "./checkpoint.ts";
import { sizeMultiple } from "./config.ts";
import {
  CheckpointError,
  ConfigError,
  EnvironmentError,
  Pix2PixError,
  TrainingDivergedError,
} from "./errors.ts";
import {
  acquireLock,
  exists,
  isNoSpace,
  writeFailure,
  writeFileAtomic,
} from "./util/files.ts";
import type { TrainConfig } from "./config.ts";
import { type Batch, openAlignedDataset } from "./data.ts";
import { resolveDataroot } from "./datasets/dataroot.ts";
import {
  imageGrid,
  type RgbImage,
  tensorToRgb,
  writeTensorPng,
} from "./util/image.ts";
import type { ApplyArgs } from "./layers.ts";
import {
  discriminatorLoss,
  generatorLoss,
  type ObjectiveParts,
  objectiveParts,
} from "./losses.ts";
import { buildDiscriminator, discriminatorSpecFromConfig } from "./patchgan.ts";
import { createProgress } from "./report/progress.ts";
import {
  readLossLog,
  readValLog,
  type StepRecord,
  trainingSeconds,
  type ValRecord,
  writeRunPage,
} from "./report/run_page.ts";
import { deriveSeed } from "./util/rng.ts";
import { lrAt, totalEpochs } from "./schedule.ts";
import { Adam } from "./adam.ts";
import { untaped } from "./runtime/backprop.ts";
import { translate } from "./translate.ts";
import { buildGenerator, generatorSpecFromConfig } from "./unet.ts";
import {
  resolveValidation,
  validationScores,
  valRecordScores,
} from "./validation.ts";
import { loadCachedSegmenter, type PhotoSegmenter } from "./eval/segmenter.ts";
import { type ModelCard, writeModelCard } from "./report/model_card.ts";
import { trainableParams } from "./report/summary.ts";

/** One training pair batch: NHWC float32 in [-1, 1], same shape. */
export interface TrainBatch {
  input: tf.Tensor4D;
  target: tf.Tensor4D;
}

/** Losses of one step, named as in the reference's logs (0 where the objective has no such term). */
export interface StepLosses {
  /** Generator's adversarial loss. */
  G_GAN: number;
  /** Generator's L1 loss (unweighted mean absolute error). */
  G_L1: number;
  /** Discriminator's loss on real pairs. */
  D_real: number;
  /** Discriminator's loss on generated pairs. */
  D_fake: number;
}

/** {@link StepLosses} still on the backend: scalars (no D terms without D). */
export type LossTensors =
  & Record<"G_GAN" | "G_L1", tf.Scalar>
  & Partial<Record<"D_real" | "D_fake", tf.Scalar>>;

/** The order of {@link StepLosses}' fields in a batched read. */
const LOSS_NAMES = ["G_GAN", "G_L1", "D_real", "D_fake"] as const;

/**
 * Reads the losses of many steps in one transfer (one `data()`, so one GPU
 * round trip on WebGPU) and disposes their tensors. Terms a step lacks are 0.
 */
export async function readLosses(
  steps: readonly LossTensors[],
): Promise<StepLosses[]> {
  const terms = steps.flatMap((s) =>
    LOSS_NAMES.flatMap((k) => s[k] ? [s[k]] : [])
  );
  if (terms.length === 0) return [];
  const all = tf.stack(terms);
  const values = await all.data();
  tf.dispose([all, ...terms]);
  let i = 0;
  return steps.map((s) => {
    const out = { G_GAN: 0, G_L1: 0, D_real: 0, D_fake: 0 };
    for (const k of LOSS_NAMES) if (s[k]) out[k] = values[i++];
    return out;
  });
}

/** The trainable variables of a tfjs-layers model. */
function trainableVariables(model: tfl.LayersModel): tf.Variable[] {
  return model.trainableWeights.map((w) => w.read() as tf.Variable);
}

/**
 * The pix2pix model: generator, discriminator (null for the `l1` objective)
 * and their Adam optimizers, with one training step.
 */
export class Pix2Pix {
  /** Which loss terms the objective has. */
  readonly parts: ObjectiveParts;
  /** Adam of the generator. */
  readonly optimizerG: Adam;
  /** Adam of the discriminator, or null. */
  readonly optimizerD: Adam | null;

  /**
   * @param cfg the run's config (objective, lambda, GAN mode, Adam settings, seed)
   * @param G generator: `[n, s, s, inputNc]` → `[n, s, s, outputNc]`, tanh
   * @param D discriminator on `concat(input, output)` (conditional) or the
   *   output alone, → logits `[n, h', w', 1]`; null for objectives without GAN
   */
  constructor(
    readonly cfg: TrainConfig,
    readonly G: tfl.LayersModel,
    readonly D: tfl.LayersModel | null,
  ) {
    this.parts = objectiveParts(cfg.loss);
    if (this.parts.gan !== (D !== null)) {
      throw new Error(
        `objective ${cfg.loss} ${
          this.parts.gan ? "needs" : "has no"
        } discriminator`,
      );
    }
    const adam = () => new Adam(cfg.lr, cfg.beta1, cfg.beta2, 1e-8);
    this.optimizerG = adam();
    this.optimizerD = D ? adam() : null;
  }

  /** Builds freshly initialised networks for `cfg`. */
  static create(cfg: TrainConfig): Pix2Pix {
    const G = buildGenerator(generatorSpecFromConfig(cfg));
    const D = objectiveParts(cfg.loss).gan
      ? buildDiscriminator(discriminatorSpecFromConfig(cfg), cfg.cropSize)
      : null;
    return new Pix2Pix(cfg, G, D);
  }

  /** Restores networks and optimizer moments from a loaded checkpoint (takes ownership of its tensors). */
  static async fromCheckpoint(
    ckpt: Checkpoint,
    cfg: TrainConfig = ckpt.config,
  ): Promise<Pix2Pix> {
    const model = new Pix2Pix(cfg, ckpt.G, ckpt.D);
    await restoreOptimizer(model.optimizerG, ckpt.optimizerG);
    if (model.optimizerD && ckpt.optimizerD) {
      await restoreOptimizer(model.optimizerD, ckpt.optimizerD);
    }
    return model;
  }

  /** Sets both optimizers' learning rate. */
  setLearningRate(lr: number): void {
    this.optimizerG.learningRate = lr;
    if (this.optimizerD) this.optimizerD.learningRate = lr;
  }

  /** What the discriminator sees of an (input, image) pair. */
  private dInput(input: tf.Tensor4D, image: tf.Tensor4D): tf.Tensor4D {
    return this.parts.conditional ? tf.concat([input, image], 3) : image;
  }

  /**
   * One Adam step of D on real (x, y) against fake (x, G(x)); returns the
   * real and fake loss terms (kept: the caller disposes them). Runs inside
   * the generator's gradient tape, but untaped (`lib/runtime/backprop.ts`):
   * it differentiates only D's variables with a tape of its own, and `fake`
   * enters it as a constant (PyTorch's `fake.detach()`), so G's gradient is
   * unaffected and the outer tape holds none of the D step's tensors.
   */
  private discriminatorStep(
    input: tf.Tensor4D,
    target: tf.Tensor4D,
    fake: tf.Tensor4D,
  ): [tf.Scalar, tf.Scalar] {
    const D = this.D!;
    let real!: tf.Scalar;
    let fakeTerm!: tf.Scalar;
    const { value, grads } = tf.variableGrads(() => {
      const l = discriminatorLoss(
        D.apply(this.dInput(input, target), { training: true }) as tf.Tensor,
        D.apply(this.dInput(input, fake), { training: true }) as tf.Tensor,
        this.cfg.ganMode,
      );
      real = tf.keep(l.real);
      fakeTerm = tf.keep(l.fake);
      return l.total;
    }, trainableVariables(D));
    this.optimizerD!.applyGradients(grads);
    tf.dispose([value, ...Object.values(grads)]);
    return [real, fakeTerm];
  }

  /**
   * One training iteration on `batch` as global step `step` (0-based; it
   * seeds the dropout masks). Runs the generator forward once, as the
   * reference does: the D step uses that output, then the G step
   * backpropagates through the same output into the updated D.
   *
   * Nothing is read back: the loss terms stay on the backend (the caller
   * owns them; {@link readLosses} reads many steps' in one transfer). On
   * WebGPU the step is only queued when this returns.
   */
  dispatchStep(batch: TrainBatch, step: number): LossTensors {
    const dropoutSeed = deriveSeed(this.cfg.seed, step);
    let d: tf.Scalar[] = [];
    let gan!: tf.Scalar;
    let l1!: tf.Scalar;
    const { value, grads } = tf.variableGrads(() => {
      const fake = this.G.apply(
        batch.input,
        {
          training: true,
          dropoutSeed,
        } satisfies ApplyArgs,
      ) as tf.Tensor4D;
      let fakeLogits: tf.Tensor | undefined;
      if (this.D) {
        d = untaped(() =>
          this.discriminatorStep(batch.input, batch.target, fake)
        );
        fakeLogits = this.D.apply(this.dInput(batch.input, fake), {
          training: true,
        }) as tf.Tensor;
      }
      const g = generatorLoss({
        fakeLogits,
        fake,
        target: batch.target,
        objective: this.cfg.loss,
        lambdaL1: this.cfg.lambdaL1,
        mode: this.cfg.ganMode,
      });
      gan = tf.keep(g.gan);
      l1 = tf.keep(g.l1);
      return g.total;
    }, trainableVariables(this.G));
    this.optimizerG.applyGradients(grads);
    tf.dispose([value, ...Object.values(grads)]);
    const [D_real, D_fake] = d;
    return { G_GAN: gan, G_L1: l1, ...(this.D ? { D_real, D_fake } : {}) };
  }

  /** {@link dispatchStep}, then its losses read back (waits for the step). */
  async trainStep(batch: TrainBatch, step: number): Promise<StepLosses> {
    const [losses] = await readLosses([this.dispatchStep(batch, step)]);
    return losses;
  }

  /** Frees the networks and optimizer state. */
  dispose(): void {
    this.G.dispose();
    this.D?.dispose();
    this.optimizerG.dispose();
    this.optimizerD?.dispose();
  }
}

/** A loss term's name in {@link StepLosses} and the log. */
type LossName = typeof LOSS_NAMES[number];

/** The names of the losses in `l` that are not finite numbers. */
function nonFinite(l: StepLosses): (keyof StepLosses)[] {
  return (Object.keys(l) as (keyof StepLosses)[]).filter((k) =>
    !Number.isFinite(l[k])
  );
}

/**
 * Whether every weight of `models` is a finite number (one asynchronous
 * read of one flag, so it works on WebGPU).
 */
async function weightsFinite(
  models: (tfl.LayersModel | null)[],
): Promise<boolean> {
  const weights = models.flatMap((m) => m ? m.weights : []);
  if (weights.length === 0) return true;
  const ok = tf.tidy(() =>
    tf.all(tf.stack(weights.map((w) => tf.all(tf.isFinite(w.read())))))
  );
  const [flag] = await ok.data();
  ok.dispose();
  return flag !== 0;
}

/** What {@link TrainOptions.onStep} gets after every training step. */
export interface StepEvent {
  /** Global step just completed (1 after the first step). */
  step: number;
  /** The step the run stops at. */
  lastStep: number;
  /** 0-based epoch of the step. */
  epoch: number;
  /** Learning rate of the step. */
  lr: number;
  /** The step's losses. */
  losses: StepLosses;
  /** Seconds since this call's loop started. */
  seconds: number;
  /**
   * The run's fixed sample rows (input | output | target, one row per test
   * pair) through the generator as it is now, as 8-bit RGB (alpha left
   * out). Runs G: call it only on the steps you show. (Losses are read in
   * batches on some backends, so G may be a few steps past `step` there.)
   */
  samples(): Promise<RgbImage>;
}

/** Options of {@link train} that are not part of the config. */
export interface TrainOptions {
  /** No progress bar or messages (tests). */
  quiet?: boolean;
  /**
   * Called after every step (awaited), e.g. to plot losses live in a
   * notebook (`liveTraining` in `lib/notebook/display.ts`) or log elsewhere.
   *
   * @example
   * ```ts
   * await train(cfg, { onStep: (e) => { if (e.step % 10 === 0) console.log(e.step, e.losses.G_L1); } });
   * ```
   */
  onStep?: (event: StepEvent) => void | Promise<void>;
  /** Warnings (a stale lock, a damaged checkpoint skipped); default: printed unless `quiet`. */
  onWarning?: (message: string) => void;
  /**
   * With `resume`, the config fields the user chose (the command line's
   * flags); the others come from the checkpoint. Default: every field, as a
   * config built in code states them all.
   */
  given?: readonly (keyof TrainConfig)[];
  /**
   * Segmenter for the FCN-score of validation outputs (labels → photo on
   * facade colours). Default: the cached facades segmenter of the run's
   * dataroot (`deno task eval --train-segmenter`) for `BtoA` runs, when it
   * has been trained; null: none.
   */
  segmenter?: PhotoSegmenter | null;
}

/** What {@link train} did. */
export interface TrainSummary {
  /** The run folder. */
  runDir: string;
  /** Global step reached (counts steps of earlier, resumed-from runs). */
  steps: number;
  /** Steps run by this call. */
  stepsThisRun: number;
  /** Losses of the last step (null if no step ran). */
  final: StepLosses | null;
  /** Wall-clock seconds of this call's training loop. */
  seconds: number;
  /** The training page. */
  page: string;
  /** Best validation L1 so far and its step (null without validation). */
  best: ValRecord | null;
}

/** Fields of the command line that override a resumed checkpoint's config. */
const RUN_CONTROL_FIELDS = [
  "maxSteps",
  "backend",
  "threads",
  "sampleEvery",
  "saveEvery",
  "resume",
  "overwrite",
  "name",
  "checkpointsDir",
] as const;

/**
 * Fields a resumed run may change (logged in `resumes.jsonl`): the
 * schedule and loss weight. Any other difference from the checkpoint's
 * config (architecture, data, batch size, seed) is refused.
 */
const RESUME_SAFE_FIELDS: readonly (keyof TrainConfig)[] = [
  "lr",
  "epochs",
  "epochsDecay",
  "lambdaL1",
];

/** What a run folder holds that a fresh run would replace. */
const RUN_OUTPUTS = [
  "checkpoints",
  "samples",
  "loss_log.jsonl",
  "val_log.jsonl",
  "model_card.json",
  "MODEL_CARD.md",
];

/** Sample grid rows kept fixed for the whole run. */
const SAMPLE_ROWS = 3;

/**
 * The sample grid: one row per fixed sample, columns input | G(input) |
 * target; gray shown as RGB, RGBA when the input or output has alpha.
 */
function sampleGrid(G: tfl.LayersModel, samples: TrainBatch): tf.Tensor3D {
  return tf.tidy(() =>
    imageGrid([
      samples.input,
      translate(G, samples.input, { dropoutSeed: 0 }),
      samples.target,
    ])
  );
}

/** {@link sampleGrid} as 8-bit RGB (alpha left out). */
async function sampleRgb(
  G: tfl.LayersModel,
  samples: TrainBatch,
): Promise<RgbImage> {
  const grid = tf.tidy(() =>
    tf.slice(sampleGrid(G, samples), [0, 0, 0], [-1, -1, 3]) as tf.Tensor3D
  );
  const [height, width] = grid.shape;
  const rgb = { data: await tensorToRgb(grid), width, height };
  grid.dispose();
  return rgb;
}

/**
 * Writes the sample grid `samples/step_XXXXXX.png` and `samples/latest.png`
 * (RGBA when the images have alpha).
 */
async function writeSamples(
  runDir: string,
  G: tfl.LayersModel,
  samples: TrainBatch,
  step: number,
): Promise<void> {
  const grid = sampleGrid(G, samples);
  const file = `samples/step_${String(step).padStart(6, "0")}.png`;
  await writeTensorPng(`${runDir}/${file}`, grid);
  grid.dispose();
  await writeFileAtomic(
    `${runDir}/samples/latest.png`,
    await Deno.readFile(`${runDir}/${file}`),
  );
}

/**
 * Trains pix2pix as `cfg` says, in `${checkpointsDir}/${name}`: writes
 * `config.json`, `loss_log.jsonl` (one JSON record per step), sample grids,
 * `index.html` (loss curves and samples, rewritten while training) and
 * checkpoints (every `saveEvery` steps, at each epoch end and at the end).
 * With `cfg.resume`, continues from the run's newest intact checkpoint
 * with the checkpoint's config (`maxSteps`, `backend`, `threads`,
 * `sampleEvery` and `saveEvery` are taken from `cfg`; changes of `lr`,
 * `epochs`, `epochsDecay` and `lambdaL1` are accepted and logged, others
 * refused). A run folder that already holds a run is refused unless
 * `cfg.resume` or `cfg.overwrite`; nothing is deleted before the dataset has
 * opened. A lock file (`lock`: pid and host) keeps a second process out.
 */
export async function train(
  cfgIn: TrainConfig,
  opts: TrainOptions = {},
): Promise<TrainSummary> {
  const runDir = `${cfgIn.checkpointsDir}/${cfgIn.name}`;
  const warn = opts.onWarning ??
    (opts.quiet ? () => {} : (m: string) => console.warn(`warning: ${m}`));
  await Deno.mkdir(runDir, { recursive: true });
  const noSpace = (e: unknown) =>
    new EnvironmentError(
      `${writeFailure(runDir, e)}; then continue with resume`,
      { field: "resume", file: runDir, cause: e },
    );
  let lock;
  try {
    lock = await acquireLock(`${runDir}/lock`, warn);
  } catch (e) {
    if (isNoSpace(e)) throw noSpace(e);
    throw new Pix2PixError(
      `name ${cfgIn.name}: another training run uses it: ${
        (e as Error).message
      }`,
      { field: "name", file: `${runDir}/lock` },
    );
  }
  try {
    return await trainLocked(cfgIn, runDir, { ...opts, onWarning: warn });
  } catch (e) {
    throw e instanceof Pix2PixError || !isNoSpace(e) ? e : noSpace(e);
  } finally {
    await lock.release();
  }
}

/** {@link train} once the run's lock is held. */
async function trainLocked(
  cfgIn: TrainConfig,
  runDir: string,
  opts: TrainOptions & { onWarning: (message: string) => void },
): Promise<TrainSummary> {
  const log = opts.quiet ? () => {} : (m: string) => console.log(m);
  const backend = await initBackend(cfgIn.backend, {
    threads: cfgIn.threads,
  });
  log(`backend: ${backend.name} (${backend.reason})`);
  let { cfg, model, pos } = await startRun(cfgIn, runDir, opts);
  if (cfg.resume) {
    log(`resuming ${runDir} at step ${pos.step} (epoch ${pos.epoch + 1})`);
  }
  const dataroot = await resolveDataroot(cfg);
  const val = await resolveValidation(cfg, dataroot);
  cfg = val.config;
  log(val.description);
  const segmenter = opts.segmenter !== undefined
    ? opts.segmenter
    : val.dataset && cfg.direction === "BtoA"
    ? await loadCachedSegmenter(dataroot).then((t) => {
      log(
        "validation FCN-score: the cached facades segmenter of this dataroot",
      );
      return t.segmenter;
    }, () => null)
    : null;
  const dataset = await openAlignedDataset({
    ...cfg,
    dataroot,
    filter: val.trainFilter,
    sizeMultiple: sizeMultiple(cfg.netG),
    onWarning: opts.quiet ? () => {} : undefined,
  });
  const samples = await fixedSamples(cfg, dataroot);
  // Every check has passed: only now is an --overwrite'n run removed.
  if (!cfg.resume) {
    for (const old of RUN_OUTPUTS) {
      await Deno.remove(`${runDir}/${old}`, { recursive: true }).catch(
        () => {},
      );
    }
  }
  const runLog = await openRunLog(runDir, cfg, pos.step);
  const epochs = totalEpochs(cfg);
  const stepsPerEpoch = Math.ceil(dataset.size / cfg.batchSize);
  const lastStep = Math.min(
    cfg.maxSteps > 0 ? cfg.maxSteps : Infinity,
    epochs * stepsPerEpoch,
  );
  log(
    `training ${runDir}: ${dataset.size} pairs from ${dataroot}, ${stepsPerEpoch} steps/epoch, ` +
      `${epochs} epochs, steps ${pos.step} -> ${lastStep}`,
  );
  const progress = opts.quiet
    ? null
    : createProgress({ total: lastStep, start: pos.step, epochs });

  const startStep = pos.step;
  const t0 = performance.now();
  const seconds = () => (performance.now() - t0) / 1000;
  let final = null as StepLosses | null;
  const status = () => {
    const rate = (pos.step - startStep) / Math.max(seconds(), 1e-9);
    const epoch = Math.min(pos.epoch + 1, epochs);
    return `step ${pos.step} / ${lastStep}, epoch ${epoch} / ${epochs}, ` +
      `${rate.toFixed(2)} steps/s, lr ${pos.lr.toExponential(3)}`;
  };
  const snapshot = async () => {
    await writeSamples(runDir, model.G, samples, pos.step);
    await runLog.page(status());
  };
  let lastSaved = cfg.resume ? startStep : null;
  const diverged = async (what: string, step = pos.step): Promise<never> => {
    progress?.stop();
    const good = lastSaved === null
      ? "no checkpoint was saved before it"
      : `the last good checkpoint is ${runDir}/checkpoints (step ${lastSaved}), kept as it was`;
    const message =
      `training diverged at step ${step}: ${what}; stopped without saving, ${good}. ` +
      "Lower lr, check the data for broken images, or continue with resume";
    await runLog.page(`stopped: ${status()}`, [message]);
    throw new TrainingDivergedError(message, { field: "lr", file: runDir });
  };
  const checkpointState = () => ({
    ...pos,
    config: cfg,
    G: model.G,
    D: model.D,
    optimizerG: model.optimizerG,
    optimizerD: model.optimizerD,
  });
  const save = async () => {
    if (lastSaved === pos.step) return; // saved (or resumed from) already
    if (!(await weightsFinite([model.G, model.D]))) {
      await diverged("a weight is not a finite number (NaN or infinite)");
    }
    await saveCheckpoint(`${runDir}/checkpoints`, checkpointState());
    lastSaved = pos.step;
  };
  let best = runLog.validation.reduce<ValRecord | null>(
    (b, r) => b === null || r.val_L1 < b.val_L1 ? r : b,
    null,
  );
  const validate = async () => {
    if (!val.dataset) return;
    const scores = await validationScores(
      model.G,
      val.dataset,
      cfg.seed,
      segmenter,
    );
    const record: ValRecord = {
      step: pos.step,
      epoch: pos.epoch,
      ...valRecordScores(scores),
      seconds: seconds(),
    };
    await runLog.appendValidation(record);
    const isBest = best === null || record.val_L1 < best.val_L1;
    if (isBest) {
      best = record;
      const bestDir = `${runDir}/checkpoints/best`;
      // The step's checkpoint, when saved, is linked rather than serialised again.
      await (lastSaved === pos.step
        ? linkCheckpoint(
          `${runDir}/checkpoints/${checkpointName(pos.step)}`,
          bestDir,
        )
        : saveCheckpoint(bestDir, checkpointState()));
    }
    (progress ? (m: string) => progress.note(m) : log)(
      `step ${pos.step} (${pos.epoch} epochs done): validation L1 ${
        record.val_L1.toFixed(4)
      }${
        record.fcn_pixel_acc === undefined
          ? ""
          : `, FCN per-pixel acc ${
            record.fcn_pixel_acc.toFixed(3)
          }, per-class acc ${record.fcn_class_acc?.toFixed(3)}, class IoU ${
            record.fcn_class_iou?.toFixed(3)
          }`
      }${isBest ? " (best so far: checkpoints/best)" : ""}`,
    );
  };

  // Steps whose losses are still on the backend, read in one batch.
  let pending: { losses: LossTensors; record: Omit<StepRecord, LossName> }[] =
    [];
  const readEvery = lossReadEvery(backend.name);
  const flush = async () => {
    if (pending.length === 0) return;
    const steps = pending;
    pending = [];
    const values = await readLosses(steps.map((p) => p.losses));
    for (const [i, { record }] of steps.entries()) {
      await runLog.append({ ...record, ...values[i] });
      const bad = nonFinite(values[i]);
      if (bad.length) {
        await diverged(
          bad.map((k) => `${k} = ${values[i][k]}`).join(", ") +
            " (not a finite number)",
          record.step,
        );
      }
      await opts.onStep?.({
        ...record,
        lastStep,
        losses: values[i],
        samples: () => sampleRgb(model.G, samples),
      });
    }
    final = values.at(-1)!;
    const last = steps.at(-1)!.record;
    progress?.update(last.step, last.epoch, final);
  };

  let epoch = pos.epoch;
  while (pos.step < lastStep && epoch < epochs) {
    pos.lr = lrAt(cfg, epoch);
    model.setLearningRate(pos.lr);
    let b = 0;
    let epochDone = true;
    for await (const batch of dataset.batches(epoch)) {
      if (b++ < pos.batchInEpoch) { // already trained on before a resume
        disposeBatch(batch);
        continue;
      }
      const losses = model.dispatchStep(batch, pos.step);
      disposeBatch(batch);
      pos = { ...pos, step: pos.step + 1, epoch, batchInEpoch: b };
      pending.push({
        losses,
        record: { step: pos.step, epoch, lr: pos.lr, seconds: seconds() },
      });
      if (pending.length >= readEvery) await flush();
      if (cfg.sampleEvery > 0 && pos.step % cfg.sampleEvery === 0) {
        await flush();
        await snapshot();
      }
      if (cfg.saveEvery > 0 && pos.step % cfg.saveEvery === 0) {
        await flush();
        await save();
      }
      if (pos.step >= lastStep) {
        epochDone = b === stepsPerEpoch;
        break;
      }
    }
    if (epochDone) pos = { ...pos, epoch: ++epoch, batchInEpoch: 0 };
    await flush();
    await save();
    if (epochDone) await validate();
  }
  if (runLog.validation.at(-1)?.step !== pos.step) await validate();
  progress?.stop();
  await snapshot();
  const card: ModelCard = {
    version: 1,
    name: cfg.name,
    created: new Date().toISOString(),
    config: cfg,
    model: {
      netG: cfg.netG,
      netD: model.D ? cfg.netD : null,
      paramsG: trainableParams(model.G),
      paramsD: model.D ? trainableParams(model.D) : null,
      trainedSize: cfg.cropSize,
      sizeMultiple: sizeMultiple(cfg.netG),
      inputNc: cfg.inputNc,
      outputNc: cfg.outputNc,
    },
    data: {
      dataroot: cfg.dataroot ?? `embedded synthetic dataset (${dataroot})`,
      phase: cfg.phase,
      direction: cfg.direction,
      trainPairs: dataset.size,
      validation: { source: cfg.valSource, pairs: val.dataset?.size ?? 0 },
    },
    training: {
      steps: pos.step,
      epochs: pos.epoch,
      seconds: trainingSeconds(runLog.records),
      backend: `${backend.name} (${backend.reason})`,
      threads: cfg.threads,
      status: pos.step >= epochs * stepsPerEpoch
        ? "finished"
        : "stopped at max steps",
    },
    scores: {
      lastLosses: final ? { ...final } : null,
      valL1: runLog.validation.at(-1)?.val_L1 ?? null,
      valFcnPixelAcc: runLog.validation.at(-1)?.fcn_pixel_acc ?? null,
      best: best ? { valL1: best.val_L1, step: best.step } : null,
    },
    checkpoints: {
      latest: `${runDir}/checkpoints`,
      best: best ? `${runDir}/checkpoints/best` : null,
    },
  };
  await writeModelCard(runDir, card);
  log(dataset.stats.summary());
  tf.dispose([samples.input, samples.target]);
  model.dispose();
  return {
    runDir,
    steps: pos.step,
    stepsThisRun: pos.step - startStep,
    final,
    seconds: seconds(),
    page: `${runDir}/index.html`,
    best,
  };
}

/**
 * The config, model and position a run starts from: a fresh model (refused
 * when the run folder already holds a run and `overwrite` is off), or, with
 * `cfg.resume`, the newest intact checkpoint with its config, the
 * `RUN_CONTROL_FIELDS` of `cfgIn` and the changes {@link resumedConfig}
 * accepts. Deletes nothing.
 */
async function startRun(
  cfgIn: TrainConfig,
  runDir: string,
  opts: TrainOptions & { onWarning: (message: string) => void },
): Promise<{ cfg: TrainConfig; model: Pix2Pix; pos: TrainingPosition }> {
  const ckptDir = `${runDir}/checkpoints`;
  if (!cfgIn.resume) {
    const found = [];
    for (const f of RUN_OUTPUTS) {
      if (await exists(`${runDir}/${f}`)) found.push(f);
    }
    if (found.length > 0 && !cfgIn.overwrite) {
      const what = found.includes("checkpoints")
        ? "pass resume to continue it"
        : "it stopped before its first checkpoint, so there is nothing to continue";
      throw new Pix2PixError(
        `name ${cfgIn.name}: ${runDir} already holds a run (${
          found.join(", ")
        }); ${what}; another name starts a new run, overwrite replaces it`,
        { field: "name", file: runDir },
      );
    }
    return {
      cfg: cfgIn,
      model: Pix2Pix.create(cfgIn),
      pos: {
        step: 0,
        epoch: 0,
        batchInEpoch: 0,
        lr: lrAt(cfgIn, 0),
        rng: { dataSeed: cfgIn.seed, dropoutSeed: cfgIn.seed },
      },
    };
  }
  if (cfgIn.overwrite) {
    throw new ConfigError(
      "overwrite",
      "resume continues a run and overwrite replaces it: pass only one",
    );
  }
  if (!(await exists(`${ckptDir}/latest`))) {
    throw new CheckpointError(
      `resume: run "${cfgIn.name}" has no checkpoint (${ckptDir}/latest not found); check name and checkpointsDir, or train without resume`,
      { field: "resume", file: `${ckptDir}/latest` },
    );
  }
  let ckpt;
  try {
    ckpt = await loadCheckpoint(ckptDir, { onFallback: opts.onWarning });
  } catch (e) {
    throw new CheckpointError(`resume: ${(e as Error).message}`, {
      field: "resume",
      file: ckptDir,
      cause: e,
    });
  }
  const cfg = await resumedConfig(ckpt, cfgIn, opts.given, runDir, opts);
  const { step, epoch, batchInEpoch, lr, rng } = ckpt;
  return {
    cfg,
    model: await Pix2Pix.fromCheckpoint(ckpt, cfg),
    pos: { step, epoch, batchInEpoch, lr, rng },
  };
}

/**
 * The config of a resumed run: the checkpoint's, with `RUN_CONTROL_FIELDS`
 * from `cfgIn` and the fields in `given` that differ from the checkpoint's.
 * Changes of `RESUME_SAFE_FIELDS` are accepted, printed and appended to
 * `resumes.jsonl`; any other is refused, all of them listed.
 */
async function resumedConfig(
  ckpt: Checkpoint,
  cfgIn: TrainConfig,
  given: readonly (keyof TrainConfig)[] = Object.keys(cfgIn) as never,
  runDir: string,
  opts: TrainOptions,
): Promise<TrainConfig> {
  const cfg: Record<string, unknown> = { ...ckpt.config };
  for (const k of RUN_CONTROL_FIELDS) cfg[k] = cfgIn[k];
  const changed: Record<string, [unknown, unknown]> = {};
  const refused: string[] = [];
  for (const k of given) {
    const [was, now] = [ckpt.config[k], cfgIn[k]];
    if ((RUN_CONTROL_FIELDS as readonly string[]).includes(k) || was === now) {
      continue;
    }
    // A run records what `auto` resolved to; asking for `auto` again is no change.
    if (k === "valSource" && now === "auto") continue;
    if (RESUME_SAFE_FIELDS.includes(k)) {
      changed[k] = [was, now];
      cfg[k] = now;
    } else {
      refused.push(`${k} ${now} (the run has ${was})`);
    }
  }
  if (refused.length > 0) {
    throw new ConfigError(
      "resume",
      `resume: run "${cfgIn.name}" cannot continue with ${
        refused.join(", ")
      }: drop these settings to continue with the run's, or start a new run with another name`,
    );
  }
  if (Object.keys(changed).length > 0) {
    const list = Object.entries(changed).map(([k, [was, now]]) =>
      `${k} ${was} -> ${now}`
    ).join(", ");
    if (!opts.quiet) console.log(`resuming with changed settings: ${list}`);
    const record = { step: ckpt.step, at: new Date().toISOString(), changed };
    await Deno.writeTextFile(
      `${runDir}/resumes.jsonl`,
      JSON.stringify(record) + "\n",
      { append: true },
    );
  }
  return cfg as unknown as TrainConfig;
}

/** The run folder's record of training: `loss_log.jsonl`, `val_log.jsonl` and `index.html`. */
interface RunLog {
  /** Steps so far. */
  readonly records: readonly StepRecord[];
  /** Validation passes so far. */
  readonly validation: readonly ValRecord[];
  /** Appends one step's record to the log (file and memory). */
  append(record: StepRecord): Promise<void>;
  /** Appends one validation pass to `val_log.jsonl`. */
  appendValidation(record: ValRecord): Promise<void>;
  /** Rewrites `index.html` with the curves so far, the samples, `status` and `alerts`. */
  page(status: string, alerts?: readonly string[]): Promise<void>;
}

/**
 * Opens the run's log: writes `config.json`, keeps the `loss_log.jsonl`
 * records up to `step` (a resumed run drops the steps after its checkpoint)
 * and returns the appender.
 */
async function openRunLog(
  runDir: string,
  cfg: TrainConfig,
  step: number,
): Promise<RunLog> {
  const logPath = `${runDir}/loss_log.jsonl`;
  await Deno.mkdir(`${runDir}/samples`, { recursive: true });
  await writeFileAtomic(
    `${runDir}/config.json`,
    JSON.stringify(cfg, null, 2) + "\n",
  );
  const records = (await readLossLog(runDir)).filter((r) => r.step <= step);
  await writeFileAtomic(
    logPath,
    records.map((r) => JSON.stringify(r) + "\n").join(""),
  );
  const valPath = `${runDir}/val_log.jsonl`;
  const validation = (await readValLog(runDir)).filter((r) => r.step <= step);
  await writeFileAtomic(
    valPath,
    validation.map((r) => JSON.stringify(r) + "\n").join(""),
  );
  return {
    records,
    validation,
    async append(record) {
      records.push(record);
      await Deno.writeTextFile(logPath, JSON.stringify(record) + "\n", {
        append: true,
      });
    },
    async appendValidation(record) {
      validation.push(record);
      await Deno.writeTextFile(valPath, JSON.stringify(record) + "\n", {
        append: true,
      });
    },
    page: (status, alerts) =>
      writeRunPage(runDir, {
        name: cfg.name,
        config: cfg,
        records,
        validation,
        gan: cfg.loss !== "l1",
        status,
        alerts,
      }),
  };
}

function disposeBatch(batch: Batch): void {
  tf.dispose([batch.input, batch.target]);
}

/**
 * The first few pairs of the split, without jitter, resized to the crop
 * size: the rows of every sample grid (one size, whatever sizes
 * `--preprocess none` or `scale_width` give the training batches).
 */
async function fixedSamples(
  cfg: TrainConfig,
  dataroot: string,
): Promise<TrainBatch> {
  const ds = await openAlignedDataset({
    ...cfg,
    dataroot,
    preprocess: "resize_and_crop",
    loadSize: cfg.cropSize,
    noFlip: true,
    shuffle: false,
    maxItems: SAMPLE_ROWS,
    batchSize: SAMPLE_ROWS,
    onWarning: () => {},
  });
  for await (const batch of ds.batches(0)) return batch;
  throw new Error(`${dataroot}/${cfg.phase}: no sample images`);
}
