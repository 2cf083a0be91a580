/**
 * The one configuration object of a pix2pix run.
 *
 * `TrainConfig` goes from the CLI (`cli/train.ts`, via `cli/train_flags.ts`) to the
 * trainer (`lib/train.ts`) and from there to the models (`lib/unet.ts`,
 * `lib/patchgan.ts`), the data pipeline (`lib/data.ts`) and the checkpoint
 * (`lib/checkpoint.ts`), which stores it beside the weights. Field names follow
 * the reference PyTorch implementation's options (camelCased), and defaults are
 * the reference's defaults for pix2pix.
 *
 * @module
 */
import { ConfigError } from "./errors.ts";

/** Normalisation layers after a convolution: the reference's `--norm`. */
export const NORMS = ["batch", "instance", "none"] as const;
/** One of {@link NORMS}. */
export type Norm = typeof NORMS[number];

/** Generator architectures: U-Net (with skips) or the same layers without skips. */
export const GENERATOR_ARCHS = ["unet", "encoder_decoder"] as const;
/** One of {@link GENERATOR_ARCHS}. */
export type GeneratorArch = typeof GENERATOR_ARCHS[number];

/**
 * Discriminator architecture, in the reference's spelling (`--netD`):
 * `basic` is the 70x70 PatchGAN (`n_layers` with 3 layers), `n_layers` uses
 * `nLayersD`, `pixel` is the 1x1 PixelGAN.
 */
export const DISCRIMINATOR_ARCHS = ["basic", "n_layers", "pixel"] as const;
/** One of {@link DISCRIMINATOR_ARCHS}. */
export type DiscriminatorArch = typeof DISCRIMINATOR_ARCHS[number];

/**
 * The training objective (paper, Table 1). `gan` uses an unconditional
 * discriminator that sees only the output; `cgan` a conditional one that sees
 * input and output concatenated (6 channels).
 */
export const OBJECTIVES = ["l1", "gan", "cgan", "l1+gan", "l1+cgan"] as const;
/** One of {@link OBJECTIVES}. */
export type Objective = typeof OBJECTIVES[number];

/** GAN loss forms: `vanilla` is BCE on logits (the paper), `lsgan` least squares. */
export const GAN_MODES = ["vanilla", "lsgan"] as const;
/** One of {@link GAN_MODES}. */
export type GanMode = typeof GAN_MODES[number];

/** Compute backend choices; see `lib/runtime/backend.ts`. */
export const BACKENDS = [
  "auto",
  "native",
  "wasm",
  "webgpu",
  "cpu",
  "tensorflow",
] as const;
/** One of {@link BACKENDS}. */
export type BackendName = typeof BACKENDS[number];

/** Which side of an aligned A|B image is the input. Facades is `BtoA`. */
export const DIRECTIONS = ["AtoB", "BtoA"] as const;
/** One of {@link DIRECTIONS}. */
export type Direction = typeof DIRECTIONS[number];

/** The reference's `--preprocess` choices. */
export const PREPROCESS_MODES = [
  "resize_and_crop",
  "crop",
  "scale_width",
  "scale_width_and_crop",
  "none",
] as const;
/** One of {@link PREPROCESS_MODES}. */
export type Preprocess = typeof PREPROCESS_MODES[number];

/**
 * The preprocess modes that resize to `loadSize` and then random-crop to
 * `cropSize`, so `cropSize` must not exceed `loadSize`. (`crop` crops the
 * image at its own size, whatever `loadSize` says.)
 */
export const LOAD_THEN_CROP: readonly Preprocess[] = [
  "resize_and_crop",
  "scale_width_and_crop",
];

/**
 * Where validation pairs come from (`--val-source`): `folder` is
 * `<dataroot>/val/`; `slice` holds out a seeded `valFraction` of the training
 * split (left out of training); `auto` is `folder` when it exists, else
 * `slice`; `none` skips validation. A run records the resolved choice.
 */
export const VAL_SOURCES = ["auto", "folder", "slice", "none"] as const;
/** One of {@link VAL_SOURCES}. */
export type ValSource = typeof VAL_SOURCES[number];

