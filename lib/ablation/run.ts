/**
 * The paper's ablation grid (Tables 1-3, defined in `grid.ts`) as resumable
 * training runs, plus the segmenter that scores them (trained once per grid,
 * at the grid's image size).
 *
 * Every run has a stable id (e.g. `objective-l1-cgan`) and trains once per
 * seed (the preset's `seeds`, or `seeds`), each seed in its own folder
 * (`runFolder`: `<out>/<id>` for seed 0, `<out>/<id>-seed<k>`): the
 * trainer's run folder (checkpoints, loss_log.jsonl, samples, index.html),
 * plus `test/` (translated test split) and `done.json` (with every test
 * image's scores), written last. A run with `done.json` is never redone; one
 * without resumes from its latest checkpoint. So the grid survives a kill,
 * and runs can be launched one by one (`--only ID`) from a job array, with
 * `--merge` building the tables (`lib/ablation/report.ts`) from whatever runs
 * have finished.
 *
 * @module
 */

import { relative } from "node:path";
import { Worker } from "node:worker_threads";
import { checkThreads, validateConfig } from "../config.ts";
import { CheckpointError } from "../errors.ts";
import {
  type BackendName,
  DEFAULT_CONFIG,
  type Direction,
  type TrainConfig,
} from "../config.ts";
import {
  type AblatePreset,
  type AblatePresetName,
  buildGrid,
  findSeededRuns,
  type GridRun,
  resolvePreset,
  runFolder,
  type RunResult,
  sanitizeId,
  type SeededRun,
  seededRuns,
  type StudyName,
} from "./grid.ts";
import { publishAblation } from "./publish.ts";
import {
  type ReportInput,
  type ReportRow,
  writeAblationReport,
} from "./report.ts";
import { initBackend } from "../runtime/backend.ts";
import { evaluateResults } from "../eval/evaluate.ts";
import { exists, jsonText } from "../util/files.ts";
import { totalEpochs } from "../schedule.ts";
import {
  DEFAULT_SEGMENTER_CONFIG,
  loadSegmenter,
  type PhotoSegmenter,
  saveSegmenter,
  type SegmenterConfig,
  type SegmenterRecord,
  trainSegmenter,
  withFcnScores,
} from "../eval/segmenter.ts";
import { readLossLog, trainingSeconds } from "../report/run_page.ts";
import { train } from "../train.ts";
import { translateSplit } from "../translate.ts";

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
  /**
   * Run only this run id (every seed; or row id, e.g. `generator-unet-l1`),
   * one seed of it (`<id>-seed<k>`) or `segmenter`; no tables.
   */
  only?: string;
  /** Seeds per run (default: the preset's `seeds`). */
  seeds?: number;
  /**
   * Runs trained at once (default 1), each in its own worker
   * (`lib/ablation/worker.ts`: its own tfjs and wasm heap). On a machine with N
   * cores, N jobs of 1 thread train about twice as fast as 1 job of N
   * threads; each job holds a model, so memory grows with N.
   */
  jobs?: number;
  /** Only build the tables from the finished runs. */
  merge?: boolean;
  /**
   * After the tables, also write a committable copy of the results into this
   * folder (`lib/ablation/publish.ts`; needs Chromium for the charts).
   */
  publish?: string;
  /** Overrides of the preset's numbers (tests). */
  presetOverrides?: Partial<AblatePreset>;
  /** Progress messages (default console.log). */
  log?: (message: string) => void;
}

/** The training config of seed `seed` (default 0) of `run` under preset `p`. */
export function runConfig(
  run: GridRun,
  p: AblatePreset,
  o: Pick<
    AblateOptions,
    "dataroot" | "direction" | "out" | "backend" | "threads"
  >,
  seed = 0,
): TrainConfig {
  return validateConfig({
    ...DEFAULT_CONFIG,
    name: runFolder(run.id, seed),
    seed,
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
    // The paper's tables train on the whole train split; the grid scores on test.
    valSource: "none",
  });
}

