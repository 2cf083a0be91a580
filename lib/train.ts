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
import { initBackend } from "./runtime/backend.ts";
import {
  type Checkpoint,
  loadCheckpoint,
  restoreOptimizer,
  saveCheckpoint,
  type TrainingPosition,
} from "./checkpoint.ts";
import { CheckpointError } from "./errors.ts";
import type { TrainConfig } from "./config.ts";
import { type Batch, openAlignedDataset } from "./data.ts";
import { resolveDataroot } from "./datasets/dataroot.ts";
import { type RgbImage, tensorToRgb, writePng } from "./util/image.ts";
import { setDropoutSeed } from "./layers.ts";
import {
  discriminatorLoss,
  generatorLoss,
  type ObjectiveParts,
  objectiveParts,
} from "./losses.ts";
import { buildDiscriminator, discriminatorSpecFromConfig } from "./patchgan.ts";
import { createProgress } from "./report/progress.ts";
import { type StepRecord, writeRunPage } from "./report/run_page.ts";
import { deriveSeed } from "./util/rng.ts";
import { lrAt, totalEpochs } from "./schedule.ts";
import { Adam } from "./adam.ts";
import { untaped } from "./runtime/backprop.ts";
import { translate } from "./translate.ts";
import { buildGenerator, generatorSpecFromConfig } from "./unet.ts";

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
   */
  trainStep(batch: TrainBatch, step: number): StepLosses {
    setDropoutSeed(deriveSeed(this.cfg.seed, step));
    const kept: tf.Scalar[] = [];
    const { value, grads } = tf.variableGrads(() => {
      const fake = this.G.apply(batch.input, { training: true }) as tf.Tensor4D;
      let fakeLogits: tf.Tensor | undefined;
      if (this.D) {
        kept.push(
          ...untaped(() =>
            this.discriminatorStep(batch.input, batch.target, fake)
          ),
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
      kept.unshift(tf.keep(g.gan), tf.keep(g.l1));
      return g.total;
    }, trainableVariables(this.G));
    this.optimizerG.applyGradients(grads);
    const [G_GAN, G_L1, D_real = 0, D_fake = 0] = kept.map((t) =>
      t.dataSync()[0]
    );
    tf.dispose([value, ...Object.values(grads), ...kept]);
    return { G_GAN, G_L1, D_real, D_fake };
  }

  /** Frees the networks and optimizer state. */
  dispose(): void {
    this.G.dispose();
    this.D?.dispose();
    this.optimizerG.dispose();
    this.optimizerD?.dispose();
  }
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
   * pair) through the current generator, as 8-bit RGB. Runs G: call it only
   * on the steps you show.
   */
  samples(): RgbImage;
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
}

/** Fields of the command line that override a resumed checkpoint's config. */
const RUN_CONTROL_FIELDS = [
  "maxSteps",
  "backend",
  "threads",
  "sampleEvery",
  "saveEvery",
  "resume",
] as const;

/** Sample grid rows kept fixed for the whole run. */
const SAMPLE_ROWS = 3;

/** The sample grid: one row per fixed sample, columns input | G(input) | target. */
function sampleGrid(G: tfl.LayersModel, samples: TrainBatch): RgbImage {
  const grid = tf.tidy(() => {
    const fake = translate(G, samples.input, { dropoutSeed: 0 });
    const rows = tf.concat([samples.input, fake, samples.target], 2);
    return tf.reshape(rows, [-1, rows.shape[2], 3]) as tf.Tensor3D;
  });
  const [height, width] = grid.shape;
  const rgb = { data: tensorToRgb(grid), width, height };
  grid.dispose();
  return rgb;
}

/**
 * Writes the sample grid `samples/step_XXXXXX.png` and `samples/latest.png`:
 * one row per fixed sample, columns input | output | target.
 */
async function writeSamples(
  runDir: string,
  G: tfl.LayersModel,
  samples: TrainBatch,
  step: number,
): Promise<void> {
  const rgb = sampleGrid(G, samples);
  const file = `samples/step_${String(step).padStart(6, "0")}.png`;
  await writePng(`${runDir}/${file}`, rgb);
  await Deno.copyFile(`${runDir}/${file}`, `${runDir}/samples/latest.png`);
}

/**
 * Trains pix2pix as `cfg` says, in `${checkpointsDir}/${name}`: writes
 * `config.json`, `loss_log.jsonl` (one JSON record per step), sample grids,
 * `index.html` (loss curves and samples, rewritten while training) and
 * checkpoints (every `saveEvery` steps, at each epoch end and at the end).
 * With `cfg.resume`, continues from the run's latest checkpoint with the
 * checkpoint's config (only `maxSteps`, `backend`, `threads`, `sampleEvery`
 * and `saveEvery` are taken from `cfg`).
 */
