/**
 * Where a training step's time goes: tfjs's profiler times every kernel of
 * one `Pix2Pix.trainStep` (after warm-up) and the times are summed per kernel
 * name. `deno task bench --profile`.
 *
 * The profiler waits for each kernel's result before starting the next, so
 * the kernels' sum is close to, not equal to, an unprofiled step.
 *
 * @example
 * ```ts
 * import { initBackend } from "../lib/runtime/backend.ts";
 * import { formatProfile, profileStep } from "./profile.ts";
 * await initBackend("native", { threads: 2 });
 * const p = await profileStep(128, { ngf: 64, ndf: 64, backend: "native", threads: 2, warmup: 1 });
 * console.log(formatProfile(p)); // | kernel | calls | ms | share | ...
 * ```
 *
 * @module
 */
import * as tf from "@tensorflow/tfjs";
import { randomPair } from "../lib/data.ts";
import { Pix2Pix } from "../lib/train.ts";
import { benchConfig, type BenchOptions, round1 } from "./train_step.ts";

/** One kernel name's share of a profiled step. */
export interface KernelCost {
  /** tfjs kernel name, e.g. `Conv2DBackpropFilter`. */
  kernel: string;
  /** Times it ran in the step. */
  calls: number;
  /** Sum of its kernel times, ms. */
  ms: number;
  /** `ms` over the sum of every kernel's time, in [0, 1]. */
  share: number;
}

/** A profiled training step at one size. */
export interface StepProfile {
  size: number;
  /** Wall time of the profiled step (profiler overhead included), ms. */
  step_ms: number;
  /** Sum of all kernel times, ms. */
  kernel_ms: number;
  /** Per kernel name, most expensive first. */
  kernels: KernelCost[];
}

/**
 * Profiles one training iteration (D step + G step) of the paper's networks
 * at `size` after `warmup` unprofiled ones. The backend must already be
 * initialised.
 */
export async function profileStep(
  size: number,
  o: Pick<BenchOptions, "ngf" | "ndf" | "backend" | "threads" | "warmup">,
): Promise<StepProfile> {
  const model = Pix2Pix.create(benchConfig(size, o));
  const batch = randomPair(1, size);
  try {
    for (let i = 0; i < o.warmup; i++) await model.trainStep(batch, i);
    const t0 = performance.now();
    const info = await tf.profile(async () => {
      await model.trainStep(batch, o.warmup);
    });
    const stepMs = performance.now() - t0;
    const byName = new Map<string, { calls: number; ms: number }>();
    // Custom-gradient ops (`fusedConv2d__op`) are scopes around kernels that
    // are listed too: only registered kernels count.
    const backend = tf.getBackend();
    for (const k of info.kernels) {
      if (tf.getKernel(k.name, backend) === undefined) continue;
      const ms = typeof k.kernelTimeMs === "number" ? k.kernelTimeMs : 0;
      const e = byName.get(k.name) ?? { calls: 0, ms: 0 };
      byName.set(k.name, { calls: e.calls + 1, ms: e.ms + ms });
    }
    const total = [...byName.values()].reduce((s, e) => s + e.ms, 0);
    const kernels = [...byName].map(([kernel, e]) => ({
      kernel,
      calls: e.calls,
      ms: round1(e.ms),
      share: total > 0 ? e.ms / total : 0,
    })).sort((a, b) => b.ms - a.ms);
    return {
      size,
      step_ms: round1(stepMs),
      kernel_ms: round1(total),
      kernels,
    };
  } finally {
    tf.dispose([batch.input, batch.target]);
    model.dispose();
  }
}

/** A markdown table of the `top` most expensive kernels, the rest in one row. */
export function formatProfile(p: StepProfile, top = 15): string {
  const pct = (x: number) => `${(x * 100).toFixed(1)} %`;
  const rows = p.kernels.slice(0, top).map((k) =>
    `| ${k.kernel} | ${k.calls} | ${k.ms} | ${pct(k.share)} |`
  );
  const rest = p.kernels.slice(top);
  if (rest.length > 0) {
    const ms = rest.reduce((s, k) => s + k.ms, 0);
    const calls = rest.reduce((s, k) => s + k.calls, 0);
    rows.push(
      `| ${rest.length} others | ${calls} | ${round1(ms)} | ${
        pct(p.kernel_ms > 0 ? ms / p.kernel_ms : 0)
      } |`,
    );
  }
  return [
    `${p.size}px: one profiled step ${p.step_ms} ms, kernels ${p.kernel_ms} ms`,
    "",
    "| kernel | calls | ms | share |",
    "|---|---|---|---|",
    ...rows,
  ].join("\n");
}
