/**
 * `deno task translate`: runs a trained generator over a dataset split and
 * writes `images/<name>_{real_A,fake_B,real_B}.png` plus an `index.html`
 * gallery, like the reference's `test.py`.
 *
 *   deno task translate --checkpoint runs/facades --out results/facades \
 *     [--dataroot DIR] [--phase test] [--direction BtoA] [--eval] [--num-test N] [--seed S]
 *     [--dataset-mode aligned|single] [--preprocess none] [--tile N] [--tile-overlap N]
 *     [--sheet N]
 *
 * @module
 */
import { BACKENDS, DIRECTIONS, PREPROCESS_MODES } from "../lib/config.ts";
import { enumFlag, intFlag, parseFlags, runCli, UserError } from "./common.ts";
import {
  DATASET_MODES,
  DEFAULT_TILE,
  translateSplit,
} from "../lib/translate.ts";
import {
  commandsAfter,
  nextCommands,
  nextLines,
  scoresApply,
} from "./next_steps.ts";
import { initBackend } from "../lib/runtime/backend.ts";

const HELP = `Usage: deno task translate --checkpoint DIR --out DIR [options]

  --checkpoint DIR   checkpoint folder, a run's checkpoints/ folder or a run
                     folder (required)
  --out DIR          output folder for images/ and index.html (required)
  --dataroot DIR     dataset root (default: the one the model was trained on)
  --phase NAME       split folder under --dataroot (default test)
  --direction D      input half: ${
  DIRECTIONS.join(" | ")
} (default: the checkpoint's)
  --eval             inference mode: moving batch-norm statistics, no dropout
                     (switch; default off: the paper's test mode, batch
                     statistics + dropout)
  --num-test N, --num_test N
                     translate at most N images (default: all)
  --seed S           dropout seed in the paper's test mode (default: the run's seed)
  --dataset-mode M, --dataset_mode M
                     aligned | single (default aligned): aligned: A|B pairs
                     in DATAROOT/PHASE; single: every image in --dataroot,
                     no target half
  --preprocess P     ${PREPROCESS_MODES.join(" | ")} (default: resize):
                     none keeps each image's size (padded to the generator's
                     multiple, 2^downsamplings, and cropped back); any other
                     resizes to the model's training size
  --tile N           with --preprocess none: images larger than N px go through
                     N x N tiles with blended overlaps (default ${DEFAULT_TILE}; 0: never)
  --tile-overlap N   pixels neighbouring tiles share (default N/4)
  --sheet N          also write sheet.png: the first N images as rows of
                     input | output | target at full size (default 0: none)
  --backend NAME     tfjs backend: ${BACKENDS.join(" | ")} (default auto)
  --help             this text`;

await runCli(async () => {
  const { values } = parseFlags("translate", Deno.args, {
    help: HELP,
    options: {
      checkpoint: { type: "string" },
      out: { type: "string" },
      dataroot: { type: "string" },
      phase: { type: "string" },
      direction: { type: "string" },
      eval: { type: "boolean" },
      "num-test": { type: "string" },
      num_test: { type: "string" },
      seed: { type: "string" },
      "dataset-mode": { type: "string" },
      dataset_mode: { type: "string" },
      preprocess: { type: "string" },
      tile: { type: "string" },
      "tile-overlap": { type: "string" },
      sheet: { type: "string" },
      backend: { type: "string" },
    },
  });
  if (!values.checkpoint) throw new UserError("--checkpoint DIR is required");
  if (!values.out) throw new UserError("--out DIR is required");
  const direction = enumFlag("direction", values.direction, DIRECTIONS);
  const datasetMode = enumFlag(
    "dataset-mode",
    values["dataset-mode"] ?? values.dataset_mode,
    DATASET_MODES,
  ) ?? "aligned";
  if (datasetMode === "single" && !values.dataroot) {
    throw new UserError("--dataset-mode single needs --dataroot DIR (images)");
  }
  // Any of train's --preprocess values resizes to the training size; none keeps it.
  const preprocess =
    enumFlag("preprocess", values.preprocess, PREPROCESS_MODES) === "none"
      ? "none"
      : "resize";
  const backendName = enumFlag("backend", values.backend, BACKENDS) ?? "auto";
  const backend = await initBackend(backendName);
  console.log(`backend: ${backend.name} (${backend.reason})`);
  const s = await translateSplit({
    checkpoint: values.checkpoint,
    out: values.out,
    dataroot: values.dataroot,
    phase: values.phase,
    direction,
    eval: values.eval ?? false,
    numTest: intFlag("num-test", values["num-test"] ?? values.num_test, {
      min: 0,
    }),
    seed: intFlag("seed", values.seed, { min: 0 }),
    datasetMode,
    preprocess,
    tile: intFlag("tile", values.tile, { min: 0 }),
    tileOverlap: intFlag("tile-overlap", values["tile-overlap"], { min: 0 }),
    sheet: intFlag("sheet", values.sheet, { min: 0 }),
  });
  const what = datasetMode === "single"
    ? `from ${values.dataroot}`
    : `(${s.config.phase}, ${s.config.direction})`;
  console.log(`translated ${s.count} images ${what}: ${s.page}`);
  const next = nextCommands(values.checkpoint, {
    // FCN-scores need targets: not for single images.
    scores: datasetMode === "aligned" && await scoresApply(s.config),
    results: values.out,
  });
  console.log(nextLines("next:", commandsAfter("translate", next)));
  Deno.exit(0);
});
