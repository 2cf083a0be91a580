/**
 * The paper's ablation grid (Tables 1-3) as resumable training runs.
 *
 * A *study* is one paper table; each table row is a *variant* (objective,
 * generator, discriminator). Variants with the same training config (e.g.
 * Table 1's L1+cGAN, Table 2's U-Net (L1+cGAN) and Table 3's 70x70) share one
 * *run*, so the full grid is 10 runs for 13 rows, plus the segmenter that
 * scores them (trained once per grid, at the grid's image size).
 *
 * Every run has a stable id (e.g. `objective-l1-cgan`) and its own folder
 * `<out>/<id>` (the trainer's run folder: checkpoints, loss_log.jsonl,
 * samples, index.html), plus `test/` (translated test split) and
 * `done.json`, written last. A run with `done.json` is never redone; one
 * without resumes from its latest checkpoint. So the grid survives a kill,
 * and runs can be launched one by one (`--only ID`) from a job array, with
 * `--merge` building the tables (`lib/ablate_report.ts`) from whatever runs
 * have finished.
 *
 * @module
 */

import { relative } from "node:path";
import { Worker } from "node:worker_threads";
import { checkThreads, validateConfig } from "./args.ts";
import { UserError } from "./cli.ts";
import {
  type BackendName,
  DEFAULT_CONFIG,
  type Direction,
  type DiscriminatorArch,
  type GeneratorArch,
  type Objective,
  type TrainConfig,
} from "./config.ts";
import { publishAblation } from "./ablate_publish.ts";
import {
  type ReportInput,
  type ReportRow,
  writeAblationReport,
} from "./ablate_report.ts";
import { initBackend } from "./backend.ts";
import { exists } from "./files.ts";
import { type EvalReport, evaluateResults } from "./eval.ts";
import type { PaperTable } from "./paper.ts";
import {
  discriminatorOutputSize,
  type DiscriminatorSpec,
  receptiveField,
} from "./patchgan.ts";
import {
  DEFAULT_SEGMENTER_CONFIG,
  loadSegmenter,
  type PhotoSegmenter,
  saveSegmenter,
  type SegmenterConfig,
  type SegmenterRecord,
  trainSegmenter,
} from "./segmenter.ts";
import { readLossLog, trainingSeconds } from "./report.ts";
import { train } from "./train.ts";
import { translateSplit } from "./translate.ts";

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
  /** Row id in `lib/paper.ts` (e.g. `l1+cgan`, `encdec-l1`, `d286`). */
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
export type AblatePresetName = "ci" | "cpu" | "paper";

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
   * The FCN-score segmenter's training (`lib/segmenter.ts`); its input size
   * is always the grid's `size`, its depth log2(size).
   */
  segmenter: Pick<SegmenterConfig, "ngf" | "epochs" | "maxTrain">;
}

/**
 * The presets. Reasoning for `cpu` is in README.md ("Ablation presets"),
 * from `deno task bench` figures on the 2-core build machine.
 *
 * - `ci`: plumbing only (20 steps per run at 64x64, ngf/ndf 8, 8 test
 *   images; at 64x64 all four discriminators differ): about a minute, the
 *   scores mean nothing.
 * - `cpu`: sized so that the whole grid (10 runs + segmenter) fits about 8
 *   hours on the loaded 2-core build machine (7.4 h estimated at load 6-8);
 *   measured 1.5 h wall with `jobs: 2` on a quiet one.
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
      segmenter: { ngf: 8, epochs: 1, maxTrain: 32 },
    },
    cpu: {
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
      segmenter: { ngf: 16, epochs: 10, maxTrain: 0 },
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
      segmenter: { ngf: 32, epochs: 30, maxTrain: 0 },
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
  throw new UserError(`${size}x${size} is too small for any PatchGAN`);
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

/** Options of {@link runAblation}. */
export interface AblateOptions {
  studies: StudyName[];
  preset: AblatePresetName;
  /** Aligned dataset root (train/ and test/). */
  dataroot: string;
  direction: Direction;
  /** Grid folder: one sub-folder per run, plus `segmenter/` and the tables. */
  out: string;
  backend: BackendName;
  /** Wasm threads of every run and the segmenter (`TrainConfig.threads`, default 1). */
  threads?: number;
  /** Run only this run id (or row id, e.g. `generator-unet-l1`, or `segmenter`), no tables. */
  only?: string;
  /**
   * Runs trained at once (default 1), each in its own worker
   * (`lib/ablate_worker.ts`: its own tfjs and wasm heap). On a machine with N
   * cores, N jobs of 1 thread train about twice as fast as 1 job of N
   * threads; each job holds a model, so memory grows with N.
   */
  jobs?: number;
  /** Only build the tables from the finished runs. */
  merge?: boolean;
  /**
   * After the tables, also write a committable copy of the results into this
   * folder (`lib/ablate_publish.ts`; needs Chromium for the charts).
   */
  publish?: string;
  /** Overrides of the preset's numbers (tests). */
  presetOverrides?: Partial<AblatePreset>;
  /** Progress messages (default console.log). */
  log?: (message: string) => void;
}

