/**
 * `deno task eval`: the facades FCN-score protocol. Scoring trains the
 * dataset's segmenter first when it is not cached yet.
 *
 *   deno task eval --train-segmenter [--dataroot DIR] [--size 128] [--epochs N] ...
 *   deno task eval --results DIR [--json]
 *   deno task eval --checkpoint DIR [--dataroot DIR] [--out DIR] [--json]
 *
 * @module
 */
import cliProgress from "cli-progress";
import { BACKENDS } from "../lib/config.ts";
import { initBackend } from "../lib/runtime/backend.ts";
import { enumFlag, intFlag, parseFlags, runCli, UserError } from "./common.ts";
import { readCheckpointConfig } from "../lib/checkpoint.ts";
import { FACADES_DIR, resolveDataroot } from "../lib/datasets/dataroot.ts";
import { evaluateResults, reportToMarkdown } from "../lib/eval/evaluate.ts";
import {
  DEFAULT_SEGMENTER_CONFIG,
  defaultSegmenterConfig,
  loadSegmenter,
  saveSegmenter,
  segmenterCacheDir,
  type SegmenterConfig,
  type SegmenterRecord,
  segmenterSummary,
  SYNTH_SEGMENTER_CONFIG,
  type TrainedSegmenter,
  trainSegmenter,
} from "../lib/eval/segmenter.ts";
import {
  readResultsInfo,
  type ResultsInfo,
  translateSplit,
} from "../lib/translate.ts";
import { recordTestScores } from "../lib/report/model_card.ts";
import { totalEpochs } from "../lib/schedule.ts";
import { commandsAfter, nextCommands, nextLines } from "./next_steps.ts";

const D = DEFAULT_SEGMENTER_CONFIG;
const S = SYNTH_SEGMENTER_CONFIG;

/** The values of an on/off flag (`--jitter`). */
const ON_OFF = ["on", "off"] as const;
const onOff = (b: boolean) => b ? "on" : "off";

const HELP = `Usage:
  deno task eval --checkpoint DIR [--out DIR] [--json]
      translate the test split of the run's dataset (paper test mode) and
      score it
  deno task eval --results DIR [--json]
      score a results folder of \`deno task translate\` (labels -> photo)
  deno task eval --train-segmenter [segmenter options]
      only train the segmenter of DATAROOT (real photos of DATAROOT/train)
      and score it on DATAROOT/test

Scores need a segmenter trained on the dataset's real photos: the first
score of a dataset trains it (a progress bar shows the ETA; ~1 min for the
embedded set, ~26 min for facades on one core) and caches it in
.cache/segmenter/<key>/ for every later run.

  --checkpoint DIR   a trained run (or checkpoint folder) to translate and
                     score (one of --checkpoint, --results and
                     --train-segmenter is required)
  --results DIR      a results folder of \`deno task translate\` to score
                     (required unless --checkpoint or --train-segmenter)
  --train-segmenter  only train (and cache) the segmenter and score it
                     (switch, default off)
  --dataroot DIR     dataset root in the facades layout (photo | labels);
                     default: the run's dataset (--checkpoint), the one
                     recorded in the results folder (--results), else
                     ${FACADES_DIR}
  --segmenter DIR    a trained segmenter folder (default: the cached one of
                     the segmenter options below)
  --json             print one JSON object instead of markdown tables (switch,
                     default off)
  --out DIR          where --checkpoint writes its results (default: a temp folder)
  --num-test N       --checkpoint: translate only the first N test images
                     (default all)
  --backend NAME     tfjs backend: ${BACKENDS.join(" | ")} (default auto)
  --threads N        CPU threads (default 1): native BLAS threads, or wasm's
                     threaded SIMD build
  --force            retrain even if a cached segmenter exists (switch, default
                     off)
segmenter options (they select the cached segmenter, too; defaults for
facades, then for the embedded synthetic set):
  --size N           input side in pixels (default ${D.size}; ${S.size})
  --num-downs N      U-Net levels (default ${D.numDowns}; ${S.numDowns})
  --ngf N            first-layer filters (default ${D.ngf}; ${S.ngf})
  --epochs N         training epochs at the initial learning rate (default
                     ${D.epochs}; ${S.epochs})
  --epochs-decay N   then epochs of linear decay to zero (default
                     ${D.epochsDecay}; ${S.epochsDecay})
  --batch-size N     images per step (default ${D.batchSize}; ${S.batchSize})
  --lr X             Adam learning rate (default ${D.lr}; ${S.lr})
  --seed N           data and initialisation seed (default ${D.seed})
  --max-train N      use only the first N training pairs (default all)
  --val-fraction X   share of the training pairs held out for validation,
                     picked with --seed (default ${D.valFraction}; ${S.valFraction})
  --jitter on|off    random crops of photos resized by 286/256, as the
                     paper's (default ${onOff(D.jitter)}; ${onOff(S.jitter)})
  --patience N       stop after N epochs without a better validation
                     accuracy and keep the best epoch (0 = never; default
                     ${D.patience}; ${S.patience})
  --flip-test on|off predict with the logits of the photo and its mirror
                     image summed (default ${onOff(D.flipTest)}; ${
  onOff(S.flipTest)
})`;

