/**
 * Running this folder's WGSL through tfjs-backend-webgpu's
 * `runWebGPUProgram` (tfjs's buffers and shader cache): the two
 * kinds of program the kernels use, each described once.
 *
 * - {@link runGemm}: a tiled GEMM (`gemm.ts`) whose operands the caller's
 *   WGSL reads from the convolution's tensors.
 * - {@link runPerElement}: one thread per output element.
 *
 * A program's parameters are WGSL constants ({@link Constants}), not
 * uniforms: its geometry (shapes, kernel, strides, pads) is compiled into
 * the shader, so that the many integer divisions of implicit-GEMM indexing
 * become multiplies and shifts (GPUs and CPUs have no fast integer divide;
 * on lavapipe the uniform version ran at half the speed). A new layer shape
 * compiles a new shader, once: the shader key holds every constant.
 *
 * @module
 */
import type * as tf from "@tensorflow/tfjs";
import type {
  WebGPUBackend,
  WebGPUProgram,
} from "@tensorflow/tfjs-backend-webgpu";
import { gemmSource, TILE_RED, tileOf, tilingFor, tilingKey } from "./gemm.ts";

/**
 * A program's constants by WGSL name: an `i32`, a `vec2<i32>` (two numbers)
 * or an `f32` (`{ f32: value }`). The runners add the shapes: `outShape`
 * and, for each input `v`, `vShape` (`i32` or `vecN<i32>` by rank).
 */
export type Constants = Record<
  string,
  number | readonly [number, number] | { f32: number }
>;

/** `ceil(a / b)`. */
export const ceilDiv = (a: number, b: number): number => Math.ceil(a / b);

/** The shape constant of input `v`, named as tfjs names its uniform. */
const shapeName = (v: string) => `${v[0].toLowerCase()}${v.slice(1)}Shape`;

/** A WGSL integer constant expression of a shape (rank 1-4). */
function shapeWgsl(shape: readonly number[]): string {
  if (shape.length === 1) return `${shape[0]}`;
  return `vec${shape.length}<i32>(${shape.join(", ")})`;
}

/**
 * WGSL `const` declarations of `p`'s constants, of `outShape` and of each
 * input's shape: also the shader's cache key (the same text, the same
 * shader).
 */
function constantsWgsl(p: ProgramSpec, inputs: tf.TensorInfo[]): string {
  const value = (v: Constants[string]) =>
    typeof v === "number"
      ? `${v}`
      : "f32" in v
      ? `${v.f32}f`
      : `vec2<i32>(${v.join(", ")})`;
  const shapes = [
    ...inputs.map((t, i) => [shapeName(p.inputs[i]), t.shape] as const),
    ["outShape", p.outputShape] as const,
  ].filter(([, s]) => s.length >= 1 && s.length <= 4);
  return [
    ...Object.entries(p.constants).map(([k, v]) => `const ${k} = ${value(v)};`),
    ...shapes.map(([k, s]) => `const ${k} = ${shapeWgsl(s)};`),
  ].join("\n");
}

/** What every program of this folder has. */
export interface ProgramSpec {
  /** Shader key: one per distinct WGSL (the constants are appended). */
  name: string;
  /** WGSL names of the input tensors, in the order they are passed. */
  inputs: string[];
  outputShape: number[];
  /** See {@link Constants}. */
  constants: Constants;
}

/** A GEMM `C [rows, cols] = A [rows, red] B [red, cols]` (see `gemm.ts`). */
export interface GemmSpec extends ProgramSpec {
  /** C's rows and columns, and how many workgroup layers (`z`) there are. */
  grid: [rows: number, cols: number, z: number];
  /**
   * Reduction steps each workgroup runs, rounded up to whole passes of
   * `TILE_RED` steps (their count is the WGSL `uniforms.passes`).
   */
  red: number;
  /** Whether A's / B's reduction index is the contiguous one in memory. */
  redContiguous: [a: boolean, b: boolean];
  /** WGSL defining `redStart`, `readA`, `readB` and `writeC` (`gemm.ts`). */
  code: string;
}

/** Runs the GEMM `g` on `inputs`; returns its float32 output. */
export function runGemm(
  backend: WebGPUBackend,
  g: GemmSpec,
  inputs: tf.TensorInfo[],
): tf.TensorInfo {
  const [rows, cols, z] = g.grid;
  const tiling = tilingFor(cols);
  const [tm, tn] = tileOf(tiling);
  const constants = constantsWgsl(g, inputs);
  const program: WebGPUProgram = {
    variableNames: g.inputs,
    outputShape: g.outputShape,
    shaderKey: `${g.name}_${tilingKey(tiling)}\n${constants}`,
    dispatchLayout: { x: [0], y: [1], z: [2] },
    dispatch: [ceilDiv(cols, tn), ceilDiv(rows, tm), z],
    workgroupSize: [...tiling.threads, 1],
    // The one uniform: tfjs binds its uniform buffer to every program, and
    // a shader that reads none would not declare it (a bind group error).
    uniforms: "passes : i32,",
    getUserCode: () =>
      constants + gemmSource({
        tiling,
        passes: "uniforms.passes",
        aRedContiguous: g.redContiguous[0],
        bRedContiguous: g.redContiguous[1],
      }) + g.code,
  };
  return backend.runWebGPUProgram(program, inputs, "float32", [
    { type: "int32", data: [ceilDiv(g.red, TILE_RED)] },
  ]);
}

/** A program with one thread per output element. */
export interface PerElementSpec extends ProgramSpec {
  /**
   * WGSL body of `fn main(index: i32)` for a flat output `index` below
   * `uniforms.size`; it sets `result[index]`.
   */
  body: string;
}

/** Runs `p` on `inputs`; returns its float32 output. */
export function runPerElement(
  backend: WebGPUBackend,
  p: PerElementSpec,
  inputs: tf.TensorInfo[],
): tf.TensorInfo {
  const constants = constantsWgsl(p, inputs);
  const program: WebGPUProgram = {
    variableNames: p.inputs,
    outputShape: p.outputShape,
    shaderKey: `${p.name}\n${constants}`,
    dispatchLayout: { x: p.outputShape.map((_, i) => i) },
    dispatch: [ceilDiv(p.outputShape.reduce((a, b) => a * b, 1), 64), 1, 1],
    workgroupSize: [64, 1, 1],
    size: true,
    getUserCode: () =>
      constants + `
fn main(index: i32) {
  if (index >= uniforms.size) { return; }
  ${p.body}
}`,
  };
  return backend.runWebGPUProgram(program, inputs, "float32");
}
