/**
 * tfjs-wasm kernels that compute on the system's BLAS through FFI, in place
 * on the wasm heap: `Conv2D`, `FusedConv2D`, `Conv2DBackpropInput` (also
 * conv2dTranspose's forward), `Conv2DBackpropFilter`, `BatchMatMul`,
 * `_FusedMatMul`.
 *
 * Convolutions are GEMMs over im2col windows (built, and summed back, by
 * the fused wasm module `../fused/fused.wat` in heap buffers), NHWC with the
 * filter `[kh, kw, inC, outC]` read as `[K = kh*kw*inC, outC]`, M = output
 * pixels:
 *
 * - forward: `y [M, outC] = cols(x) [M, K] . filter [K, outC]` (+ bias,
 *   activation)
 * - input gradient: `dx = col2im(dy [M, outC] . filter^T [outC, K])`
 * - filter gradient: `dW [K, outC] = cols(x)^T [K, M] . dy [M, outC]`
 *
 * Anything else (NCHW, dilation, other dtypes, PReLU) goes to the kernel
 * that was registered before.
 *
 * @module
 */
import {
  _FusedMatMul,
  backend_util,
  BatchMatMul,
  Conv2D,
  Conv2DBackpropFilter,
  Conv2DBackpropInput,
  FusedConv2D,
  type KernelConfig,
  type KernelFunc,
  type TensorInfo,
} from "@tensorflow/tfjs";
import {
  attrsGeometry,
  type ConvAttrs,
  type ConvGeometry,
} from "../kernels/conv_geometry.ts";
import type { WasmBackendLike } from "../kernels/wasm_ops.ts";
import type { Blas } from "./blas.ts";
import { fusedExports, type Geometry } from "../fused/module.ts";

/** The activations applied in place after a fused GEMM. */
const ACTIVATIONS = [
  "linear",
  "relu",
  "relu6",
  "leakyrelu",
  "elu",
  "sigmoid",
] as const;
type Activation = typeof ACTIVATIONS[number];

/** Attributes of Conv2D / FusedConv2D (the fused ones optional). */
interface ConvKernelAttrs extends ConvAttrs {
  dilations: number | [number, number];
  activation?: string;
  leakyreluAlpha?: number;
}

/** Attributes of BatchMatMul / _FusedMatMul. */
interface MatMulAttrs {
  transposeA: boolean;
  transposeB: boolean;
  activation?: string;
  leakyreluAlpha?: number;
}

/** What the native kernels did since the last {@link resetNativeStats}. */
export interface NativeStats {
  /** Kernel calls computed natively, by kernel name. */
  calls: Record<string, number>;
  /** Kernel calls handed to the kernel registered before, by kernel name. */
  fallbacks: Record<string, number>;
  /** Floating-point operations of the GEMMs (2 M N K each). */
  gemmFlops: number;
  /** Milliseconds in BLAS GEMM calls. */
  gemmMs: number;
  /** Milliseconds in im2col / col2im / bias / activation loops. */
  loopMs: number;
}

let stats: NativeStats = newStats();
function newStats(): NativeStats {
  return { calls: {}, fallbacks: {}, gemmFlops: 0, gemmMs: 0, loopMs: 0 };
}

/** A copy of the counters since the last reset (see {@link NativeStats}). */
export function nativeStats(): NativeStats {
  return structuredClone(stats);
}

/** Zeroes the counters of {@link nativeStats}. */
export function resetNativeStats(): void {
  stats = newStats();
}

/** `blas.gemm`, timed and counted in {@link nativeStats}. */
function gemm(blas: Blas, ...args: Parameters<Blas["gemm"]>): void {
  const t0 = performance.now();
  blas.gemm(...args);
  stats.gemmMs += performance.now() - t0;
  stats.gemmFlops += 2 * args[2] * args[3] * args[4];
}

/** Runs a loop (im2col, col2im, bias, activation), timed in {@link nativeStats}. */
function loop(f: () => void): void {
  const t0 = performance.now();
  f();
  stats.loopMs += performance.now() - t0;
}

function f32(backend: WasmBackendLike, t: TensorInfo): Float32Array {
  return backend.typedArrayFromHeap(t) as Float32Array;
}

