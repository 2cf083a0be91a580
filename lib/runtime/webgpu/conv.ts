/**
 * Convolution gradients on tfjs-backend-webgpu as implicit GEMMs on one
 * tiled WGSL core (`gemm.ts`), replacing tfjs 4.22's naive shaders:
 *
 * - `Conv2DBackpropFilter`: dW[kh, kw, ci, co] = sum over the batch and output
 *   pixels of x(window) * dy. The stock shader gives each weight one thread
 *   that loops over every output pixel (a few thousand threads for a whole
 *   layer). Here rows = (kh, kw, ci), cols = co, the reduction runs over
 *   (n, oh, ow) and is split across workgroups (`z`) so that a big GPU has
 *   enough of them; a second pass sums the splits.
 * - `Conv2DBackpropInput` (also conv2dTranspose's forward): per output
 *   phase (ih mod stride, iw mod stride) only the kernel taps of that phase
 *   contribute, so each phase is a dense GEMM: rows = the phase's pixels,
 *   cols = ci, reduction = (its taps, co). No multiply by a skipped zero, unlike
 *   the stock shader's loop (or its matMul variant, which runs all taps).
 *
 * Both take any padding tfjs allows (explicit, 'same', 'valid'), any kernel
 * size and stride, NHWC, float32.
 *
 * @module
 */
import * as tf from "@tensorflow/tfjs";
import type {
  WebGPUBackend,
  WebGPUProgram,
} from "@tensorflow/tfjs-backend-webgpu";
import {
  gemmSource,
  type GemmTiling,
  TILE_RED,
  tileOf,
  tilingFor,
  tilingKey,
} from "./gemm.ts";

/** The convolution geometry of a kernel call, as tfjs computes it. */
type ConvInfo = ReturnType<typeof tf.backend_util.computeConv2DInfo>;

/** Workgroups to aim for when splitting a reduction (a big GPU's fill). */
const TARGET_WORKGROUPS = 512;
/** The fewest reduction steps one split gets. */
const MIN_SPLIT = 256;

const ceilDiv = (a: number, b: number) => Math.ceil(a / b);
const int32 = (...data: number[]) => ({ type: "int32", data });

/** A GEMM program (`gemm.ts`): C is `rows x cols`, `z` workgroup layers. */
function gemmProgram(
  name: string,
  variableNames: string[],
  outputShape: number[],
  [rows, cols, z]: [number, number, number],
  tiling: GemmTiling,
  uniforms: string,
  userCode: (t: GemmTiling) => string,
): WebGPUProgram {
  const [tm, tn] = tileOf(tiling);
  return {
    variableNames,
    outputShape,
    shaderKey: `${name}_${tilingKey(tiling)}`,
    dispatchLayout: { x: [0], y: [1], z: [2] },
    dispatch: [ceilDiv(cols, tn), ceilDiv(rows, tm), z],
    workgroupSize: [...tiling.threads, 1],
    uniforms,
    getUserCode: () => userCode(tiling),
  };
}

/** How {@link conv2DBackpropFilter} splits its reduction of `red` steps. */
export function filterSplits(rows: number, cols: number, red: number): number {
  const [tm, tn] = tileOf(tilingFor(cols));
  const tiles = ceilDiv(rows, tm) * ceilDiv(cols, tn);
  const byFill = ceilDiv(TARGET_WORKGROUPS, tiles);
  const bySize = Math.max(1, Math.floor(red / MIN_SPLIT));
  return Math.max(1, Math.min(byFill, bySize));
}