/** What `done.json` holds: a finished, scored run. */
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
  /** Scores of the translated test split (`lib/eval.ts`). */
  scores: EvalReport;
}

/** The preset with overrides applied, validated. */
export function resolvePreset(
  name: AblatePresetName,
  overrides: Partial<AblatePreset> = {},
): AblatePreset {
  const p = { ...ABLATE_PRESETS[name], ...overrides };
  if (!Number.isInteger(Math.log2(p.size)) || p.size < 32) {
    throw new UserError(`ablation size ${p.size} is not a power of two >= 32`);
  }
  return p;
}

/** The training config of `run` under preset `p`. */
export function runConfig(
  run: GridRun,
  p: AblatePreset,
  o: Pick<
    AblateOptions,
    "dataroot" | "direction" | "out" | "backend" | "threads"
  >,
): TrainConfig {
  return validateConfig({
    ...DEFAULT_CONFIG,
    name: run.id,
    checkpointsDir: o.out,
    dataroot: o.dataroot,
    direction: o.direction,
    backend: o.backend,
    threads: o.threads ?? DEFAULT_CONFIG.threads,
    loadSize: p.loadSize,
    cropSize: p.size,
    netG: `${run.spec.generator}_${p.size}`,
    netD: run.spec.netD,
    nLayersD: run.spec.nLayersD,
    loss: run.spec.loss,
    ngf: p.ngf,
    ndf: p.ndf,
    epochs: p.epochs,
    epochsDecay: p.epochsDecay,
    maxSteps: p.maxSteps,
    saveEvery: p.saveEvery,
    sampleEvery: p.sampleEvery,
  });
}

/** Reads `<out>/<id>/done.json`, or null when the run has not finished. */
export async function readRunResult(
  out: string,
  id: string,
): Promise<RunResult | null> {
  const path = `${out}/${id}/done.json`;
  if (!(await exists(path))) return null;
  try {
    return JSON.parse(await Deno.readTextFile(path)) as RunResult;
  } catch (e) {
    throw new UserError(`${path}: unreadable (${(e as Error).message})`);
  }
}

/** Folder of the grid's segmenter. */
export function segmenterDir(out: string): string {
  return `${out}/segmenter`;
}

/** The segmenter config of preset `p`: input `p.size`, depth log2(size). */
export function segmenterConfig(p: AblatePreset): SegmenterConfig {
  return {
    ...DEFAULT_SEGMENTER_CONFIG,
    ...p.segmenter,
    size: p.size,
    numDowns: Math.log2(p.size),
  };
}

/** The grid's segmenter record (`segmenter.json`), or null before it is trained. */
export async function readSegmenterRecord(
  out: string,
): Promise<SegmenterRecord | null> {
  const path = `${segmenterDir(out)}/segmenter.json`;
  if (!(await exists(path))) return null;
  return JSON.parse(await Deno.readTextFile(path)) as SegmenterRecord;
}

/** A loaded segmenter that can be freed. */
type LoadedSegmenter = PhotoSegmenter & { dispose(): void };

/**
 * Loads the grid's segmenter from `<out>/segmenter`, training and saving it
 * first (on the real training photos, at the grid's size) unless its
 * `segmenter.json`, written last, is there.
 */
