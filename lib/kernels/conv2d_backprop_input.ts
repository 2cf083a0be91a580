/**
 * Fast wasm `Conv2DBackpropInput` (the input gradient of conv2d, and the
 * forward pass of conv2dTranspose) by sub-pixel decomposition into matMuls.
 *
 * With stride `s`, the input pixels `iy = s*q + p` of one phase `p` receive
 * gradient only from the kernel taps `ky = k0 + s*j` with
 * `k0 = (p + padBefore) mod s`: `dx[s*q + p] = sum_j W[k0 + s*j] dy[q + c - j]`
 * with `c = floor((p + padBefore) / s)`. Per phase (4 for pix2pix's 4x4
 * stride-2 layers, each with 2x2 taps) that is one plain XNNPACK matMul,
 * channels first: `W_phase [inC, taps*outC] x windows [taps*outC, pixels]`,
 * where `W_phase` is gathered from the filter without transposing it and
 * the windows are shifted copies of `dy`. The phases are then interleaved
 * into `dx`. Weight-sized tensors are never transposed (the wasm transpose
 * is slow above rank 2); activations get one 2-D transpose on the way in and
 * one per phase on the way out. The stock kernel is a naive loop, ~13x
 * slower than the forward convolution.
 *
 * @module
 */
import {
  Conv2DBackpropInput,
  type KernelConfig,
  type KernelFunc,
  type TensorInfo,
} from "@tensorflow/tfjs-core";
import {
  type ConvAxis,
  type ConvGeometry,
  convGeometry,
  type ConvPad,
} from "./conv_geometry.ts";
import { copyRuns } from "./heap_copy.ts";
import { type WasmBackendLike, WasmScope } from "./wasm_ops.ts";

/** One phase `p` of one spatial axis. */
interface Phase {
  /** The phase's first kernel tap. */
  k0: number;
  /** `dy` offset: tap `j` reads `dy[q + c - j]`. */
  c: number;
  /**
   * Sub-kernel taps `j` used: inside the kernel (`k0 + s*j < kernel`) and
   * reading some of `dy`, not only its zero padding (small layers).
   */
  js: number[];
  /** Output pixels of this phase that exist: `s*q + p < size`. */
  count: number;
}

/** The phases of one axis, the common per-phase length `q`, and `dy` padding. */
interface AxisPlan {
  phases: Phase[];
  /** Per-phase output length, `ceil(size / s)`. */
  q: number;
  /** Zero padding of `dy` before / after so that every window fits. */
  padBefore: number;
  padAfter: number;
}

function planAxis(axis: ConvAxis): AxisPlan {
  const s = axis.stride;
  const q = Math.ceil(axis.size / s);
  const phases: Phase[] = [];
  let padBefore = 0;
  let padAfter = 0;
  for (let p = 0; p < s; p++) {
    const t = p + axis.padBefore;
    const k0 = t % s;
    const c = Math.floor(t / s);
    const count = Math.ceil((axis.size - p) / s);
    const js: number[] = [];
    for (let j = 0; k0 + s * j < axis.kernel; j++) {
      // Window dy[c - j .. c - j + count - 1] must meet dy[0 .. out - 1].
      if (c - j + count - 1 < 0 || c - j > axis.out - 1) continue;
      js.push(j);
      padBefore = Math.max(padBefore, j - c);
      padAfter = Math.max(padAfter, c - j + q - axis.out);
    }
    phases.push({ k0, c, js, count });
  }
  return { phases, q, padBefore, padAfter };
}

/**
 * The input gradient `dx` (`[batch, h.size, w.size, inChannels]`) of an NHWC
 * conv2d from `dy` (`[batch, h.out, w.out, outChannels]`) and the filter
 * (`[kh, kw, inChannels, outChannels]`), composed of wasm kernels.
 */