const filterCode = (tiling: GemmTiling) =>
  gemmSource({
    tiling,
    passes: "uniforms.passes",
    aRedContiguous: false, // x: consecutive ci are consecutive rows
    bRedContiguous: false, // dy: consecutive co are consecutive cols
  }) + `
fn redStart(z: i32) -> i32 { return z * uniforms.passes * ${TILE_RED}; }
fn redEnd(z: i32) -> i32 { return min(uniforms.red, (z + 1) * uniforms.passes * ${TILE_RED}); }

// A[row = (kh, kw, ci), red = (n, oh, ow)] = x[n, oh * sh + kh - pt, ow * sw + kw - pl, ci]
fn readA(z: i32, row: i32, red: i32) -> f32 {
  if (row >= uniforms.rows || red >= redEnd(z)) { return 0.0; }
  let ci = row % uniforms.xShape[3];
  let t = row / uniforms.xShape[3];
  let kw = t % uniforms.kernel[1];
  let kh = t / uniforms.kernel[1];
  let ow = red % uniforms.dyShape[2];
  let u = red / uniforms.dyShape[2];
  let oh = u % uniforms.dyShape[1];
  let n = u / uniforms.dyShape[1];
  let ih = oh * uniforms.strides[0] + kh - uniforms.pads[0];
  let iw = ow * uniforms.strides[1] + kw - uniforms.pads[1];
  if (ih < 0 || ih >= uniforms.xShape[1] || iw < 0 || iw >= uniforms.xShape[2]) {
    return 0.0;
  }
  return x[getIndexFromCoords4D(vec4<i32>(n, ih, iw, ci), uniforms.xShape)];
}

// B[red = (n, oh, ow), col = co] = dy[n, oh, ow, co]
fn readB(z: i32, red: i32, col: i32) -> f32 {
  if (col >= uniforms.dyShape[3] || red >= redEnd(z)) { return 0.0; }
  return dy[red * uniforms.dyShape[3] + col];
}

fn writeC(z: i32, row: i32, col: i32, value: f32) {
  if (row < uniforms.rows && col < uniforms.dyShape[3]) {
    result[(z * uniforms.rows + row) * uniforms.dyShape[3] + col] = value;
  }
}
`;

/** Sums `[splits, n]` over its first axis. */
function sumSplitsProgram(n: number): WebGPUProgram {
  return {
    variableNames: ["parts"],
    outputShape: [n],
    shaderKey: "pix2pixSumSplits",
    dispatchLayout: { x: [0] },
    dispatch: [ceilDiv(n, 64), 1, 1],
    workgroupSize: [64, 1, 1],
    size: true,
    uniforms: "splits : i32,",
    getUserCode: () => `
fn main(index: i32) {
  if (index < uniforms.size) {
    var s = 0.0;
    for (var i = 0; i < uniforms.splits; i++) {
      s += parts[i * uniforms.size + index];
    }
    result[index] = s;
  }
}`,
  };
}

/** dW of a convolution of `x` with output gradient `dy`. */
export function conv2DBackpropFilter(
  backend: WebGPUBackend,
  x: tf.TensorInfo,
  dy: tf.TensorInfo,
  c: ConvInfo,
): tf.TensorInfo {
  const rows = c.filterHeight * c.filterWidth * c.inChannels;
  const cols = c.outChannels;
  const red = c.batchSize * c.outHeight * c.outWidth;
  const splits = filterSplits(rows, cols, red);
  const passes = ceilDiv(ceilDiv(red, splits), TILE_RED);
  const used = ceilDiv(red, passes * TILE_RED); // splits that have work
  const program = gemmProgram(
    "pix2pixConv2DDerFilterGemm",
    ["x", "dy"],
    used === 1 ? c.filterShape : [used, rows * cols],
    [rows, cols, used],
    tilingFor(cols),
    "kernel : vec2<i32>, strides : vec2<i32>, pads : vec2<i32>, rows : i32, red : i32, passes : i32,",
    filterCode,
  );
  const uniforms = [
    int32(c.filterHeight, c.filterWidth),
    int32(c.strideHeight, c.strideWidth),
    int32(c.padInfo.top, c.padInfo.left),
    int32(rows),
    int32(red),
    int32(passes),
  ];
  const out = backend.runWebGPUProgram(program, [x, dy], "float32", uniforms);
  if (used === 1) return out;
  const summed = backend.runWebGPUProgram(
    sumSplitsProgram(rows * cols),
    [out],
    "float32",
    [int32(used)],
  );
  backend.disposeData(out.dataId);
  return { ...summed, shape: c.filterShape };
}

