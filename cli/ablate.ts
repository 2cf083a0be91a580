/**
 * `deno task ablate`: the paper's ablation grid (Tables 1-3) as resumable
 * runs, scored with the FCN-score protocol, tables beside the paper's
 * (see `lib/ablation/run.ts`).
 *
 *   deno task ablate --study objective|generator|discriminator|all
 *     --preset ci|cpu128|cpu128-ngf32|cpu256|paper [--seeds N] [--dataroot DIR] [--direction BtoA]
 *     [--out DIR] [--backend auto|native|wasm|webgpu|cpu|tensorflow] [--threads 1]
 *     [--jobs 1] [--only ID] [--merge] [--publish DIR] [--list]
 *
 * @module
 */
import {
  ABLATE_PRESETS,
  type AblatePresetName,
  buildGrid,
  resolvePreset,
  seededRuns,
  STUDIES,
  type StudyName,
} from "../lib/ablation/grid.ts";
import { runAblation } from "../lib/ablation/run.ts";
import { enumFlag, intFlag, parseFlags, runCli, UserError } from "./common.ts";
import { FACADES_DIR } from "../lib/datasets/dataroot.ts";
import { BACKENDS, DIRECTIONS } from "../lib/config.ts";

const HELP =
  `Usage: deno task ablate --study objective|generator|discriminator|all --preset ${
    Object.keys(ABLATE_PRESETS).join("|")
  } [flags]

Trains, translates and scores the paper's ablations (Tables 1-3) and writes
tables.md, results.csv, results.json, sample sheets and index.html into --out.
Every run trains --seeds times (seed 0 in <out>/<id>, seed k in <out>/<id>-seedK);
each cell carries its spread over seeds and test images, and each of the
paper's orderings reads holds / tie / does not hold. Finished runs (done.json)
are skipped; interrupted ones resume.

  --study NAME      objective | generator | discriminator | all (default all)
  --preset NAME     the grid's size (required): ci (minutes, plumbing) |
                    cpu128 (128 px, ngf 16, 2 seeds: 83 min on 2 cores) |
                    cpu128-ngf32 (128 px, ngf 32, 1 seed: 113 min on 2 cores) |
                    cpu256 (256 px, ngf 32, 2 seeds: ~7.1 h) | paper (GPU)
  --seeds N         training seeds per run, N >= 1 (default: the preset's:
                    ${
    Object.entries(ABLATE_PRESETS).map(([k, p]) => `${k} ${p.seeds}`).join(
      ", ",
    )
  })
  --dataroot DIR    aligned dataset (default ../shared/datasets/facades)
  --direction D     input half: ${
    DIRECTIONS.join(" | ")
  } (default BtoA: facades labels -> photo)
  --out DIR         grid folder (default runs/ablate-<preset>)
  --backend NAME    tfjs backend: ${BACKENDS.join(" | ")} (default auto)
  --threads N       CPU threads per job (default 1): native BLAS threads, or
                    wasm's threaded SIMD build
  --jobs N          runs trained at once, each in its own worker (default 1;
                    on N cores, --jobs N beats --threads N)
  --only ID         run just this run, every seed (or a row id, one seed as
                    ID-seedK, or "segmenter"); no tables (default: every run)
  --merge           only build the tables from the finished runs (switch,
                    default off)
  --publish DIR     also copy the results, sheets, first test images and the
                    charts as SVG (rendered by Chromium) into DIR, with a
                    README.md showing them: a small folder to commit
                    (default: none)
  --list            print the runs of the grid, one line per seed (its --only
                    value, folder and rows), and exit (switch, default off)
  --help            this text`;

await runCli(async () => {
  const { values } = parseFlags("ablate", Deno.args, {
    help: HELP,
    options: {
      study: { type: "string", default: "all" },
      preset: { type: "string" },
      seeds: { type: "string" },
      dataroot: { type: "string" },
      direction: { type: "string", default: "BtoA" },
      out: { type: "string" },
      backend: { type: "string", default: "auto" },
      threads: { type: "string", default: "1" },
      jobs: { type: "string", default: "1" },
      only: { type: "string" },
      merge: { type: "boolean", default: false },
      publish: { type: "string" },
      list: { type: "boolean", default: false },
    },
  });
  const studies: StudyName[] = values.study === "all"
    ? [...STUDIES]
    : [values.study as StudyName];
  if (!STUDIES.includes(studies[0])) {
    throw new UserError(
      `--study "${values.study}" is not one of ${STUDIES.join(", ")}, all`,
    );
  }
  if (values.preset === undefined) {
    throw new UserError(
      `--preset is required: ${Object.keys(ABLATE_PRESETS).join(", ")}`,
    );
  }
  if (values.preset === "cpu") {
    throw new UserError(
      "--preset cpu is now --preset cpu128 (the 128 px grid; its default --out is runs/ablate-cpu128, pass --out runs/ablate-cpu to continue a grid started as cpu); deno task train's 64 px preset is its --preset cpu64",
    );
  }
  if (!(values.preset in ABLATE_PRESETS)) {
    throw new UserError(
      `--preset "${values.preset}" is not one of ${
        Object.keys(ABLATE_PRESETS).join(", ")
      }`,
    );
  }
  const preset = values.preset as AblatePresetName;
  if (values.publish !== undefined && values.only !== undefined) {
    throw new UserError(
      "--publish needs the tables, which --only does not build: publish with --merge",
    );
  }
  const seeds = intFlag("seeds", values.seeds, { min: 1 });
  if (values.list) {
    const p = resolvePreset(preset, seeds ? { seeds } : {});
    for (const u of seededRuns(buildGrid(p.size, studies), p.seeds)) {
      console.log(
        `${u.run.id}-seed${u.seed}\t${u.folder}/\t${u.run.rows.join(", ")}`,
      );
    }
    return console.log("segmenter\tsegmenter/\t(trained once per grid)");
  }
  const direction = enumFlag("direction", values.direction, DIRECTIONS)!;
  const backend = enumFlag("backend", values.backend, BACKENDS)!;
  const jobs = intFlag("jobs", values.jobs, { min: 1, fallback: 1 });
  const threads = intFlag("threads", values.threads, { min: 1, fallback: 1 });
  const dataroot = values.dataroot ?? FACADES_DIR;
  for (const split of ["train", "test"]) {
    const ok = await Deno.stat(`${dataroot}/${split}`).then(
      (s) => s.isDirectory,
      () => false,
    );
    if (!ok) {
      throw new UserError(
        `--dataroot ${dataroot}: no ${split}/ folder (an aligned A|B dataset is needed)`,
      );
    }
  }
  const summary = await runAblation({
    studies,
    preset,
    seeds,
    dataroot,
    direction,
    out: values.out ?? `runs/ablate-${preset}`,
    backend,
    threads,
    jobs,
    only: values.only,
    merge: values.merge,
    publish: values.publish,
  });
  console.log(
    `ablate: ${summary.ran.length} run(s) done now, ${summary.skipped.length} already finished, ` +
      `${summary.seconds} s` +
      (summary.rows
        ? `; tables in ${values.out ?? `runs/ablate-${preset}`}/index.html`
        : "") +
      (summary.published
        ? `; ${summary.published.length} files published in ${values.publish}/README.md`
        : ""),
  );
});
