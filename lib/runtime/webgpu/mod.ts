/**
 * This project's convolution kernels for tfjs-backend-webgpu 4.22
 * (`conv.ts`), and the switch between them and the stock ones (the bench
 * compares both in one process).
 *
 * @example
 * ```ts
 * import { registerWebGpuKernels } from "./lib/runtime/webgpu/mod.ts";
 * registerWebGpuKernels(); // before or after tf.setBackend("webgpu")
 * ```
 *
 * @module
 */
import type * as tf from "@tensorflow/tfjs";
import type { WebGPUBackend } from "@tensorflow/tfjs-backend-webgpu";
import { attrsGeometry, type ConvAttrs } from "../kernels/conv_geometry.ts";
import { replaceKernel } from "../kernel_registry.ts";
import {
  conv2D,
  conv2DBackpropFilter,
  conv2DBackpropInput,
  isFusedActivation,
} from "./conv.ts";

/** The attributes of the four conv kernels (each has some of the optional). */
interface ConvKernelAttrs extends ConvAttrs {
  /** Conv2D, FusedConv2D. */
  dilations?: number | [number, number];
  /** FusedConv2D. */
  activation?: string;
  leakyreluAlpha?: number;
  /** Conv2DBackpropFilter. */
  filterShape?: number[];
  /** Conv2DBackpropInput. */
  inputShape?: number[];
}

/** One of our kernels on an NHWC, float32, dilation-1 call; null: stock's. */
type OurKernel = (
  backend: WebGPUBackend,
  inputs: Record<string, tf.TensorInfo>,
  a: ConvKernelAttrs,
) => tf.TensorInfo | null;

/** Our kernels by name. */
const OURS: Record<string, OurKernel> = {
  Conv2D: (backend, { x, filter }, a) =>
    conv2D(backend, x, filter, attrsGeometry(x.shape, filter.shape, a)),
  FusedConv2D: (backend, { x, filter, bias, preluActivationWeights }, a) =>
    preluActivationWeights != null || !isFusedActivation(a.activation)
      ? null
      : conv2D(backend, x, filter, attrsGeometry(x.shape, filter.shape, a), {
        bias,
        activation: a.activation,
        alpha: a.leakyreluAlpha,
      }),
  Conv2DBackpropFilter: (backend, { x, dy }, a) =>
    conv2DBackpropFilter(
      backend,
      x,
      dy,
      attrsGeometry(x.shape, a.filterShape!, a),
    ),
  Conv2DBackpropInput: (backend, { dy, filter }, a) =>
    conv2DBackpropInput(
      backend,
      dy,
      filter,
      attrsGeometry(a.inputShape!, filter.shape, a),
    ),
};

/** The names of the kernels this module replaces. */
export const WEBGPU_KERNELS: readonly string[] = Object.keys(OURS);

/** Whether our kernels handle a call: NHWC, float32, dilation 1. */
function handled(
  inputs: Record<string, tf.TensorInfo>,
  a: ConvKernelAttrs,
): boolean {
  const dilations = [a.dilations ?? 1].flat();
  return a.dataFormat !== "NCHW" && dilations.every((d) => d === 1) &&
    Object.values(inputs).every((t) => t == null || t.dtype === "float32");
}

/** Calls of our kernels per name (the tests check that they ran). */
const calls: Record<string, number> = {};

/** How many times each of our kernels ran in this process. */
export function webGpuKernelCalls(): Readonly<Record<string, number>> {
  return calls;
}

/** `run` as kernel `name`, falling back to `stock` where it does not apply. */
function withFallback(
  name: string,
  stock: tf.KernelConfig,
  run: OurKernel,
): tf.KernelConfig {
  return {
    ...stock,
    kernelFunc: (args) => {
      const inputs = args.inputs as Record<string, tf.TensorInfo>;
      const a = args.attrs as unknown as ConvKernelAttrs;
      const out = handled(inputs, a)
        ? run(args.backend as WebGPUBackend, inputs, a)
        : null;
      if (out == null) return stock.kernelFunc(args);
      calls[name] = (calls[name] ?? 0) + 1;
      return out;
    },
  };
}

/** The stock configs, saved when ours replace them. */
const stock = new Map<string, tf.KernelConfig>();

/**
 * Registers this project's webgpu kernels in place of the stock ones
 * (idempotent). Needs `@tensorflow/tfjs-backend-webgpu` imported first.
 */
export function registerWebGpuKernels(): void {
  for (const [name, run] of Object.entries(OURS)) {
    if (stock.has(name)) continue;
    stock.set(
      name,
      replaceKernel(
        "webgpu",
        name,
        (original) => withFallback(name, original, run),
      ),
    );
  }
}

/** Puts the stock kernels back (the bench's comparison). */
export function restoreStockWebGpuKernels(): void {
  for (const [name, original] of stock) {
    replaceKernel("webgpu", name, () => original);
  }
  stock.clear();
}
