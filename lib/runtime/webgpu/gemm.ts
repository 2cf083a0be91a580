/**
 * A tiled GEMM in WGSL for tfjs-backend-webgpu programs: the shared core of
 * this folder's convolution kernels (implicit GEMM: the operands are read
 * from the convolution's tensors through caller functions, never
 * materialised).
 *
 * Each workgroup (16 x 16 threads) computes a 64 x 64 tile of
 * `C[row, col] = sum_red A[row, red] * B[red, col]`, 4 x 4 values per thread,
 * staging 16 reduction steps of A and B in workgroup memory at a time.
 * `workgroup_id.z` is handed to the caller's functions (a batch, a phase or a
 * split of the reduction).
 *
 * @module
 */

/** Rows and columns of C per workgroup. */
export const TILE = 64;
/** Reduction steps staged in workgroup memory per pass. */
export const TILE_RED = 16;
/** Threads per workgroup: 16 x 16, each computing 4 x 4 values of C. */
export const WORKGROUP: [number, number, number] = [16, 16, 1];

/** How the caller's WGSL feeds and drains {@link gemmSource}'s loop. */
export interface GemmOptions {
  /**
   * WGSL expression, uniform across the workgroup (built from `uniforms`
   * only): how many {@link TILE_RED}-step passes the reduction takes. WGSL
   * allows barriers only in uniform control flow, so per-workgroup ranges
   * are expressed by `readA`/`readB` returning 0 past their end.
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
 * computes one 64 x 64 tile of C. The caller appends WGSL defining
 *
 * - `fn redStart(z: i32) -> i32`: the first reduction index of workgroup z;
 * - `fn readA(z: i32, row: i32, red: i32) -> f32` and
 *   `fn readB(z: i32, red: i32, col: i32) -> f32`, 0 outside the operands;
 * - `fn writeC(z: i32, row: i32, col: i32, value: f32)`, which must ignore
 *   rows and columns past C's edge.
 *
 * Dispatch `[ceil(cols / 64), ceil(rows / 64), zCount]` workgroups of
 * {@link WORKGROUP}.
 */
export function gemmSource(o: GemmOptions): string {
  const load = (contiguousRed: boolean, other: string) =>
    contiguousRed
      ? `let r = e % ${TILE_RED}; let ${other} = e / ${TILE_RED};`
      : `let ${other} = e % ${TILE}; let r = e / ${TILE};`;
  return `
var<workgroup> tileA: array<f32, ${TILE * TILE_RED}>;
var<workgroup> tileB: array<f32, ${TILE * TILE_RED}>;

fn main() {
  let tx = i32(localId.x);
  let ty = i32(localId.y);
  let tid = ty * 16 + tx;
  let row0 = i32(workgroupId.y) * ${TILE};
  let col0 = i32(workgroupId.x) * ${TILE};
  let z = i32(workgroupId.z);
  let start = redStart(z);
  var acc0 = vec4<f32>(0.0);
  var acc1 = vec4<f32>(0.0);
  var acc2 = vec4<f32>(0.0);
  var acc3 = vec4<f32>(0.0);
  let passes = ${o.passes};
  for (var p = 0; p < passes; p++) {
    let red0 = start + p * ${TILE_RED};
    for (var i = 0; i < ${(TILE * TILE_RED) / 256}; i++) {
      let e = tid + i * 256;
      {
        ${load(o.aRedContiguous, "row")}
        tileA[r * ${TILE} + row] = readA(z, row0 + row, red0 + r);
      }
      {
        ${load(o.bRedContiguous, "col")}
        tileB[r * ${TILE} + col] = readB(z, red0 + r, col0 + col);
      }
    }
    workgroupBarrier();
    for (var k = 0; k < ${TILE_RED}; k++) {
      let a = vec4<f32>(tileA[k * ${TILE} + ty], tileA[k * ${TILE} + ty + 16],
          tileA[k * ${TILE} + ty + 32], tileA[k * ${TILE} + ty + 48]);
      let b = vec4<f32>(tileB[k * ${TILE} + tx], tileB[k * ${TILE} + tx + 16],
          tileB[k * ${TILE} + tx + 32], tileB[k * ${TILE} + tx + 48]);
      acc0 = fma(vec4<f32>(a.x), b, acc0);
      acc1 = fma(vec4<f32>(a.y), b, acc1);
      acc2 = fma(vec4<f32>(a.z), b, acc2);
      acc3 = fma(vec4<f32>(a.w), b, acc3);
    }
    workgroupBarrier();
  }
  let accs = array<vec4<f32>, 4>(acc0, acc1, acc2, acc3);
  for (var i = 0; i < 4; i++) {
    for (var j = 0; j < 4; j++) {
      writeC(z, row0 + ty + 16 * i, col0 + tx + 16 * j, accs[i][j]);
    }
  }
}
`;
}
