/**
 * im2col and its adjoint col2im for NHWC convolutions (dilation 1), in
 * plain loops over `Float32Array`s.
 *
 * The window matrix `cols` is `[batch * h.out * w.out, kh * kw * inC]`,
 * one row per output pixel, columns in the filter's `[kh, kw, inC]` order,
 * so a convolution is `cols [M, K] x filter [K, outC]` (GEMM). For one
 * output pixel and one kernel row `ky`, the `kw` taps read `kw * inC`
 * consecutive input elements: one run copied (or added) at a time, zeros
 * where the window hangs over the padding.
 *
 * @module
 */
import type { ConvGeometry } from "../../kernels/conv_geometry.ts";

/** Below this run length a loop beats `subarray` + `set`. */
const SHORT_RUN = 32;

/**
 * Fills `cols` (`[M, K]`, see the module doc) with the windows of `x`
 * (`[batch, h.size, w.size, inC]`).
 */
export function im2col(x: Float32Array, cols: Float32Array, g: ConvGeometry) {
  const { h, w, inChannels: ci } = g;
  const run = w.kernel * ci;
  const row = h.kernel * run;
  let r = 0;
  for (let n = 0; n < g.batch; n++) {
    const xn = n * h.size * w.size * ci;
    for (let oy = 0; oy < h.out; oy++) {
      for (let ox = 0; ox < w.out; ox++, r += row) {
        const ix0 = ox * w.stride - w.padBefore;
        for (let ky = 0; ky < h.kernel; ky++) {
          const iy = oy * h.stride - h.padBefore + ky;
          const d = r + ky * run;
          if (iy < 0 || iy >= h.size) {
            cols.fill(0, d, d + run);
            continue;
          }
          // Taps kx inside the image: [kx0, kx1).
          const kx0 = Math.max(0, -ix0);
          const kx1 = Math.min(w.kernel, w.size - ix0);
          if (kx0 > 0) cols.fill(0, d, d + kx0 * ci);
          if (kx1 < w.kernel) cols.fill(0, d + kx1 * ci, d + run);
          if (kx1 <= kx0) continue;
          const s = xn + (iy * w.size + ix0 + kx0) * ci;
          const len = (kx1 - kx0) * ci;
          const t = d + kx0 * ci;
          if (len < SHORT_RUN) {
            for (let i = 0; i < len; i++) cols[t + i] = x[s + i];
          } else cols.set(x.subarray(s, s + len), t);
        }
      }
    }
  }
}

/**
 * Adds every window row of `cols` back to where {@link im2col} took it
 * from: `x` (`[batch, h.size, w.size, inC]`) is overwritten with the sum.
 * This is the input gradient of a convolution given `cols = dy filter^T`.
 */
export function col2im(cols: Float32Array, x: Float32Array, g: ConvGeometry) {
  const { h, w, inChannels: ci } = g;
  const run = w.kernel * ci;
  const row = h.kernel * run;
  x.fill(0, 0, g.batch * h.size * w.size * ci);
  let r = 0;
  for (let n = 0; n < g.batch; n++) {
    const xn = n * h.size * w.size * ci;
    for (let oy = 0; oy < h.out; oy++) {
      for (let ox = 0; ox < w.out; ox++, r += row) {
        const ix0 = ox * w.stride - w.padBefore;
        const kx0 = Math.max(0, -ix0);
        const kx1 = Math.min(w.kernel, w.size - ix0);
        if (kx1 <= kx0) continue;
        const len = (kx1 - kx0) * ci;
        for (let ky = 0; ky < h.kernel; ky++) {
          const iy = oy * h.stride - h.padBefore + ky;
          if (iy < 0 || iy >= h.size) continue;
          const s = r + ky * run + kx0 * ci;
          const t = xn + (iy * w.size + ix0 + kx0) * ci;
          for (let i = 0; i < len; i++) x[t + i] += cols[s + i];
        }
      }
    }
  }
}

/** Whether the convolution reads `x` itself as its window matrix (1x1, stride 1, no padding). */
export function isPointwise(g: ConvGeometry): boolean {
  return g.h.kernel === 1 && g.w.kernel === 1 && g.h.stride === 1 &&
    g.w.stride === 1 && g.h.padBefore === 0 && g.w.padBefore === 0 &&
    g.h.out === g.h.size && g.w.out === g.w.size;
}