const inputCode = (tiling: GemmTiling) =>
  gemmSource({
    tiling,
    passes: "uniforms.passes",
    aRedContiguous: true, // dy: consecutive co
    bRedContiguous: true, // W[kh, kw, ci, co]: consecutive co
  }) + `
var<private> phase: Phase;

fn redStart(z: i32) -> i32 {
  phase = phaseOf(z);
  return 0;
}

// The phase (ph, pw) of workgroup z: output pixels with (ih + pt) % sh == ph
// get exactly the taps kh = ph, ph + sh, ... (likewise for columns).
struct Phase { n: i32, ph: i32, pw: i32, offH: i32, offW: i32, w: i32, pixels: i32, kh: i32, kw: i32 }

fn phaseOf(z: i32) -> Phase {
  let sh = uniforms.strides[0];
  let sw = uniforms.strides[1];
  let phases = sh * sw;
  var p: Phase;
  p.n = z / phases;
  p.ph = (z % phases) / sw;
  p.pw = z % sw;
  p.offH = ((p.ph - uniforms.pads[0]) % sh + sh) % sh;
  p.offW = ((p.pw - uniforms.pads[1]) % sw + sw) % sw;
  let h = max(0, (uniforms.outShape[1] - p.offH + sh - 1) / sh);
  p.w = max(0, (uniforms.outShape[2] - p.offW + sw - 1) / sw);
  p.pixels = h * p.w;
  p.kh = max(0, (uniforms.kernel[0] - p.ph + sh - 1) / sh);
  p.kw = max(0, (uniforms.kernel[1] - p.pw + sw - 1) / sw);
  return p;
}

// red = (th, tw, co): the tap (ph + th * sh, pw + tw * sw), channel co;
// returns (kh, kw, co), or kh = -1 past the phase's taps.
fn tapOf(p: Phase, red: i32) -> vec3<i32> {
  let co = red % uniforms.dyShape[3];
  let t = red / uniforms.dyShape[3];
  let tw = t % max(p.kw, 1);
  let th = t / max(p.kw, 1);
  if (p.kw == 0 || th >= p.kh) { return vec3<i32>(-1, 0, 0); }
  return vec3<i32>(p.ph + th * uniforms.strides[0], p.pw + tw * uniforms.strides[1], co);
}

// A[row = the phase's pixel, red] = dy[n, (ih + pt - kh) / sh, (iw + pl - kw) / sw, co]
fn readA(z: i32, row: i32, red: i32) -> f32 {
  let p = phase;
  if (row >= p.pixels) { return 0.0; }
  let tap = tapOf(p, red);
  if (tap.x < 0) { return 0.0; }
  let ih = (row / p.w) * uniforms.strides[0] + p.offH;
  let iw = (row % p.w) * uniforms.strides[1] + p.offW;
  let oh = (ih + uniforms.pads[0] - tap.x) / uniforms.strides[0];
  let ow = (iw + uniforms.pads[1] - tap.y) / uniforms.strides[1];
  if (ih + uniforms.pads[0] - tap.x < 0 || oh >= uniforms.dyShape[1] ||
      iw + uniforms.pads[1] - tap.y < 0 || ow >= uniforms.dyShape[2]) {
    return 0.0;
  }
  return dy[getIndexFromCoords4D(vec4<i32>(p.n, oh, ow, tap.z), uniforms.dyShape)];
}

// B[red, col = ci] = W[kh, kw, ci, co]
fn readB(z: i32, red: i32, col: i32) -> f32 {
  if (col >= uniforms.outShape[3]) { return 0.0; }
  let tap = tapOf(phase, red);
  if (tap.x < 0) { return 0.0; }
  return W[getIndexFromCoords4D(vec4<i32>(tap.x, tap.y, col, tap.z), uniforms.wShape)];
}

fn writeC(z: i32, row: i32, col: i32, value: f32) {
  let p = phase;
  if (row < p.pixels && col < uniforms.outShape[3]) {
    let ih = (row / p.w) * uniforms.strides[0] + p.offH;
    let iw = (row % p.w) * uniforms.strides[1] + p.offW;
    result[getIndexFromCoords4D(vec4<i32>(p.n, ih, iw, col), uniforms.outShape)] = value;
  }
}
`;

/**
 * Input channels up to which dx is computed as one GEMM into window columns
 * and a col2im gather, rather than per-phase GEMMs: a per-phase GEMM with so
 * few output columns reads every dy value for a handful of products.
 */
export const COL2IM_MAX_CHANNELS = 4;

const colsCode = (tiling: GemmTiling) =>
  gemmSource({
    tiling,
    passes: "uniforms.passes",
    aRedContiguous: true, // dy: consecutive co
    bRedContiguous: true, // W[kh, kw, ci, co]: consecutive co
  }) + `
fn redStart(z: i32) -> i32 { return 0; }

// A[row = (n, oh, ow), red = co] = dy; B[red = co, col = (kh, kw, ci)] = W
fn readA(z: i32, row: i32, red: i32) -> f32 {
  if (row >= uniforms.rows || red >= uniforms.dyShape[3]) { return 0.0; }
  return dy[row * uniforms.dyShape[3] + red];
}

fn readB(z: i32, red: i32, col: i32) -> f32 {
  if (col >= uniforms.cols || red >= uniforms.dyShape[3]) { return 0.0; }
  return W[col * uniforms.dyShape[3] + red];
}

fn writeC(z: i32, row: i32, col: i32, value: f32) {
  if (row < uniforms.rows && col < uniforms.cols) {
    result[row * uniforms.cols + col] = value;
  }
}
`;

