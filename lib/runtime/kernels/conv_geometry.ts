/**
 * Geometry of a 2-D NHWC convolution, as the composed gradient kernels need
 * it: per spatial axis the input size, output size, kernel size, stride and
 * the padding before the first element.
 *
 * @module
 */
import { backend_util } from "@tensorflow/tfjs";

/** One spatial axis of a convolution (height or width). */
export interface ConvAxis {
  /** Input size along the axis, pixels. */
  size: number;
  /** Output size along the axis, pixels. */
  out: number;
  /** Kernel size along the axis. */
  kernel: number;
  /** Stride along the axis. */
  stride: number;
  /** Zero padding before the first input pixel. */
  padBefore: number;
}

/** A conv2d's geometry: batch, channels and the two spatial axes. */
export interface ConvGeometry {
  batch: number;
  inChannels: number;
  outChannels: number;
  h: ConvAxis;
  w: ConvAxis;
}

/** The `pad` argument of tfjs convolutions: a mode, a number or explicit pairs. */
export type ConvPad =
  | "same"
  | "valid"
  | number
  | [[number, number], [number, number], [number, number], [number, number]];

/** The attributes every tfjs conv2d kernel (forward and gradients) has. */
export interface ConvAttrs {
  strides: number | [number, number];
  pad: ConvPad;
  dataFormat: "NHWC" | "NCHW";
  dimRoundingMode?: "floor" | "round" | "ceil";
}

/**
 * {@link convGeometry} of a kernel call: NHWC shapes (as the kernel's
 * `TensorInfo.shape`s or shape attributes carry them) and its attributes.
 *
 * @param inShape input `[batch, height, width, inChannels]`
 * @param filterShape filter `[kh, kw, inChannels, outChannels]`
 */
export function attrsGeometry(
  inShape: readonly number[],
  filterShape: readonly number[],
  attrs: ConvAttrs,
): ConvGeometry {
  return convGeometry(
    inShape as [number, number, number, number],
    filterShape as [number, number, number, number],
    attrs.strides,
    attrs.pad,
    attrs.dimRoundingMode,
  );
}

/**
 * Computes the geometry of an NHWC conv2d with dilation 1, exactly as tfjs
 * does (`backend_util.computeConv2DInfo`), so that output sizes and 'same'
 * padding match the kernels being replaced.
 *
 * @param inShape input `[batch, height, width, inChannels]`
 * @param filterShape filter `[kh, kw, inChannels, outChannels]`
 */
export function convGeometry(
  inShape: [number, number, number, number],
  filterShape: [number, number, number, number],
  strides: number | [number, number],
  pad: ConvPad,
  dimRoundingMode?: "floor" | "round" | "ceil",
): ConvGeometry {
  const info = backend_util.computeConv2DInfo(
    inShape,
    filterShape,
    strides,
    1,
    pad as never,
    dimRoundingMode,
  );
  return {
    batch: info.batchSize,
    inChannels: info.inChannels,
    outChannels: info.outChannels,
    h: {
      size: info.inHeight,
      out: info.outHeight,
      kernel: info.filterHeight,
      stride: info.strideHeight,
      padBefore: info.padInfo.top,
    },
    w: {
      size: info.inWidth,
      out: info.outWidth,
      kernel: info.filterWidth,
      stride: info.strideWidth,
      padBefore: info.padInfo.left,
    },
  };
}

/** The NHWC shapes of a conv2d's input, filter and output. */
export function convShapes(g: ConvGeometry): {
  x: [number, number, number, number];
  filter: [number, number, number, number];
  y: [number, number, number, number];
} {
  return {
    x: [g.batch, g.h.size, g.w.size, g.inChannels],
    filter: [g.h.kernel, g.w.kernel, g.inChannels, g.outChannels],
    y: [g.batch, g.h.out, g.w.out, g.outChannels],
  };
}
