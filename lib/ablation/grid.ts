/**
 * The paper's ablation grid (Tables 1-3) as data: studies, their rows
 * (variants), the distinct training runs they share, the presets, and the
 * record a finished run leaves (`done.json`). No training here: the runner is
 * `run.ts`, the tables `report.ts`, the committable copy `publish.ts`; all
 * three import this module and none imports another's importer, so the
 * folder has no import cycle.
 *
 * A *study* is one paper table; each table row is a *variant* (objective,
 * generator, discriminator). Variants with the same training config (e.g.
 * Table 1's L1+cGAN, Table 2's U-Net (L1+cGAN) and Table 3's 70x70) share one
 * *run*, so the full grid is 10 runs for 13 rows.
 *
 * @module
 */
import { ConfigError } from "../errors.ts";
import type {
  DiscriminatorArch,
  GeneratorArch,
  Objective,
  TrainConfig,
} from "../config.ts";
import type { EvalReport } from "../eval/evaluate.ts";
import type { PaperTable } from "../eval/paper.ts";
import {
  DEFAULT_SEGMENTER_CONFIG,
  type SegmenterConfig,
} from "../eval/segmenter.ts";
import {
  discriminatorOutputSize,
  type DiscriminatorSpec,
  receptiveField,
} from "../patchgan.ts";

/** A study = one of the paper's ablation tables. */
export type StudyName = PaperTable["study"];

/** All studies, in the paper's order. */
export const STUDIES: readonly StudyName[] = [
  "objective",
  "generator",
  "discriminator",
];

/** What a variant changes relative to the preset's base config. */
export interface VariantSpec {
  loss: Objective;
  generator: GeneratorArch;
  netD: DiscriminatorArch;
  /** Stride-2 layers of an `n_layers` discriminator. */
  nLayersD: number;
}

/** One row of a study: a paper-table row and the run that answers it. */
export interface Variant {
  study: StudyName;
  /** Row id in `lib/eval/paper.ts` (e.g. `l1+cgan`, `encdec-l1`, `d286`). */
  paperId: string;
  /** Row label, e.g. `U-Net (L1+cGAN)`. */
  label: string;
  spec: VariantSpec;
  /** Id (and folder name) of the run that trains this variant. */
  runId: string;
  /** Why this row's set-up differs from the paper's at this size, if it does. */
  note?: string;
}

/** One training run of the grid (shared by the variants with its spec). */
export interface GridRun {
  /** Stable id: `<study>-<row>` of the first row that uses it, `[a-z0-9-]`. */
  id: string;
  spec: VariantSpec;
  /** Every row (`<study>/<paperId>`) it answers. */
  rows: string[];
}

/** The grid at one image size: rows per study and the distinct runs. */
export interface Grid {
  /** Image (crop) size, pixels. */
  size: number;
  variants: Variant[];
  runs: GridRun[];
}

/** Name of an ablation preset (`--preset`). */
export type AblatePresetName =
  | "ci"
  | "cpu128"
  | "cpu128-ngf32"
  | "cpu256"
  | "paper";

/** How an ablation preset trains and scores. */
export interface AblatePreset {
  /** Image (crop) size, pixels; a power of two >= 32. */
  size: number;
  /** Resize before the random crop (the paper: 286 for 256). */
  loadSize: number;
  ngf: number;
  ndf: number;
  /** Epochs at the initial learning rate. */
  epochs: number;
  /** Epochs of linear decay. */
  epochsDecay: number;
  /** Stop each run after this many steps (0 = the whole schedule). */
  maxSteps: number;
  /** Checkpoint every this many steps (0 = epoch ends only). */
  saveEvery: number;
  /** Sample grid and run page every this many steps (0 = at the end only). */
  sampleEvery: number;
  /** Test images translated and scored per run (0 = the whole test split). */
  numTest: number;
  /**
   * Training seeds per run (`--seeds`): seeds 0 .. seeds-1, each its own
   * folder ({@link runFolder}); the tables give the spread over seeds and
   * test images (`lib/ablation/spread.ts`).
   */
  seeds: number;
  /**
   * The FCN-score segmenter's training (`lib/eval/segmenter.ts`); its input size
   * is always the grid's `size`, its depth log2(size).
   */
  segmenter: Pick<
    SegmenterConfig,
    "ngf" | "epochs" | "epochsDecay" | "maxTrain"
  >;
}

