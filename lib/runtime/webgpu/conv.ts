/**
 * 2-D convolutions on tfjs-backend-webgpu as implicit GEMMs on one tiled
 * WGSL core (`gemm.ts`, run by `program.ts`), in place of tfjs 4.22's:
 *
 * - `Conv2D` / `FusedConv2D` ({@link conv2D}): C[row = (n, oh, ow), col =
 *   co] = sum over red = (kh, kw, ci) of x(window) * W, then bias and
 *   activation applied as C is written (one pass, no extra kernels).
 * - `Conv2DBackpropFilter` ({@link conv2DBackpropFilter}): dW[kh, kw, ci, co]
 *   = sum over the batch and output pixels of x(window) * dy. The stock
 *   shader gives each weight one thread that loops over every output pixel
 *   (a few thousand threads for a whole layer). Here rows = (kh, kw, ci),
 *   cols = co, the reduction runs over (n, oh, ow) and is split across
 *   workgroups (`z`) so that a big GPU has enough of them; a second pass
 *   sums the splits.
 * - `Conv2DBackpropInput`, also conv2dTranspose's forward
 *   ({@link conv2DBackpropInput}): per output phase (ih mod stride, iw mod
 *   stride) only the kernel taps of that phase contribute, so each phase is
 *   a dense GEMM: rows = the phase's pixels, cols = ci, reduction = (its
 *   taps, co). No multiply by a skipped zero, unlike the stock shader's loop
 *   (or its matMul variant, which runs all taps).
 *
 * All take any padding tfjs allows (explicit, 'same', 'valid'), any kernel
 * size and stride, NHWC, float32, dilation 1.
 *
 * @module
 */
import type * as tf from "@tensorflow/tfjs";
import type { WebGPUBackend } from "@tensorflow/tfjs-backend-webgpu";
import { type ConvGeometry, convShapes } from "../kernels/conv_geometry.ts";
import { TILE_RED, tileOf, tilingFor } from "./gemm.ts";
import { ceilDiv, type Constants, runGemm, runPerElement } from "./program.ts";

/** Workgroups to aim for when splitting a reduction (a big GPU's fill). */
const TARGET_WORKGROUPS = 512;
/** The fewest reduction steps one split gets. */
const MIN_SPLIT = 256;

/** The constants `kernel`, `strides` and `pads` (top, left) of `g`. */
function geometryConstants(g: ConvGeometry): Constants {
  return {
    kernel: [g.h.kernel, g.w.kernel],
    strides: [g.h.stride, g.w.stride],
    pads: [g.h.padBefore, g.w.padBefore],
  };
}

/**
 * WGSL `xWindow(pixel, tap)`: the input `x` under kernel tap `tap` = (kh,
 * kw, ci) of output pixel `pixel` = (n, oh, ow), 0 in the padding. `out` is
 * the WGSL shape that numbers the output pixels (`outShape`, or
 * `dyShape` for a gradient).
 */
const xWindowFn = (out: string) => `
fn xWindow(pixel: i32, tap: i32) -> f32 {
  let ci = tap % xShape[3];
  let t = tap / xShape[3];
  let kw = t % kernel[1];
  let kh = t / kernel[1];
  let ow = pixel % ${out}[2];
  let u = pixel / ${out}[2];
  let oh = u % ${out}[1];
  let n = u / ${out}[1];
  let ih = oh * strides[0] + kh - pads[0];
  let iw = ow * strides[1] + kw - pads[1];
  if (ih < 0 || ih >= xShape[1] || iw < 0 || iw >= xShape[2]) {
    return 0.0;
  }
  return x[getIndexFromCoords4D(vec4<i32>(n, ih, iw, ci), xShape)];
}
`;

/**
 * tfjs's fused activations (`backend_util.Activation`) that {@link conv2D}
 * applies, as WGSL of `v` (LeakyReLU's slope is `alpha`). PReLU,
 * which takes a weights tensor, is left to tfjs's kernel.
 */
export const FUSED_ACTIVATIONS = {
  linear: "v",
  relu: "max(v, 0.0)",
  relu6: "clamp(v, 0.0, 6.0)",
  leakyrelu: "select(v, alpha * v, v < 0.0)",
  elu: "select(v, exp(v) - 1.0, v < 0.0)",
  sigmoid: "1.0 / (1.0 + exp(-v))",
} as const satisfies Record<
  Exclude<tf.backend_util.Activation, "prelu">,
  string
>;

/** One of {@link FUSED_ACTIVATIONS}. */
export type FusedActivation = keyof typeof FUSED_ACTIVATIONS;