async function ensureSegmenter(
  o: AblateOptions,
  p: AblatePreset,
): Promise<LoadedSegmenter> {
  const dir = segmenterDir(o.out);
  await initBackend(o.backend, { threads: o.threads });
  if (await exists(`${dir}/segmenter.json`)) {
    return (await loadSegmenter(dir)).segmenter;
  }
  const log = o.log ?? console.log;
  const config = segmenterConfig(p);
  log(
    `segmenter: training at ${p.size}x${p.size}, ngf ${config.ngf}, ${config.epochs} epochs`,
  );
  const { segmenter, record } = await trainSegmenter({
    dataroot: o.dataroot,
    config,
    ...(p.numTest > 0 ? { maxTest: p.numTest } : {}),
  });
  await Deno.mkdir(dir, { recursive: true });
  await saveSegmenter(dir, segmenter, record);
  log(
    `segmenter: done in ${
      record.trainSeconds.toFixed(1)
    } s, real test photos per-pixel acc ${record.test.perPixelAcc.toFixed(3)}`,
  );
  return segmenter;
}

/**
 * Trains (or resumes), translates and scores one run with `segmenter`
 * (called once the run is trained), then writes its `done.json`.
 * A run that already has `done.json` is returned as it is.
 */
export async function runOne(
  run: GridRun,
  o: AblateOptions,
  p: AblatePreset,
  segmenter: () => Promise<PhotoSegmenter>,
): Promise<RunResult> {
  const done = await readRunResult(o.out, run.id);
  if (done) return done;
  const log = o.log ?? console.log;
  const dir = `${o.out}/${run.id}`;
  const cfg = runConfig(run, p, o);
  const resume = await exists(`${dir}/checkpoints/latest`);
  log(
    `${run.id}: ${resume ? "resuming" : "training"} (${run.rows.join(", ")})`,
  );
  // Without a checkpoint, whatever a killed first attempt left is replaced.
  const trained = await train({ ...cfg, resume, overwrite: !resume }, {
    quiet: true,
  });
  const seg = await segmenter();
  const t0 = performance.now();
  await translateSplit({
    checkpoint: dir,
    out: `${dir}/test`,
    phase: "test",
    ...(p.numTest > 0 ? { numTest: p.numTest } : {}),
  });
  const scores = await evaluateResults(`${dir}/test`, {
    segmenter: seg,
  });
  const result: RunResult = {
    id: run.id,
    spec: run.spec,
    config: cfg,
    steps: trained.steps,
    train_seconds: Math.round(trainingSeconds(await readLossLog(dir)) * 10) /
      10,
    eval_seconds: Math.round((performance.now() - t0) / 100) / 10,
    scores,
  };
  await Deno.writeTextFile(
    `${dir}/done.json`,
    JSON.stringify(result, null, 2) + "\n",
  );
  log(
    `${run.id}: done, ${result.steps} steps in ${result.train_seconds} s, ` +
      `per-pixel acc ${scores.per_pixel_acc.toFixed(3)}`,
  );
  return result;
}

/** What {@link runAblation} sends a worker: the options, minus the logger. */
export type WorkerRequest = Omit<AblateOptions, "log">;

/** What a worker sends back: a log line, its summary, or its error. */
export type WorkerReply =
  | { log: string }
  | { summary: AblateSummary }
  | { error: string };

/** Runs `o` (one `only` run) in a fresh worker; resolves with its summary. */
function runWorker(o: AblateOptions): Promise<AblateSummary> {
  const log = o.log ?? console.log;
  const worker = new Worker(new URL("./ablate_worker.ts", import.meta.url));
  return new Promise<AblateSummary>((resolve, reject) => {
    const fail = (message: string) => {
      worker.terminate();
      reject(new Error(`${o.only}: ${message}`));
    };
    worker.on("message", (reply: WorkerReply) => {
      if ("log" in reply) return log(reply.log);
      if ("error" in reply) return fail(reply.error);
      worker.terminate();
      resolve(reply.summary);
    });
    worker.on("error", (err: Error) => fail(err.message));
    const { log: _, ...request } = o;
    worker.postMessage(request satisfies WorkerRequest);
  });
}

/**
 * The grid's runs on `jobs` workers: the segmenter first (one worker), then
 * the unfinished runs, adversarial ones first (the longest), each on the
 * next free worker. A failed run does not stop the others; the error names
 * every failed run once all have ended.
 */
