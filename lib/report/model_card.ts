/**
 * Model cards: what a trained pix2pix model is, written beside every run
 * (`model_card.json` and `MODEL_CARD.md` in the run folder) when training
 * ends, and shown by `deno task summary --checkpoint DIR`.
 *
 * A card records the config, the data (folder, split, direction, pairs,
 * validation), the training (steps, epochs, wall time, backend), the scores
 * (last losses, validation L1, best checkpoint) and how to run the model,
 * including which test mode `translate` uses.
 *
 * @example
 * ```ts
 * const card = await findModelCard("runs/facades/checkpoints/best");
 * if (card) console.log(modelCardMarkdown(card));
 * ```
 *
 * @module
 */
import { normalize } from "node:path";
import type { TrainConfig } from "../config.ts";
import type { EvalReport } from "../eval/evaluate.ts";
import { readJsonFile } from "../util/files.ts";

/** Test-split scores of a model, recorded on its card by {@link recordTestScores}. */
export interface CardTestScores {
  /** When they were computed (ISO 8601). */
  evaluated: string;
  /** How the test photos were made: the paper's test mode (batch statistics, dropout) or eval mode. */
  mode: "paper" | "eval";
  /** Generated photos' FCN-scores, L1, PSNR, SSIM, colourfulness, and the real photos' FCN-scores. */
  report: EvalReport;
  /** The segmenter behind the FCN-scores (its one-line summary). */
  segmenter: string;
}

/** Everything a model card says; `model_card.json` holds exactly this. */
export interface ModelCard {
  /** Card format version. */
  version: 1;
  /** Run name. */
  name: string;
  /** When training ended (ISO 8601). */
  created: string;
  /** The run's resolved config. */
  config: TrainConfig;
  model: {
    netG: string;
    netD: string | null;
    /** Trainable parameters. */
    paramsG: number;
    paramsD: number | null;
    /** Side the generator was trained at, pixels. */
    trainedSize: number;
    /** Other sizes must be multiples of this (2^downsamplings). */
    sizeMultiple: number;
    inputNc: number;
    outputNc: number;
  };
  data: {
    /** Dataset folder, or "embedded synthetic dataset". */
    dataroot: string;
    phase: string;
    direction: string;
    /** Pairs trained on. */
    trainPairs: number;
    /** `folder`, `slice` or `none`, and the pairs it holds. */
    validation: { source: string; pairs: number };
  };
  training: {
    /** Steps (iterations) done in total. */
    steps: number;
    /** Epochs completed. */
    epochs: number;
    /** Training wall time over all invocations, seconds. */
    seconds: number;
    /** The backend of the last invocation and why it was chosen. */
    backend: string;
    threads: number;
    /** How the last invocation ended. */
    status: "finished" | "stopped at max steps";
  };
  scores: {
    /** Losses of the last step. */
    lastLosses: Record<string, number> | null;
    /** Validation L1 at the end ([0, 1] pixel scale), null without validation. */
    valL1: number | null;
    /** FCN-score per-pixel accuracy on validation at the end, null without a segmenter. */
    valFcnPixelAcc: number | null;
    /** Best validation L1 and its step (`checkpoints/best`). */
    best: { valL1: number; step: number } | null;
  };
  /** Checkpoint folders, as `<checkpointsDir>/<name>/checkpoints[/best]`. */
  checkpoints: { latest: string; best: string | null };
  /** Test-split scores, once the model has been evaluated. */
  test?: CardTestScores;
}

/** Card file names in a run folder. */
export const MODEL_CARD_JSON = "model_card.json";
/** Markdown rendering of the card. */
export const MODEL_CARD_MD = "MODEL_CARD.md";

/** Writes `model_card.json` and `MODEL_CARD.md` into `runDir`. */
export async function writeModelCard(
  runDir: string,
  card: ModelCard,
): Promise<void> {
  await Deno.writeTextFile(
    `${runDir}/${MODEL_CARD_JSON}`,
    JSON.stringify(card, null, 2) + "\n",
  );
  await Deno.writeTextFile(
    `${runDir}/${MODEL_CARD_MD}`,
    modelCardMarkdown(card),
  );
}

/**
 * The card of the run that `dir` belongs to: `dir` may be the run folder,
 * its `checkpoints/` folder, a step folder, `checkpoints/best` or a step
 * folder in it. Null when no card is found (runs trained before cards).
 *
 * @throws Error naming the file when a card exists but is malformed
 */
export async function findModelCard(dir: string): Promise<ModelCard | null> {
  return (await locateModelCard(dir))?.card ?? null;
}

/** The card of `dir`'s run and the folder it is in, found as {@link findModelCard} says. */
async function locateModelCard(
  dir: string,
): Promise<{ card: ModelCard; runDir: string } | null> {
  let base = dir.replace(/\/+$/, "") || ".";
  for (let up = 0; up < 4; up++) {
    const path = `${base}/${MODEL_CARD_JSON}`;
    if (await Deno.stat(path).then((s) => s.isFile, () => false)) {
      const card = await readJsonFile<ModelCard>(
        path,
        (reason) => new Error(`model card ${path}: ${reason}`),
      );
      if (card.version !== 1 || typeof card.config !== "object") {
        throw new Error(`model card ${path}: not a version 1 model card`);
      }
      return { card, runDir: normalize(base) };
    }
    base = `${base}/..`;
  }
  return null;
}

/**
 * Records test-split scores on the card of the run `dir` belongs to (found
 * as {@link findModelCard} does) and rewrites both card files. Returns the
 * run folder written, or null when the run has no card.
 */
