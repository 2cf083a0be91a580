/**
 * `deno task train [flags]`: trains pix2pix. Without `--dataroot` it trains on
 * the embedded synthetic dataset with the `smoke` preset, so a bare
 * `deno task train` works offline. `--help` lists every flag. It ends with
 * the commands that translate, score and demo the run (`cli/next_steps.ts`).
 *
 *   deno task train --dataroot ../shared/datasets/facades --direction BtoA --preset cpu64
 *   deno task train --dataroot ./datasets/facades --name facades_pix2pix --model pix2pix --direction BtoA
 *
 * @module
 */
import { parseTrainCommand, trainHelp, wantsHelp } from "./train_flags.ts";
import { runCli } from "./common.ts";
import { train } from "../lib/train.ts";
import { nextCommands, nextLines, scoresApply } from "./next_steps.ts";

await runCli(async () => {
  if (wantsHelp(Deno.args)) {
    console.log(trainHelp());
    return;
  }
  const { config, given } = parseTrainCommand(Deno.args, {
    syntheticPreset: "smoke",
  });
  const s = await train(config, { given });
  const last = s.final
    ? Object.entries(s.final).map(([k, v]) => `${k} ${v.toFixed(3)}`).join(", ")
    : "no steps run";
  console.log(
    `done: ${s.stepsThisRun} steps in ${
      s.seconds.toFixed(1)
    } s (step ${s.steps}); last losses: ${last}`,
  );
  console.log(`results page: ${s.page}`);
  console.log(`checkpoints: ${s.runDir}/checkpoints`);
  const next = nextCommands(s.runDir, { scores: await scoresApply(config) });
  console.log(nextLines("next, for this run:", next));
  Deno.exit(0);
});