/** Everything a training run needs. One flat object, as the reference's `opt`. */
export interface TrainConfig {
  /** Run name; outputs go to `${checkpointsDir}/${name}`. */
  name: string;
  /** Parent folder of run folders. */
  checkpointsDir: string;
  /** Aligned dataset root (with `train/`, `test/`...); `null` = embedded synthetic default. */
  dataroot: string | null;
  /** Split to train on. */
  phase: string;
  direction: Direction;
  preprocess: Preprocess;
  /** Resize target before cropping, pixels. */
  loadSize: number;
  /** Crop size = network input size, pixels. */
  cropSize: number;
  /** Disable random horizontal flips. */
  noFlip: boolean;
  batchSize: number;
  /** Input image channels (3 for RGB). */
  inputNc: number;
  /** Output image channels. */
  outputNc: number;
  /** Generator, e.g. `unet_256`, `unet_128`, `encoder_decoder_256`. */
  netG: string;
  netD: DiscriminatorArch;
  /** Layers of the `n_layers` discriminator (1 → 16x16, 3 → 70x70, 5 → 286x286). */
  nLayersD: number;
  /** Generator filters in the first conv layer. */
  ngf: number;
  /** Discriminator filters in the first conv layer. */
  ndf: number;
  norm: Norm;
  /** Turn off the generator's dropout entirely. */
  noDropout: boolean;
  loss: Objective;
  ganMode: GanMode;
  /** Weight of the L1 term (lambda). */
  lambdaL1: number;
  /** Adam learning rate. */
  lr: number;
  beta1: number;
  beta2: number;
  /** Epochs at the initial learning rate. */
  epochs: number;
  /** Epochs of linear decay to zero after `epochs`. */
  epochsDecay: number;
  /** Seed for weight init, dropout and data order. */
  seed: number;
  backend: BackendName;
  /**
   * CPU threads: on `native`, the BLAS library's threads; on wasm, more
   * than 1 uses tfjs's threaded SIMD wasm build
   * (`lib/runtime/kernels/wasm_threads.ts`). Other backends ignore it.
   */
  threads: number;
  /** Write a sample grid every this many steps (0 = never). */
  sampleEvery: number;
  /** Save a checkpoint every this many steps (0 = only at epoch ends). */
  saveEvery: number;
  /** Continue from the last checkpoint of this run. */
  resume: boolean;
  /** Replace an existing run of the same name (without it, training over one is refused). */
  overwrite: boolean;
  /** Stop after this many steps in total (0 = run the whole schedule). */
  maxSteps: number;
  /** Pairs in the embedded synthetic dataset when `dataroot` is null. */
  synthCount: number;
  /** Validation pairs' source; a run's saved config holds the resolved one (never `auto`). */
  valSource: ValSource;
  /** Share of the training split held out for validation with `valSource: "slice"`. */
  valFraction: number;
}

/** The reference implementation's pix2pix defaults. */
export const DEFAULT_CONFIG: Readonly<TrainConfig> = Object.freeze({
  name: "pix2pix",
  checkpointsDir: "runs",
  dataroot: null,
  phase: "train",
  direction: "AtoB",
  preprocess: "resize_and_crop",
  loadSize: 286,
  cropSize: 256,
  noFlip: false,
  batchSize: 1,
  inputNc: 3,
  outputNc: 3,
  netG: "unet_256",
  netD: "basic",
  nLayersD: 3,
  ngf: 64,
  ndf: 64,
  norm: "batch",
  noDropout: false,
  loss: "l1+cgan",
  ganMode: "vanilla",
  lambdaL1: 100,
  lr: 2e-4,
  beta1: 0.5,
  beta2: 0.999,
  epochs: 100,
  epochsDecay: 100,
  seed: 0,
  backend: "auto",
  threads: 1,
  sampleEvery: 100,
  saveEvery: 0,
  resume: false,
  overwrite: false,
  maxSteps: 0,
  synthCount: 200,
  valSource: "auto",
  valFraction: 0.1,
});

/**
 * One line per config field: what it does, for help texts (the CLI's
 * `--help` prints it beside the flag, its allowed values and its default).
 */
export const CONFIG_FIELD_HELP: Readonly<Record<keyof TrainConfig, string>> = {
  name: "run name; outputs go to <checkpointsDir>/<name>",
  checkpointsDir: "parent folder of run folders",
  dataroot:
    "aligned A|B dataset root (train/, test/...); null: the embedded synthetic set",
  phase: "split folder to train on",
  direction: "which half of each A|B image is the input",
  preprocess: "how images are resized and cropped (the reference's modes)",
  loadSize: "resize target before cropping, pixels",
  cropSize: "crop size = network input size, pixels",
  noFlip: "no random horizontal flips",
  batchSize: "pairs per training step",
  inputNc: "input image channels",
  outputNc: "output image channels",
  netG:
    "generator: unet_N or encoder_decoder_N (N = image size, a power of two)",
  netD: "discriminator: basic (70x70 PatchGAN), n_layers, pixel (1x1)",
  nLayersD: "stride-2 layers of n_layers (1: 16x16, 3: 70x70, 5: 286x286)",
  ngf: "generator filters in the first conv layer",
  ndf: "discriminator filters in the first conv layer",
  norm: "normalisation after each convolution",
  noDropout: "no dropout in the generator",
  loss: "training objective (paper, Table 1)",
  ganMode: "GAN loss: vanilla (BCE on logits, the paper) or least squares",
  lambdaL1: "weight of the L1 term",
  lr: "Adam learning rate",
  beta1: "Adam beta1",
  beta2: "Adam beta2",
  epochs: "epochs at the initial learning rate",
  epochsDecay: "epochs of linear decay to zero after them",
  seed: "seed of weight init, dropout and data order",
  backend: "compute backend (auto picks the fastest available)",
  threads: "CPU threads (native: BLAS threads; wasm: threaded SIMD build)",
  sampleEvery: "write a sample grid every this many steps (0: never)",
  saveEvery: "save a checkpoint every this many steps (0: at epoch ends)",
  resume: "continue from this run's last checkpoint",
  overwrite:
    "replace an existing run of the same name (else training over it is refused)",
  maxSteps: "stop after this many steps in total (0: the whole schedule)",
  synthCount: "pairs in the embedded synthetic set (when dataroot is null)",
  valSource:
    "validation pairs: folder (<dataroot>/val), slice (held out of train), auto (folder if present, else slice), none",
  valFraction: "share of the training split held out when valSource is slice",
};

