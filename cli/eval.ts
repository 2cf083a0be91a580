/**
 * `deno task eval`: the facades FCN-score protocol.
 *
 *   deno task eval --train-segmenter [--dataroot DIR] [--size 128] [--epochs N] ...
 *   deno task eval --results DIR [--json]
 *   deno task eval --checkpoint DIR [--dataroot DIR] [--out DIR] [--json]
 *
 * @module
 */
import cliProgress from "cli-progress";
import { ENUMS } from "../lib/config.ts";
import { initBackend } from "../lib/runtime/backend.ts";
import { parseFlags, runCli, UserError } from "./common.ts";
import type { BackendName } from "../lib/config.ts";
import { FACADES_DIR } from "../lib/datasets/dataroot.ts";
import { evaluateResults, reportToMarkdown } from "../lib/eval/evaluate.ts";
import {
  DEFAULT_SEGMENTER_CONFIG,
  loadCachedSegmenter,
  loadSegmenter,
  saveSegmenter,
  segmenterCacheDir,
  type SegmenterConfig,
  type SegmenterRecord,
  trainSegmenter,
} from "../lib/eval/segmenter.ts";
import { translateSplit } from "../lib/translate.ts";

const D = DEFAULT_SEGMENTER_CONFIG;

const HELP = `Usage:
  deno task eval --train-segmenter [segmenter options]
      train the facades segmenter on the real photos of DATAROOT/train (once;
      cached in .cache/segmenter/<key>/) and score it on DATAROOT/test
  deno task eval --results DIR [--json]
      score a results folder of \`deno task translate\` (facades, BtoA)
  deno task eval --checkpoint DIR [--out DIR] [--json]
      translate DATAROOT/test with a checkpoint (paper test mode) and score it

  --dataroot DIR     facades root (default ${FACADES_DIR})
  --segmenter DIR    a trained segmenter folder (default: the cached one of
                     the segmenter options below)
  --json             print one JSON object instead of markdown tables
  --out DIR          where --checkpoint writes its results (default: a temp folder)
  --num-test N       --checkpoint: translate only the first N test images
  --backend NAME     auto | native | wasm | webgpu | cpu | tensorflow (default auto)
  --force            retrain even if a cached segmenter exists
segmenter options (they select the cached segmenter, too):
  --size N           input side in pixels (default ${D.size})
  --num-downs N      U-Net levels (default ${D.numDowns})
  --ngf N            first-layer filters (default ${D.ngf})
  --epochs N         (default ${D.epochs})
  --batch-size N     (default ${D.batchSize})
  --lr X             Adam learning rate (default ${D.lr})
  --seed N           (default ${D.seed})
  --max-train N      use only the first N training pairs (default all)`;

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
      force: { type: "boolean" },
      size: { type: "string" },
      "num-downs": { type: "string" },
      ngf: { type: "string" },
      epochs: { type: "string" },
      "batch-size": { type: "string" },
      lr: { type: "string" },
      seed: { type: "string" },
      "max-train": { type: "string" },
    },
  }).values;
}

type Flags = ReturnType<typeof parse>;

function number(
  flag: string,
  raw: string | undefined,
  fallback: number,
  integer = true,
): number {
  if (raw === undefined) return fallback;
  const n = Number(raw);
  if (!Number.isFinite(n) || n < 0 || (integer && !Number.isInteger(n))) {
    throw new UserError(
      `--${flag}: expected a non-negative ${
        integer ? "integer" : "number"
      }, got "${raw}"`,
    );
  }
  return n;
}

function segmenterConfig(v: Flags): SegmenterConfig {
  const cfg: SegmenterConfig = {
    size: number("size", v.size, D.size),
    numDowns: number("num-downs", v["num-downs"], D.numDowns),
    ngf: number("ngf", v.ngf, D.ngf),
    epochs: number("epochs", v.epochs, D.epochs),
    batchSize: number("batch-size", v["batch-size"], D.batchSize),
    lr: number("lr", v.lr, D.lr, false),
    seed: number("seed", v.seed, D.seed),
    maxTrain: number("max-train", v["max-train"], D.maxTrain),
  };
  if (cfg.numDowns < 5) {
    throw new UserError(`--num-downs: at least 5, got ${cfg.numDowns}`);
  }
  if (cfg.size === 0 || cfg.size % 2 ** cfg.numDowns !== 0) {
    throw new UserError(
      `--size ${cfg.size}: must be a positive multiple of 2^num-downs = ${
        2 ** cfg.numDowns
      }`,
    );
  }
  for (
    const [flag, value] of [["ngf", cfg.ngf], ["batch-size", cfg.batchSize], [
      "epochs",
      cfg.epochs,
    ]] as const
  ) {
    if (value === 0) throw new UserError(`--${flag}: must be at least 1`);
  }
  return cfg;
}

