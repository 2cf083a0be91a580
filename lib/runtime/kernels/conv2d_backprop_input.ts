/**
 * Fast wasm `Conv2DBackpropInput` (the input gradient of conv2d, and the
 * forward pass of conv2dTranspose) by sub-pixel decomposition into matMuls.
 *
 * With stride `s`, the input pixels `iy = s*q + p` of one phase `p` receive
 * gradient only from the kernel taps `ky = k0 + s*j` with
 * `k0 = (p + padBefore) mod s`: `dx[s*q + p] = sum_j W[k0 + s*j] dy[q + c - j]`
 * with `c = floor((p + padBefore) / s)`. Per phase (4 for pix2pix's 4x4
 * stride-2 layers, each with 2x2 taps) that is one plain XNNPACK matMul of
 * the phase's weights with the taps' windows (shifted copies of `dy`); the
 * phases are then interleaved into `dx`. Taps that would read only `dy`'s
 * zero padding (tiny innermost layers) are skipped. XNNPACK re-packs the
 * matMul's right operand on every call, so the product is oriented to make
 * that the smaller one: channels first (weights never transposed) for deep
 * layers, channels last (small per-tap weight transposes) for wide ones.
 * Only 2-D transposes are used (the wasm transpose is slow above rank 2).
 * The stock kernel is a naive loop, ~13x slower than the forward conv.
 *
 * @module
 */
import {
  Conv2DBackpropInput,
  type KernelConfig,
  type KernelFunc,
  type TensorInfo,
} from "@tensorflow/tfjs";
import {
  attrsGeometry,
  type ConvAttrs,
  type ConvAxis,
  type ConvGeometry,
} from "./conv_geometry.ts";
import { copyRuns } from "./heap_copy.ts";
import { kernelScope, type WasmScope } from "./wasm_ops.ts";

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

/** What the per-phase products share: geometry, plans and padded `dy`. */
interface PhaseContext {
  sc: WasmScope;
  g: ConvGeometry;
  ph: AxisPlan;
  pw: AxisPlan;
  /** Padded `dy` height and width. */
  lh: number;
  lw: number;
  /** Output pixels of one phase, `batch * ph.q * pw.q`. */
  pixels: number;
}

/** Kernel taps `[ky, kx]` of the phase pair `(a, b)`, in window order. */
function phaseTaps(g: ConvGeometry, a: Phase, b: Phase): [number, number][] {
  return a.js.flatMap((jy) =>
    b.js.map((jx): [number, number] => [
      a.k0 + g.h.stride * jy,
      b.k0 + g.w.stride * jx,
    ])
  );
}

/**
 * Where tap `[ky, kx]`'s window of the phase pair `(a, b)` starts in padded
 * `dy`, as a pixel index in its `lh x lw` plane: `dy[c - j]` on both axes.
 */
function windowStart(
  ctx: PhaseContext,
  a: Phase,
  b: Phase,
  [ky, kx]: [number, number],
): number {
  const { g, ph, pw, lw } = ctx;
  const jy = (ky - a.k0) / g.h.stride;
  const jx = (kx - b.k0) / g.w.stride;
  return (a.c - jy + ph.padBefore) * lw + (b.c - jx + pw.padBefore);
}

/**
 * One phase, channels first (for many input channels, few pixels):
 * `W_phase [ci, taps*co] x windows [taps*co, pixels]`, then a 2-D transpose
 * to `[pixels, ci]`. `dyT` is `dy` padded, channels first `[co, n, lh, lw]`.
 * The filter is only gathered, never transposed; XNNPACK packs the windows.
 */
