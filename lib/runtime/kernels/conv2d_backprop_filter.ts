/**
 * Wasm `Conv2DBackpropFilter` (the filter gradient of conv2d, which
 * tfjs-backend-wasm 4.22 lacks), composed of wasm kernels.
 *
 * `dW[ky, kx] = tap(ky, kx)^T dy`, where `tap(ky, kx)` is the input window
 * that kernel tap meets: `x_padded[s*oy + ky, s*ox + kx]` over all outputs.
 * The padded input is reshaped into stride phases `[n, H/s, s, W/s, s, c]`,
 * so each tap is a stride-1 slice `[pixels, inC]` (runs of `inC`). Each
 * tap's block is one plain matMul (never `transposeA`/`transposeB`: XNNPACK
 * takes the fast path only without them), oriented to transpose the smaller
 * of activations and weights with the 2-D transpose (the only fast one on
 * wasm): `transpose(tap) x dy` when there are fewer pixels than output
 * channels, else `transpose(dy) x tap` and one transpose of the stacked
 * result.
 *
 * @module
 */
import {
  Conv2DBackpropFilter,
  type KernelConfig,
  type KernelFunc,
  type TensorInfo,
} from "@tensorflow/tfjs";
import {
  attrsGeometry,
  type ConvAttrs,
  type ConvAxis,
  type ConvGeometry,
} from "./conv_geometry.ts";
import { tapUsed } from "./conv2d.ts";
import { copyRuns } from "./heap_copy.ts";
import { kernelScope, type WasmScope } from "./wasm_ops.ts";

/**
 * Padded length along one axis: a multiple of the stride that holds every
 * window the kernel taps read, `stride*(out-1) + kernel`, and the input.
 */
function paddedLength(axis: ConvAxis): number {
  const need = Math.max(
    axis.size + axis.padBefore,
    axis.stride * (axis.out - 1) + axis.kernel,
  );
  return Math.ceil(need / axis.stride) * axis.stride;
}

/**
 * The filter gradient `[kh, kw, inChannels, outChannels]` of an NHWC conv2d
 * from its input `x` (`[batch, h.size, w.size, inChannels]`) and `dy`
 * (`[batch, h.out, w.out, outChannels]`), composed of wasm kernels.
 */
export function tapFilterGrad(
  sc: WasmScope,
  x: TensorInfo,
  dy: TensorInfo,
  g: ConvGeometry,
): TensorInfo {
  const { h, w, batch: n, inChannels: ci, outChannels: co } = g;
  const hp = paddedLength(h);
  const wp = paddedLength(w);
  // x padded and split into stride phases, [n, hp/s, s, wp/s, s, ci]:
  // every tap is a stride-1 slice made of runs of ci channels.
  const xp = sc.pad(x, [
    [0, 0],
    [h.padBefore, hp - h.size - h.padBefore],
    [w.padBefore, wp - w.size - w.padBefore],
    [0, 0],
  ]);
  const phased = sc.reshape(xp, [
    n,
    hp / h.stride,
    h.stride,
    wp / w.stride,
    w.stride,
    ci,
  ]);
  const m = n * h.out * w.out;
  const tapAt = (ky: number, kx: number) =>
    sc.reshape(
      sc.slice(
        phased,
        [
          0,
          Math.floor(ky / h.stride),
          ky % h.stride,
          Math.floor(kx / w.stride),
          kx % w.stride,
          0,
        ],
        [n, h.out, 1, w.out, 1, ci],
      ),
      [m, ci],
    );
  const taps = h.kernel * w.kernel;
  const blocks: TensorInfo[] = [];
  // Taps that read only zero padding (small layers) get a zero block.
  const zeroBlock = (shape: number[]) => {
    const z = sc.alloc(shape);
    sc.view(z).fill(0);
    return z;
  };
  const used = (ky: number, kx: number) => tapUsed(h, ky) && tapUsed(w, kx);
  if (m <= co) {
    // Few pixels (deep layers): transpose the small taps, not the weights.
    // [ci, m] x [m, co] = dW[ky, kx]; dy is the same operand every time.
    const dy3 = sc.reshape(dy, [1, m, co]);
    for (let ky = 0; ky < h.kernel; ky++) {
      for (let kx = 0; kx < w.kernel; kx++) {
        if (!used(ky, kx)) {
          blocks.push(zeroBlock([1, ci, co]));
          continue;
        }
        const tapT = sc.reshape(sc.transpose2d(tapAt(ky, kx)), [1, ci, m]);
        blocks.push(sc.matMul(tapT, dy3));
      }
    }
    return sc.reshape(sc.concat(blocks, 0), [h.kernel, w.kernel, ci, co]);
  }
  // Many pixels: [co, m] x [m, ci] = dW[ky, kx] transposed, then one 2-D
  // transpose of the stacked [taps*co, ci] -> [ci, taps, co] and a run copy
  // into [taps, ci, co].
  const dyT = sc.reshape(sc.transpose2d(sc.reshape(dy, [m, co])), [1, co, m]);
  for (let ky = 0; ky < h.kernel; ky++) {
    for (let kx = 0; kx < w.kernel; kx++) {
      blocks.push(
        used(ky, kx)
          ? sc.matMul(dyT, sc.reshape(tapAt(ky, kx), [1, m, ci]))
          : zeroBlock([1, co, ci]),
      );
    }
  }
  const t = sc.transpose2d(sc.reshape(sc.concat(blocks, 0), [taps * co, ci]));
  const dw = sc.alloc([h.kernel, w.kernel, ci, co]);
  copyRuns(
    { view: sc.view(t), offset: 0, strides: [co, taps * co] },
    { view: sc.view(dw), offset: 0, strides: [ci * co, co] },
    [taps, ci],
    co,
  );
  return dw;
}

/**
 * Builds the `Conv2DBackpropFilter` kernel config (the wasm backend has none
 * to replace). NCHW inputs are transposed to NHWC first.
 */
export function makeConv2DBackpropFilterConfig(): KernelConfig {
  const kernelFunc: KernelFunc = (args) => {
    const inputs = args.inputs as { x: TensorInfo; dy: TensorInfo };
    const attrs = args.attrs as unknown as ConvAttrs & {
      filterShape: [number, number, number, number];
    };
    const sc = kernelScope(args.backend);
    const toNhwc = (t: TensorInfo) =>
      attrs.dataFormat === "NCHW" ? sc.transpose(t, [0, 2, 3, 1]) : t;
    const x = toNhwc(inputs.x);
    const dy = toNhwc(inputs.dy);
    const g = attrsGeometry(x.shape, attrs.filterShape, attrs);
    return sc.finish(tapFilterGrad(sc, x, dy, g));
  };
  return { kernelName: Conv2DBackpropFilter, backendName: "wasm", kernelFunc };
}