/** Applies `act` in place; `alpha` is LeakyReLU's slope. */
function activate(y: Float32Array, act: Activation, alpha: number): void {
  const n = y.length;
  switch (act) {
    case "linear":
      return;
    case "relu":
      for (let i = 0; i < n; i++) if (y[i] < 0) y[i] = 0;
      return;
    case "relu6":
      for (let i = 0; i < n; i++) y[i] = Math.min(6, Math.max(0, y[i]));
      return;
    case "leakyrelu":
      for (let i = 0; i < n; i++) if (y[i] < 0) y[i] *= alpha;
      return;
    case "elu":
      for (let i = 0; i < n; i++) if (y[i] < 0) y[i] = Math.expm1(y[i]);
      return;
    case "sigmoid":
      for (let i = 0; i < n; i++) y[i] = 1 / (1 + Math.exp(-y[i]));
      return;
  }
}

/** The fused activation when this module implements it, else null. */
function activationOf(name: string | undefined): Activation | null {
  const a = (name ?? "linear") as Activation;
  return ACTIVATIONS.includes(a) ? a : null;
}

/** Fills each row of `y` (`[rows, n]`) with `bias` (`[n]` or `[1]`). */
function fillRows(
  be: WasmBackendLike,
  y: TensorInfo,
  bias: TensorInfo,
  n: number,
): void {
  const [yv, bv] = [f32(be, y), f32(be, bias)];
  if (bv.length === 1) return void yv.fill(bv[0]);
  const [yp, bp] = [yv.byteOffset, bv.byteOffset];
  fusedExports(be).copy_rows(bp, 0, yp, n * 4, n * 4, yv.length / n);
}

/** Whether `x` itself is the window matrix (1x1, stride 1, no padding). */
function isPointwise(g: ConvGeometry): boolean {
  return g.h.kernel === 1 && g.w.kernel === 1 && g.h.stride === 1 &&
    g.w.stride === 1 && g.h.padBefore === 0 && g.w.padBefore === 0 &&
    g.h.out === g.h.size && g.w.out === g.w.size;
}

/** The geometry arguments of the fused module's im2col / col2im. */
function geometryArgs({ batch, inChannels, h, w }: ConvGeometry): Geometry {
  return [
    batch,
    h.size,
    w.size,
    inChannels,
    h.out,
    w.out,
    h.kernel,
    w.kernel,
    h.stride,
    w.stride,
    h.padBefore,
    w.padBefore,
  ];
}

/**
 * The window matrix `[M, K]` of `x`: a new heap tensor (`temp`, to free
 * with `disposeData`), or `x` itself for a pointwise convolution.
 */
function windows(be: WasmBackendLike, x: TensorInfo, g: ConvGeometry) {
  if (isPointwise(g)) return { cols: x, temp: null };
  const cols = be.makeOutput([rowsOf(g), depthOf(g)], "float32");
  const [xp, cp] = [f32(be, x).byteOffset, f32(be, cols).byteOffset];
  loop(() => fusedExports(be).im2col(xp, cp, ...geometryArgs(g)));
  return { cols, temp: cols };
}

/** Geometry when the native path applies (NHWC, float32, dilation 1). */
function nativeGeometry(
  inShape: readonly number[],
  filterShape: readonly number[],
  attrs: ConvAttrs & { dilations?: number | [number, number] },
  tensors: TensorInfo[],
): ConvGeometry | null {
  const dil = attrs.dilations ?? 1;
  const dils = Array.isArray(dil) ? dil : [dil];
  if (
    attrs.dataFormat === "NCHW" || dils.some((d) => d !== 1) ||
    tensors.some((t) => t.dtype !== "float32")
  ) return null;
  return attrsGeometry(inShape, filterShape, attrs);
}

const rowsOf = (g: ConvGeometry) => g.batch * g.h.out * g.w.out;
const depthOf = (g: ConvGeometry) => g.h.kernel * g.w.kernel * g.inChannels;

/** `Conv2D` / `FusedConv2D` forward. */
function convForward(
  blas: Blas,
  backend: WasmBackendLike,
  x: TensorInfo,
  filter: TensorInfo,
  g: ConvGeometry,
  bias: TensorInfo | undefined,
  act: Activation,
  alpha: number,
): TensorInfo {
  const [m, k, co] = [rowsOf(g), depthOf(g), g.outChannels];
  const out = backend.makeOutput([g.batch, g.h.out, g.w.out, co], "float32");
  const { cols, temp } = windows(backend, x, g);
  if (bias != null) loop(() => fillRows(backend, out, bias, co));
  const [cv, fv, yv] = [cols, filter, out].map((t) => f32(backend, t));
  gemm(blas, false, false, m, co, k, cv, fv, yv, bias == null ? 0 : 1);
  loop(() => activate(yv, act, alpha));
  if (temp != null) backend.disposeData(temp.dataId);
  return out;
}

