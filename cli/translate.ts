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
import { ENUMS } from "../lib/config.ts";
import { parseFlags, runCli, UserError } from "./common.ts";
import type { BackendName, Direction } from "../lib/config.ts";
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
  const int = (flag: string, raw: string | undefined) => {
    if (raw === undefined) return undefined;
    const n = Number(raw);
    if (!Number.isInteger(n) || n < 0) {
      throw new UserError(
        `--${flag}: expected a non-negative integer, got "${raw}"`,
      );
    }
    return n;
  };
  const direction = values.direction;
  if (direction !== undefined && direction !== "AtoB" && direction !== "BtoA") {
    throw new UserError(`--direction "${direction}" is not one of AtoB, BtoA`);
  }
  const backendName = values.backend ?? "auto";
  if (!ENUMS.backend!.includes(backendName)) {
    throw new UserError(
      `--backend "${backendName}" is not one of ${ENUMS.backend!.join(", ")}`,
    );
  }
  const backend = await initBackend(backendName as BackendName);
  console.log(`backend: ${backend.name} (${backend.reason})`);
  const s = await translateSplit({
    checkpoint: values.checkpoint,
    out: values.out,
    dataroot: values.dataroot,
    phase: values.phase,
    direction: direction as Direction | undefined,
    eval: values.eval ?? false,
    numTest: int("num-test", values["num-test"] ?? values.num_test),
    seed: int("seed", values.seed),
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
