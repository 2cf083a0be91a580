/**
 * Strided block copies between wasm-heap tensors, one `TypedArray.set` per
 * contiguous run (never a JS loop per element).
 *
 * @module
 */

/** A typed view of a tensor's elements on the wasm heap. */
export type HeapView = Float32Array | Int32Array | Uint8Array;

/**
 * One end of a {@link copyRuns}: a view, the offset of the first element
 * and the element stride of each outer axis.
 */
export interface RunEnd {
  view: HeapView;
  offset: number;
  strides: number[];
}

/**
 * Copies `prod(counts)` runs of `run` contiguous elements: the run at outer
 * index `i` starts at `src.offset + sum(i[a] * src.strides[a])` and goes to
 * the same place computed with `dst`.
 */
export function copyRuns(
  src: RunEnd,
  dst: RunEnd,
  counts: number[],
  run: number,
): void {
  const rank = counts.length;
  let outer = 1;
  for (const c of counts) outer *= c;
  if (outer === 0 || run === 0) return;
  const idx = new Array<number>(rank).fill(0);
  let s = src.offset;
  let d = dst.offset;
  for (let r = 0; r < outer; r++) {
    dst.view.set(src.view.subarray(s, s + run), d);
    for (let a = rank - 1; a >= 0; a--) {
      s += src.strides[a];
      d += dst.strides[a];
      if (++idx[a] < counts[a]) break;
      s -= src.strides[a] * counts[a];
      d -= dst.strides[a] * counts[a];
      idx[a] = 0;
    }
  }
}

/** Row-major element strides of `shape`. */
export function stridesOf(shape: number[]): number[] {
  const out = new Array<number>(shape.length);
  let acc = 1;
  for (let i = shape.length - 1; i >= 0; i--) {
    out[i] = acc;
    acc *= shape[i];
  }
  return out;
}
