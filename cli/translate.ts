/**
 * `deno task translate`: runs a trained generator over a dataset split and
 * writes `images/<name>_{real_A,fake_B,real_B}.png` plus an `index.html`
 * gallery, like the reference's `test.py`.
 *
 *   deno task translate --checkpoint runs/facades --out results/facades \
 *     [--dataroot DIR] [--phase test] [--direction BtoA] [--eval] [--num-test N] [--seed S]
 *
 * @module
 */
import { BACKENDS, DIRECTIONS } from "../lib/config.ts";
import { enumFlag, intFlag, parseFlags, runCli, UserError } from "./common.ts";
import { translateSplit } from "../lib/translate.ts";
import {
  commandsAfter,
  nextCommands,
  nextLines,
  scoresApply,
} from "./next_steps.ts";
import { initBackend } from "../lib/runtime/backend.ts";

const HELP = `Usage: deno task translate --checkpoint DIR --out DIR [options]

  --checkpoint DIR   checkpoint folder, a run's checkpoints/ folder or a run folder
  --out DIR          output folder (images/ and index.html)
  --dataroot DIR     dataset root (default: the one the model was trained on)
  --phase NAME       split (default test)
  --direction D      AtoB | BtoA (default: the checkpoint's)
  --eval             inference mode: moving batch-norm statistics, no dropout
                     (default: the paper's test mode, batch statistics + dropout)
  --num-test N       translate at most N images
  --seed S           dropout seed in the paper's test mode (default: the run's seed)
  --backend NAME     auto | native | wasm | webgpu | cpu | tensorflow (default auto)
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
      backend: { type: "string" },
    },
  });
  if (!values.checkpoint) throw new UserError("--checkpoint DIR is required");
  if (!values.out) throw new UserError("--out DIR is required");
  const direction = enumFlag("direction", values.direction, DIRECTIONS);
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
  });
  console.log(
    `translated ${s.count} images (${s.config.phase}, ${s.config.direction}): ${s.page}`,
  );
  const next = nextCommands(values.checkpoint, {
    scores: await scoresApply(s.config),
    results: values.out,
  });
  console.log(nextLines("next:", commandsAfter("translate", next)));
  Deno.exit(0);
});