export async function train(
  cfgIn: TrainConfig,
  opts: TrainOptions = {},
): Promise<TrainSummary> {
  const log = opts.quiet ? () => {} : (m: string) => console.log(m);
  const backend = await initBackend(cfgIn.backend, {
    threads: cfgIn.threads,
  });
  log(`backend: ${backend.name} (${backend.reason})`);
  const runDir = `${cfgIn.checkpointsDir}/${cfgIn.name}`;
  let { cfg, model, pos } = await startRun(cfgIn, runDir);
  if (cfg.resume) {
    log(`resuming ${runDir} at step ${pos.step} (epoch ${pos.epoch + 1})`);
  }
  const runLog = await openRunLog(runDir, cfg, pos.step);

  const dataroot = await resolveDataroot(cfg);
  const dataset = await openAlignedDataset({
    ...cfg,
    dataroot,
    onWarning: opts.quiet ? () => {} : undefined,
  });
  const samples = await fixedSamples(cfg, dataroot);
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
  let final: StepLosses | null = null;
  const snapshot = async () => {
    await writeSamples(runDir, model.G, samples, pos.step);
    const rate = (pos.step - startStep) / Math.max(seconds(), 1e-9);
    const epoch = Math.min(pos.epoch + 1, epochs);
    await runLog.page(
      `step ${pos.step} / ${lastStep}, epoch ${epoch} / ${epochs}, ` +
        `${rate.toFixed(2)} steps/s, lr ${pos.lr.toExponential(3)}`,
    );
  };
  const save = () =>
    saveCheckpoint(`${runDir}/checkpoints`, {
      ...pos,
      config: cfg,
      G: model.G,
      D: model.D,
      optimizerG: model.optimizerG,
      optimizerD: model.optimizerD,
    });

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
      final = model.trainStep(batch, pos.step);
      disposeBatch(batch);
      pos = { ...pos, step: pos.step + 1, epoch, batchInEpoch: b };
      await runLog.append({
        step: pos.step,
        epoch,
        lr: pos.lr,
        ...final,
        seconds: seconds(),
      });
      progress?.update(pos.step, epoch, final);
      await opts.onStep?.({
        step: pos.step,
        lastStep,
        epoch,
        lr: pos.lr,
        losses: final,
        seconds: seconds(),
        samples: () => sampleGrid(model.G, samples),
      });
      if (cfg.sampleEvery > 0 && pos.step % cfg.sampleEvery === 0) {
        await snapshot();
      }
      if (cfg.saveEvery > 0 && pos.step % cfg.saveEvery === 0) await save();
      if (pos.step >= lastStep) {
        epochDone = b === stepsPerEpoch;
        break;
      }
    }
    if (epochDone) pos = { ...pos, epoch: ++epoch, batchInEpoch: 0 };
    await save();
  }
  progress?.stop();
  await snapshot();
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
  };
}

/**
 * The config, model and position a run starts from: a fresh model (and the
 * run folder's old outputs removed), or, with `cfg.resume`, the latest
 * checkpoint with its config and `RUN_CONTROL_FIELDS` from `cfgIn`.
 */
async function startRun(
  cfgIn: TrainConfig,
  runDir: string,
): Promise<{ cfg: TrainConfig; model: Pix2Pix; pos: TrainingPosition }> {
  const ckptDir = `${runDir}/checkpoints`;
  if (!cfgIn.resume) {
    for (const old of ["checkpoints", "samples", "loss_log.jsonl"]) {
      await Deno.remove(`${runDir}/${old}`, { recursive: true }).catch(
        () => {},
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
  if (!(await Deno.stat(`${ckptDir}/latest`).catch(() => null))) {
    throw new CheckpointError(
      `--resume: run "${cfgIn.name}" has no checkpoint (${ckptDir}/latest not found); check --name and --checkpoints-dir, or train without --resume`,
      { field: "resume", file: `${ckptDir}/latest` },
    );
  }
  const ckpt = await loadCheckpoint(ckptDir);
  const cfg = { ...ckpt.config };
  for (const k of RUN_CONTROL_FIELDS) {
    (cfg as unknown as Record<string, unknown>)[k] = cfgIn[k];
  }
  const { step, epoch, batchInEpoch, lr, rng } = ckpt;
  return {
    cfg,
    model: await Pix2Pix.fromCheckpoint(ckpt, cfg),
    pos: { step, epoch, batchInEpoch, lr, rng },
  };
}

/** The run folder's record of training: `loss_log.jsonl` and `index.html`. */
interface RunLog {
  /** Appends one step's record to the log (file and memory). */
  append(record: StepRecord): Promise<void>;
  /** Rewrites `index.html` with the curves so far, the latest samples and `status`. */
  page(status: string): Promise<void>;
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
  await Deno.writeTextFile(
    `${runDir}/config.json`,
    JSON.stringify(cfg, null, 2) + "\n",
  );
  const text = await Deno.readTextFile(logPath).catch(() => "");
  const records = text.split("\n").filter((l) => l.trim()).map((l) =>
    JSON.parse(l) as StepRecord
  ).filter((r) => r.step <= step);
  await Deno.writeTextFile(
    logPath,
    records.map((r) => JSON.stringify(r) + "\n").join(""),
  );
  return {
    async append(record) {
      records.push(record);
      await Deno.writeTextFile(logPath, JSON.stringify(record) + "\n", {
        append: true,
      });
    },
    page: (status) =>
      writeRunPage(runDir, {
        name: cfg.name,
        config: cfg,
        records,
        latestSample: "samples/latest.png",
        status,
      }),
  };
}

function disposeBatch(batch: Batch): void {
  tf.dispose([batch.input, batch.target]);
}

/** The first few pairs of the split, without jitter: the rows of every sample grid. */
async function fixedSamples(
  cfg: TrainConfig,
  dataroot: string,
): Promise<TrainBatch> {
  const ds = await openAlignedDataset({
    ...cfg,
    dataroot,
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
