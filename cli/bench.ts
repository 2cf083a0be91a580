/**
 * `deno task bench`: training-step speed and memory of the real trainer,
 * optionally side by side with the reference PyTorch step (see `bench/train_step.ts`).
 *
 *   deno task bench [--sizes 64,128,256] [--backend native|wasm|webgpu|cpu|tensorflow]
 *     [--threads 1]
 *     [--steps 5] [--rounds 2] [--warmup 1] [--ngf 64] [--ndf 64] [--peer] [--python PATH]
 *     [--peer-script PATH] [--peer-threads N] [--json]
 *   deno task bench --kernels [--backend wasm|webgpu]   (kernel micro-benchmark)
 *   deno task bench --profile      (per-kernel time of one step instead)
 *
 * @module
 */
import { formatBench, runBench } from "../bench/train_step.ts";
import { enumFlag, intFlag, parseFlags, runCli } from "./common.ts";
import { BACKENDS } from "../lib/config.ts";
import {
  benchKernels,
  formatKernelBench,
  KERNEL_BENCH_BACKENDS,
} from "../bench/kernels.ts";
import { formatProfile, profileStep } from "../bench/profile.ts";
import { initBackend } from "../lib/runtime/backend.ts";

const HELP = `Usage: deno task bench [flags]

Times full pix2pix training iterations (D step + G step of Pix2Pix.trainStep,
batch 1, U-Net + 70x70 PatchGAN) after warm-up: median step time, generator
forward time and peak RSS per size.

  --sizes LIST        image sizes, comma-separated (default 64,128,256)
  --backend NAME      tfjs backend: ${BACKENDS.join(" | ")} (default auto)
  --threads N         CPU threads (default 1): native BLAS threads, or wasm's
                      threaded SIMD build
  --steps N           timed steps per size and round (default 5)
  --rounds N          rounds per size, each ours then PyTorch (default 2;
                      figures pool the steps of all rounds)
  --warmup N          untimed steps first (default 1)
  --ngf N, --ndf N    first-layer filters (default 64, the paper)
  --peer              also run the PyTorch reference step, alternating per size
                      (switch, default off)
  --python PATH       interpreter with torch (default /usr/bin/python3)
  --peer-script PATH  the reference step script (default
                      <repo>/../shared/peer/torch_pix2pix_step.py)
  --peer-threads N    PyTorch threads (default: all cores)
  --json              print one JSON object instead of a table (switch, default
                      off)
  --kernels           compare the stock and this project's conv kernels at
                      U-Net layer shapes instead, on --backend wasm (default)
                      or webgpu (switch, default off)
  --profile           instead of timing, profile one step per size (after
                      --warmup steps): time per tfjs kernel, most expensive
                      first (switch, default off)
  --help              this text`;

/** An integer flag (one value of a comma-separated list for `--sizes`). */
const int = (flag: string, raw: string) => intFlag(flag, raw)!;

await runCli(async () => {
  const { values } = parseFlags("bench", Deno.args, {
    help: HELP,
    options: {
      sizes: { type: "string", default: "64,128,256" },
      backend: { type: "string", default: "auto" },
      threads: { type: "string", default: "1" },
      steps: { type: "string", default: "5" },
      rounds: { type: "string", default: "2" },
      warmup: { type: "string", default: "1" },
      ngf: { type: "string", default: "64" },
      ndf: { type: "string", default: "64" },
      peer: { type: "boolean", default: false },
      python: { type: "string" },
      "peer-threads": { type: "string" },
      "peer-script": { type: "string" },
      json: { type: "boolean", default: false },
      kernels: { type: "boolean", default: false },
      profile: { type: "boolean", default: false },
    },
  });
  if (values.kernels) {
    const backend = values.backend === "auto"
      ? "wasm"
      : enumFlag("backend", values.backend, KERNEL_BENCH_BACKENDS)!;
    const b = await benchKernels(backend);
    console.log(values.json ? JSON.stringify(b) : formatKernelBench(b));
    return;
  }
  const sizes = values.sizes.split(",").map((s) => int("sizes", s));
  const backend = enumFlag("backend", values.backend, BACKENDS)!;
  const threads = int("threads", values.threads);
  if (values.profile) {
    const chosen = await initBackend(backend, { threads });
    console.log(`backend ${chosen.name} (${chosen.reason})`);
    const o = {
      backend,
      threads,
      ngf: int("ngf", values.ngf),
      ndf: int("ndf", values.ndf),
      warmup: int("warmup", values.warmup),
    };
    const profiles = [];
    for (const size of sizes) profiles.push(await profileStep(size, o));
    if (values.json) return console.log(JSON.stringify(profiles, null, 2));
    return console.log(profiles.map((p) => formatProfile(p)).join("\n\n"));
  }
  const report = await runBench({
    sizes,
    backend,
    threads,
    steps: int("steps", values.steps),
    rounds: int("rounds", values.rounds),
    warmup: int("warmup", values.warmup),
    ngf: int("ngf", values.ngf),
    ndf: int("ndf", values.ndf),
    peer: values.peer,
    python: values.python,
    peerScript: values["peer-script"],
    peerThreads: values["peer-threads"] === undefined
      ? undefined
      : int("peer-threads", values["peer-threads"]),
    log: values.json ? undefined : (m) => console.log(m),
  });
  console.log(
    values.json ? JSON.stringify(report, null, 2) : "\n" + formatBench(report),
  );
});