export function subPixelInputGrad(
  sc: WasmScope,
  dy: TensorInfo,
  filter: TensorInfo,
  g: ConvGeometry,
): TensorInfo {
  const { h, w, batch: n, inChannels: ci, outChannels: co } = g;
  const ph = planAxis(h);
  const pw = planAxis(w);
  // dy channels first, padded once for every phase: [co, n, lh, lw].
  const dyT = sc.reshape(
    sc.transpose2d(sc.reshape(dy, [n * h.out * w.out, co])),
    [co, n, h.out, w.out],
  );
  const dyP = sc.pad(dyT, [
    [0, 0],
    [0, 0],
    [ph.padBefore, ph.padAfter],
    [pw.padBefore, pw.padAfter],
  ]);
  const lh = h.out + ph.padBefore + ph.padAfter;
  const lw = w.out + pw.padBefore + pw.padAfter;
  const pixels = n * ph.q * pw.q;
  const outs: { y: number; x: number; t: TensorInfo }[] = [];
  for (const [y, a] of ph.phases.entries()) {
    for (const [x, b] of pw.phases.entries()) {
      const taps = a.js.length * b.js.length;
      if (taps === 0) continue;
      const wPhase = sc.alloc([1, ci, taps * co]);
      const windows = sc.alloc([1, taps * co, pixels]);
      const [wSrc, wDst] = [sc.view(filter), sc.view(wPhase)];
      const [dSrc, dDst] = [sc.view(dyP), sc.view(windows)];
      let t = 0;
      for (const jy of a.js) {
        for (const jx of b.js) {
          const ky = a.k0 + h.stride * jy;
          const kx = b.k0 + w.stride * jx;
          // W[ky, kx] ([ci, co]) -> columns t*co.. of W_phase.
          copyRuns(
            {
              view: wSrc,
              offset: (ky * w.kernel + kx) * ci * co,
              strides: [co],
            },
            { view: wDst, offset: t * co, strides: [taps * co] },
            [ci],
            co,
          );
          // dy[q + c - j] for all q -> rows t*co.. of the windows.
          copyRuns(
            {
              view: dSrc,
              offset: (a.c - jy + ph.padBefore) * lw +
                (b.c - jx + pw.padBefore),
              strides: [n * lh * lw, lh * lw, lw],
            },
            {
              view: dDst,
              offset: t * co * pixels,
              strides: [pixels, ph.q * pw.q, pw.q],
            },
            [co, n, ph.q],
            pw.q,
          );
          t++;
        }
      }
      const out = sc.matMul(wPhase, windows); // [1, ci, pixels]
      outs.push({ y, x, t: sc.transpose2d(sc.reshape(out, [ci, pixels])) });
    }
  }
  // Interleave the phases: dx[n, s*q + y, s*r + x] = phase(y, x)[n, q, r].
  const dx = sc.alloc([n, h.size, w.size, ci]);
  const dst = sc.view(dx);
  if (outs.length < ph.phases.length * pw.phases.length) dst.fill(0);
  for (const { y, x, t } of outs) {
    copyRuns(
      {
        view: sc.view(t),
        offset: 0,
        strides: [ph.q * pw.q * ci, pw.q * ci, ci],
      },
      {
        view: dst,
        offset: (y * w.size + x) * ci,
        strides: [h.size * w.size * ci, h.stride * w.size * ci, w.stride * ci],
      },
      [n, ph.phases[y].count, pw.phases[x].count],
      ci,
    );
  }
  return dx;
}

/**
 * Builds the replacement `Conv2DBackpropInput` kernel config. NCHW,
 * non-float32 inputs and a `dy` whose shape disagrees with the attributes go
 * to `original`, the stock kernel.
 */
export function makeConv2DBackpropInputConfig(
  original: KernelConfig,
): KernelConfig {
  const kernelFunc: KernelFunc = (args) => {
    const { dy, filter } = args.inputs as {
      dy: TensorInfo;
      filter: TensorInfo;
    };
    const attrs = args.attrs as unknown as {
      strides: number | [number, number];
      pad: ConvPad;
      dataFormat: "NHWC" | "NCHW";
      dimRoundingMode?: "floor" | "round" | "ceil";
      inputShape: [number, number, number, number];
    };
    if (
      attrs.dataFormat === "NCHW" || dy.dtype !== "float32" ||
      filter.dtype !== "float32"
    ) return original.kernelFunc(args);
    const g = convGeometry(
      attrs.inputShape,
      filter.shape as [number, number, number, number],
      attrs.strides,
      attrs.pad,
      attrs.dimRoundingMode,
    );
    if (dy.shape[1] !== g.h.out || dy.shape[2] !== g.w.out) {
      return original.kernelFunc(args);
    }
    const sc = new WasmScope(args.backend as unknown as WasmBackendLike);
    return sc.finish(subPixelInputGrad(sc, dy, filter, g));
  };
  return {
    kernelName: Conv2DBackpropInput,
    backendName: "wasm",
    kernelFunc,
    setupFunc: original.setupFunc,
    disposeFunc: original.disposeFunc,
  };
}