/** Whether {@link conv2D} applies activation `a` (null: none). */
export function isFusedActivation(
  a: string | null | undefined,
): a is FusedActivation {
  return a == null || Object.hasOwn(FUSED_ACTIVATIONS, a);
}

/** What {@link conv2D} applies to each output as it is written. */
export interface ConvEpilogue {
  /** `[outChannels]`, added first. */
  bias?: tf.TensorInfo;
  activation?: FusedActivation;
  /** LeakyReLU's slope (tfjs's `leakyreluAlpha`, default 0.2). */
  alpha?: number;
}

/** y = activation(conv2d(x, w) + bias): one GEMM with a fused epilogue. */
export function conv2D(
  backend: WebGPUBackend,
  x: tf.TensorInfo,
  w: tf.TensorInfo,
  g: ConvGeometry,
  e: ConvEpilogue = {},
): tf.TensorInfo {
  const act = e.activation ?? "linear";
  const bias = e.bias != null;
  const rows = g.batch * g.h.out * g.w.out;
  const red = g.h.kernel * g.w.kernel * g.inChannels;
  return runGemm(backend, {
    name: `pix2pixConv2DGemm_${act}${bias ? "_bias" : ""}`,
    inputs: bias ? ["x", "W", "bias"] : ["x", "W"],
    outputShape: convShapes(g).y,
    grid: [rows, g.outChannels, 1],
    red,
    redContiguous: [true, false], // x: consecutive ci; W: consecutive co
    constants: {
      ...geometryConstants(g),
      nRows: rows,
      nRed: red,
      ...(act === "leakyrelu" ? { alpha: { f32: e.alpha ?? 0.2 } } : {}),
    },
    code: xWindowFn("outShape") + `
fn redStart(z: i32) -> i32 { return 0; }

// A[row = (n, oh, ow), red = (kh, kw, ci)]: x in the window
fn readA(z: i32, row: i32, red: i32) -> f32 {
  if (row >= nRows || red >= nRed) { return 0.0; }
  return xWindow(row, red);
}

// B[red = (kh, kw, ci), col = co] = W[kh, kw, ci, co]
fn readB(z: i32, red: i32, col: i32) -> f32 {
  if (col >= outShape[3] || red >= nRed) { return 0.0; }
  return W[red * outShape[3] + col];
}

fn writeC(z: i32, row: i32, col: i32, value: f32) {
  if (row < nRows && col < outShape[3]) {
    let v = value${bias ? " + bias[col]" : ""};
    result[row * outShape[3] + col] = ${FUSED_ACTIVATIONS[act]};
  }
}
`,
  }, bias ? [x, w, e.bias!] : [x, w]);
}

/** How {@link conv2DBackpropFilter} splits its reduction of `red` steps. */
export function filterSplits(rows: number, cols: number, red: number): number {
  const [tm, tn] = tileOf(tilingFor(cols));
  const tiles = ceilDiv(rows, tm) * ceilDiv(cols, tn);
  const byFill = ceilDiv(TARGET_WORKGROUPS, tiles);
  const bySize = Math.max(1, Math.floor(red / MIN_SPLIT));
  return Math.max(1, Math.min(byFill, bySize));
}

/** dW of a convolution of `x` with output gradient `dy`. */
export function conv2DBackpropFilter(
  backend: WebGPUBackend,
  x: tf.TensorInfo,
  dy: tf.TensorInfo,
  g: ConvGeometry,
): tf.TensorInfo {
  const rows = g.h.kernel * g.w.kernel * g.inChannels;
  const cols = g.outChannels;
  const red = g.batch * g.h.out * g.w.out;
  const splits = filterSplits(rows, cols, red);
  const perSplit = ceilDiv(ceilDiv(red, splits), TILE_RED) * TILE_RED;
  const used = ceilDiv(red, perSplit); // splits that have work
  const filterShape = convShapes(g).filter;
  const out = runGemm(backend, {
    name: "pix2pixConv2DDerFilterGemm",
    inputs: ["x", "dy"],
    outputShape: used === 1 ? filterShape : [used, rows * cols],
    grid: [rows, cols, used],
    red: perSplit,
    redContiguous: [false, false], // x: consecutive ci = rows; dy: co = cols
    constants: { ...geometryConstants(g), nRows: rows, nRed: red },
    code: xWindowFn("dyShape") + `
fn redStart(z: i32) -> i32 { return z * uniforms.passes * ${TILE_RED}; }
fn redEnd(z: i32) -> i32 { return min(nRed, (z + 1) * uniforms.passes * ${TILE_RED}); }

// A[row = (kh, kw, ci), red = (n, oh, ow)]: x in the window
fn readA(z: i32, row: i32, red: i32) -> f32 {
  if (row >= nRows || red >= redEnd(z)) { return 0.0; }
  return xWindow(red, row);
}

// B[red = (n, oh, ow), col = co] = dy[n, oh, ow, co]
fn readB(z: i32, red: i32, col: i32) -> f32 {
  if (col >= dyShape[3] || red >= redEnd(z)) { return 0.0; }
  return dy[red * dyShape[3] + col];
}

fn writeC(z: i32, row: i32, col: i32, value: f32) {
  if (row < nRows && col < dyShape[3]) {
    result[(z * nRows + row) * dyShape[3] + col] = value;
  }
}
`,
  }, [x, dy]);
  if (used === 1) return out;
  const summed = runPerElement(backend, {
    name: "pix2pixSumSplits",
    inputs: ["parts"],
    outputShape: [rows * cols],
    constants: { splits: used },
    body: `var s = 0.0;
  for (var i = 0; i < splits; i++) {
    s += parts[i * uniforms.size + index];
  }
  result[index] = s;`,
  }, [out]);
  backend.disposeData(out.dataId);
  return { ...summed, shape: filterShape };
}

