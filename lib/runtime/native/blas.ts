/**
 * The system's BLAS through Deno FFI: `cblas_sgemm` on `Float32Array`s,
 * including views of tfjs-wasm's heap (no copies).
 *
 * Discovery: the file named by `PIX2PIX_BLAS` when set, else the usual names
 * per OS (Linux: OpenBLAS `libopenblas.so.0`; macOS: Accelerate, untested).
 * Thread control uses OpenBLAS's `openblas_set_num_threads` where the library
 * has it.
 *
 * @example
 * ```ts
 * import { loadBlas } from "./blas.ts";
 * const blas = loadBlas();
 * const a = new Float32Array([1, 2, 3, 4]); // [2, 2]
 * const c = new Float32Array(4);
 * blas.gemm(false, false, 2, 2, 2, a, a, c); // c = a a
 * ```
 *
 * @module
 */

/** Environment variable naming the BLAS library file to load. */
export const BLAS_ENV = "PIX2PIX_BLAS";

/** The library names tried per OS when {@link BLAS_ENV} is not set. */
export const BLAS_CANDIDATES: Readonly<Record<string, readonly string[]>> = {
  linux: ["libopenblas.so.0", "libopenblas.so"],
  darwin: [
    "/opt/homebrew/opt/openblas/lib/libopenblas.dylib",
    "/usr/local/opt/openblas/lib/libopenblas.dylib",
    "/System/Library/Frameworks/Accelerate.framework/Accelerate",
  ],
  windows: ["libopenblas.dll", "openblas.dll"],
};

/** The command that installs the library, per OS (for error messages). */
export const BLAS_INSTALL_HINT: Readonly<Record<string, string>> = {
  linux: "apt-get install libopenblas0 (Debian/Ubuntu) or " +
    "dnf install openblas (Fedora)",
  darwin: "brew install openblas (Accelerate is used when it is absent)",
  windows: "install OpenBLAS and set PIX2PIX_BLAS to libopenblas.dll",
};

const SYMBOLS = {
  cblas_sgemm: {
    parameters: [
      "i32", // order
      "i32", // transA
      "i32", // transB
      "i32", // M
      "i32", // N
      "i32", // K
      "f32", // alpha
      "buffer", // A
      "i32", // lda
      "buffer", // B
      "i32", // ldb
      "f32", // beta
      "buffer", // C
      "i32", // ldc
    ],
    result: "void",
  },
  openblas_set_num_threads: {
    parameters: ["i32"],
    result: "void",
    optional: true,
  },
  openblas_get_num_threads: { parameters: [], result: "i32", optional: true },
  openblas_get_config: { parameters: [], result: "pointer", optional: true },
} as const;

const ROW_MAJOR = 101;
const NO_TRANS = 111;
const TRANS = 112;

/** A loaded BLAS: row-major single-precision GEMM and thread control. */
export interface Blas {
  /** The file that was loaded, as given to `dlopen`. */
  readonly library: string;
  /** The library's own description (OpenBLAS's build config), or "". */
  readonly config: string;
  /**
   * `c = alpha * op(a) op(b) + beta * c`, row-major, `op(a)` `[m, k]`,
   * `op(b)` `[k, n]`, `c` `[m, n]`; `ta`/`tb` say that `a`/`b` are stored
   * transposed (`[k, m]` / `[n, k]`).
   */
  gemm(
    ta: boolean,
    tb: boolean,
    m: number,
    n: number,
    k: number,
    a: Float32Array,
    b: Float32Array,
    c: Float32Array,
    beta?: number,
  ): void;
  /** Threads the library computes with (1 where it cannot say). */
  threads(): number;
  /** Sets the library's threads; false where the library has no such call. */
  setThreads(n: number): boolean;
}

/** The BLAS could not be loaded; the message names the files tried. */
export class BlasMissingError extends Error {
  /** @param tried each library tried, with why it failed */
  constructor(readonly tried: string[]) {
    const os = Deno.build.os;
    super(
      `no BLAS library found (tried ${tried.join("; ")}). Install one ` +
        `(${BLAS_INSTALL_HINT[os] ?? "install OpenBLAS"}) or point ` +
        `${BLAS_ENV} at the library file`,
    );
    this.name = "BlasMissingError";
  }
}

let cached: Blas | null = null;

/**
 * Loads the BLAS (once per process; later calls return the same one).
 *
 * @throws BlasMissingError naming every file tried and the install command.
 */
export function loadBlas(): Blas {
  if (cached != null) return cached;
  const fromEnv = Deno.env.get(BLAS_ENV);
  const names = fromEnv ? [fromEnv] : BLAS_CANDIDATES[Deno.build.os] ?? [];
  const tried: string[] = [];
  for (const name of names) {
    try {
      cached = bind(name, Deno.dlopen(name, SYMBOLS));
      return cached;
    } catch (e) {
      const why = (e as Error).message.split("\n")[0];
      tried.push(`${fromEnv ? `${BLAS_ENV}=` : ""}${name}: ${why}`);
    }
  }
  throw new BlasMissingError(tried.length ? tried : ["no candidates"]);
}

type Lib = Deno.DynamicLibrary<typeof SYMBOLS>;

function bind(library: string, lib: Lib): Blas {
  const s = lib.symbols;
  const configPtr = s.openblas_get_config?.();
  const config = configPtr
    ? new Deno.UnsafePointerView(configPtr).getCString().trim()
    : "";
  return {
    library,
    config,
    gemm(ta, tb, m, n, k, a, b, c, beta = 0) {
      s.cblas_sgemm(
        ROW_MAJOR,
        ta ? TRANS : NO_TRANS,
        tb ? TRANS : NO_TRANS,
        m,
        n,
        k,
        1,
        a,
        ta ? m : k,
        b,
        tb ? k : n,
        beta,
        c,
        n,
      );
    },
    threads: () => s.openblas_get_num_threads?.() ?? 1,
    setThreads(n) {
      if (s.openblas_set_num_threads == null) return false;
      s.openblas_set_num_threads(n);
      return true;
    },
  };
}
