/**
 * Command-line flags of `deno task train` → `TrainConfig`.
 *
 * Every `TrainConfig` field is a kebab-case flag (`lambdaL1` → `--lambda-l1`),
 * and the reference PyTorch implementation's spellings (`--netG`,
 * `--lambda_L1`, `--n_epochs`...) are accepted too, so commands from its
 * documentation work. Values are layered: defaults ← `--preset` ←
 * `--config file.json` ← flags.
 *
 * @module
 */

import { parseArgs } from "node:util";
import { flagName, UserError } from "./common.ts";
import {
  CONFIG_FIELD_HELP,
  DEFAULT_CONFIG,
  ENUMS,
  type TrainConfig,
  validateConfig,
} from "../lib/config.ts";

/** Name of a preset (`--preset`). */
export type PresetName = "smoke" | "cpu64" | "cpu256" | "paper";

/**
 * Named partial configs.
 *
 * - `smoke`: a check that the whole pipeline runs and learns in one to two
 *   minutes on 2 cores, on the embedded synthetic data: 72 → 64 crops, a
 *   `unet_64` (the smallest U-Net with a dropout block) with ngf/ndf 16,
 *   2 + 2 epochs of 64 synthetic pairs (256 steps, measured 49 s on a quiet
 *   machine, about twice that under load).
 *   `deno task train` with no `--preset`, `--config` or `--dataroot` uses it
 *   (see {@link ParseTrainOptions.syntheticPreset}).
 * - `cpu64`: a 64 px run that teaches on 2 CPU cores (wasm backend, one thread) in
 *   about two hours on facades (400 pairs, labels → photo). Measured
 *   `Pix2Pix.trainStep` times, wasm, batch 1, U-Net + 70x70 PatchGAN, on the
 *   shared 2-core build machine (min-median of a few steps): 64px ngf/ndf 16
 *   0.26-0.43 s, 64px ngf/ndf 32 0.76-0.94 s, 128px ngf/ndf 32 2.1-2.2 s,
 *   256px ngf/ndf 64 (the paper's) 6.9-16 s (26 s under heavy load) with
 *   the wasm heap at 3.97 GB of wasm32's 4 GB; the paper's 200 epochs at
 *   256px would take weeks. 64px with ngf/ndf 32 costs 4-5 min per facades
 *   epoch in a real run (400 steps in 245 s, data loading included), so
 *   10 + 10 epochs (8000 steps, ~1.4-1.7 h) fit the budget with the paper's
 *   objective, optimiser, lambda and batch size 1 unchanged; 128px would
 *   leave ~8 epochs. Resize 72 → random crop 64 keeps the paper's jitter
 *   ratio (286 → 256). With the native backend (one BLAS thread) the same
 *   8000 steps later took 784 s on facades.
 * - `cpu256`: the paper's resolution and networks (unet_256, 70x70 PatchGAN,
 *   286 → 256 jitter, batch 1) at half width, ngf/ndf 32, 12 + 12 epochs
 *   (9600 steps), native backend with one BLAS thread so that the second
 *   core stays free (for the FCN segmenter's training, say). Measured with
 *   `deno task bench --backend native --sizes 256` on the quiet 2-core
 *   machine: ngf/ndf 32 489 ms per step on 1 thread (426 ms on 2), the
 *   paper's ngf/ndf 64 1073 ms on 2 threads. Width 32 buys 2.5x the epochs
 *   of width 64 in the same ~1.5-2 h: 24 epochs instead of ~9 with one
 *   thread, and quality on facades grows with epochs far more than with
 *   width at this budget.
 * - `paper`: the reference defaults (unet_256, 70x70 PatchGAN, 286 → 256
 *   jitter, 100 + 100 epochs).
 */
export const PRESETS: Readonly<Record<PresetName, Partial<TrainConfig>>> = {
  smoke: {
    name: "smoke",
    direction: "BtoA",
    loadSize: 72,
    cropSize: 64,
    netG: "unet_64",
    ngf: 16,
    ndf: 16,
    epochs: 2,
    epochsDecay: 2,
    synthCount: 64,
    sampleEvery: 32,
  },
  cpu64: {
    name: "cpu64",
    direction: "BtoA",
    loadSize: 72,
    cropSize: 64,
    netG: "unet_64",
    ngf: 32,
    ndf: 32,
    epochs: 10,
    epochsDecay: 10,
    sampleEvery: 200,
  },
  cpu256: {
    name: "cpu256",
    direction: "BtoA",
    loadSize: 286,
    cropSize: 256,
    netG: "unet_256",
    ngf: 32,
    ndf: 32,
    epochs: 12,
    epochsDecay: 12,
    backend: "native",
    threads: 1,
    sampleEvery: 400,
  },
  paper: {},
};