/** Allowed values of the enum-typed config fields (the CLI's validation and help use them). */
export const ENUMS: Readonly<
  Partial<Record<keyof TrainConfig, readonly string[]>>
> = {
  direction: DIRECTIONS,
  preprocess: PREPROCESS_MODES,
  netD: DISCRIMINATOR_ARCHS,
  norm: NORMS,
  loss: OBJECTIVES,
  ganMode: GAN_MODES,
  backend: BACKENDS,
  valSource: VAL_SOURCES,
};

/** Smallest depth the reference's U-Net allows (its fixed outer four levels plus the innermost). */
export const MIN_DOWNS = 5;

/**
 * Parses a generator name: `unet_256` → U-Net with 8 downs,
 * `encoder_decoder_128` (or `encdec_128`) → 7 downs without skips.
 * Throws an error naming the value when it is not of that form.
 */
export function parseNetG(
  netG: string,
): { arch: GeneratorArch; numDowns: number } {
  const m = /^(unet|encoder_decoder|encdec)_(\d+)$/.exec(netG);
  const size = m ? Number(m[2]) : NaN;
  const numDowns = Math.log2(size);
  if (!m || !Number.isInteger(numDowns) || numDowns < MIN_DOWNS) {
    throw new ConfigError(
      "netG",
      `netG: '${netG}' is not a generator; use unet_N or encoder_decoder_N with N a power of two >= ${
        2 ** MIN_DOWNS
      } (e.g. unet_256, unet_128)`,
    );
  }
  return { arch: m[1] === "unet" ? "unet" : "encoder_decoder", numDowns };
}

/**
 * The multiple of which a generator's input sides must be: 2^numDowns
 * (`unet_256`: 256). `--preprocess none` rounds images to it.
 */
export function sizeMultiple(netG: string): number {
  return 2 ** parseNetG(netG).numDowns;
}

/**
 * Checks relations between fields; throws a `ConfigError` naming the field.
 * Exported so that configs built in code (tests, ablations) get the same
 * checks as the command line.
 */
export function validateConfig(cfg: TrainConfig): TrainConfig {
  if (
    cfg.cropSize > cfg.loadSize &&
    LOAD_THEN_CROP.includes(cfg.preprocess)
  ) {
    throw new ConfigError(
      "cropSize",
      `cropSize ${cfg.cropSize} is larger than loadSize ${cfg.loadSize}`,
    );
  }
  const gSize = sizeMultiple(cfg.netG);
  if (cfg.cropSize % gSize !== 0) {
    throw new ConfigError(
      "cropSize",
      `cropSize ${cfg.cropSize} is not a multiple of ${gSize}, which netG ${cfg.netG} needs`,
    );
  }
  if (cfg.lr <= 0) {
    throw new ConfigError("lr", `lr must be > 0, got ${cfg.lr}`);
  }
  for (const b of ["beta1", "beta2"] as const) {
    if (!(cfg[b] >= 0 && cfg[b] < 1)) {
      throw new ConfigError(b, `${b} must be in [0, 1), got ${cfg[b]}`);
    }
  }
  if (cfg.lambdaL1 < 0) {
    throw new ConfigError(
      "lambdaL1",
      `lambdaL1 must be >= 0, got ${cfg.lambdaL1}`,
    );
  }
  if (!(cfg.valFraction >= 0 && cfg.valFraction <= 0.5)) {
    throw new ConfigError(
      "valFraction",
      `valFraction must be in [0, 0.5], got ${cfg.valFraction}`,
    );
  }
  if (cfg.epochs + cfg.epochsDecay < 1) {
    throw new ConfigError(
      "epochs",
      "epochs + epochsDecay must be at least 1",
    );
  }
  checkThreads(cfg.threads, cfg.backend);
  return cfg;
}

/**
 * Checks `--threads` (CPU threads, see {@link TrainConfig.threads}): an
 * integer >= 1, and more than 1 only with `--backend native`, `wasm` or
 * `auto`.
 *
 * @throws ConfigError naming the field otherwise
 */
export function checkThreads(threads: number, backend: BackendName): void {
  if (!Number.isInteger(threads) || threads < 1) {
    throw new ConfigError(
      "threads",
      `threads must be an integer >= 1, got ${threads}`,
    );
  }
  if (threads > 1 && !["native", "wasm", "auto"].includes(backend)) {
    throw new ConfigError(
      "threads",
      `threads ${threads} needs backend native, wasm or auto (the CPU backends), got backend ${backend}`,
    );
  }
}
