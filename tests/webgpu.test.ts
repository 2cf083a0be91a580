/**
 * The WebGPU backend against cpu: conv forward (bias, fused activations)
 * and gradients, a whole train step, and a small train + translate run. On a machine without a GPU this runs on
 * Mesa's lavapipe (a CPU Vulkan driver; CI installs mesa-vulkan-drivers):
 * slow, so the shapes are tiny.
 *
 * @module
 */
import assert from "node:assert/strict";
import * as tf from "@tensorflow/tfjs";
import { initBackend, WEBGPU_KERNELS_ENV } from "../lib/runtime/backend.ts";
import { readLossLog } from "../lib/report/run_page.ts";
import { train } from "../lib/train.ts";
import { translateSplit } from "../lib/translate.ts";
import { readRgb } from "../lib/util/image.ts";
import {
  COL2IM_MAX_CHANNELS,
  filterSplits,
  FUSED_ACTIVATIONS,
  type FusedActivation,
} from "../lib/runtime/webgpu/conv.ts";
import {
  WEBGPU_KERNELS,
  webGpuKernelCalls,
} from "../lib/runtime/webgpu/mod.ts";
import {
  caseName,
  CONV_CASES,
  type ConvCase,
  convGradients,
  relError,
  seededValues,
} from "./conv_grad_cases.ts";
import { firstStepError, firstStepOn, TINY32 } from "./train_fixtures.ts";
import { webgpuMissingReason } from "./gpu_fixtures.ts";
import { runTask } from "./cli_fixtures.ts";
import { translateImage } from "../lib/translate.ts";
import { buildGenerator, generatorSpecFromConfig } from "../lib/unet.ts";
import { ensureSynthDataset } from "../lib/datasets/synth.ts";
import {
  saveSegmenter,
  type SegmenterConfig,
  trainSegmenter,
} from "../lib/eval/segmenter.ts";

/** Starts webgpu; the reason to skip, or null. Throws where it should work. */
async function startWebGpu(): Promise<string | null> {
  try {
    await initBackend("webgpu");
    return null;
  } catch (e) {
    const missing = webgpuMissingReason();
    if (missing == null) throw e;
    return `${missing} (${(e as Error).message})`;
  }
}

const skip = await startWebGpu();
if (skip) console.log(`webgpu tests skipped: ${skip}`);
/** The WebGPU device lives for the whole process: no resource sanitizers. */
const opts = {
  ignore: skip != null,
  sanitizeResources: false,
  sanitizeOps: false,
};

/**
 * The shared cases; each again with more input channels (dx then takes the
 * per-phase GEMM path, not col2im); and one with several 64-wide tiles and a
 * split reduction.
 */
const CASES: ConvCase[] = [
  ...CONV_CASES,
  ...CONV_CASES.map((c) => ({ ...c, inC: c.inC + COL2IM_MAX_CHANNELS + 2 })),
  {
    op: "conv2d",
    batch: 2,
    size: [36, 36],
    inC: 8,
    outC: 70,
    kernel: [4, 4],
    stride: [2, 2],
    pad: "same",
  },
];

for (const c of CASES) {
  Deno.test({
    ...opts,
    name: `webgpu conv gradients match cpu: ${caseName(c)}`,
    fn: async () => {
      const ref = await convGradients("cpu", c);
      const got = await convGradients("webgpu", c);
      for (const k of ["y", "dx", "dw"] as const) {
        const e = relError(got[k], ref[k]);
        assert.ok(e < 1e-4, `${k}: relative error ${e}`);
      }
    },
  });
}

/** A fused conv2d forward: its conv case, bias or not, activation. */
interface FusedCase {
  c: ConvCase;
  bias: boolean;
  activation: FusedActivation;
}

/** `tf.fused.conv2d` of `f` on `backend` (FusedConv2D outside a tape). */
async function fusedForward(
  backend: string,
  f: FusedCase,
): Promise<Float32Array> {
  if (!(await tf.setBackend(backend))) throw new Error(`no ${backend}`);
  const { c } = f;
  const xShape = [c.batch, ...c.size, c.inC] as const;
  const wShape = [...c.kernel, c.inC, c.outC] as const;
  const n = (s: readonly number[]) => s.reduce((a, b) => a * b, 1);
  const x = tf.tensor4d(seededValues(n(xShape), 4), [...xShape]);
  const w = tf.tensor4d(seededValues(n(wShape), 5), [...wShape]);
  const bias = f.bias ? tf.tensor1d(seededValues(c.outC, 6)) : undefined;
  const y = tf.fused.conv2d({
    x,
    filter: w,
    strides: c.stride,
    pad: c.pad as "same",
    bias,
    activation: f.activation,
    leakyreluAlpha: 0.3,
  });
  const out = (await y.data()) as Float32Array;
  tf.dispose([x, w, y, ...(bias ? [bias] : [])]);
  return out;
}