/** `Conv2DBackpropInput`: `dx` of shape `g`'s input from `dy` and the filter. */
function convInputGrad(
  blas: Blas,
  backend: WasmBackendLike,
  dy: TensorInfo,
  filter: TensorInfo,
  g: ConvGeometry,
): TensorInfo {
  const [m, k, co] = [rowsOf(g), depthOf(g), g.outChannels];
  const dx = backend.makeOutput(
    [g.batch, g.h.size, g.w.size, g.inChannels],
    "float32",
  );
  if (isPointwise(g)) {
    const [dyv, fv, dxv] = [dy, filter, dx].map((t) => f32(backend, t));
    gemm(blas, false, true, m, k, co, dyv, fv, dxv);
    return dx;
  }
  const cols = backend.makeOutput([m, k], "float32");
  const [dyv, fv, cv, dxv] = [dy, filter, cols, dx].map((t) => f32(backend, t));
  gemm(blas, false, true, m, k, co, dyv, fv, cv);
  const [cp, xp] = [cv.byteOffset, dxv.byteOffset];
  loop(() => fusedExports(backend).col2im(cp, xp, ...geometryArgs(g)));
  backend.disposeData(cols.dataId);
  return dx;
}

/** `Conv2DBackpropFilter`: `dW` `[kh, kw, inC, outC]` from `x` and `dy`. */
function convFilterGrad(
  blas: Blas,
  backend: WasmBackendLike,
  x: TensorInfo,
  dy: TensorInfo,
  g: ConvGeometry,
): TensorInfo {
  const [m, k, co] = [rowsOf(g), depthOf(g), g.outChannels];
  const dw = backend.makeOutput(
    [g.h.kernel, g.w.kernel, g.inChannels, co],
    "float32",
  );
  const { cols, temp } = windows(backend, x, g);
  const [cv, dyv, dwv] = [cols, dy, dw].map((t) => f32(backend, t));
  gemm(blas, true, false, k, co, m, cv, dyv, dwv);
  if (temp != null) backend.disposeData(temp.dataId);
  return dw;
}

/**
 * `BatchMatMul` / `_FusedMatMul` on `[...batch, rows, cols]` operands whose
 * batches are equal or one of them 1; null when the native path does not
 * apply (other broadcasts, dtypes, bias shapes, activations).
 */
function matMul(
  blas: Blas,
  backend: WasmBackendLike,
  a: TensorInfo,
  b: TensorInfo,
  attrs: MatMulAttrs,
  bias?: TensorInfo,
): TensorInfo | null {
  const act = activationOf(attrs.activation);
  if (act == null || a.dtype !== "float32" || b.dtype !== "float32") {
    return null;
  }
  const ra = a.shape.length, rb = b.shape.length;
  const [ta, tb] = [attrs.transposeA, attrs.transposeB];
  const m = ta ? a.shape[ra - 1] : a.shape[ra - 2];
  const k = ta ? a.shape[ra - 2] : a.shape[ra - 1];
  const n = tb ? b.shape[rb - 2] : b.shape[rb - 1];
  const batchShape = backend_util.assertAndGetBroadcastShape(
    a.shape.slice(0, -2),
    b.shape.slice(0, -2),
  );
  const size = (s: number[]) => s.reduce((p, d) => p * d, 1);
  const [ba, bb] = [size(a.shape.slice(0, -2)), size(b.shape.slice(0, -2))];
  const batch = size(batchShape);
  if ((ba !== batch && ba !== 1) || (bb !== batch && bb !== 1)) return null;
  if (bias != null && bias.dtype !== "float32") return null;
  if (bias != null && size(bias.shape) !== n && size(bias.shape) !== 1) {
    return null;
  }
  const out = backend.makeOutput([...batchShape, m, n], "float32");
  const [av, bv, yv] = [f32(backend, a), f32(backend, b), f32(backend, out)];
  if (bias != null) loop(() => fillRows(backend, out, bias, n));
  for (let i = 0; i < batch; i++) {
    const ai = ba === 1 ? 0 : i * m * k, bi = bb === 1 ? 0 : i * k * n;
    gemm(
      blas,
      ta,
      tb,
      m,
      n,
      k,
      av.subarray(ai, ai + m * k),
      bv.subarray(bi, bi + k * n),
      yv.subarray(i * m * n, (i + 1) * m * n),
      bias == null ? 0 : 1,
    );
  }
  loop(() => activate(yv, act, attrs.leakyreluAlpha ?? 0.2));
  return out;
}