/** Reads `<out>/<folder>/done.json` (`runFolder`), or null when that run has not finished. */
export async function readRunResult(
  out: string,
  folder: string,
): Promise<RunResult | null> {
  const path = `${out}/${folder}/done.json`;
  if (!(await exists(path))) return null;
  try {
    return JSON.parse(await Deno.readTextFile(path)) as RunResult;
  } catch (e) {
    throw new CheckpointError(
      `${path}: unreadable (${(e as Error).message})`,
      { file: path, cause: e },
    );
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
  // Records written before the scores' snake_case names load too.
  return withFcnScores(
    JSON.parse(await Deno.readTextFile(path)) as SegmenterRecord,
  );
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
  const backend = await initBackend(o.backend, { threads: o.threads });
  if (await exists(`${dir}/segmenter.json`)) {
    return (await loadSegmenter(dir)).segmenter;
  }
  const log = o.log ?? console.log;
  const config = segmenterConfig(p);
  log(
    `segmenter: training at ${p.size}x${p.size}, ngf ${config.ngf}, ${
      totalEpochs(config)
    } epochs`,
  );
  const { segmenter, record } = await trainSegmenter({
    dataroot: o.dataroot,
    config,
    backend: backend.name,
    ...(p.numTest > 0 ? { maxTest: p.numTest } : {}),
  });
  await Deno.mkdir(dir, { recursive: true });
  await saveSegmenter(dir, segmenter, record);
  log(
    `segmenter: done in ${
      record.trainSeconds.toFixed(1)
    } s, real test photos per-pixel acc ${
      record.test.per_pixel_acc.toFixed(3)
    }`,
  );
  return segmenter;
}

/**
 * Trains (or resumes), translates and scores one seed of one run with
 * `segmenter` (called once the run is trained), then writes its `done.json`
 * with every test image's scores. A run that already has `done.json` is
 * returned as it is.
 */
export async function runOne(
  unit: SeededRun,
  o: AblateOptions,
  p: AblatePreset,
  segmenter: () => Promise<PhotoSegmenter>,
): Promise<RunResult> {
  const { run, folder } = unit;
  const done = await readRunResult(o.out, folder);
  if (done) return done;
  const log = o.log ?? console.log;
  const dir = `${o.out}/${folder}`;
  const cfg = runConfig(run, p, o, unit.seed);
  const resume = await exists(`${dir}/checkpoints/latest`);
  log(
    `${folder}: ${resume ? "resuming" : "training"} seed ${unit.seed} (${
      run.rows.join(", ")
    })`,
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
    perImage: true,
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
  await Deno.writeTextFile(`${dir}/done.json`, jsonText(result));
  log(
    `${folder}: done, ${result.steps} steps in ${result.train_seconds} s, ` +
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
  const worker = new Worker(new URL("./worker.ts", import.meta.url));
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
 * The grid's seeded runs on `jobs` workers: the segmenter first (one
 * worker), then the unfinished runs, adversarial ones first (the longest),
 * each on the next free worker. A failed run does not stop the others; the
 * error names every failed run once all have ended.
 */
async function runInWorkers(
  o: AblateOptions,
  units: SeededRun[],
  jobs: number,
): Promise<{ ran: string[]; skipped: string[] }> {
  await runWorker({ ...o, only: "segmenter" });
  const ran: string[] = [];
  const skipped: string[] = [];
  const queue: SeededRun[] = [];
  for (const unit of units) {
    if (await readRunResult(o.out, unit.folder)) skipped.push(unit.folder);
    else queue.push(unit);
  }
  const l1Only = (u: SeededRun) => u.run.spec.loss === "l1" ? 1 : 0;
  queue.sort((a, b) => l1Only(a) - l1Only(b)); // stable: paper order otherwise
  const failed: string[] = [];
  const worker = async () => {
    for (let unit = queue.shift(); unit; unit = queue.shift()) {
      try {
        await runWorker({ ...o, only: `${unit.run.id}-seed${unit.seed}` });
        ran.push(unit.folder);
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

/** What {@link runAblation} did. */
export interface AblateSummary {
  /** Runs trained or finished by this call (their folders, `runFolder`). */
  ran: string[];
  /** Runs skipped because `done.json` was already there (folders). */
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
  const p = resolvePreset(o.preset, {
    ...o.presetOverrides,
    ...(o.seeds === undefined ? {} : { seeds: o.seeds }),
  });
  const grid = buildGrid(p.size, o.studies);
  const units = seededRuns(grid, p.seeds);
  const ran: string[] = [];
  const skipped: string[] = [];
  const seconds = () => Math.round((performance.now() - t0) / 100) / 10;
  const jobs = o.jobs ?? 1;
  if (!o.merge && o.only === undefined && jobs > 1) {
    const done = await runInWorkers(o, units, jobs);
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
      const todo = o.only !== undefined
        ? findSeededRuns(grid, o.only, p.seeds)
        : units;
      for (const unit of todo) {
        const before = await readRunResult(o.out, unit.folder);
        await runOne(unit, o, p, segmenter);
        (before ? skipped : ran).push(unit.folder);
      }
    } finally {
      await (loaded as Promise<LoadedSegmenter> | null)?.then(
        (s) => s.dispose(),
        () => {},
      );
    }
    if (o.only !== undefined) return { ran, skipped, seconds: seconds() };
  }
  const results = new Map<string, RunResult[]>();
  for (const unit of units) {
    const done = await readRunResult(o.out, unit.folder);
    const seeds = results.get(unit.run.id) ?? [];
    results.set(unit.run.id, done ? [...seeds, done] : seeds);
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