/** Fields that must be integers, and their minimum. */
const INTEGERS: Partial<Record<keyof TrainConfig, number>> = {
  loadSize: 1,
  cropSize: 1,
  batchSize: 1,
  inputNc: 1,
  outputNc: 1,
  nLayersD: 1,
  ngf: 1,
  ndf: 1,
  epochs: 0,
  epochsDecay: 0,
  seed: 0,
  threads: 1,
  sampleEvery: 0,
  saveEvery: 0,
  maxSteps: 0,
  synthCount: 1,
};

/** The reference implementation's flag spellings → config field. */
const REFERENCE_ALIASES: Readonly<Record<string, keyof TrainConfig>> = {
  netG: "netG",
  netD: "netD",
  n_layers_D: "nLayersD",
  lambda_L1: "lambdaL1",
  n_epochs: "epochs",
  n_epochs_decay: "epochsDecay",
  batch_size: "batchSize",
  load_size: "loadSize",
  crop_size: "cropSize",
  gan_mode: "ganMode",
  no_flip: "noFlip",
  checkpoints_dir: "checkpointsDir",
  no_dropout: "noDropout",
  input_nc: "inputNc",
  output_nc: "outputNc",
  continue_train: "resume",
};

const FIELDS = Object.keys(DEFAULT_CONFIG) as (keyof TrainConfig)[];

/** Flag name (without `--`) → config field, for every accepted spelling. */
const FLAG_TO_FIELD: ReadonlyMap<string, keyof TrainConfig> = new Map([
  ...FIELDS.map((f) => [flagName(f), f] as const),
  ...Object.entries(REFERENCE_ALIASES),
]);

/** Is this field a boolean switch (takes no value)? */
function isBoolean(field: keyof TrainConfig): boolean {
  return typeof DEFAULT_CONFIG[field] === "boolean";
}

/** The `--help` text of `deno task train`. */
export function trainHelp(): string {
  const lines = FIELDS.map((f) => {
    const spelling = [...FLAG_TO_FIELD].filter(([, v]) => v === f).map((
      [k],
    ) => "--" + k);
    const values = ENUMS[f] ? ` {${ENUMS[f]!.join("|")}}` : "";
    const def = isBoolean(f)
      ? " (switch, default off)"
      : ` (default ${JSON.stringify(DEFAULT_CONFIG[f])})`;
    return `  ${spelling.join(", ")}${values}${def}\n      ${
      CONFIG_FIELD_HELP[f]
    }`;
  });
  return [
    `Usage: deno task train [--preset ${
      Object.keys(PRESETS).join("|")
    }] [--config file.json] [flags]`,
    "",
    "Trains pix2pix (Isola et al. 2017). Without --dataroot it trains on the",
    "embedded synthetic dataset; without --preset, --config and --dataroot it",
    "uses the `smoke` preset (otherwise the reference's defaults).",
    "Values: defaults < --preset < --config < flags.",
    "",
    "  --help, -h",
    "      show this text",
    `  --preset {${Object.keys(PRESETS).join("|")}} (default: smoke without`,
    "      --config and --dataroot, else none) named settings under the flags",
    "  --config FILE (default none)",
    "      JSON object of TrainConfig fields (camelCase), under the flags",
    "  --model {pix2pix} (default pix2pix)",
    "      accepted for the reference's commands",
    ...lines,
  ].join("\n");
}

/** Parses and validates one flag value for `field`. */
function parseValue(
  field: keyof TrainConfig,
  raw: string | boolean,
  where: string,
): TrainConfig[keyof TrainConfig] {
  const def = DEFAULT_CONFIG[field];
  if (typeof def === "boolean") {
    if (typeof raw === "boolean") return raw;
    throw new UserError(`${where}: expected true or false, got ${raw}`);
  }
  if (typeof def === "number") {
    const n = typeof raw === "number" ? raw : Number(raw);
    if (typeof raw === "boolean" || raw === "" || !Number.isFinite(n)) {
      throw new UserError(`${where}: expected a number, got "${raw}"`);
    }
    const min = INTEGERS[field];
    if (min !== undefined && (!Number.isInteger(n) || n < min)) {
      throw new UserError(
        `${where}: expected an integer >= ${min}, got "${raw}"`,
      );
    }
    return n;
  }
  if (typeof raw !== "string") {
    throw new UserError(`${where}: expected a string value`);
  }
  const allowed = ENUMS[field];
  if (allowed && !allowed.includes(raw)) {
    throw new UserError(
      `${where}: "${raw}" is not one of ${allowed.join(", ")}`,
    );
  }
  return raw;
}