function parse() {
  return parseFlags("eval", Deno.args, {
    help: HELP,
    options: {
      "train-segmenter": { type: "boolean" },
      results: { type: "string" },
      checkpoint: { type: "string" },
      out: { type: "string" },
      "num-test": { type: "string" },
      dataroot: { type: "string" },
      segmenter: { type: "string" },
      json: { type: "boolean" },
      backend: { type: "string" },
      threads: { type: "string" },
      force: { type: "boolean" },
      size: { type: "string" },
      "num-downs": { type: "string" },
      ngf: { type: "string" },
      epochs: { type: "string" },
      "epochs-decay": { type: "string" },
      "batch-size": { type: "string" },
      lr: { type: "string" },
      seed: { type: "string" },
      "max-train": { type: "string" },
      "val-fraction": { type: "string" },
      jitter: { type: "string" },
      patience: { type: "string" },
      "flip-test": { type: "string" },
    },
  }).values;
}

type Flags = ReturnType<typeof parse>;

/** A non-negative number flag (`--lr`). */
function nonNegative(flag: string, raw: string | undefined, fallback: number) {
  if (raw === undefined) return fallback;
  const n = Number(raw);
  if (raw.trim() === "" || !Number.isFinite(n) || n < 0) {
    throw new UserError(`--${flag}: expected a number >= 0, got "${raw}"`);
  }
  return n;
}

/** The segmenter options: the dataset's defaults, overridden by flags. */
function segmenterConfig(
  v: Flags,
  base: Readonly<SegmenterConfig>,
): SegmenterConfig {
  const jitter = enumFlag("jitter", v.jitter, ON_OFF);
  const flipTest = enumFlag("flip-test", v["flip-test"], ON_OFF);
  const cfg: SegmenterConfig = {
    size: intFlag("size", v.size, { min: 1, fallback: base.size }),
    numDowns: intFlag("num-downs", v["num-downs"], {
      min: 5,
      fallback: base.numDowns,
    }),
    ngf: intFlag("ngf", v.ngf, { min: 1, fallback: base.ngf }),
    epochs: intFlag("epochs", v.epochs, { min: 1, fallback: base.epochs }),
    epochsDecay: intFlag("epochs-decay", v["epochs-decay"], {
      min: 0,
      fallback: base.epochsDecay,
    }),
    batchSize: intFlag("batch-size", v["batch-size"], {
      min: 1,
      fallback: base.batchSize,
    }),
    lr: nonNegative("lr", v.lr, base.lr),
    seed: intFlag("seed", v.seed, { min: 0, fallback: base.seed }),
    maxTrain: intFlag("max-train", v["max-train"], {
      min: 0,
      fallback: base.maxTrain,
    }),
    valFraction: nonNegative(
      "val-fraction",
      v["val-fraction"],
      base.valFraction,
    ),
    jitter: jitter === undefined ? base.jitter : jitter === "on",
    patience: intFlag("patience", v.patience, {
      min: 0,
      fallback: base.patience,
    }),
    flipTest: flipTest === undefined ? base.flipTest : flipTest === "on",
  };
  if (cfg.valFraction >= 1) {
    throw new UserError(
      `--val-fraction: expected a share below 1, got ${cfg.valFraction}`,
    );
  }
  if (cfg.size % 2 ** cfg.numDowns !== 0) {
    throw new UserError(
      `--size ${cfg.size}: must be a positive multiple of 2^num-downs = ${
        2 ** cfg.numDowns
      }`,
    );
  }
  return cfg;
}

/** Where messages go: stderr with --json (stdout holds the JSON), else stdout. */
type Log = (message: string) => void;

function printRecord(log: Log, dir: string, r: SegmenterRecord): void {
  log(`segmenter: ${dir}`);
  log(
    `trained ${r.trainSeconds.toFixed(0)} s on ${r.backend}; final loss ${
      r.finalLoss.toFixed(3)
    }`,
  );
  log(segmenterSummary(r));
}

/**
 * The dataset's segmenter: `--segmenter DIR`, else the cached one of the
 * segmenter options, else (or with `--force`) a new one, trained with a
 * progress bar and cached.
 */
