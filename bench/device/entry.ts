/**
 * The program of the device pack (`pack.ts` bundles it into `bench.js`):
 * on a GPU machine with no Deno and no network, it runs
 *
 * 1. the training-step bench (`bench/train_step.ts`) on webgpu: 256 px,
 *    ngf/ndf 64, batch 1, U-Net + 70x70 PatchGAN, with this project's kernels
 *    and again with tfjs's stock ones -> `bench.json` (`stock`: the latter);
 * 2. the conv-kernel comparison, stock vs this project's, at U-Net layer
 *    shapes (`bench/kernels.ts`) -> `kernels.json`;
 * 3. a facades training (labels -> photo) for a fixed time on the pairs the
 *    pack carries, with its loss curve -> `train.json`.
 *
 *   deno run -A bench.js --out DIR [--data DIR] [--size 256] [--ngf 64]
 *     [--steps 10] [--train-seconds 120] [--no-kernels]
 *
 * `--size 32 --ngf 8 --steps 1 --train-seconds 3 --no-kernels` is the
 * smallest case (the pack's test runs it on lavapipe).
 *
 * @module
 */
import * as tf from "@tensorflow/tfjs";
import { parseArgs } from "node:util";
import { benchConfig, runBench } from "../train_step.ts";
import { initBackend, WEBGPU_KERNELS_ENV } from "../../lib/runtime/backend.ts";
import { type LossTensors, Pix2Pix, readLosses } from "../../lib/train.ts";
import { benchKernels } from "../kernels.ts";

/** The pairs file's description (`pairs.json`, written by `pack.ts`). */
export interface PairsInfo {
  /** Pairs in `pairs.u8`. */
  count: number;
  /** One pair: `height x width x 3` bytes, A left, B right (pix2pix layout). */
  width: number;
  height: number;
  /** Which half is the input: facades labels -> photo is `BtoA`. */
  direction: "AtoB" | "BtoA";
  /** Where the pairs came from. */
  source: string;
}

const { values } = parseArgs({
  args: Deno.args,
  options: {
    out: { type: "string" },
    data: { type: "string" },
    size: { type: "string", default: "256" },
    ngf: { type: "string", default: "64" },
    steps: { type: "string", default: "10" },
    "train-seconds": { type: "string", default: "120" },
    "no-kernels": { type: "boolean", default: false },
  },
});
if (!values.out) throw new Error("--out DIR is required");
const out = values.out;
const dataDir = values.data ?? new URL(".", import.meta.url).pathname;
const size = Number(values.size);
const ngf = Number(values.ngf);
await Deno.mkdir(out, { recursive: true });
const write = (name: string, v: unknown) =>
  Deno.writeTextFile(`${out}/${name}`, JSON.stringify(v, null, 2) + "\n");

const backend = await initBackend("webgpu", { log: console.log });
const machine = {
  backend: backend.reason,
  deno: Deno.version.deno,
  os: `${Deno.build.os} ${Deno.build.arch}`,
  cpus: navigator.hardwareConcurrency,
};

const benchOnce = () =>
  runBench({
    sizes: [size],
    backend: "webgpu",
    threads: 1,
    steps: Number(values.steps),
    warmup: 2,
    rounds: 1,
    ngf,
    ndf: ngf,
    peer: false,
    log: console.log,
  });
console.log(`bench: ${size} px, ngf/ndf ${ngf}, batch 1, our kernels...`);
const bench = await benchOnce();
console.log("bench: the same with tfjs's stock kernels...");
Deno.env.set(WEBGPU_KERNELS_ENV, "stock");
const stock = await benchOnce();
Deno.env.delete(WEBGPU_KERNELS_ENV);
await initBackend("webgpu"); // ours again
await write("bench.json", { ...machine, ...bench, stock });

if (!values["no-kernels"]) {
  console.log("kernels: stock vs ours...");
  await write("kernels.json", {
    ...machine,
    ...(await benchKernels("webgpu")),
  });
}

const info = JSON.parse(
  await Deno.readTextFile(`${dataDir}/pairs.json`),
) as PairsInfo;
const bytes = await Deno.readFile(`${dataDir}/pairs.u8`);
const pairBytes = info.width * info.height * 3;
/** Pair i as an (input, target) batch at `size` px, values in [-1, 1]. */
const pair = (i: number) =>
  tf.tidy(() => {
    const ab = tf.tensor3d(
      bytes.subarray(i * pairBytes, (i + 1) * pairBytes),
      [info.height, info.width, 3],
      "int32",
    ).toFloat().div(127.5).sub(1) as tf.Tensor3D;
    const [a, b] = tf.split(ab, 2, 1) as tf.Tensor3D[];
    const [x, y] = info.direction === "BtoA" ? [b, a] : [a, b];
    const fit = (t: tf.Tensor3D) =>
      tf.image.resizeBilinear(t.expandDims(0) as tf.Tensor4D, [size, size]);
    return { input: fit(x), target: fit(y) };
  });

const seconds = Number(values["train-seconds"]);
console.log(
  `training: facades ${info.direction}, ${info.count} pairs, ${seconds} s...`,
);
const model = Pix2Pix.create({
  ...benchConfig(size, { ngf, ndf: ngf, backend: "webgpu", threads: 1 }),
  name: "device_facades",
});
const curve: Record<string, number>[] = [];
let pending: { step: number; losses: LossTensors }[] = [];
const t0 = performance.now();
const elapsed = () => (performance.now() - t0) / 1000;
const flush = async () => {
  const values = await readLosses(pending.map((p) => p.losses));
  pending.forEach((p, i) =>
    curve.push({ step: p.step, seconds: elapsed(), ...values[i] })
  );
  pending = [];
};
let step = 0;
while (elapsed() < seconds) {
  const b = pair(step % info.count);
  pending.push({ step: step + 1, losses: model.dispatchStep(b, step) });
  tf.dispose([b.input, b.target]);
  step++;
  if (pending.length >= 10) await flush();
}
await flush();
const total = elapsed();
await write("train.json", {
  ...machine,
  size,
  ngf,
  ndf: ngf,
  pairs: info.count,
  source: info.source,
  note: "no jitter or flips; pairs in order; losses read every 10 steps",
  steps: step,
  seconds: total,
  steps_per_s: step / total,
  curve,
});
model.dispose();
console.log(
  `done: ${step} steps in ${total.toFixed(1)} s; results in ${out}/`,
);