/** Reads `--config file.json` into a validated partial config. */
function readConfigFile(path: string): Partial<TrainConfig> {
  let text: string;
  try {
    text = Deno.readTextFileSync(path);
  } catch (e) {
    throw new UserError(
      `--config ${path}: cannot read (${(e as Error).message})`,
    );
  }
  let obj: unknown;
  try {
    obj = JSON.parse(text);
  } catch (e) {
    throw new UserError(
      `--config ${path}: not valid JSON (${(e as Error).message})`,
    );
  }
  if (typeof obj !== "object" || obj === null || Array.isArray(obj)) {
    throw new UserError(`--config ${path}: expected a JSON object`);
  }
  const out: Record<string, unknown> = {};
  for (const [key, value] of Object.entries(obj)) {
    if (!(key in DEFAULT_CONFIG)) {
      throw new UserError(`--config ${path}: unknown field "${key}"`);
    }
    const field = key as keyof TrainConfig;
    out[field] = field === "dataroot" && value === null ? null : parseValue(
      field,
      value as string | boolean,
      `--config ${path}: ${key}`,
    );
  }
  return out as Partial<TrainConfig>;
}

/** Does this command line ask for the help text (`--help` or `-h`)? */
export function wantsHelp(argv: string[]): boolean {
  return argv.includes("--help") || argv.includes("-h");
}

/** Options of {@link parseTrainArgs}. */
export interface ParseTrainOptions {
  /**
   * Preset used when the command line has no `--preset`, `--config` or
   * `--dataroot`, i.e. for a run on the embedded synthetic data (default:
   * none, the reference defaults). `deno task train` passes `smoke`.
   */
  syntheticPreset?: PresetName;
}

/**
 * Parses `deno task train` arguments into a validated config (check
 * `wantsHelp(argv)` first); throws `UserError` (message names the flag) for
 * unknown flags, bad numbers, bad enum values, crop > load, or a generator
 * whose size is not a power of two or does not divide the crop size.
 */
export function parseTrainArgs(
  argv: string[],
  opts: ParseTrainOptions = {},
): TrainConfig {
  return parseTrainCommand(argv, opts).config;
}

/**
 * {@link parseTrainArgs}, plus the fields the user chose: those of the
 * flags, of `--config` and of a named `--preset` (what `--resume` compares
 * with the run's checkpoint).
 */
export function parseTrainCommand(
  argv: string[],
  opts: ParseTrainOptions = {},
): { config: TrainConfig; given: (keyof TrainConfig)[] } {
  const options: Record<string, { type: "string" | "boolean" }> = {
    preset: { type: "string" },
    config: { type: "string" },
    model: { type: "string" },
  };
  for (const [flag, field] of FLAG_TO_FIELD) {
    options[flag] = { type: isBoolean(field) ? "boolean" : "string" };
  }
  let values: Record<string, string | boolean | undefined>;
  try {
    ({ values } = parseArgs({
      args: argv,
      options,
      strict: true,
      allowPositionals: false,
    }));
  } catch (e) {
    throw new UserError(
      `${(e as Error).message} (see deno task train --help)`,
    );
  }
  if (values.model !== undefined && values.model !== "pix2pix") {
    throw new UserError(
      `--model ${values.model}: only pix2pix is implemented`,
    );
  }
  const presetName = values.preset as string | undefined;
  if (presetName === "cpu") {
    throw new UserError(
      "--preset cpu is now --preset cpu64 (64 px, ngf/ndf 32); deno task ablate's 128 px grid is its --preset cpu128",
    );
  }
  if (presetName !== undefined && !(presetName in PRESETS)) {
    throw new UserError(
      `--preset "${presetName}" is not one of ${
        Object.keys(PRESETS).join(", ")
      }`,
    );
  }
  const fromFile = values.config !== undefined
    ? readConfigFile(values.config as string)
    : {};
  const fromFlags: Record<string, unknown> = {};
  for (const [flag, raw] of Object.entries(values)) {
    const field = FLAG_TO_FIELD.get(flag);
    if (field === undefined || raw === undefined) continue;
    fromFlags[field] = parseValue(field, raw, `--${flag}`);
  }
  const synthetic = presetName === undefined &&
    values.config === undefined && fromFlags.dataroot === undefined;
  const preset = PRESETS[
    (presetName ?? (synthetic ? opts.syntheticPreset : undefined) ??
      "paper") as PresetName
  ];
  const chosen = { ...(presetName ? preset : {}), ...fromFile, ...fromFlags };
  return {
    config: validateConfig(
      { ...DEFAULT_CONFIG, ...preset, ...chosen } as TrainConfig,
    ),
    given: Object.keys(chosen) as (keyof TrainConfig)[],
  };
}
