/**
 * Micro-benchmark of the convolution kernels at pix2pix U-Net layer shapes
 * (4x4 kernel, stride 2, 'same' padding, batch 1): conv2d forward, input
 * gradient (= conv2dTranspose forward) and filter gradient, with the stock
 * kernels and with this project's, on wasm (`registerWasmKernels`) or webgpu
 * (`lib/runtime/webgpu/`, on whatever adapter is present). Run:
 * `deno task bench --kernels [--backend webgpu]`.
 *
 * @module
 */
import * as tf from "@tensorflow/tfjs";
import "@tensorflow/tfjs-backend-wasm";
import { initBackend } from "../lib/runtime/backend.ts";
import { registerWasmKernels } from "../lib/runtime/kernels/mod.ts";
import {
  registerWebGpuKernels,
  restoreStockWebGpuKernels,
} from "../lib/runtime/webgpu/mod.ts";

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
  /** Best of 3 with the stock kernels; `null` when the backend has none. */
  stockMs: number | null;
  /** Best of 3 with this project's kernels. */
  fastMs: number;
}

/** The backends {@link benchKernels} compares kernels on. */
export const KERNEL_BENCH_BACKENDS = ["wasm", "webgpu"] as const;
/** One of {@link KERNEL_BENCH_BACKENDS}. */
export type KernelBenchBackend = typeof KERNEL_BENCH_BACKENDS[number];

/** What {@link benchKernels} measured, and where. */
export interface KernelBench {
  backend: KernelBenchBackend;
  /** The backend's description (on webgpu: the adapter, software or not). */
  reason: string;
  rows: KernelBenchRow[];
}

/** Encoder layers timed: input `[size, size, inC]` -> `[size/2, size/2, outC]`. */
const LAYERS: [size: number, inC: number, outC: number][] = [
  [256, 3, 64], // G's first layer; its input grad is G's last (64 -> 3)
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
  const hasFilterGrad =
    tf.getKernel("Conv2DBackpropFilter", tf.getBackend()) != null;
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

/**
 * Best of `reps` runs after one warm-up, milliseconds, each until its
 * result is read back (on webgpu: the GPU has finished).
 */
async function bestOf(f: () => tf.Tensor, reps = 3): Promise<number> {
  const warm = f();
  await warm.data();
  warm.dispose();
  let best = Infinity;
  for (let i = 0; i < reps; i++) {
    const t0 = performance.now();
    const y = f();
    await y.data();
    best = Math.min(best, performance.now() - t0);
    y.dispose();
  }
  return best;
}

/** Times every op of `layers` with whatever kernels are registered now. */
async function timeLayers(
  layers: typeof LAYERS,
): Promise<Map<string, number | null>> {
  const out = new Map<string, number | null>();
  for (const [size, inC, outC] of layers) {
    const ops = layerOps(size, inC, outC);
    for (const op of OPS) {
      const f = ops[op];
      out.set(`${size},${op}`, f == null ? null : await bestOf(f));
    }
    ops.dispose();
  }
  return out;
}

/**
 * Runs the benchmark on `backend`, stock kernels then this project's. On
 * webgpu the two alternate layer by layer (the stock kernels are put back
 * for each), so that a shared machine's load drifts less between the two
 * columns. On wasm registering is one-way: all stock, then all ours; it
 * must run before anything else in the process registers the project's
 * kernels, or the "stock" column is not stock (it then throws).
 */
export async function benchKernels(
  backend: KernelBenchBackend = "wasm",
): Promise<KernelBench> {
  let reason = "stock tfjs-backend-wasm vs lib/kernels";
  if (backend === "webgpu") {
    reason = (await initBackend("webgpu")).reason;
  } else {
    if (!(await tf.setBackend("wasm"))) throw new Error("wasm backend failed");
    if (tf.getKernel("Conv2DBackpropFilter", "wasm") != null) {
      throw new Error(
        "benchKernels: the project's wasm kernels are already registered; " +
          "run it in a fresh process to time the stock kernels",
      );
    }
  }
  const groups = backend === "webgpu" ? LAYERS.map((l) => [l]) : [LAYERS];
  const stock = new Map<string, number | null>();
  const fast = new Map<string, number | null>();
  for (const group of groups) {
    if (backend === "webgpu") restoreStockWebGpuKernels();
    for (const [k, v] of await timeLayers(group)) stock.set(k, v);
    if (backend === "webgpu") registerWebGpuKernels();
    else registerWasmKernels();
    for (const [k, v] of await timeLayers(group)) fast.set(k, v);
  }
  const rows = LAYERS.flatMap(([size, inC, outC]) =>
    OPS.map((op) => ({
      layer: `${size}x${size}x${inC} -> ${size / 2}x${size / 2}x${outC}`,
      op,
      stockMs: stock.get(`${size},${op}`) ?? null,
      fastMs: fast.get(`${size},${op}`)!,
    }))
  );
  return { backend, reason, rows };
}

/** The result as a markdown table with the speed-up, and a note on software adapters. */
export function formatKernelBench(b: KernelBench): string {
  const ms = (v: number | null) => v == null ? "n/a" : v.toFixed(1);
  const lines = [
    `${b.backend}: ${b.reason}`,
    "",
    `| layer | op | stock ${b.backend} ms | ours ms | speed-up |`,
    "|---|---|---|---|---|",
    ...b.rows.map((r) =>
      `| ${r.layer} | ${r.op} | ${ms(r.stockMs)} | ${ms(r.fastMs)} | ${
        r.stockMs == null ? "-" : (r.stockMs / r.fastMs).toFixed(1) + "x"
      } |`
    ),
  ];
  if (/software/.test(b.reason)) {
    lines.push(
      "",
      "A software adapter runs the shaders on the CPU: the ratios check the " +
        "algorithms (work done, parallelism), they are not GPU figures.",
    );
  }
  return lines.join("\n");
}
