/**
 * tfjs-wasm kernels on the fused module (`fused.wat`): each replaces a stock
 * kernel for the float32 cases it handles and hands the rest to the kernel
 * registered before it.
 *
 * - `Sum`, `Mean` over leading axes (`[rows, cols]` -> `[cols]`): one pass of
 *   column sums; tfjs-wasm first transposes the input so that the reduced
 *   axes come last (a full copy).
 * - `Concat`, `SplitV` along any axis: one `memory.copy` per contiguous run
 *   (tfjs-wasm concatenates in a JavaScript loop and splits by slices).
 * - `LeakyRelu`: one SIMD pass.
 * - {@link LEAKY_RELU_GRAD_KERNEL}, {@link RELU_GRAD_KERNEL}: kernels of our
 *   own for the activations' input gradients, one pass instead of tfjs's
 *   three (`greater`, `mul`, `where` / `step`, `cast`, `mul`); the gradient
 *   overrides in `lib/runtime/gradients.ts` call them where they are registered.
 *
 * @module
 */
import {
  backend_util,
  Concat,
  type KernelConfig,
  type KernelFunc,
  LeakyRelu,
  Mean,
  SplitV,
  Sum,
  type TensorInfo,
  util,
} from "@tensorflow/tfjs";
import type { WasmBackendLike } from "../kernels/wasm_ops.ts";
import { type FusedExports, fusedExports } from "./module.ts";

/** Our kernel: `dx = x > 0 ? dy : dy * alpha` (inputs `dy`, `x`; attr `alpha`). */
export const LEAKY_RELU_GRAD_KERNEL = "Pix2PixLeakyReluGrad";
/** Our kernel: `dx = x > 0 ? dy : 0` (inputs `dy`, `x`). */
export const RELU_GRAD_KERNEL = "Pix2PixReluGrad";

/** A kernel body: its output(s), or null to use the previous kernel. */
type Body = (
  be: WasmBackendLike,
  fx: FusedExports,
  args: Parameters<KernelFunc>[0],
) => TensorInfo | TensorInfo[] | null;

const ptr = (be: WasmBackendLike, t: TensorInfo) =>
  be.typedArrayFromHeap(t).byteOffset;
const size = (t: TensorInfo) => util.sizeFromShape(t.shape);
const allFloat = (ts: TensorInfo[]) => ts.every((t) => t.dtype === "float32");

/** Makes a kernel config from a body, falling back to `original`. */
function kernel(name: string, body: Body) {
  return (original: KernelConfig | null): KernelConfig => {
    const kernelFunc: KernelFunc = (args) => {
      const be = args.backend as unknown as WasmBackendLike;
      const out = body(be, fusedExports(be), args);
      if (out != null) return out;
      if (original == null) throw new Error(`${name}: unsupported input`);
      return original.kernelFunc(args);
    };
    return { ...original, kernelName: name, backendName: "wasm", kernelFunc };
  };
}

/**
 * `[rows, cols]` when `axis` reduces a leading run of `x`'s axes (not all
 * of them), else null.
 */
function leadingReduction(
  x: TensorInfo,
  axis: number | number[],
): [number, number] | null {
  const axes = util.parseAxisParam(axis, x.shape).sort((a, b) => a - b);
  if (axes.length === 0 || axes.length >= x.shape.length) return null;
  if (axes.some((a, i) => a !== i)) return null;
  const rows = util.sizeFromShape(x.shape.slice(0, axes.length));
  return [rows, util.sizeFromShape(x.shape.slice(axes.length))];
}

/** `Sum` (mean: false) or `Mean` over leading axes. */
function reduceBody(mean: boolean): Body {
  return (be, fx, { inputs, attrs }) => {
    const { x } = inputs as { x: TensorInfo };
    const { axis, keepDims } = attrs as unknown as {
      axis: number | number[];
      keepDims: boolean;
    };
    const rc = x.dtype === "float32" ? leadingReduction(x, axis) : null;
    if (rc == null) return null;
    const [rows, cols] = rc;
    const reduced = util.parseAxisParam(axis, x.shape).length;
    const rest = x.shape.slice(reduced);
    const shape = keepDims
      ? [...x.shape.slice(0, reduced).map(() => 1), ...rest]
      : rest;
    const out = be.makeOutput(shape, "float32");
    fx.colsum(ptr(be, x), ptr(be, out), rows, cols);
    if (mean) {
      const v = be.typedArrayFromHeap(out) as Float32Array;
      for (let i = 0; i < v.length; i++) v[i] /= rows;
    }
    return out;
  };
}