function phaseChannelsFirst(
  ctx: PhaseContext,
  filter: TensorInfo,
  dyT: TensorInfo,
  a: Phase,
  b: Phase,
): TensorInfo {
  const { sc, g, ph, pw, lh, lw, pixels } = ctx;
  const { batch: n, inChannels: ci, outChannels: co } = g;
  const taps = phaseTaps(g, a, b);
  const wPhase = sc.alloc([1, ci, taps.length * co]);
  const windows = sc.alloc([1, taps.length * co, pixels]);
  const [wSrc, wDst] = [sc.view(filter), sc.view(wPhase)];
  const [dSrc, dDst] = [sc.view(dyT), sc.view(windows)];
  for (const [t, [ky, kx]] of taps.entries()) {
    // W[ky, kx] ([ci, co]) -> columns t*co.. of W_phase.
    copyRuns(
      { view: wSrc, offset: (ky * g.w.kernel + kx) * ci * co, strides: [co] },
      { view: wDst, offset: t * co, strides: [taps.length * co] },
      [ci],
      co,
    );
    // dy[q + c - j] for all q -> rows t*co.. of the windows.
    copyRuns(
      {
        view: dSrc,
        offset: windowStart(ctx, a, b, [ky, kx]),
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
  }
  const out = sc.matMul(wPhase, windows); // [1, ci, pixels]
  return sc.transpose2d(sc.reshape(out, [ci, pixels]));
}

/**
 * One phase, channels last (for few input channels, many pixels):
 * `windows [pixels, taps*co] x W_phase^T [taps*co, ci]` = `[pixels, ci]`.
 * `dyP` is `dy` padded, `[n, lh, lw, co]`; each tap's `[ci, co]` weight
 * block gets a 2-D transpose (small when `ci` is); XNNPACK packs only them.
 */
function phaseChannelsLast(
  ctx: PhaseContext,
  filter: TensorInfo,
  dyP: TensorInfo,
  a: Phase,
  b: Phase,
): TensorInfo {
  const { sc, g, ph, pw, lh, lw, pixels } = ctx;
  const { batch: n, inChannels: ci, outChannels: co } = g;
  const taps = phaseTaps(g, a, b);
  const blocks = sc.reshape(filter, [g.h.kernel * g.w.kernel, ci, co]);
  const wT = sc.concat(
    taps.map(([ky, kx]) =>
      sc.transpose2d(
        sc.reshape(
          sc.slice(blocks, [ky * g.w.kernel + kx, 0, 0], [1, ci, co]),
          [ci, co],
        ),
      )
    ),
    0,
  ); // [taps*co, ci]
  const windows = sc.alloc([1, pixels, taps.length * co]);
  const [dSrc, dDst] = [sc.view(dyP), sc.view(windows)];
  const row = taps.length * co;
  for (const [t, tap] of taps.entries()) {
    copyRuns(
      {
        view: dSrc,
        offset: windowStart(ctx, a, b, tap) * co,
        strides: [lh * lw * co, lw * co, co],
      },
      {
        view: dDst,
        offset: t * co,
        strides: [ph.q * pw.q * row, pw.q * row, row],
      },
      [n, ph.q, pw.q],
      co,
    );
  }
  const out = sc.matMul(windows, sc.reshape(wT, [1, row, ci]));
  return sc.reshape(out, [pixels, ci]);
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
  const lh = h.out + ph.padBefore + ph.padAfter;
  const lw = w.out + pw.padBefore + pw.padAfter;
  const pixels = n * ph.q * pw.q;
  const ctx: PhaseContext = { sc, g, ph, pw, lh, lw, pixels };
  // XNNPACK packs the matMul's right operand on every call: make it the
  // smaller of the windows (~pixels) and the phase's weights (~ci).
  const channelsFirst = ci >= pixels;
  const spatialPad: [number, number][] = [
    [ph.padBefore, ph.padAfter],
    [pw.padBefore, pw.padAfter],
  ];
  const dyPadded = channelsFirst
    ? sc.pad(
      sc.reshape(
        sc.transpose2d(sc.reshape(dy, [n * h.out * w.out, co])),
        [co, n, h.out, w.out],
      ),
      [[0, 0], [0, 0], ...spatialPad],
    )
    : sc.pad(dy, [[0, 0], ...spatialPad, [0, 0]]);
  const phase = channelsFirst ? phaseChannelsFirst : phaseChannelsLast;
  const outs: { y: number; x: number; t: TensorInfo }[] = [];
  for (const [y, a] of ph.phases.entries()) {
    for (const [x, b] of pw.phases.entries()) {
      if (a.js.length * b.js.length === 0) continue;
      outs.push({ y, x, t: phase(ctx, filter, dyPadded, a, b) });
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
 * The input gradient by col2im, for few input channels (the U-Net's last
 * layer, 64 -> 3; the discriminator's first, 6 -> 64): one matMul
 * `dy [pixels, outChannels] x W^T [outChannels, kh*kw*inChannels]` gives
 * every tap's contribution at every `dy` pixel, and each tap is added into
 * `dx` at its shifted position. The sub-pixel path would instead copy each
 * phase's `dy` windows (taps x outChannels values per pixel) for a product
 * with only `inChannels` columns.
 */
export function col2imInputGrad(
  sc: WasmScope,
  dy: TensorInfo,
  filter: TensorInfo,
  g: ConvGeometry,
): TensorInfo {
  const { h, w, batch: n, inChannels: ci, outChannels: co } = g;
  const taps = h.kernel * w.kernel;
  const cols = sc.matMul(
    sc.reshape(dy, [1, n * h.out * w.out, co]),
    sc.reshape(sc.transpose2d(sc.reshape(filter, [taps * ci, co])), [
      1,
      co,
      taps * ci,
    ]),
  );
  const dx = sc.alloc([n, h.size, w.size, ci]);
  const src = sc.view(cols);
  const dst = sc.view(dx);
  dst.fill(0);
  for (let b = 0; b < n; b++) {
    for (let oy = 0; oy < h.out; oy++) {
      for (let ox = 0; ox < w.out; ox++) {
        const from = ((b * h.out + oy) * w.out + ox) * taps * ci;
        for (let ky = 0; ky < h.kernel; ky++) {
          const iy = oy * h.stride - h.padBefore + ky;
          if (iy < 0 || iy >= h.size) continue;
          for (let kx = 0; kx < w.kernel; kx++) {
            const ix = ox * w.stride - w.padBefore + kx;
            if (ix < 0 || ix >= w.size) continue;
            const s = from + (ky * w.kernel + kx) * ci;
            const d = ((b * h.size + iy) * w.size + ix) * ci;
            for (let c = 0; c < ci; c++) dst[d + c] += src[s + c];
          }
        }
      }
    }
  }
  return dx;
}

/**
 * Whether {@link col2imInputGrad} is the faster path: the matMul's output
 * (`kh*kw*inChannels` per pixel) is no larger than the sub-pixel path's
 * windows (`taps per phase x outChannels`), i.e. few input channels.
 */
export function preferCol2im(g: ConvGeometry): boolean {
  return 8 * g.inChannels <= g.outChannels;
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
    const attrs = args.attrs as unknown as ConvAttrs & {
      inputShape: [number, number, number, number];
    };
    if (
      attrs.dataFormat === "NCHW" || dy.dtype !== "float32" ||
      filter.dtype !== "float32"
    ) return original.kernelFunc(args);
    const g = attrsGeometry(attrs.inputShape, filter.shape, attrs);
    if (dy.shape[1] !== g.h.out || dy.shape[2] !== g.w.out) {
      return original.kernelFunc(args);
    }
    const sc = kernelScope(args.backend);
    const inputGrad = preferCol2im(g) ? col2imInputGrad : subPixelInputGrad;
    return sc.finish(inputGrad(sc, dy, filter, g));
  };
  return {
    kernelName: Conv2DBackpropInput,
    backendName: "wasm",
    kernelFunc,
    setupFunc: original.setupFunc,
    disposeFunc: original.disposeFunc,
  };
}
