/**
 * Fast wasm `Conv2DBackpropInput` (the input gradient of conv2d, and the
 * forward pass of conv2dTranspose) by sub-pixel decomposition.
 *
 * With stride `s`, the input pixels `iy = s*q + p` of one phase `p` receive
 * gradient only from the kernel taps `ky = k0 + s*j` with
 * `k0 = (p + padBefore) mod s`, and the sum over those taps is a stride-1
 * correlation of `dy` with the flipped sub-kernel. So the whole gradient is
 * `s*s` stride-1 XNNPACK convolutions with `ceil(k/s)`-sized kernels (2x2 for
 * pix2pix's 4x4 stride-2 layers), interleaved by one transpose (depth to
 * space). Stride 1 is the single-phase case: a conv2d of the padded `dy`
 * with the flipped, transposed kernel. The stock kernel is a naive loop,
 * ~13x slower than the forward convolution.
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
import { type WasmBackendLike, WasmScope } from "./wasm_ops.ts";

/** How one phase of one axis reads `dy`: padding or cropping at each end. */
interface PhaseAxis {
  /** Kernel tap of this phase's first sub-kernel element (before flipping). */
  k0: number;
  padBefore: number;
  padAfter: number;
  cropBefore: number;
  cropAfter: number;
}

/**
 * The phase `p` of one axis: output pixels `s*q + p`, `q < ceil(size/s)`,
 * are `sum_j dy[q + c - j] * w[k0 + s*j]` for `j < taps`, a correlation of
 * `dy` (padded by `taps-1-c` before) with the flipped sub-kernel.
 */
function phaseAxis(axis: ConvAxis, p: number, taps: number): PhaseAxis {
  const t = p + axis.padBefore;
  const c = Math.floor(t / axis.stride);
  const before = taps - 1 - c;
  const after = Math.ceil(axis.size / axis.stride) + c - axis.out;
  return {
    k0: t % axis.stride,
    padBefore: Math.max(before, 0),
    padAfter: Math.max(after, 0),
    cropBefore: Math.max(-before, 0),
    cropAfter: Math.max(-after, 0),
  };
}

/** True when every phase still reads at least one row/column of `dy`. */
function phasesFit(axis: ConvAxis, taps: number): boolean {
  for (let p = 0; p < axis.stride; p++) {
    const ph = phaseAxis(axis, p, taps);
    if (axis.out - ph.cropBefore - ph.cropAfter <= 0) return false;
  }
  return true;
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
  const th = Math.ceil(h.kernel / h.stride);
  const tw = Math.ceil(w.kernel / w.stride);
  // Sub-kernels for all phases at once: [sh, sw, th, tw, co, ci], taps
  // flipped. Taps past the kernel's end are zero.
  const wPad = sc.pad(filter, [
    [0, th * h.stride - h.kernel],
    [0, tw * w.stride - w.kernel],
    [0, 0],
    [0, 0],
  ]);
  const w6 = sc.reshape(wPad, [th, h.stride, tw, w.stride, ci, co]);
  const wT = sc.transpose(w6, [1, 3, 0, 2, 5, 4]);
  const wFlip = th * tw === 1
    ? wT
    : sc.run("Reverse", { x: wT }, { dims: [2, 3] });
  const qh = Math.ceil(h.size / h.stride);
  const qw = Math.ceil(w.size / w.stride);
  const phases: TensorInfo[] = [];
  for (let py = 0; py < h.stride; py++) {
    const ay = phaseAxis(h, py, th);
    for (let px = 0; px < w.stride; px++) {
      const ax = phaseAxis(w, px, tw);
      const kernel = sc.reshape(
        sc.slice(wFlip, [ay.k0, ax.k0, 0, 0, 0, 0], [1, 1, th, tw, co, ci]),
        [th, tw, co, ci],
      );
      const cropped = ay.cropBefore + ay.cropAfter + ax.cropBefore +
            ax.cropAfter === 0
        ? dy
        : sc.slice(dy, [0, ay.cropBefore, ax.cropBefore, 0], [
          n,
          h.out - ay.cropBefore - ay.cropAfter,
          w.out - ax.cropBefore - ax.cropAfter,
          co,
        ]);
      const out = sc.conv2d(cropped, kernel, [1, 1], [
        [0, 0],
        [ay.padBefore, ay.padAfter],
        [ax.padBefore, ax.padAfter],
        [0, 0],
      ]);
      phases.push(sc.reshape(out, [1, n, qh, qw, ci]));
    }
  }
  if (phases.length === 1) return sc.reshape(phases[0], [n, qh, qw, ci]);
  // [sh*sw, n, qh, qw, ci] -> [n, qh, sh, qw, sw, ci] = depth to space.
  const stacked = sc.reshape(sc.concat(phases, 0), [
    h.stride,
    w.stride,
    n,
    qh,
    qw,
    ci,
  ]);
  const full = sc.reshape(sc.transpose(stacked, [2, 3, 0, 4, 1, 5]), [
    n,
    qh * h.stride,
    qw * w.stride,
    ci,
  ]);
  if (qh * h.stride === h.size && qw * w.stride === w.size) return full;
  return sc.slice(full, [0, 0, 0, 0], [n, h.size, w.size, ci]);
}

/**
 * Builds the replacement `Conv2DBackpropInput` kernel config. Anything it
 * does not cover (NCHW, non-float32, a `dy` whose shape disagrees with the
 * attributes, padding so large that a phase reads no `dy`) goes to
 * `original`, the stock kernel.
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
    if (
      dy.shape[1] !== g.h.out || dy.shape[2] !== g.w.out ||
      !phasesFit(g.h, Math.ceil(g.h.kernel / g.h.stride)) ||
      !phasesFit(g.w, Math.ceil(g.w.kernel / g.w.stride))
    ) return original.kernelFunc(args);
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