/** The default segmenter's training (`DEFAULT_SEGMENTER_CONFIG`), at the grid's size. */
const DEFAULT_TRAINING: AblatePreset["segmenter"] = {
  ngf: DEFAULT_SEGMENTER_CONFIG.ngf,
  epochs: DEFAULT_SEGMENTER_CONFIG.epochs,
  epochsDecay: DEFAULT_SEGMENTER_CONFIG.epochsDecay,
  maxTrain: 0,
};

/**
 * The `cpu128` preset, as the published grid (`docs/ablations/cpu128`) ran
 * it; `cpu256` is the same schedule at 256 px, twice the widths and the
 * default segmenter.
 */
const CPU128: AblatePreset = {
  size: 128,
  loadSize: 143,
  ngf: 16,
  ndf: 16,
  epochs: 6,
  epochsDecay: 6,
  maxSteps: 0,
  saveEvery: 200,
  sampleEvery: 400,
  numTest: 0,
  seeds: 2,
  // The default segmenter's schedule at ngf 16 (0.599 per-pixel on the real
  // test photos at 128 px).
  segmenter: { ngf: 16, epochs: 16, epochsDecay: 16, maxTrain: 0 },
};

/**
 * The presets. Reasoning for `cpu128` is in README.md ("Ablation presets"),
 * from `deno task bench` figures on the 2-core build machine.
 *
 * - `ci`: plumbing only (20 steps per run at 64x64, ngf/ndf 8, 8 test
 *   images; at 64x64 all four discriminators differ): about a minute, the
 *   scores mean nothing.
 * - `cpu128`: 128 px, ngf/ndf 16, 6 + 6 epochs, 2 seeds: the 20 runs and
 *   the segmenter took 4997 s (83 min) wall with `jobs: 2` on the native
 *   backend (one thread each; a 256 px segmenter trained beside them for
 *   most of it).
 * - `cpu128-ngf32`: `cpu128` with twice its widths (ngf/ndf 32, the
 *   paper's half) and one seed, its intervals over test images only; the
 *   same segmenter, so its cells compare with `cpu128`'s. The 10 runs and
 *   the segmenter took 6784 s (113 min) wall with `jobs: 2` on the native
 *   backend (a 256 px segmenter trained beside them throughout).
 * - `cpu256`: the paper's 256 px with half its widths (ngf/ndf 32), 6 + 6
 *   epochs, 2 seeds: 20 runs of 4800 steps. At the measured 440 ms a step
 *   (native, 1 thread each, two runs side by side on a quiet 2-core machine)
 *   that is 11.7 h of training, ~5.9 h wall with `jobs: 2`, plus the
 *   segmenter and scoring: ~7.1 h (README, "Ablation presets").
 * - `paper`: the paper's set-up, for a GPU: 256x256 (286 jitter), ngf/ndf
 *   64, 100 + 100 epochs, batch 1.
 */
export const ABLATE_PRESETS: Readonly<Record<AblatePresetName, AblatePreset>> =
  {
    ci: {
      size: 64,
      loadSize: 72,
      ngf: 8,
      ndf: 8,
      epochs: 1,
      epochsDecay: 0,
      maxSteps: 20,
      saveEvery: 10,
      sampleEvery: 10,
      numTest: 8,
      seeds: 1,
      segmenter: { ngf: 8, epochs: 1, epochsDecay: 0, maxTrain: 32 },
    },
    cpu128: CPU128,
    "cpu128-ngf32": { ...CPU128, ngf: 32, ndf: 32, seeds: 1 },
    cpu256: {
      ...CPU128,
      size: 256,
      loadSize: 286,
      ngf: 32,
      ndf: 32,
      segmenter: DEFAULT_TRAINING,
    },
    paper: {
      size: 256,
      loadSize: 286,
      ngf: 64,
      ndf: 64,
      epochs: 100,
      epochsDecay: 100,
      maxSteps: 0,
      saveEvery: 2000,
      sampleEvery: 2000,
      numTest: 0,
      seeds: 1,
      segmenter: DEFAULT_TRAINING,
    },
  };

/** Largest `n_layers` the paper uses (286x286 ImageGAN on 256x256). */
const IMAGE_GAN_LAYERS = 5;