/**
 * Input channels up to which dx is computed as one GEMM into window columns
 * and a col2im gather, rather than per-phase GEMMs: a per-phase GEMM with so
 * few output columns reads every dy value for a handful of products.
 */
export const COL2IM_MAX_CHANNELS = 4;

/**
 * dx for few input channels: window columns `dy [M, co] x W^T [co, (kh, kw,
 * ci)]` (one well-shaped GEMM), then col2im.
 */
function conv2DBackpropInputCol2Im(
  backend: WebGPUBackend,
  dy: tf.TensorInfo,
  w: tf.TensorInfo,
  g: ConvGeometry,
): tf.TensorInfo {
  const rows = g.batch * g.h.out * g.w.out;
  const cols = g.h.kernel * g.w.kernel * g.inChannels;
  const windows = runGemm(backend, {
    name: "pix2pixConvWindowsGemm",
    inputs: ["dy", "W"],
    outputShape: [rows, cols],
    grid: [rows, cols, 1],
    red: g.outChannels,
    redContiguous: [true, true], // dy and W[kh, kw, ci, co]: consecutive co
    constants: { nRows: rows, nCols: cols },
    code: `
fn redStart(z: i32) -> i32 { return 0; }

// A[row = (n, oh, ow), red = co] = dy; B[red = co, col = (kh, kw, ci)] = W
fn readA(z: i32, row: i32, red: i32) -> f32 {
  if (row >= nRows || red >= dyShape[3]) { return 0.0; }
  return dy[row * dyShape[3] + red];
}

fn readB(z: i32, red: i32, col: i32) -> f32 {
  if (col >= nCols || red >= dyShape[3]) { return 0.0; }
  return W[col * dyShape[3] + red];
}

fn writeC(z: i32, row: i32, col: i32, value: f32) {
  if (row < nRows && col < nCols) {
    result[row * nCols + col] = value;
  }
}
`,
  }, [dy, w]);
  // dx[n, ih, iw, ci]: the sum of the window columns that cover the pixel.
  const dx = runPerElement(backend, {
    name: "pix2pixCol2Im",
    inputs: ["cols"],
    outputShape: convShapes(g).x,
    constants: { ...geometryConstants(g), dyHW: [g.h.out, g.w.out] },
    body: `let c = getCoordsFromIndex(index); // n, ih, iw, ci
  let sh = strides[0];
  let sw = strides[1];
  let ci = outShape[3];
  let kw = kernel[1];
  let h = c[1] + pads[0];
  let w = c[2] + pads[1];
  var s = 0.0;
  // taps kh = h - oh * sh for the output rows oh that reach this pixel
  for (var kh = h % sh; kh < kernel[0]; kh += sh) {
    let oh = (h - kh) / sh;
    if (oh < 0) { break; }
    if (oh >= dyHW[0]) { continue; }
    for (var kx = w % sw; kx < kw; kx += sw) {
      let ow = (w - kx) / sw;
      if (ow < 0) { break; }
      if (ow >= dyHW[1]) { continue; }
      let m = (c[0] * dyHW[0] + oh) * dyHW[1] + ow;
      s += cols[(m * kernel[0] * kw + kh * kw + kx) * ci + c[3]];
    }
  }
  result[index] = s;`,
  }, [windows]);
  backend.disposeData(windows.dataId);
  return dx;
}

