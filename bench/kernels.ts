/**
 * Micro-benchmark of the wasm convolution kernels at pix2pix U-Net layer
 * shapes (4x4 kernel, stride 2, 'same' padding, batch 1): conv2d forward,
 * input gradient (= conv2dTranspose forward) and filter gradient, with the
 * stock tfjs-backend-wasm kernels and with this project's
 * (`registerWasmKernels`). Run: `deno run -A bench/kernels.ts`.
 *
 * @module
 */
import * as tf from "@tensorflow/tfjs";
import "@tensorflow/tfjs-backend-wasm";
import { registerWasmKernels } from "../lib/runtime/kernels/mod.ts";

/** One timed kernel at one layer shape. Times are milliseconds. */
export interface KernelBenchRow {
  /** Layer, e.g. `64x64x64 -> 32x32x128`. */
  layer: string;
  /**
   * Which computation was timed. `conv2d forward` reuses one filter (as in
   * inference: XNNPACK keeps the packed weights); `new weights` gives every
   * call a new filter tensor, as training does after each optimizer step.
   */
  op:
    | "conv2d forward"
    | "conv2d forward, new weights"
    | "input grad"
    | "filter grad";
  /** Best of 3 with the stock wasm kernels; `null` when wasm has none. */
  stockMs: number | null;
  /** Best of 3 with `registerWasmKernels()`. */
  fastMs: number;
}

/** Encoder layers timed: input `[size, size, inC]` -> `[size/2, size/2, outC]`. */
const LAYERS: [size: number, inC: number, outC: number][] = [
  [64, 64, 128],
  [32, 128, 256],
  [16, 256, 512],
];

type Op = KernelBenchRow["op"];
const OPS: Op[] = [
  "conv2d forward",
  "conv2d forward, new weights",
  "input grad",
  "filter grad",
];
type Timed = Record<Op, (() => tf.Tensor) | null>;

/** The three computations of one layer, as thunks returning a tensor. */
function layerOps(size: number, inC: number, outC: number): Timed & {
  dispose(): void;
} {
  const x = tf.randomNormal([1, size, size, inC]) as tf.Tensor4D;
  const w = tf.randomNormal([4, 4, inC, outC]) as tf.Tensor4D;
  const dy = tf.randomNormal([1, size / 2, size / 2, outC]) as tf.Tensor4D;
  // One distinct copy per call of bestOf (1 warm-up + 3 timed).
  const fresh = Array.from({ length: 4 }, () => tf.clone(w));
  let next = 0;
  const attrs = { strides: [2, 2], pad: "same", dataFormat: "NHWC" };
  const hasFilterGrad = tf.getKernel("Conv2DBackpropFilter", "wasm") != null;
  return {
    "conv2d forward": () => tf.conv2d(x, w, 2, "same"),
    "conv2d forward, new weights": () =>
      tf.conv2d(x, fresh[next++ % fresh.length], 2, "same"),
    "input grad": () =>
      tf.engine().runKernel("Conv2DBackpropInput", { dy, filter: w }, {
        ...attrs,
        inputShape: x.shape,
      }) as tf.Tensor,
    "filter grad": hasFilterGrad
      ? () =>
        tf.engine().runKernel("Conv2DBackpropFilter", { x, dy }, {
          ...attrs,
          filterShape: w.shape,
        }) as tf.Tensor
      : null,
    dispose: () => tf.dispose([x, w, dy, ...fresh]),
  };
}

/** Best of `reps` runs after one warm-up, milliseconds. */
function bestOf(f: () => tf.Tensor, reps = 3): number {
  tf.dispose(f());
  let best = Infinity;
  for (let i = 0; i < reps; i++) {
    const t0 = performance.now();
    const y = f();
    y.dataSync();
    best = Math.min(best, performance.now() - t0);
    y.dispose();
  }
  return best;
}

/** Times every op of every layer with whatever kernels are registered now. */
function timeAll(): Map<string, number | null> {
  const out = new Map<string, number | null>();
  for (const [size, inC, outC] of LAYERS) {
    const ops = layerOps(size, inC, outC);
    for (const op of OPS) {
      const f = ops[op];
      out.set(`${size},${op}`, f == null ? null : bestOf(f));
    }
    ops.dispose();
  }
  return out;
}

/**
 * Runs the benchmark on the wasm backend: first with the stock kernels, then
 * after `registerWasmKernels()`. It must run before anything else in the
 * process registers the project's kernels, or the "stock" column is not
 * stock (it then throws).
 */
export async function benchKernels(): Promise<KernelBenchRow[]> {
  if (!(await tf.setBackend("wasm"))) throw new Error("wasm backend failed");
  if (tf.getKernel("Conv2DBackpropFilter", "wasm") != null) {
    throw new Error(
      "benchKernels: the project's wasm kernels are already registered; " +
        "run it in a fresh process to time the stock kernels",
    );
  }
  const stock = timeAll();
  registerWasmKernels();
  const fast = timeAll();
  return LAYERS.flatMap(([size, inC, outC]) =>
    OPS.map((op) => ({
      layer: `${size}x${size}x${inC} -> ${size / 2}x${size / 2}x${outC}`,
      op,
      stockMs: stock.get(`${size},${op}`) ?? null,
      fastMs: fast.get(`${size},${op}`)!,
    }))
  );
}

if (import.meta.main) {
  const rows = await benchKernels();
  const ms = (v: number | null) => v == null ? "n/a" : v.toFixed(1);
  console.log("| layer | op | stock wasm ms | fast kernels ms | speed-up |");
  console.log("|---|---|---|---|---|");
  for (const r of rows) {
    const up = r.stockMs == null
      ? "-"
      : (r.stockMs / r.fastMs).toFixed(1) + "x";
    console.log(
      `| ${r.layer} | ${r.op} | ${ms(r.stockMs)} | ${ms(r.fastMs)} | ${up} |`,
    );
  }
}