/** The `n_layers` PatchGAN of depth `n` (only the geometry matters here). */
function patchGan(n: number): DiscriminatorSpec {
  return {
    arch: "n_layers",
    nLayers: n,
    ndf: 1,
    norm: "batch",
    inputNc: 6,
    seed: 0,
  };
}

/**
 * Depth of the "286x286 ImageGAN" at `size`: the deepest `n_layers`
 * discriminator, at most the paper's 5, whose output map is still at least
 * 1x1. Its receptive field covers the whole image at every size >= 32
 * (n = 5: 286 px, n = 4: 142 px, n = 3: 70 px), as the paper's does on 256x256.
 */
export function imageGanLayers(size: number): number {
  for (let n = IMAGE_GAN_LAYERS; n >= 1; n--) {
    try {
      discriminatorOutputSize(patchGan(n), size);
      return n;
    } catch {
      // too deep for this size: try one layer fewer
    }
  }
  throw new ConfigError(
    "size",
    `${size}x${size} is too small for any PatchGAN`,
  );
}

/** Lower-case `[a-z0-9-]` form of an id: `l1+cgan` → `l1-cgan`. */
export function sanitizeId(id: string): string {
  return id.toLowerCase().replace(/[^a-z0-9]+/g, "-").replace(/^-|-$/g, "");
}

type Row = Omit<Variant, "runId" | "spec"> & { spec: Partial<VariantSpec> };

/** The rows of the three studies at `size`, before runs are shared. */
function rows(size: number): Row[] {
  const objectives: [Objective, string][] = [
    ["l1", "L1"],
    ["gan", "GAN"],
    ["cgan", "cGAN"],
    ["l1+gan", "L1+GAN"],
    ["l1+cgan", "L1+cGAN"],
  ];
  const n = imageGanLayers(size);
  const imageNote = n === IMAGE_GAN_LAYERS
    ? undefined
    : `n_layers ${n} (receptive field ${
      receptiveField(patchGan(n))
    } px): the deepest PatchGAN whose output is >= 1x1 at ${size}x${size}; ` +
      "it covers the whole image, as the 286 covers 256x256";
  return [
    ...objectives.map(([loss, label]): Row => ({
      study: "objective",
      paperId: loss,
      label,
      spec: { loss },
    })),
    ...(["encoder_decoder", "unet"] as const).flatMap((g) =>
      (["l1", "l1+cgan"] as const).map((loss): Row => ({
        study: "generator",
        paperId: `${g === "unet" ? "unet" : "encdec"}-${loss}`,
        label: `${g === "unet" ? "U-Net" : "encoder-decoder"} (${
          loss === "l1" ? "L1" : "L1+cGAN"
        })`,
        spec: { loss, generator: g },
      }))
    ),
    {
      study: "discriminator",
      paperId: "d1",
      label: "1x1 (PixelGAN)",
      spec: { netD: "pixel" },
    },
    {
      study: "discriminator",
      paperId: "d16",
      label: "16x16",
      spec: { netD: "n_layers", nLayersD: 1 },
    },
    {
      study: "discriminator",
      paperId: "d70",
      label: "70x70",
      spec: { netD: "basic" },
    },
    {
      study: "discriminator",
      paperId: "d286",
      label: "286x286 (ImageGAN)",
      spec: n === 3 ? { netD: "basic" } : { netD: "n_layers", nLayersD: n },
      note: imageNote,
    },
  ];
}

/** Canonical key of a spec: equal keys train the very same network. */
function specKey(s: VariantSpec): string {
  const d = s.netD === "n_layers" && s.nLayersD === 3 ? "basic" : s.netD;
  return [
    s.loss,
    s.generator,
    s.loss === "l1" ? "-" : d,
    d === "n_layers" ? s.nLayersD : "-",
  ].join("/");
}

/**
 * The grid at `size`: every row of `studies`, and the distinct runs they
 * need. Defaults: L1+cGAN, U-Net, 70x70 PatchGAN.
 */