/** dx[n, ih, iw, ci]: the sum of the window columns that cover the pixel. */
function col2imProgram(inShape: number[]): WebGPUProgram {
  return {
    variableNames: ["cols"],
    outputShape: inShape,
    shaderKey: "pix2pixCol2Im",
    dispatchLayout: { x: [0, 1, 2, 3] },
    dispatch: [ceilDiv(inShape.reduce((a, b) => a * b), 64), 1, 1],
    workgroupSize: [64, 1, 1],
    size: true,
    uniforms:
      "kernel : vec2<i32>, strides : vec2<i32>, pads : vec2<i32>, dyHW : vec2<i32>,",
    getUserCode: () => `
fn main(index: i32) {
  if (index >= uniforms.size) { return; }
  let c = getCoordsFromIndex(index); // n, ih, iw, ci
  let sh = uniforms.strides[0];
  let sw = uniforms.strides[1];
  let ci = uniforms.outShape[3];
  let kw = uniforms.kernel[1];
  let h = c[1] + uniforms.pads[0];
  let w = c[2] + uniforms.pads[1];
  var s = 0.0;
  // taps kh = h - oh * sh for the output rows oh that reach this pixel
  for (var kh = h % sh; kh < uniforms.kernel[0]; kh += sh) {
    let oh = (h - kh) / sh;
    if (oh < 0) { break; }
    if (oh >= uniforms.dyHW[0]) { continue; }
    for (var kx = w % sw; kx < kw; kx += sw) {
      let ow = (w - kx) / sw;
      if (ow < 0) { break; }
      if (ow >= uniforms.dyHW[1]) { continue; }
      let m = (c[0] * uniforms.dyHW[0] + oh) * uniforms.dyHW[1] + ow;
      s += cols[(m * uniforms.kernel[0] * kw + kh * kw + kx) * ci + c[3]];
    }
  }
  result[index] = s;
}`,
  };
}

/**
 * dx for few input channels: window columns `dy [M, co] x W^T [co, (kh, kw,
 * ci)]` (one well-shaped GEMM), then col2im.
 */
function conv2DBackpropInputCol2Im(
  backend: WebGPUBackend,
  dy: tf.TensorInfo,
  w: tf.TensorInfo,
  c: ConvInfo,
): tf.TensorInfo {
  const rows = c.batchSize * c.outHeight * c.outWidth;
  const cols = c.filterHeight * c.filterWidth * c.inChannels;
  const windows = backend.runWebGPUProgram(
    gemmProgram(
      "pix2pixConvWindowsGemm",
      ["dy", "W"],
      [rows, cols],
      [rows, cols, 1],
      tilingFor(cols),
      "rows : i32, cols : i32, passes : i32,",
      colsCode,
    ),
    [dy, w],
    "float32",
    [int32(rows), int32(cols), int32(ceilDiv(c.outChannels, TILE_RED))],
  );
  const dx = backend.runWebGPUProgram(
    col2imProgram(c.inShape),
    [windows],
    "float32",
    [
      int32(c.filterHeight, c.filterWidth),
      int32(c.strideHeight, c.strideWidth),
      int32(c.padInfo.top, c.padInfo.left),
      int32(c.outHeight, c.outWidth),
    ],
  );
  backend.disposeData(windows.dataId);
  return dx;
}

/** dx of a convolution with filter `w` and output gradient `dy`. */
export function conv2DBackpropInput(
  backend: WebGPUBackend,
  dy: tf.TensorInfo,
  w: tf.TensorInfo,
  c: ConvInfo,
): tf.TensorInfo {
  if (c.inChannels <= COL2IM_MAX_CHANNELS) {
    return conv2DBackpropInputCol2Im(backend, dy, w, c);
  }
  const [sh, sw] = [c.strideHeight, c.strideWidth];
  const rows = ceilDiv(c.inHeight, sh) * ceilDiv(c.inWidth, sw);
  const red = ceilDiv(c.filterHeight, sh) * ceilDiv(c.filterWidth, sw) *
    c.outChannels;
  const program = gemmProgram(
    "pix2pixConv2DDerInputGemm",
    ["dy", "W"],
    c.inShape,
    [rows, c.inChannels, c.batchSize * sh * sw],
    tilingFor(c.inChannels),
    "kernel : vec2<i32>, strides : vec2<i32>, pads : vec2<i32>, passes : i32,",
    inputCode,
  );
  return backend.runWebGPUProgram(program, [dy, w], "float32", [
    int32(c.filterHeight, c.filterWidth),
    int32(sh, sw),
    int32(c.padInfo.top, c.padInfo.left),
    int32(ceilDiv(red, TILE_RED)),
  ]);
}
