/**
 * This project's kernels for tfjs-backend-webgpu 4.22 (`conv.ts`), and the
 * switch between them and the stock ones (the bench compares both in one
 * process).
 *
 * @example
 * ```ts
 * import { registerWebGpuKernels } from "./lib/runtime/webgpu/mod.ts";
 * registerWebGpuKernels(); // before or after tf.setBackend("webgpu")
 * ```
 *
 * @module
 */
import * as tf from "@tensorflow/tfjs";
import type { WebGPUBackend } from "@tensorflow/tfjs-backend-webgpu";
import { conv2DBackpropFilter, conv2DBackpropInput } from "./conv.ts";

type ConvAttrs = {
  strides: [number, number] | number;
  pad: "valid" | "same" | number | tf.backend_util.ExplicitPadding;
  dataFormat: "NHWC" | "NCHW";
  dimRoundingMode?: "floor" | "round" | "ceil";
};

/** tfjs's geometry of a 2-D convolution from a kernel's attributes. */
function convInfo(
  inShape: number[],
  filterShape: number[],
  a: ConvAttrs,
) {
  return tf.backend_util.computeConv2DInfo(
    inShape as [number, number, number, number],
    filterShape as [number, number, number, number],
    a.strides,
    1,
    a.pad,
    a.dimRoundingMode,
    false,
    tf.backend_util.convertConv2DDataFormat(a.dataFormat),
  );
}

/** Our kernels; each falls back to the stock one for NCHW. */
const OURS: Record<
  string,
  (stock: tf.KernelConfig) => tf.KernelFunc
> = {
  Conv2DBackpropFilter: (stock) => (args) => {
    const { x, dy } = args.inputs as Record<string, tf.TensorInfo>;
    const a = args.attrs as unknown as ConvAttrs & { filterShape: number[] };
    if (a.dataFormat === "NCHW") return stock.kernelFunc(args);
    return conv2DBackpropFilter(
      args.backend as WebGPUBackend,
      x,
      dy,
      convInfo(x.shape, a.filterShape, a),
    );
  },
  Conv2DBackpropInput: (stock) => (args) => {
    const { dy, filter } = args.inputs as Record<string, tf.TensorInfo>;
    const a = args.attrs as unknown as ConvAttrs & { inputShape: number[] };
    if (a.dataFormat === "NCHW") return stock.kernelFunc(args);
    return conv2DBackpropInput(
      args.backend as WebGPUBackend,
      dy,
      filter,
      convInfo(a.inputShape, filter.shape, a),
    );
  },
};

/** Calls of our kernels per name (the tests check that they ran). */
const calls: Record<string, number> = {};

/** How many times each of our kernels ran in this process. */
export function webGpuKernelCalls(): Readonly<Record<string, number>> {
  return calls;
}

/** The stock configs, saved when ours replace them. */
const stock = new Map<string, tf.KernelConfig>();

/** The names of the kernels this module replaces. */
export const WEBGPU_KERNELS = Object.keys(OURS);

/**
 * Registers this project's webgpu kernels in place of the stock ones
 * (idempotent). Needs `@tensorflow/tfjs-backend-webgpu` imported first.
 */
export function registerWebGpuKernels(): void {
  for (const [name, make] of Object.entries(OURS)) {
    if (stock.has(name)) continue;
    const original = tf.getKernel(name, "webgpu");
    if (original == null) {
      throw new Error(`stock webgpu kernel ${name} not found`);
    }
    stock.set(name, original);
    tf.unregisterKernel(name, "webgpu");
    const ours = make(original);
    tf.registerKernel({
      ...original,
      kernelFunc: (args) => {
        calls[name] = (calls[name] ?? 0) + 1;
        return ours(args);
      },
    });
  }
}

/** Puts the stock kernels back (the bench's comparison). */
export function restoreStockWebGpuKernels(): void {
  for (const [name, original] of stock) {
    tf.unregisterKernel(name, "webgpu");
    tf.registerKernel(original);
  }
  stock.clear();
}