function printRecord(dir: string, r: SegmenterRecord): void {
  const f = (v: number) => v.toFixed(3);
  console.log(`segmenter: ${dir}`);
  console.log(
    `trained on ${r.nTrain} photos at ${r.config.size}px, ${r.config.epochs} epochs, ` +
      `${r.trainSeconds.toFixed(0)} s on ${r.backend}; final loss ${
        r.finalLoss.toFixed(3)
      }`,
  );
  console.log(
    `real photos of the test split (${r.test.nImages}): per-pixel acc ${
      f(r.test.perPixelAcc)
    }, ` +
      `per-class acc ${f(r.test.perClassAcc)}, class IoU ${f(r.test.classIou)}`,
  );
}

async function trainOrReuse(v: Flags, dataroot: string): Promise<void> {
  const cfg = segmenterConfig(v);
  const dir = await segmenterCacheDir(dataroot, cfg);
  if (!v.force) {
    try {
      const { segmenter, record } = await loadSegmenter(dir);
      segmenter.dispose();
      console.log("already trained (use --force to retrain)");
      printRecord(dir, record);
      return;
    } catch { /* not cached yet: train it */ }
  }
  const bar = new cliProgress.SingleBar({
    format:
      "segmenter epoch {epoch}/{epochs} |{bar}| {value}/{total} steps | loss {loss} | ETA {eta_formatted}",
    barsize: 20,
    noTTYOutput: true,
    notTTYSchedule: 10_000,
    etaBuffer: 50,
  });
  bar.start(1, 0, { epoch: 1, epochs: cfg.epochs, loss: "-" });
  const { segmenter, record } = await trainSegmenter({
    dataroot,
    config: cfg,
    onProgress: (p) => {
      bar.setTotal(p.totalSteps);
      bar.update(p.step, { epoch: p.epoch + 1, loss: p.loss.toFixed(3) });
    },
  });
  bar.stop();
  await saveSegmenter(dir, segmenter, record);
  segmenter.dispose();
  printRecord(dir, record);
}

async function score(v: Flags, dataroot: string): Promise<void> {
  const log = v.json
    ? (m: string) => console.error(m)
    : (m: string) => console.log(m);
  const { segmenter } = v.segmenter
    ? await loadSegmenter(v.segmenter)
    : await loadCachedSegmenter(dataroot, segmenterConfig(v));
  let results = v.results;
  if (v.checkpoint) {
    const out = v.out ?? await Deno.makeTempDir({ prefix: "pix2pix-eval-" });
    const s = await translateSplit({
      checkpoint: v.checkpoint,
      out,
      dataroot,
      phase: "test",
      numTest: number("num-test", v["num-test"], 0) || undefined,
    });
    log(`translated ${s.count} images of ${dataroot}/test into ${out}`);
    results = out;
  }
  const report = await evaluateResults(results!, { segmenter });
  segmenter.dispose();
  if (v.json) console.log(JSON.stringify(report));
  else console.log(reportToMarkdown(report, results));
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
  const backendName = v.backend ?? "auto";
  if (!ENUMS.backend!.includes(backendName)) {
    throw new UserError(
      `--backend "${backendName}" is not one of ${ENUMS.backend!.join(", ")}`,
    );
  }
  const backend = await initBackend(backendName as BackendName);
  (v.json ? console.error : console.log)(
    `backend: ${backend.name} (${backend.reason})`,
  );
  const dataroot = v.dataroot ?? FACADES_DIR;
  if (v["train-segmenter"]) await trainOrReuse(v, dataroot);
  else await score(v, dataroot);
  Deno.exit(0);
});
