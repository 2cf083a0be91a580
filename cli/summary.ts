/**
 * `deno task summary`: the layer tables, parameter counts, output map and
 * receptive field of a generator / discriminator pair.
 *
 *   deno task summary --net-g unet_256 --net-d basic [--n-layers-d 3] [--size 256]
 *     [--ngf 64] [--ndf 64] [--norm batch] [--loss l1+cgan] [--json]
 *   deno task summary --checkpoint DIR [--json]   # a trained model's card
 *
 * The reference's spellings (`--netG`, `--netD`, `--n_layers_D`) work too.
 * @module
 */
import { parseTrainArgs, wantsHelp } from "./train_flags.ts";
import {
  DEFAULT_CONFIG as C,
  DISCRIMINATOR_ARCHS,
  NORMS,
  OBJECTIVES,
} from "../lib/config.ts";
import { initBackend } from "../lib/runtime/backend.ts";
import { buildGenerator, generatorSpecFromConfig } from "../lib/unet.ts";
import {
  buildDiscriminator,
  discriminatorOutputSize,
  discriminatorSpecFromConfig,
  receptiveField,
} from "../lib/patchgan.ts";
import {
  formatSummary,
  summarize,
  trainableParams,
} from "../lib/report/summary.ts";
import { runCli, UserError } from "./common.ts";
import { resolveCheckpoint } from "../lib/checkpoint.ts";
import { findModelCard, modelCardMarkdown } from "../lib/report/model_card.ts";
import { nextCommands, nextLines, scoresApply } from "./next_steps.ts";

/**
 * Prints the model card of the run `dir` belongs to; for runs trained before
 * cards, what the checkpoint's `state.json` says.
 */
async function showCheckpoint(dir: string, json: boolean): Promise<void> {
  const card = await findModelCard(dir);
  if (card) {
    if (json) return console.log(JSON.stringify(card, null, 2));
    const runDir = `${card.config.checkpointsDir}/${card.config.name}`;
    console.log(modelCardMarkdown(card));
    const scores = await scoresApply(card.config).catch(() => false);
    console.log(nextLines("next:", nextCommands(runDir, { scores })));
    return;
  }
  const folder = await resolveCheckpoint(dir);
  const state = JSON.parse(await Deno.readTextFile(`${folder}/state.json`));
  console.log(
    `${folder}: no model card (the run was trained before model cards, or is still training)\n` +
      `step ${state.step}, epoch ${state.epoch}\nconfig: ${
        JSON.stringify(state.config, null, 2)
      }`,
  );
}

const HELP = `Usage: deno task summary [model flags] [--json]
       deno task summary --checkpoint DIR [--json]

Prints the layer tables, parameter counts, D's output map and receptive field
of a generator / discriminator pair, or a trained run's model card.

  --checkpoint DIR   show this run's model card instead (default: none)
  --json             print JSON instead of tables (switch, default off)
  --size N           image side: --crop-size N and --load-size N (default ${C.cropSize})
  --net-g NAME       unet_N | encoder_decoder_N, N a power of two (default ${C.netG})
  --net-d NAME       ${DISCRIMINATOR_ARCHS.join(" | ")} (default ${C.netD})
  --n-layers-d N     conv layers of n_layers D (default ${C.nLayersD})
  --ngf N            generator's first-layer filters (default ${C.ngf})
  --ndf N            discriminator's first-layer filters (default ${C.ndf})
  --norm NAME        ${NORMS.join(" | ")} (default ${C.norm})
  --loss NAME        ${OBJECTIVES.join(" | ")} (default ${C.loss})
  --help             this text
Any other flag of deno task train (and the reference's spellings: --netG,
--netD, --n_layers_D) is accepted too: see deno task train --help.`;

await runCli(async () => {
  if (wantsHelp(Deno.args)) return console.log(HELP);
  const json = Deno.args.includes("--json");
  const rest = Deno.args.filter((a) => a !== "--json");
  const ck = rest.indexOf("--checkpoint");
  if (ck >= 0) {
    const dir = rest[ck + 1];
    if (!dir || dir.startsWith("--")) {
      throw new UserError("--checkpoint needs a folder");
    }
    if (rest.length > 2) {
      throw new UserError(
        `--checkpoint DIR takes no other flags (got ${
          rest.filter((_, i) => i !== ck && i !== ck + 1).join(" ")
        })`,
      );
    }
    return await showCheckpoint(dir, json);
  }
  // `--size N` is shorthand for `--crop-size N --load-size N`.
  const at = rest.indexOf("--size");
  if (at >= 0) {
    const n = rest[at + 1];
    rest.splice(at, 2, "--crop-size", n, "--load-size", n);
  }
  const cfg = parseTrainArgs([...rest, "--backend", "cpu"]);
  await initBackend("cpu");
  const g = buildGenerator(generatorSpecFromConfig(cfg));
  const dSpec = discriminatorSpecFromConfig(cfg);
  const d = buildDiscriminator(dSpec, cfg.cropSize);
  const out = discriminatorOutputSize(dSpec, cfg.cropSize);
  const rf = receptiveField(dSpec);
  const result = {
    net_g: cfg.netG,
    net_d: cfg.netD === "n_layers" ? `n_layers_${dSpec.nLayers}` : cfg.netD,
    size: cfg.cropSize,
    g_params: trainableParams(g),
    d_params: trainableParams(d),
    d_output: [out, out],
    receptive_field: rf,
  };
  if (json) {
    console.log(
      JSON.stringify({
        ...result,
        g_layers: summarize(g),
        d_layers: summarize(d),
      }),
    );
    return;
  }
  console.log(
    formatSummary(
      `Generator ${cfg.netG} (${cfg.cropSize}x${cfg.cropSize}, ngf ${cfg.ngf}, norm ${cfg.norm})`,
      summarize(g),
    ),
  );
  console.log();
  console.log(
    formatSummary(
      `Discriminator ${result.net_d} (ndf ${cfg.ndf}, ${dSpec.inputNc} input channels)`,
      summarize(d),
    ),
  );
  console.log();
  console.log(`G parameters: ${result.g_params.toLocaleString("en-US")}`);
  console.log(`D parameters: ${result.d_params.toLocaleString("en-US")}`);
  console.log(
    `D output map: ${out}x${out}, receptive field ${rf}x${rf} pixels`,
  );
});