export function buildGrid(
  size: number,
  studies: readonly StudyName[] = STUDIES,
): Grid {
  const runs = new Map<string, GridRun>();
  const variants: Variant[] = [];
  for (const r of rows(size)) {
    if (!studies.includes(r.study)) continue;
    const spec: VariantSpec = {
      loss: "l1+cgan",
      generator: "unet",
      netD: "basic",
      nLayersD: 3,
      ...r.spec,
    };
    const key = specKey(spec);
    let run = runs.get(key);
    if (!run) {
      run = { id: sanitizeId(`${r.study}-${r.paperId}`), spec, rows: [] };
      runs.set(key, run);
    }
    run.rows.push(`${r.study}/${r.paperId}`);
    variants.push({ ...r, spec, runId: run.id });
  }
  // Shared runs take the id of the row that comes first in the whole grid,
  // so an id does not depend on which studies were asked for.
  const full = studies.length === STUDIES.length ? null : buildGrid(size);
  if (full) {
    for (const run of runs.values()) {
      const canonical = full.runs.find((f) =>
        specKey(f.spec) === specKey(run.spec)
      )!;
      for (const v of variants) if (v.runId === run.id) v.runId = canonical.id;
      run.id = canonical.id;
    }
  }
  return { size, variants, runs: [...runs.values()] };
}

/** One seed of one run: what a worker trains, in its own folder. */
export interface SeededRun {
  run: GridRun;
  seed: number;
  /** Folder name under the grid folder: {@link runFolder}. */
  folder: string;
}

/**
 * Folder (and trainer run name) of seed `seed` of run `id`: the id itself
 * for seed 0, so grids from before `--seeds` (one seed, seed 0) read and
 * resume as they are, and `<id>-seed<k>` for seed k > 0.
 */
export function runFolder(id: string, seed: number): string {
  return seed === 0 ? id : `${id}-seed${seed}`;
}

/** Seeds 0 .. seeds-1 of every run of `grid`, run by run. */
export function seededRuns(grid: Grid, seeds: number): SeededRun[] {
  return grid.runs.flatMap((run) =>
    Array.from({ length: seeds }, (_, seed) => ({
      run,
      seed,
      folder: runFolder(run.id, seed),
    }))
  );
}

/** What `done.json` holds: a finished, scored run (one seed: `config.seed`, folder `config.name`). */
export interface RunResult {
  id: string;
  spec: VariantSpec;
  /** The training config used. */
  config: TrainConfig;
  /** Training steps done. */
  steps: number;
  /** Seconds spent training, over every invocation of a resumed run. */
  train_seconds: number;
  /** Seconds spent translating and scoring the test split. */
  eval_seconds: number;
  /** Scores of the translated test split (`lib/eval/evaluate.ts`). */
  scores: EvalReport;
}

/** The preset with overrides applied, validated. */
export function resolvePreset(
  name: AblatePresetName,
  overrides: Partial<AblatePreset> = {},
): AblatePreset {
  const p = { ...ABLATE_PRESETS[name], ...overrides };
  if (!Number.isInteger(p.seeds) || p.seeds < 1) {
    throw new ConfigError("seeds", `seeds ${p.seeds} is not an integer >= 1`);
  }
  if (!Number.isInteger(Math.log2(p.size)) || p.size < 32) {
    throw new ConfigError(
      "size",
      `ablation size ${p.size} is not a power of two >= 32`,
    );
  }
  return p;
}

/**
 * The seeded runs an `--only` value names: every seed of a run id or row id
 * (`<study>-<row>`), or one seed of it, `<id>-seed<k>` (k < `seeds`).
 */
export function findSeededRuns(
  grid: Grid,
  only: string,
  seeds: number,
): SeededRun[] {
  const m = /^(.*)-seed(\d+)$/.exec(sanitizeId(only));
  const all = seededRuns(grid, seeds);
  if (!m) {
    const id = findRun(grid, only).id;
    return all.filter((u) => u.run.id === id);
  }
  const id = findRun(grid, m[1]).id;
  const one = all.find((u) => u.run.id === id && u.seed === Number(m[2]));
  if (!one) {
    throw new ConfigError(
      "only",
      `only ${only}: seed ${m[2]} is not below seeds ${seeds}`,
    );
  }
  return [one];
}

/** Finds the run an `--only` value names: a run id, a row id (`<study>-<row>`) or `segmenter`. */
export function findRun(grid: Grid, only: string): GridRun {
  const id = sanitizeId(only);
  const byRow = grid.variants.find((v) =>
    sanitizeId(`${v.study}-${v.paperId}`) === id
  );
  const run = grid.runs.find((r) => r.id === (byRow?.runId ?? id));
  if (!run) {
    throw new ConfigError(
      "only",
      `only ${only}: no such run; runs: segmenter, ${
        grid.runs.map((r) => r.id).join(", ")
      }`,
    );
  }
  return run;
}