/**
 * Odd sizes, stride 2 'same', batch 2 (CONV_CASES[1]) with every fused
 * activation, with and without bias; then wider layers (several tiles of
 * columns, a long reduction) and numeric, 'valid' and explicit pads.
 */
const FUSED_CASES: FusedCase[] = [
  ...Object.keys(FUSED_ACTIVATIONS).flatMap((activation) =>
    [false, true].map((bias) => ({
      c: CONV_CASES[1],
      bias,
      activation: activation as FusedActivation,
    }))
  ),
  ...[CASES.at(-1)!, CONV_CASES[4], CONV_CASES[5], CONV_CASES[10]].map((c) => ({
    c: { ...c, inC: c.inC + 9, outC: c.outC + 67 },
    bias: true,
    activation: "leakyrelu" as const,
  })),
];

for (const f of FUSED_CASES) {
  Deno.test({
    ...opts,
    name: `webgpu fused conv2d forward matches cpu: ${caseName(f.c)}, ${
      f.bias ? "bias" : "no bias"
    }, ${f.activation}`,
    fn: async () => {
      const ref = await fusedForward("cpu", f);
      const got = await fusedForward("webgpu", f);
      const e = relError(got, ref);
      assert.ok(e < 1e-4, `relative error ${e}`);
    },
  });
}

Deno.test({
  ...opts,
  name: "webgpu runs this project's conv kernels; the big case splits",
  fn: () => {
    const calls = webGpuKernelCalls();
    for (const k of WEBGPU_KERNELS) assert.ok((calls[k] ?? 0) > 0, k);
    const [rows, cols, red] = [4 * 4 * 8, 70, 2 * 18 * 18];
    assert.ok(filterSplits(rows, cols, red) > 1);
  },
});

Deno.test({
  ...opts,
  name: "a whole train step on webgpu equals the cpu backend's (1e-4 relative)",
  fn: async () => {
    // unet_32 (dropout, batch norm, skips) + 1-layer PatchGAN, l1+cgan.
    const cfg = { ...TINY32, seed: 5 };
    const ref = await firstStepOn("cpu", cfg);
    const got = await firstStepOn("webgpu", cfg);
    assert.ok(ref.moments.length > 20, "every G and D variable compared");
    const e = firstStepError(got, ref);
    assert.ok(e.losses < 1e-4, `losses: relative error ${e.losses}`);
    assert.ok(e.moments < 1e-4, `gradients: relative error ${e.moments}`);
  },
});

Deno.test({
  ...opts,
  name: "train (12 steps, losses read in batches) and translate on webgpu",
  fn: async () => {
    const dir = await Deno.makeTempDir({ prefix: "pix2pix-webgpu-" });
    try {
      const s = await train({
        ...TINY32,
        backend: "webgpu",
        dataroot: null,
        synthCount: 12,
        checkpointsDir: dir,
        name: "gpu",
        maxSteps: 12,
        sampleEvery: 0,
      }, { quiet: true });
      assert.equal(tf.getBackend(), "webgpu");
      assert.equal(s.steps, 12);
      const log = await readLossLog(s.runDir);
      assert.deepEqual(
        log.map((r) => r.step),
        [...Array(12)].map((_, i) => i + 1),
      );
      for (const r of log) {
        for (const k of ["G_GAN", "G_L1", "D_real", "D_fake"] as const) {
          assert.ok(
            Number.isFinite(r[k]) && r[k] > 0,
            `step ${r.step} ${k} ${r[k]}`,
          );
        }
      }
      assert.deepEqual(log.at(-1), { ...log.at(-1)!, ...s.final });
      const t = await translateSplit({
        checkpoint: `${s.runDir}/checkpoints`,
        out: `${dir}/results`,
        numTest: 2,
      });
      assert.equal(t.count, 2);
      for (const e of Deno.readDirSync(`${dir}/results/images`)) {
        if (!e.name.includes("fake_B")) continue;
        const img = await readRgb(`${dir}/results/images/${e.name}`);
        assert.equal(img.width, 32);
        assert.ok(new Set(img.data).size > 8, `${e.name} is flat`);
      }
    } finally {
      await Deno.remove(dir, { recursive: true });
    }
  },
});