/** Makes a native kernel config from the one it overrides. */
type NativeMaker = (blas: Blas, original: KernelConfig) => KernelConfig;

function wrap(
  original: KernelConfig,
  name: string,
  run: (args: Parameters<KernelFunc>[0]) => TensorInfo | null,
): KernelConfig {
  const kernelFunc: KernelFunc = (args) => {
    const out = run(args);
    const counts = out == null ? stats.fallbacks : stats.calls;
    counts[name] = (counts[name] ?? 0) + 1;
    return out ?? original.kernelFunc(args);
  };
  return { ...original, kernelName: name, kernelFunc };
}

/** The native kernels, by kernel name. */
export const NATIVE_KERNELS: Readonly<Record<string, NativeMaker>> = {
  [Conv2D]: (blas, original) =>
    wrap(original, Conv2D, ({ inputs, attrs, backend }) => {
      const { x, filter } = inputs as { x: TensorInfo; filter: TensorInfo };
      const a = attrs as unknown as ConvKernelAttrs;
      const g = nativeGeometry(x.shape, filter.shape, a, [x, filter]);
      if (g == null) return null;
      const be = backend as unknown as WasmBackendLike;
      return convForward(blas, be, x, filter, g, undefined, "linear", 0);
    }),
  [FusedConv2D]: (blas, original) =>
    wrap(original, FusedConv2D, ({ inputs, attrs, backend }) => {
      const { x, filter, bias } = inputs as {
        x: TensorInfo;
        filter: TensorInfo;
        bias?: TensorInfo;
      };
      const a = attrs as unknown as ConvKernelAttrs;
      const act = activationOf(a.activation);
      const g = nativeGeometry(x.shape, filter.shape, a, [x, filter]);
      const co = filter.shape[3];
      if (
        g == null || act == null ||
        (bias != null && bias.shape.reduce((p, d) => p * d, 1) !== co)
      ) return null;
      const be = backend as unknown as WasmBackendLike;
      return convForward(
        blas,
        be,
        x,
        filter,
        g,
        bias,
        act,
        a.leakyreluAlpha ?? 0.2,
      );
    }),
  [Conv2DBackpropInput]: (blas, original) =>
    wrap(original, Conv2DBackpropInput, ({ inputs, attrs, backend }) => {
      const { dy, filter } = inputs as { dy: TensorInfo; filter: TensorInfo };
      const a = attrs as unknown as ConvAttrs & { inputShape: number[] };
      const g = nativeGeometry(a.inputShape, filter.shape, a, [dy, filter]);
      if (g == null) return null;
      const be = backend as unknown as WasmBackendLike;
      return convInputGrad(blas, be, dy, filter, g);
    }),
  [Conv2DBackpropFilter]: (blas, original) =>
    wrap(original, Conv2DBackpropFilter, ({ inputs, attrs, backend }) => {
      const { x, dy } = inputs as { x: TensorInfo; dy: TensorInfo };
      const a = attrs as unknown as ConvAttrs & { filterShape: number[] };
      const g = nativeGeometry(x.shape, a.filterShape, a, [x, dy]);
      if (g == null) return null;
      const be = backend as unknown as WasmBackendLike;
      return convFilterGrad(blas, be, x, dy, g);
    }),
  [BatchMatMul]: (blas, original) =>
    wrap(original, BatchMatMul, ({ inputs, attrs, backend }) => {
      const { a, b } = inputs as { a: TensorInfo; b: TensorInfo };
      const be = backend as unknown as WasmBackendLike;
      return matMul(blas, be, a, b, attrs as unknown as MatMulAttrs);
    }),
  [_FusedMatMul]: (blas, original) =>
    wrap(original, _FusedMatMul, ({ inputs, attrs, backend }) => {
      const { a, b, bias, preluActivationWeights } = inputs as {
        a: TensorInfo;
        b: TensorInfo;
        bias?: TensorInfo;
        preluActivationWeights?: TensorInfo;
      };
      if (preluActivationWeights != null) return null;
      const be = backend as unknown as WasmBackendLike;
      return matMul(blas, be, a, b, attrs as unknown as MatMulAttrs, bias);
    }),
};
