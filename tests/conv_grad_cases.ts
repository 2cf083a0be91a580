/**
 * Shared by tests/kernels.test.ts and tests/backend.test.ts: small conv2d /
 * conv2dTranspose cases and their gradients on a chosen tfjs backend.
 *
 * @module
 */
import * as tf from "@tensorflow/tfjs";
import "@tensorflow/tfjs-layers"; // registers the gradient functions
import {
  convGeometry,
  type ConvPad,
} from "../lib/runtime/kernels/conv_geometry.ts";

/** One convolution to differentiate. Shapes NHWC; `size` is the conv2d input. */
export interface ConvCase {
  op: "conv2d" | "conv2dTranspose";
  batch: number;
  /** conv2d input height and width (conv2dTranspose: its output). */
  size: [number, number];
  /** conv2d input channels (conv2dTranspose: its output channels). */
  inC: number;
  /** conv2d output channels (conv2dTranspose: its input channels). */
  outC: number;
  kernel: [number, number];
  stride: [number, number];
  pad: ConvPad;
}

/** Forward output and gradients wrt input and filter, copied out as arrays. */
export interface ConvResult {
  y: Float32Array;
  dx: Float32Array;
  dw: Float32Array;
}

/** Deterministic uniform(-1, 1) values (mulberry32). */
export function seededValues(n: number, seed: number): Float32Array {
  let a = seed >>> 0;
  const out = new Float32Array(n);
  for (let i = 0; i < n; i++) {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    out[i] = (((t ^ (t >>> 14)) >>> 0) / 4294967296) * 2 - 1;
  }
  return out;
}

/** `max|a-b| / max|b|`, the relative error the tests bound. */
export function relError(a: Float32Array, b: Float32Array): number {
  if (a.length !== b.length) return Infinity;
  let diff = 0;
  let scale = 0;
  for (let i = 0; i < a.length; i++) {
    diff = Math.max(diff, Math.abs(a[i] - b[i]));
    scale = Math.max(scale, Math.abs(b[i]));
  }
  return scale === 0 ? diff : diff / scale;
}

/**
 * Runs `c` on `backend` (switching to it first): y = op(x, w), and the
 * gradients of `sum(y * r)` (r fixed random, so dy is not constant).
 */
export async function convGradients(
  backend: string,
  c: ConvCase,
): Promise<ConvResult> {
  if (!(await tf.setBackend(backend))) throw new Error(`no ${backend}`);
  const [h, w] = c.size;
  const g = convGeometry(
    [c.batch, h, w, c.inC],
    [c.kernel[0], c.kernel[1], c.inC, c.outC],
    c.stride,
    c.pad,
  );
  type Shape4 = [number, number, number, number];
  const small: Shape4 = [c.batch, g.h.out, g.w.out, c.outC];
  const big: Shape4 = [c.batch, h, w, c.inC];
  const xShape = c.op === "conv2d" ? big : small;
  const yShape = c.op === "conv2d" ? small : big;
  const wShape: Shape4 = [c.kernel[0], c.kernel[1], c.inC, c.outC];
  const size = (s: number[]) => s.reduce((p, q) => p * q, 1);
  const x = tf.tensor4d(seededValues(size(xShape), 1), xShape);
  const wt = tf.tensor4d(seededValues(size(wShape), 2), wShape);
  const r = tf.tensor(seededValues(size(yShape), 3), yShape);
  const pad = c.pad as "same";
  const f = (a: tf.Tensor, b: tf.Tensor) =>
    c.op === "conv2d"
      ? tf.conv2d(a as tf.Tensor4D, b as tf.Tensor4D, c.stride, pad)
      : tf.conv2dTranspose(
        a as tf.Tensor4D,
        b as tf.Tensor4D,
        big,
        c.stride,
        pad,
      );
  const y = f(x, wt);
  const [dx, dw] = tf.grads((a: tf.Tensor, b: tf.Tensor) =>
    tf.sum(tf.mul(f(a, b), r))
  )([x, wt]);
  const out = {
    y: (await y.data()) as Float32Array,
    dx: (await dx.data()) as Float32Array,
    dw: (await dw.data()) as Float32Array,
  };
  tf.dispose([x, wt, r, y, dx, dw]);
  return out;
}