Deno.test({
  ...opts,
  name:
    `${WEBGPU_KERNELS_ENV}=stock keeps tfjs's kernels (for comparisons); unset, ours come back`,
  fn: async () => {
    const ran = () => WEBGPU_KERNELS.map((k) => webGpuKernelCalls()[k] ?? 0);
    const everyKernel = async () => {
      await convGradients("webgpu", CONV_CASES[0]);
      await fusedForward("webgpu", FUSED_CASES[0]);
    };
    Deno.env.set(WEBGPU_KERNELS_ENV, "stock");
    try {
      const stock = await initBackend("webgpu");
      assert.match(stock.reason, /stock kernels/);
      const before = ran();
      await everyKernel();
      assert.deepEqual(ran(), before, "our kernels ran");
    } finally {
      Deno.env.delete(WEBGPU_KERNELS_ENV);
    }
    const ours = await initBackend("webgpu");
    assert.match(ours.reason, /this project's conv kernels/);
    const before = ran();
    await everyKernel();
    assert.ok(ran().every((n, i) => n > before[i]), "ours did not run");
  },
});

Deno.test({
  ...opts,
  name:
    "translate in tiles on webgpu (each tile read back asynchronously) equals the cpu backend's",
  fn: async () => {
    await tf.setBackend("cpu");
    // Built on cpu: its weights move to webgpu on first use there.
    const G = buildGenerator(generatorSpecFromConfig({ ...TINY32, seed: 2 }));
    const x = tf.randomUniform([72, 88, 3], -1, 1, "float32", 4) as tf.Tensor3D;
    // 32 px tiles, 8 px overlap: 3 x 4 tiles, blended.
    const o = { eval: true, tile: 32, tileOverlap: 8 };
    const ref = await translateImage(G, x, o);
    const want = (await ref.data()) as Float32Array;
    await tf.setBackend("webgpu");
    const got = await translateImage(G, x, o);
    assert.equal(tf.getBackend(), "webgpu");
    assert.deepEqual(got.shape, [72, 88, 3]);
    const e = relError((await got.data()) as Float32Array, want);
    assert.ok(e < 1e-4, `relative error ${e}`);
    tf.dispose([x, ref, got]);
    G.dispose();
  },
});

Deno.test({
  ...opts,
  name:
    "eval on webgpu: a segmenter trains, the CLI translates and scores a checkpoint, and cpu scores its results the same",
  fn: async () => {
    await tf.setBackend("webgpu");
    const dir = await Deno.makeTempDir({ prefix: "pix2pix-webgpu-eval-" });
    try {
      const dataroot = await ensureSynthDataset({
        count: 8,
        size: 32,
        seed: 0,
      });
      const config: SegmenterConfig = {
        size: 32,
        numDowns: 5,
        ngf: 4,
        epochs: 1,
        epochsDecay: 0,
        batchSize: 2,
        lr: 1e-3,
        seed: 3,
        maxTrain: 4,
        valFraction: 0,
        jitter: false,
        patience: 0,
        flipTest: true,
      };
      const steps: number[] = [];
      const seg = await trainSegmenter({
        dataroot,
        config,
        maxTest: 2,
        onProgress: (p) => steps.push(p.step),
      });
      // 4 photos in batches of 2; both losses reported (read in one batch).
      assert.deepEqual(steps, [1, 2]);
      assert.equal(seg.record.backend, "webgpu");
      assert.ok(Number.isFinite(seg.record.finalLoss));
      const acc = seg.record.test.per_pixel_acc;
      assert.ok(acc >= 0 && acc <= 1, `segmenter test acc ${acc}`);
      await saveSegmenter(`${dir}/seg`, seg.segmenter, seg.record);
      seg.segmenter.dispose();
      const s = await train({
        ...TINY32,
        backend: "webgpu",
        dataroot,
        checkpointsDir: dir,
        name: "g",
        maxSteps: 2,
        sampleEvery: 0,
      }, { quiet: true });
      const score = async (args: string[], backend: string) => {
        const r = await runTask("eval", [
          ...args,
          "--segmenter",
          `${dir}/seg`,
          "--json",
          "--backend",
          backend,
        ]);
        assert.equal(r.code, 0, r.stderr);
        assert.match(r.stderr, new RegExp(`backend: ${backend}`));
        return JSON.parse(r.stdout);
      };
      const results = `${dir}/results`;
      const gpu = await score([
        "--checkpoint",
        s.runDir,
        "--num-test",
        "2",
        "--out",
        results,
      ], "webgpu");
      assert.equal(gpu.n_images, 2);
      const cpu = await score(["--results", results], "cpu");
      for (const k of ["per_pixel_acc", "per_class_acc", "class_iou"]) {
        assert.ok(gpu[k] >= 0 && gpu[k] <= 1, `${k} ${gpu[k]}`);
        assert.ok(
          Math.abs(gpu[k] - cpu[k]) < 0.02,
          `${k}: ${gpu[k]} vs ${cpu[k]}`,
        );
        assert.ok(
          Math.abs(gpu.ground_truth[k] - cpu.ground_truth[k]) < 0.02,
          `ground truth ${k}`,
        );
      }
      // Image metrics read the same PNG files on either backend.
      for (const k of ["l1", "psnr", "ssim"]) assert.equal(gpu[k], cpu[k], k);
    } finally {
      await Deno.remove(dir, { recursive: true });
    }
  },
});