/** Copies `rows` runs of `run` elements between strided places. */
function copyRows(
  fx: FusedExports,
  src: number,
  srcStride: number,
  dst: number,
  dstStride: number,
  run: number,
  rows: number,
): void {
  fx.copy_rows(src, srcStride * 4, dst, dstStride * 4, run * 4, rows);
}

/** The fused kernels, by the kernel name they register. */
export const FUSED_KERNELS: Readonly<
  Record<string, (original: KernelConfig | null) => KernelConfig>
> = {
  [Sum]: kernel(Sum, reduceBody(false)),
  [Mean]: kernel(Mean, reduceBody(true)),
  [Concat]: kernel(Concat, (be, fx, { inputs, attrs }) => {
    const xs = (Object.values(inputs) as TensorInfo[])
      .filter((t) => size(t) > 0);
    if (xs.length < 2 || !allFloat(xs)) return null;
    const axis = util.parseAxisParam(
      (attrs as unknown as { axis: number }).axis,
      xs[0].shape,
    )[0];
    const shape = backend_util.computeOutShape(xs.map((t) => t.shape), axis);
    const out = be.makeOutput(shape, "float32");
    const rows = util.sizeFromShape(shape.slice(0, axis));
    const total = util.sizeFromShape(shape.slice(axis));
    let at = ptr(be, out);
    for (const x of xs) {
      const run = util.sizeFromShape(x.shape.slice(axis));
      copyRows(fx, ptr(be, x), run, at, total, run, rows);
      at += run * 4;
    }
    return out;
  }),
  [SplitV]: kernel(SplitV, (be, fx, { inputs, attrs }) => {
    const { x } = inputs as { x: TensorInfo };
    if (x.dtype !== "float32") return null;
    const { numOrSizeSplits, axis: a } = attrs as unknown as {
      numOrSizeSplits: number | number[];
      axis: number;
    };
    const axis = util.parseAxisParam(a, x.shape)[0];
    const sizes = backend_util.prepareSplitSize(x, numOrSizeSplits, axis);
    const rows = util.sizeFromShape(x.shape.slice(0, axis));
    const inner = util.sizeFromShape(x.shape.slice(axis + 1));
    const total = x.shape[axis] * inner;
    const outs: TensorInfo[] = [];
    let at = 0;
    for (const s of sizes) {
      const shape = [...x.shape];
      shape[axis] = s;
      const out = be.makeOutput(shape, "float32");
      outs.push(out);
      copyRows(
        fx,
        ptr(be, x) + at * 4,
        total,
        ptr(be, out),
        s * inner,
        s * inner,
        rows,
      );
      at += s * inner;
    }
    return outs;
  }),
  [LeakyRelu]: kernel(LeakyRelu, (be, fx, { inputs, attrs }) => {
    const { x } = inputs as { x: TensorInfo };
    if (x.dtype !== "float32") return null;
    const { alpha } = attrs as unknown as { alpha: number };
    const out = be.makeOutput(x.shape, "float32");
    fx.leaky_relu(ptr(be, x), ptr(be, out), size(x), alpha);
    return out;
  }),
  [LEAKY_RELU_GRAD_KERNEL]: kernel(LEAKY_RELU_GRAD_KERNEL, (be, fx, a) => {
    const { dy, x } = a.inputs as { dy: TensorInfo; x: TensorInfo };
    const { alpha } = a.attrs as unknown as { alpha: number };
    const out = be.makeOutput(x.shape, "float32");
    fx.leaky_relu_grad(ptr(be, dy), ptr(be, x), ptr(be, out), size(x), alpha);
    return out;
  }),
  [RELU_GRAD_KERNEL]: kernel(RELU_GRAD_KERNEL, (be, fx, a) => {
    const { dy, x } = a.inputs as { dy: TensorInfo; x: TensorInfo };
    const out = be.makeOutput(x.shape, "float32");
    fx.relu_grad(ptr(be, dy), ptr(be, x), ptr(be, out), size(x));
    return out;
  }),
};