/**
 * The cases both test files run: kernels 1, 3, 4; strides 1, 2; all pads.
 * A numeric pad needs a square kernel and stride: tfjs 4.22 sizes the
 * output from the kernel height and stride alone, and XNNPACK then writes
 * past the output (a tfjs bug, not the kernels').
 */
export const CONV_CASES: ConvCase[] = [
  ["conv2d", [8, 8], 3, 5, [4, 4], [2, 2], "same"],
  ["conv2d", [9, 7], 2, 3, [4, 4], [2, 2], "same"],
  ["conv2d", [9, 9], 3, 4, [4, 4], [2, 2], "valid"],
  ["conv2d", [8, 6], 2, 3, [4, 4], [1, 1], "same"],
  ["conv2d", [7, 7], 3, 2, [3, 3], [2, 2], 1],
  ["conv2d", [6, 7], 2, 3, [3, 3], [1, 1], "valid"],
  ["conv2d", [8, 8], 3, 4, [1, 1], [1, 1], "same"],
  ["conv2d", [8, 7], 3, 4, [1, 1], [2, 2], "same"],
  ["conv2d", [8, 9], 2, 3, [4, 4], [2, 2], [[0, 0], [1, 2], [0, 1], [0, 0]]],
  ["conv2d", [7, 8], 2, 2, [4, 3], [2, 1], "same"],
  ["conv2d", [7, 8], 2, 3, [4, 3], [2, 1], [[0, 0], [1, 2], [2, 0], [0, 0]]],
  ["conv2d", [9, 9], 2, 3, [4, 4], [2, 2], 2],
  ["conv2dTranspose", [8, 8], 3, 5, [4, 4], [2, 2], "same"],
  ["conv2dTranspose", [9, 9], 2, 3, [4, 4], [2, 2], "valid"],
  ["conv2dTranspose", [8, 8], 3, 2, [4, 4], [1, 1], "same"],
  ["conv2dTranspose", [7, 7], 2, 3, [3, 3], [2, 2], 1],
  ["conv2dTranspose", [6, 6], 2, 3, [1, 1], [1, 1], "valid"],
  // U-Net's innermost layers: most taps read only padding.
  ["conv2d", [2, 2], 4, 5, [4, 4], [2, 2], "same"],
  ["conv2d", [1, 1], 3, 4, [4, 4], [2, 2], "same"],
  ["conv2dTranspose", [2, 2], 4, 3, [4, 4], [2, 2], "same"],
  ["conv2dTranspose", [4, 4], 3, 5, [4, 4], [2, 2], "same"],
  // Few input channels (the U-Net's last layer, D's first): the col2im path.
  ["conv2dTranspose", [8, 8], 3, 24, [4, 4], [2, 2], "same"],
  ["conv2d", [9, 7], 2, 16, [4, 4], [2, 2], "same"],
  ["conv2d", [7, 8], 1, 8, [4, 3], [2, 1], [[0, 0], [1, 2], [2, 0], [0, 0]]],
  ["conv2dTranspose", [9, 9], 2, 16, [4, 4], [2, 2], "valid"],
].map(([op, size, inC, outC, kernel, stride, pad], i) => ({
  op: op as ConvCase["op"],
  batch: 1 + (i % 2),
  size: size as [number, number],
  inC: inC as number,
  outC: outC as number,
  kernel: kernel as [number, number],
  stride: stride as [number, number],
  pad: pad as ConvPad,
}));

/** A one-line name for a case, for test names and messages. */
export function caseName(c: ConvCase): string {
  return `${c.op} n${c.batch} ${c.size.join("x")}x${c.inC}->${c.outC} ` +
    `k${c.kernel.join("x")} s${c.stride.join("x")} pad ${
      JSON.stringify(c.pad)
    }`;
}