export async function recordTestScores(
  dir: string,
  test: CardTestScores,
): Promise<string | null> {
  const found = await locateModelCard(dir);
  if (found === null) return null;
  await writeModelCard(found.runDir, { ...found.card, test });
  return found.runDir;
}

function duration(seconds: number): string {
  if (seconds < 120) return `${seconds.toFixed(0)} s`;
  if (seconds < 7200) return `${(seconds / 60).toFixed(1)} min`;
  return `${(seconds / 3600).toFixed(2)} h`;
}

/** The card as Markdown (what `MODEL_CARD.md` holds and `summary --checkpoint` prints). */
export function modelCardMarkdown(c: ModelCard): string {
  const cfg = c.config;
  const losses = c.scores.lastLosses
    ? Object.entries(c.scores.lastLosses).map(([k, v]) =>
      `${k} ${v.toFixed(4)}`
    ).join(", ")
    : "none";
  const lines = [
    `# Model card: ${c.name}`,
    "",
    `pix2pix (Isola et al. 2017) generator, trained ${c.created}.`,
    "",
    "## Model",
    `- generator \`${c.model.netG}\` (ngf ${cfg.ngf}, norm ${cfg.norm}${
      cfg.noDropout ? ", no dropout" : ", dropout"
    }): ${c.model.paramsG.toLocaleString("en-US")} parameters`,
    `- discriminator ${
      c.model.netD
        ? `\`${c.model.netD}\` (ndf ${cfg.ndf}): ${
          c.model.paramsD!.toLocaleString("en-US")
        } parameters`
        : "none (objective without GAN)"
    }`,
    `- objective \`${cfg.loss}\` (${cfg.ganMode}, lambda L1 ${cfg.lambdaL1})`,
    `- trained at ${c.model.trainedSize}x${c.model.trainedSize}; runs on any size (multiples of ${c.model.sizeMultiple}, others padded and cropped back)`,
    `- channels: ${c.model.inputNc} in, ${c.model.outputNc} out`,
    "",
    "## Data",
    `- ${c.data.dataroot}, split \`${c.data.phase}\`, ${c.data.direction}: ${c.data.trainPairs} pairs trained on`,
    `- preprocess \`${cfg.preprocess}\` (load ${cfg.loadSize}, crop ${cfg.cropSize})${
      cfg.noFlip ? ", no flips" : ", random flips"
    }, batch ${cfg.batchSize}`,
    `- validation: ${
      c.data.validation.source === "none"
        ? "none"
        : `${c.data.validation.pairs} pairs (${
          c.data.validation.source === "folder"
            ? "the val/ folder"
            : `a seeded ${
              (100 * cfg.valFraction).toFixed(0)
            }% slice held out of ${c.data.phase}`
        })`
    }`,
    "",
    "## Training",
    `- ${c.training.steps} steps, ${c.training.epochs} epochs of ${
      cfg.epochs + cfg.epochsDecay
    } (${c.training.status}), lr ${cfg.lr} (beta1 ${cfg.beta1}), seed ${cfg.seed}`,
    `- wall time ${duration(c.training.seconds)} on ${c.training.backend}${
      c.training.threads > 1 ? `, ${c.training.threads} threads` : ""
    }`,
    "",
    "## Scores",
    `- last step's losses: ${losses}`,
    `- validation L1 ([0, 1] pixel scale, paper test mode): ${
      c.scores.valL1 === null ? "n/a" : c.scores.valL1.toFixed(4)
    }${
      c.scores.best
        ? `; best ${
          c.scores.best.valL1.toFixed(4)
        } at step ${c.scores.best.step} (\`${c.checkpoints.best}\`)`
        : ""
    }`,
    ...(c.scores.valFcnPixelAcc === null ? [] : [
      `- validation FCN-score per-pixel accuracy: ${
        c.scores.valFcnPixelAcc.toFixed(3)
      }`,
    ]),
    ...(c.test ? testScoreLines(c.test) : []),
    "",
    "## Use",
    "```ts",
    'import { loadGenerator, translate } from "./lib/mod.ts";',
    `const { G } = await loadGenerator(${
      JSON.stringify(c.checkpoints.latest)
    });`,
    `const y = translate(G, x); // x: [1, H, W, ${c.model.inputNc}] in [-1, 1], H and W multiples of ${c.model.sizeMultiple}`,
    "```",
    "",
    "Test mode: `translate` defaults to the paper's test mode (batch statistics, dropout on, as Isola et al.);",
    "its `eval` option uses the moving statistics and no dropout (deterministic). The demo defaults to the `eval` mode.",
    "",
  ];
  return lines.join("\n");
}

function testScoreLines(t: CardTestScores): string[] {
  const r = t.report;
  const f = (v: number, d = 3) => v.toFixed(d);
  const gt = r.ground_truth;
  return [
    "",
    `## Test split (${r.n_images} images, ${
      t.mode === "paper"
        ? "paper test mode: batch statistics, dropout on"
        : "eval mode: moving statistics, no dropout"
    }; ${t.evaluated})`,
    "",
    "|  | FCN per-pixel acc | per-class acc | class IoU | L1 [0,1] | PSNR dB | SSIM |",
    "|---|---|---|---|---|---|---|",
    `| generated photos | ${f(r.per_pixel_acc)} | ${f(r.per_class_acc)} | ${
      f(r.class_iou)
    } | ${f(r.l1)} | ${f(r.psnr, 2)} | ${f(r.ssim)} |`,
    `| real photos | ${f(gt.per_pixel_acc)} | ${f(gt.per_class_acc)} | ${
      f(gt.class_iou)
    } |  |  |  |`,
    "",
    t.segmenter,
  ];
}
