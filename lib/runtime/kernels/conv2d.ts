/**
 * Wasm `Conv2D` and `FusedConv2D` for weight-heavy layers, as an im2col
 * matMul.
 *
 * The stock kernels hand XNNPACK a convolution, and tfjs first transposes
 * the filter (HWIO -> OHWI) in a generic C++ loop; with new weights every
 * training step that repacking dominates the layers whose filters are large
 * and whose outputs are small (U-Net's inner layers: 222 ms for a
 * 2x2x512 -> 1x1x512 layer). Here the filter `[kh, kw, inC, outC]` is already
 * the matMul's right operand `[kh*kw*inC, outC]` (XNNPACK packs it once, and
 * caches it while the weights stay the same), the left one is the im2col
 * windows `[pixels, taps*inC]`, and kernel taps that read only padding are
 * skipped. Layers with many output pixels per output channel keep the stock
 * kernel, whose indirect convolution avoids the im2col copy.
 *
 * @module
 */
import {
  Conv2D,
  FusedConv2D,
  type KernelConfig,
  type KernelFunc,
  type TensorInfo,
} from "@tensorflow/tfjs";
import {
  attrsGeometry,
  type ConvAttrs as BaseConvAttrs,
  type ConvAxis,
  type ConvGeometry,
} from "./conv_geometry.ts";
import { copyRuns } from "./heap_copy.ts";
import { kernelScope, type WasmScope } from "./wasm_ops.ts";

/** Whether kernel tap `k` meets the input at some output, not only padding. */
export function tapUsed(axis: ConvAxis, k: number): boolean {
  const first = k - axis.padBefore;
  const last = axis.stride * (axis.out - 1) + first;
  return first <= axis.size - 1 && last >= 0;
}

/**
 * Whether the im2col matMul beats the stock XNNPACK convolution: when the
 * windows (~pixels) are not much larger than the weights (~outC). Measured
 * with new weights per call; the stock kernel wins from ~4x more pixels.
 */
export function preferMatMulConv(g: ConvGeometry): boolean {
  return g.batch * g.h.out * g.w.out <= 4 * g.outChannels;
}

/**
 * NHWC conv2d (dilation 1) of `x` (`[batch, h.size, w.size, inC]`) with
 * `filter` (`[kh, kw, inC, outC]`) as one matMul of the im2col windows with
 * the filter; returns `[batch, h.out, w.out, outC]`.
 */
export function matMulConv2d(
  sc: WasmScope,
  x: TensorInfo,
  filter: TensorInfo,
  g: ConvGeometry,
): TensorInfo {
  const { h, w, batch: n, inChannels: ci, outChannels: co } = g;
  const taps: [number, number][] = [];
  for (let ky = 0; ky < h.kernel; ky++) {
    for (let kx = 0; kx < w.kernel; kx++) {
      if (tapUsed(h, ky) && tapUsed(w, kx)) taps.push([ky, kx]);
    }
  }
  const after = (a: ConvAxis) =>
    Math.max(0, a.stride * (a.out - 1) + a.kernel - a.padBefore - a.size);
  const xp = sc.pad(x, [
    [0, 0],
    [h.padBefore, after(h)],
    [w.padBefore, after(w)],
    [0, 0],
  ]);
  const lh = h.size + h.padBefore + after(h);
  const lw = w.size + w.padBefore + after(w);
  const pixels = n * h.out * w.out;
  const row = taps.length * ci;
  const allTaps = taps.length === h.kernel * w.kernel;
  const windows = sc.alloc([1, pixels, row]);
  const weights = allTaps
    ? sc.reshape(filter, [1, row, co])
    : sc.alloc([1, row, co]);
  const [xv, wv] = [sc.view(xp), sc.view(windows)];
  const [fv, rv] = [sc.view(filter), sc.view(weights)];
  for (const [t, [ky, kx]] of taps.entries()) {
    // x_padded[n, s*oy + ky, s*ox + kx, :] -> windows[n, oy, ox, t*ci..]
    copyRuns(
      {
        view: xv,
        offset: (ky * lw + kx) * ci,
        strides: [lh * lw * ci, h.stride * lw * ci, w.stride * ci],
      },
      {
        view: wv,
        offset: t * ci,
        strides: [h.out * w.out * row, w.out * row, row],
      },
      [n, h.out, w.out],
      ci,
    );
    if (!allTaps) {
      const at = (ky * w.kernel + kx) * ci * co;
      rv.set(fv.subarray(at, at + ci * co), t * ci * co);
    }
  }
  return sc.reshape(sc.matMul(windows, weights), [n, h.out, w.out, co]);
}

/** The attributes Conv2D and FusedConv2D share. */
interface ConvAttrs extends BaseConvAttrs {
  dilations: number | [number, number];
  /** FusedConv2D only. */
  activation?: string;
}

/**
 * The geometry when the matMul path applies (NHWC, float32, dilation 1, a
 * weight-heavy layer), else null.
 */
function fastGeometry(
  x: TensorInfo,
  filter: TensorInfo,
  a: ConvAttrs,
): ConvGeometry | null {
  const dil = Array.isArray(a.dilations) ? a.dilations : [a.dilations];
  if (
    a.dataFormat === "NCHW" || dil.some((d) => d !== 1) ||
    x.dtype !== "float32" || filter.dtype !== "float32"
  ) return null;
  const g = attrsGeometry(x.shape, filter.shape, a);
  return preferMatMulConv(g) ? g : null;
}

/** Replacement `Conv2D`: the matMul path where it wins, else `original`. */
export function makeConv2DConfig(original: KernelConfig): KernelConfig {
  const kernelFunc: KernelFunc = (args) => {
    const { x, filter } = args.inputs as { x: TensorInfo; filter: TensorInfo };
    const g = fastGeometry(x, filter, args.attrs as unknown as ConvAttrs);
    if (g == null) return original.kernelFunc(args);
    const sc = kernelScope(args.backend);
    return sc.finish(matMulConv2d(sc, x, filter, g));
  };
  return { ...original, kernelName: Conv2D, kernelFunc };
}

/**
 * Replacement `FusedConv2D`: the matMul path plus the bias for a linear
 * activation where it wins; other activations and layers go to `original`.
 */
export function makeFusedConv2DConfig(original: KernelConfig): KernelConfig {
  const kernelFunc: KernelFunc = (args) => {
    const { x, filter, bias } = args.inputs as {
      x: TensorInfo;
      filter: TensorInfo;
      bias?: TensorInfo;
    };
    const attrs = args.attrs as unknown as ConvAttrs;
    const linear = attrs.activation == null || attrs.activation === "linear";
    const g = linear ? fastGeometry(x, filter, attrs) : null;
    if (g == null) return original.kernelFunc(args);
    const sc = kernelScope(args.backend);
    const y = matMulConv2d(sc, x, filter, g);
    return sc.finish(bias == null ? y : sc.run("Add", { a: y, b: bias }));
  };
  return { ...original, kernelName: FusedConv2D, kernelFunc };
}
