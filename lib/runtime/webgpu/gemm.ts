/**
 * A tiled GEMM in WGSL for tfjs-backend-webgpu programs: the shared core of
 * this folder's convolution kernels (implicit GEMM: the operands are read
 * from the convolution's tensors through caller functions, never
 * materialised).
 *
 * Each workgroup computes a tile of `C[row, col] = sum_red A[row, red] *
 * B[red, col]`, each thread `perThread` values of it, staging
 * {@link TILE_RED} reduction steps of A and B in workgroup memory at a time.
 * `workgroup_id.z` is handed to the caller's functions (a batch, a phase or a
 * split of the reduction).
 *
 * @module
 */

/** Reduction steps staged in workgroup memory per pass. */
export const TILE_RED = 16;

/** A workgroup's shape: threads and values per thread along rows and cols. */
export interface GemmTiling {
  /** Threads along cols and rows (x * y = 256). */
  threads: [x: number, y: number];
  /**
   * Values of C per thread along rows (`threads[1]` apart) and cols
   * (adjacent, 1-4: one WGSL vector).
   */
  perThread: [rows: number, cols: number];
}

/**
 * The tiling for a C with `cols` columns: 64 x 64 tiles (4 x 4 per thread)
 * unless C is narrow (a layer with 3 or 6 channels), where most of a 64-wide
 * tile would be wasted: then 128 x 16 or 256 x 4 tiles.
 */
export function tilingFor(cols: number): GemmTiling {
  if (cols <= 4) return { threads: [4, 64], perThread: [4, 1] };
  if (cols <= 16) return { threads: [4, 64], perThread: [2, 4] };
  return { threads: [16, 16], perThread: [4, 4] };
}

/** Rows and columns of C per workgroup. */
export function tileOf(t: GemmTiling): [rows: number, cols: number] {
  return [t.threads[1] * t.perThread[0], t.threads[0] * t.perThread[1]];
}

/** A short name for shader keys. */
export function tilingKey(t: GemmTiling): string {
  return `${t.threads.join("x")}_${t.perThread.join("x")}`;
}

/** How the caller's WGSL feeds and drains {@link gemmSource}'s loop. */
export interface GemmOptions {
  tiling: GemmTiling;
  /**
   * WGSL expression, uniform across the workgroup (built from constants
   * or uniforms only): how many {@link TILE_RED}-step passes the reduction
   * takes. WGSL allows barriers only in uniform control flow, so
   * per-workgroup ranges are expressed by `readA`/`readB` returning 0 past
   * their end.
   */
  passes: string;
  /**
   * Whether A's reduction index is the contiguous one in memory (then
   * consecutive threads load consecutive `red`; else consecutive `row`).
   */
  aRedContiguous: boolean;
  /** The same for B (else consecutive `col`). */
  bRedContiguous: boolean;
}

/**
 * The body of a tfjs-webgpu program's `getUserCode()`: a `main()` that
 * computes one tile of C. The caller appends WGSL defining
 *
 * - `fn redStart(z: i32) -> i32`: the first reduction index of workgroup z;
 *   called once per thread before any other, so it may also set
 *   `var<private>` state that the other functions read;
 * - `fn readA(z: i32, row: i32, red: i32) -> f32` and
 *   `fn readB(z: i32, red: i32, col: i32) -> f32`, 0 outside the operands;
 * - `fn writeC(z: i32, row: i32, col: i32, value: f32)`, which must ignore
 *   rows and columns past C's edge.
 *
 * Dispatch `[ceil(cols / tileCols), ceil(rows / tileRows), zCount]`
 * workgroups of `[threads[0], threads[1], 1]` (see {@link tileOf}).
 */
export function gemmSource(o: GemmOptions): string {
  const [wx, wy] = o.tiling.threads;
  const [rm, rn] = o.tiling.perThread;
  const [tm, tn] = tileOf(o.tiling);
  const threads = wx * wy;
  // A thread's rn columns are adjacent: one vecN of B per step, vecN FMAs.
  const vec = rn === 1 ? "f32" : `vec${rn}<f32>`;
  const load = (
    read: string,
    size: number,
    contiguousRed: boolean,
    store: (at: string) => string,
  ) => {
    const [r, other] = contiguousRed
      ? [`e % ${TILE_RED}`, `e / ${TILE_RED}`]
      : [`e / ${size}`, `e % ${size}`];
    return `for (var e = tid; e < ${size * TILE_RED}; e += ${threads}) {
      let r = ${r};
      let o = ${other};
      ${store(`r * ${size} + o`)} = ${read};
    }`;
  };
  return `
var<workgroup> tileA: array<f32, ${tm * TILE_RED}>;
var<workgroup> tileB: array<${vec}, ${(tn / rn) * TILE_RED}>;

fn main() {
  let tx = i32(localId.x);
  let ty = i32(localId.y);
  let tid = ty * ${wx} + tx;
  let row0 = i32(workgroupId.y) * ${tm};
  let col0 = i32(workgroupId.x) * ${tn};
  let z = i32(workgroupId.z);
  let start = redStart(z);
  var acc: array<${vec}, ${rm}>;
  for (var p = 0; p < ${o.passes}; p++) {
    let red0 = start + p * ${TILE_RED};
    ${
    load(
      "readA(z, row0 + o, red0 + r)",
      tm,
      o.aRedContiguous,
      (at) => `tileA[${at}]`,
    )
  }
    ${
    load(
      "readB(z, red0 + r, col0 + o)",
      tn,
      o.bRedContiguous,
      (at) => rn === 1 ? `tileB[${at}]` : `tileB[(${at}) / ${rn}][o % ${rn}]`,
    )
  }
    workgroupBarrier();
    for (var k = 0; k < ${TILE_RED}; k++) {
      let b = tileB[k * ${tn / rn} + tx];
      for (var i = 0; i < ${rm}; i++) {
        acc[i] = fma(${vec}(tileA[k * ${tm} + ty + ${wy} * i]), b, acc[i]);
      }
    }
    workgroupBarrier();
  }
  for (var i = 0; i < ${rm}; i++) {
    for (var j = 0; j < ${rn}; j++) {
      writeC(z, row0 + ty + ${wy} * i, col0 + tx * ${rn} + j, acc[i]${
    rn === 1 ? "" : "[j]"
  });
    }
  }
}
`;
}