async function segmenterFor(
  v: Flags,
  dataroot: string,
  backend: string,
  log: Log,
): Promise<TrainedSegmenter & { dir: string; cached: boolean }> {
  if (v.segmenter) {
    return {
      ...await loadSegmenter(v.segmenter),
      dir: v.segmenter,
      cached: true,
    };
  }
  const cfg = segmenterConfig(v, await defaultSegmenterConfig(dataroot));
  const dir = await segmenterCacheDir(dataroot, cfg);
  if (!v.force) {
    const cached = await loadSegmenter(dir).catch(() => null);
    if (cached) return { ...cached, dir, cached: true };
  }
  log(
    `training the segmenter of ${dataroot} (${
      totalEpochs(cfg)
    } epochs at ${cfg.size}px; once, cached in ${dir})`,
  );
  const bar = new cliProgress.SingleBar({
    format:
      "segmenter epoch {epoch}/{epochs} |{bar}| {value}/{total} steps | loss {loss} | val acc {val} | ETA {eta_formatted}",
    barsize: 20,
    noTTYOutput: true,
    notTTYSchedule: 10_000,
    etaBuffer: 50,
  });
  bar.start(1, 0, { epoch: 1, epochs: totalEpochs(cfg), loss: "-", val: "-" });
  const { segmenter, record } = await trainSegmenter({
    dataroot,
    config: cfg,
    backend,
    onProgress: (p) => {
      bar.setTotal(p.totalSteps);
      bar.update(p.step, {
        epoch: p.epoch + 1,
        loss: p.loss.toFixed(3),
        val: Number.isNaN(p.valAcc) ? "-" : p.valAcc.toFixed(3),
      });
    },
  });
  bar.stop();
  await saveSegmenter(dir, segmenter, record);
  return { segmenter, record, dir, cached: false };
}

/**
 * `--dataroot`, else the dataset the checkpoint or the results (`info`, the
 * `--results` folder's translate.json) came from, else facades.
 */
async function datarootOf(
  v: Flags,
  info: ResultsInfo | null,
): Promise<string> {
  if (v.dataroot) return v.dataroot;
  if (v.checkpoint) {
    return await resolveDataroot(await readCheckpointConfig(v.checkpoint));
  }
  return info?.dataroot ?? FACADES_DIR;
}

/** Scores `--results` (its translate.json: `info`), or `--checkpoint` translated first. */
async function score(
  v: Flags,
  dataroot: string,
  backend: string,
  log: Log,
  info: ResultsInfo | null,
): Promise<void> {
  let results = v.results;
  if (v.checkpoint) {
    const out = v.out ?? await Deno.makeTempDir({ prefix: "pix2pix-eval-" });
    const s = await translateSplit({
      checkpoint: v.checkpoint,
      out,
      dataroot,
      phase: "test",
      numTest: intFlag("num-test", v["num-test"], { min: 0, fallback: 0 }) ||
        undefined,
    });
    log(`translated ${s.count} images of ${dataroot}/test into ${out}`);
    results = out;
  }
  const { segmenter, record, dir, cached } = await segmenterFor(
    v,
    dataroot,
    backend,
    log,
  );
  if (cached) log(`segmenter: ${dir}`);
  else printRecord(log, dir, record);
  const report = await evaluateResults(results!, { segmenter });
  segmenter.dispose();
  if (v.json) {
    const { test, validation } = record;
    console.log(JSON.stringify({ ...report, segmenter: { test, validation } }));
  } else {
    console.log(reportToMarkdown(report, results));
    console.log(`\n${segmenterSummary(record)}`);
  }
  // The run's model card records these scores (its translate.json names the
  // run when --results came from `deno task translate`).
  if (v.checkpoint) info = await readResultsInfo(results!);
  const checkpoint = v.checkpoint ?? info?.checkpoint;
  if (checkpoint) {
    const card = await recordTestScores(checkpoint, {
      evaluated: new Date().toISOString(),
      mode: info?.eval ? "eval" : "paper",
      report,
      segmenter: segmenterSummary(record),
    });
    if (card) log(`test scores recorded on the model card in ${card}`);
    const next = nextCommands(checkpoint, { scores: true });
    log(nextLines("next:", commandsAfter("eval", next)));
  }
}

await runCli(async () => {
  const v = parse();
  const modes = [v["train-segmenter"], v.results, v.checkpoint].filter((m) =>
    m !== undefined
  );
  if (modes.length !== 1) {
    throw new UserError(
      "give exactly one of --train-segmenter, --results DIR, --checkpoint DIR (see --help)",
    );
  }
  const log: Log = v.json ? console.error : console.log;
  const backend = await initBackend(
    enumFlag("backend", v.backend, BACKENDS) ?? "auto",
    { threads: intFlag("threads", v.threads, { min: 1, fallback: 1 }) },
  );
  log(`backend: ${backend.name} (${backend.reason})`);
  const info = v.results ? await readResultsInfo(v.results) : null;
  const dataroot = await datarootOf(v, info);
  if (v["train-segmenter"]) {
    const { segmenter, record, dir, cached } = await segmenterFor(
      v,
      dataroot,
      backend.name,
      log,
    );
    if (cached) log("already trained (use --force to retrain)");
    printRecord(log, dir, record);
    segmenter.dispose();
  } else await score(v, dataroot, backend.name, log, info);
  Deno.exit(0);
});