async function runInWorkers(
  o: AblateOptions,
  grid: Grid,
  jobs: number,
): Promise<{ ran: string[]; skipped: string[] }> {
  await runWorker({ ...o, only: "segmenter" });
  const ran: string[] = [];
  const skipped: string[] = [];
  const queue: GridRun[] = [];
  for (const run of grid.runs) {
    if (await readRunResult(o.out, run.id)) skipped.push(run.id);
    else queue.push(run);
  }
  const l1Only = (r: GridRun) => r.spec.loss === "l1" ? 1 : 0;
  queue.sort((a, b) => l1Only(a) - l1Only(b)); // stable: paper order otherwise
  const failed: string[] = [];
  const worker = async () => {
    for (let run = queue.shift(); run; run = queue.shift()) {
      try {
        await runWorker({ ...o, only: run.id });
        ran.push(run.id);
      } catch (e) {
        failed.push((e as Error).message);
      }
    }
  };
  await Promise.all(Array.from({ length: jobs }, worker));
  if (failed.length) {
    throw new Error(`${failed.length} run(s) failed: ${failed.join("; ")}`);
  }
  return { ran, skipped };
}

/** Finds the run an `--only` value names: a run id, a row id (`<study>-<row>`) or `segmenter`. */
export function findRun(grid: Grid, only: string): GridRun {
  const id = sanitizeId(only);
  const byRow = grid.variants.find((v) =>
    sanitizeId(`${v.study}-${v.paperId}`) === id
  );
  const run = grid.runs.find((r) => r.id === (byRow?.runId ?? id));
  if (!run) {
    throw new UserError(
      `--only ${only}: no such run; runs: segmenter, ${
        grid.runs.map((r) => r.id).join(", ")
      }`,
    );
  }
  return run;
}

/** What {@link runAblation} did. */
export interface AblateSummary {
  /** Runs trained or finished by this call (ids). */
  ran: string[];
  /** Runs skipped because `done.json` was already there. */
  skipped: string[];
  /** The report's rows (absent with `--only`, which builds no tables). */
  rows?: ReportRow[];
  /** Files written into `publish`, relative to it. */
  published?: string[];
  /** Wall-clock seconds of this call. */
  seconds: number;
}

/**
 * Runs the grid as `o` says: with `only`, that one run (or the segmenter)
 * and no tables; with `merge`, only the tables from the finished runs;
 * otherwise every run of `o.studies` not yet done (in the paper's order),
 * then the tables.
 */
export async function runAblation(o: AblateOptions): Promise<AblateSummary> {
  const t0 = performance.now();
  checkThreads(o.threads ?? DEFAULT_CONFIG.threads, o.backend);
  const p = resolvePreset(o.preset, o.presetOverrides);
  const grid = buildGrid(p.size, o.studies);
  const ran: string[] = [];
  const skipped: string[] = [];
  const seconds = () => Math.round((performance.now() - t0) / 100) / 10;
  const jobs = o.jobs ?? 1;
  if (!o.merge && o.only === undefined && jobs > 1) {
    const done = await runInWorkers(o, grid, jobs);
    ran.push(...done.ran);
    skipped.push(...done.skipped);
  } else if (!o.merge) {
    let loaded: Promise<LoadedSegmenter> | null = null;
    const segmenter = () => (loaded ??= ensureSegmenter(o, p));
    try {
      if (o.only !== undefined && sanitizeId(o.only) === "segmenter") {
        await segmenter();
        return { ran: ["segmenter"], skipped, seconds: seconds() };
      }
      const todo = o.only !== undefined ? [findRun(grid, o.only)] : grid.runs;
      for (const run of todo) {
        const before = await readRunResult(o.out, run.id);
        await runOne(run, o, p, segmenter);
        (before ? skipped : ran).push(run.id);
      }
    } finally {
      await (loaded as Promise<LoadedSegmenter> | null)?.then(
        (s) => s.dispose(),
        () => {},
      );
    }
    if (o.only !== undefined) return { ran, skipped, seconds: seconds() };
  }
  const results = new Map<string, RunResult | null>();
  for (const run of grid.runs) {
    results.set(run.id, await readRunResult(o.out, run.id));
  }
  const input: ReportInput = {
    out: o.out,
    presetName: o.preset,
    preset: p,
    grid,
    results,
    // Relative to the working directory: no machine's absolute path in tables.
    dataroot: relative(Deno.cwd(), o.dataroot) || ".",
    direction: o.direction,
    segmenter: await readSegmenterRecord(o.out),
  };
  const report = await writeAblationReport(input);
  const published = o.publish === undefined
    ? undefined
    : await publishAblation(input, report, o.publish);
  return { ran, skipped, rows: report.rows, published, seconds: seconds() };
}