/** dx of a convolution with filter `w` and output gradient `dy`. */
export function conv2DBackpropInput(
  backend: WebGPUBackend,
  dy: tf.TensorInfo,
  w: tf.TensorInfo,
  g: ConvGeometry,
): tf.TensorInfo {
  if (g.inChannels <= COL2IM_MAX_CHANNELS) {
    return conv2DBackpropInputCol2Im(backend, dy, w, g);
  }
  const [sh, sw] = [g.h.stride, g.w.stride];
  // Every phase as one grid of at most ceil(size / stride) pixels and taps
  // per axis (a phase may have fewer: those read and write nothing).
  const phaseHW = [ceilDiv(g.h.size, sh), ceilDiv(g.w.size, sw)] as const;
  const phaseTaps = [ceilDiv(g.h.kernel, sh), ceilDiv(g.w.kernel, sw)] as const;
  return runGemm(backend, {
    name: "pix2pixConv2DDerInputGemm",
    inputs: ["dy", "W"],
    outputShape: convShapes(g).x,
    grid: [phaseHW[0] * phaseHW[1], g.inChannels, g.batch * sh * sw],
    red: phaseTaps[0] * phaseTaps[1] * g.outChannels,
    redContiguous: [true, true], // dy and W[kh, kw, ci, co]: consecutive co
    constants: { ...geometryConstants(g), phaseHW, phaseTaps },
    code: `
var<private> phase: Phase;

fn redStart(z: i32) -> i32 {
  phase = phaseOf(z);
  return 0;
}

// The phase (ph, pw) of workgroup z: output pixels with (ih + pt) % sh == ph
// get exactly the taps kh = ph, ph + sh, ... (likewise for columns).
struct Phase { n: i32, ph: i32, pw: i32, offH: i32, offW: i32, kh: i32, kw: i32 }

fn phaseOf(z: i32) -> Phase {
  let sh = strides[0];
  let sw = strides[1];
  let phases = sh * sw;
  var p: Phase;
  p.n = z / phases;
  p.ph = (z % phases) / sw;
  p.pw = z % sw;
  p.offH = ((p.ph - pads[0]) % sh + sh) % sh;
  p.offW = ((p.pw - pads[1]) % sw + sw) % sw;
  p.kh = max(0, (kernel[0] - p.ph + sh - 1) / sh);
  p.kw = max(0, (kernel[1] - p.pw + sw - 1) / sw);
  return p;
}

// red = (th, tw, co): the tap (ph + th * sh, pw + tw * sw), channel co;
// returns (kh, kw, co), or kh = -1 past the phase's taps.
fn tapOf(p: Phase, red: i32) -> vec3<i32> {
  let co = red % dyShape[3];
  let t = red / dyShape[3];
  let tw = t % phaseTaps[1];
  let th = t / phaseTaps[1];
  if (tw >= p.kw || th >= p.kh) { return vec3<i32>(-1, 0, 0); }
  return vec3<i32>(p.ph + th * strides[0], p.pw + tw * strides[1], co);
}

// The input pixel (ih, iw) of the phase's pixel row, or (-1, -1) past it.
fn pixelOf(p: Phase, row: i32) -> vec2<i32> {
  let ih = (row / phaseHW[1]) * strides[0] + p.offH;
  let iw = (row % phaseHW[1]) * strides[1] + p.offW;
  if (ih >= outShape[1] || iw >= outShape[2]) { return vec2<i32>(-1, -1); }
  return vec2<i32>(ih, iw);
}

// A[row = the phase's pixel, red] = dy[n, (ih + pt - kh) / sh, (iw + pl - kw) / sw, co]
fn readA(z: i32, row: i32, red: i32) -> f32 {
  let p = phase;
  let px = pixelOf(p, row);
  let tap = tapOf(p, red);
  if (px.x < 0 || tap.x < 0) { return 0.0; }
  let dh = px.x + pads[0] - tap.x;
  let dw = px.y + pads[1] - tap.y;
  let oh = dh / strides[0];
  let ow = dw / strides[1];
  if (dh < 0 || oh >= dyShape[1] || dw < 0 || ow >= dyShape[2]) {
    return 0.0;
  }
  return dy[getIndexFromCoords4D(vec4<i32>(p.n, oh, ow, tap.z), dyShape)];
}

// B[red, col = ci] = W[kh, kw, ci, co]
fn readB(z: i32, red: i32, col: i32) -> f32 {
  if (col >= outShape[3]) { return 0.0; }
  let tap = tapOf(phase, red);
  if (tap.x < 0) { return 0.0; }
  return W[getIndexFromCoords4D(vec4<i32>(tap.x, tap.y, col, tap.z), wShape)];
}

fn writeC(z: i32, row: i32, col: i32, value: f32) {
  let p = phase;
  let px = pixelOf(p, row);
  if (px.x >= 0 && col < outShape[3]) {
    result[getIndexFromCoords4D(vec4<i32>(p.n, px.x, px.y, col), outShape)] = value;
  }
}
`,
  }, [dy, w]);
}
