/**
 * Choose and start a tfjs compute backend.
 *
 * - `tensorflow`: `@tensorflow/tfjs-node-gpu`, else `@tensorflow/tfjs-node`
 *   (native TensorFlow). Not a dependency of this project: imported
 *   dynamically, so it is used only where someone installed it.
 * - `webgpu`: `@tensorflow/tfjs-backend-webgpu` on Deno's `navigator.gpu`
 *   (no flag needed in Deno 2.9), with this project's conv kernels
 *   (`lib/runtime/webgpu/`). Mesa's lavapipe (a CPU Vulkan driver) makes
 *   it work without a GPU: useful to test the GPU code path, not fast.
 * - `wasm`: `@tensorflow/tfjs-backend-wasm` (XNNPACK, SIMD, one thread) with
 *   this project's kernels (`lib/runtime/kernels/`): the filter gradient wasm lacks,
 *   a fast input gradient / transposed convolution, a fast slice.
 * - `native`: wasm with its convolutions and matMuls on the system's BLAS
 *   (OpenBLAS) through Deno FFI, in place on the wasm heap
 *   (`lib/runtime/native/`); `threads` sets the BLAS threads.
 * - `cpu`: plain JavaScript; slow, the reference.
 * - `auto`: tensorflow if importable, else a hardware WebGPU adapter (not a
 *   software one such as lavapipe/llvmpipe), else native when a BLAS
 *   library is found, else wasm.
 *
 * @module
 */
import * as tf from "@tensorflow/tfjs";
import "@tensorflow/tfjs-backend-cpu";
import "@tensorflow/tfjs-backend-wasm";
import type { BackendName } from "../config.ts";
import { EnvironmentError } from "../errors.ts";
import { registerWasmKernels } from "./kernels/mod.ts";
import { registerGradients } from "./gradients.ts";
import { registerFusedKernels } from "./fused/mod.ts";
import {
  registerWebGpuKernels,
  restoreStockWebGpuKernels,
} from "./webgpu/mod.ts";
import {
  type Blas,
  BlasMissingError,
  loadBlas,
  registerNativeKernels,
} from "./native/mod.ts";
import {
  startThreadedWasm,
  ThreadsTimeout,
  wasmStarted,
} from "./kernels/wasm_threads.ts";

/** A backend that {@link initBackend} can leave active. */
export type ActiveBackend = "native" | "wasm" | "webgpu" | "cpu" | "tensorflow";

/** What {@link initBackend} started, and why (one human-readable line). */
export interface BackendChoice {
  name: ActiveBackend;
  reason: string;
}

/** Options of {@link initBackend}. */
export interface InitBackendOptions {
  /**
   * Threads (default 1). On `native`, the BLAS library's threads. On wasm,
   * 2 or more starts tfjs's threaded SIMD build
   * (`lib/runtime/kernels/wasm_threads.ts`); only possible before the process's
   * first wasm start. If it fails wasm runs on one thread (logged); if the
   * thread pool hangs, initBackend throws after a minute.
   */
  threads?: number;
  /** Receives the choice and its reason (and notes such as ignored options). */
  log?: (msg: string) => void;
}

/** The tfjs-node packages tried, GPU build first. */
const TFJS_NODE = ["@tensorflow/tfjs-node-gpu", "@tensorflow/tfjs-node"];

/** Adapter facts from `navigator.gpu` (Deno's `GPUAdapterInfo`). */
interface AdapterInfo {
  vendor: string;
  architecture: string;
  device: string;
  description: string;
  isFallbackAdapter?: boolean;
}

/** A WebGPU adapter probe: the adapter's info, or why there is none. */
type GpuProbe =
  | { info: AdapterInfo; software: boolean; label: string }
  | { missing: string };

/**
 * Starts the tfjs backend `name` and makes it the active one.
 *
 * @throws Error with an install hint when `tensorflow` or `webgpu` was asked
 *   for explicitly and cannot start.
 */
export async function initBackend(
  name: BackendName,
  opts: InitBackendOptions = {},
): Promise<BackendChoice> {
  const log = opts.log ?? (() => {});
  silenceNodeBanner();
  registerGradients();
  let choice: BackendChoice;
  switch (name) {
    case "tensorflow":
      choice = await startTensorflow();
      break;
    case "webgpu":
      choice = await startWebGpu(await probeWebGpu());
      break;
    case "native":
      choice = await startNative(
        loadBlasOrExplain(),
        opts.threads,
        "asked for",
      );
      break;
    case "wasm":
      choice = await startWasm(opts.threads, log, "asked for");
      break;
    case "cpu":
      await setBackendOrThrow("cpu");
      choice = { name: "cpu", reason: "asked for; plain JavaScript (slow)" };
      break;
    case "auto":
      choice = await startAuto(opts.threads, log);
      break;
    default:
      throw new Error(
        `unknown backend "${name}": use auto, native, wasm, webgpu, cpu or tensorflow`,
      );
  }
  log(`backend: ${choice.name} (${choice.reason})`);
  return choice;
}

/**
 * tensorflow, else hardware WebGPU, else native (a BLAS found), else wasm;
 * the reason says why.
 */
async function startAuto(
  threads: number | undefined,
  log: (msg: string) => void,
): Promise<BackendChoice> {
  const node = await importTfjsNode();
  if ("pkg" in node) return await startTensorflow();
  const gpu = await probeWebGpu();
  if ("info" in gpu && !gpu.software) {
    const c = await startWebGpu(gpu);
    return { name: c.name, reason: `auto: no tfjs-node; ${c.reason}` };
  }
  const why = "info" in gpu
    ? `WebGPU adapter ${gpu.label} is a software (CPU) one`
    : gpu.missing;
  let blas: Blas;
  try {
    blas = loadBlas();
  } catch (e) {
    if (!(e instanceof BlasMissingError)) throw e;
    return await startWasm(
      threads,
      log,
      `auto: no tfjs-node; ${why}; no BLAS for native (${e.tried.join("; ")})`,
    );
  }
  return await startNative(blas, threads, `auto: no tfjs-node; ${why}`);
}

/** Tries the tfjs-node packages; the first that imports, or why none did. */
async function importTfjsNode(): Promise<{ pkg: string } | { error: string }> {
  const errors: string[] = [];
  for (const pkg of TFJS_NODE) {
    // A variable specifier: deno check and deno install never resolve it,
    // so tfjs-node is not a dependency unless someone adds it.
    const spec: string = pkg;
    try {
      await import(spec);
      return { pkg };
    } catch (e) {
      errors.push(`${pkg}: ${(e as Error).message.split("\n")[0]}`);
    }
  }
  return { error: errors.join("; ") };
}

async function startTensorflow(): Promise<BackendChoice> {
  const node = await importTfjsNode();
  if ("error" in node) {
    throw new EnvironmentError(
      "backend 'tensorflow' needs @tensorflow/tfjs-node, which is not " +
        "installed. Install it with `deno add npm:@tensorflow/tfjs-node@4.22.0` " +
        "(needs internet and downloads libtensorflow; for NVIDIA GPUs use " +
        "`npm:@tensorflow/tfjs-node-gpu@4.22.0`, which needs CUDA 11.2 and " +
        "cuDNN 8.1), or choose backend wasm or webgpu. Import errors: " +
        node.error,
      { field: "backend" },
    );
  }
  await setBackendOrThrow("tensorflow");
  const device = tensorflowDevice(node.pkg, tf.backend());
  if (device.warning) console.warn(`warning: ${device.warning}`);
  return {
    name: "tensorflow",
    reason: `${node.pkg} (native TensorFlow, ${device.where})`,
  };
}

/** Where tfjs-node computes, and a warning when the GPU build found no GPU. */
export function tensorflowDevice(
  pkg: string,
  backend: unknown,
): { where: string; warning?: string } {
  const b = backend as { isGPUPackage?: boolean; isUsingGpuDevice?: boolean };
  const gpuPackage = b.isGPUPackage ?? pkg.endsWith("-gpu");
  if (!gpuPackage) return { where: "CPU" };
  if (b.isUsingGpuDevice) return { where: "GPU" };
  return {
    where: "CPU: no GPU device",
    warning: `${pkg} found no GPU device and runs on the CPU. ` +
      "tfjs-node-gpu 4.22 (TensorFlow 2.9) needs CUDA 11.2 and cuDNN 8.1 " +
      "(libcudart.so.11.0, libcudnn.so.8 on the library path); with only " +
      "CUDA 12 it quietly uses the CPU (tfjs#8269). Install CUDA 11.2 + " +
      "cuDNN 8.1, or use the webgpu backend on the GPU.",
  };
}

/** Looks for a WebGPU adapter and says whether it is a software one. */
async function probeWebGpu(): Promise<GpuProbe> {
  const gpu = (navigator as unknown as {
    gpu?: {
      requestAdapter(): Promise<{ info: AdapterInfo } | null>;
    };
  }).gpu;
  if (gpu == null) return { missing: "no WebGPU (navigator.gpu is undefined)" };
  quietMesa();
  let adapter: { info: AdapterInfo } | null;
  try {
    adapter = await gpu.requestAdapter();
  } catch (e) {
    return {
      missing: `WebGPU adapter request failed: ${(e as Error).message}`,
    };
  }
  if (adapter == null) {
    return {
      missing: "no WebGPU adapter (no GPU driver; on Linux without a GPU, " +
        "apt-get install mesa-vulkan-drivers gives the lavapipe CPU adapter)",
    };
  }
  const info = adapter.info;
  const text = [info.vendor, info.architecture, info.device, info.description]
    .join(" ");
  const software = info.isFallbackAdapter === true ||
    /llvmpipe|lavapipe|swiftshader|software|\bcpu\b/i.test(text);
  const label = `"${info.description || info.vendor || "unknown"}"`;
  return { info, software, label };
}

async function startWebGpu(gpu: GpuProbe): Promise<BackendChoice> {
  if ("missing" in gpu) throw new Error(`backend 'webgpu': ${gpu.missing}`);
  await import("@tensorflow/tfjs-backend-webgpu");
  const stock = stockWebGpuKernelsAsked();
  if (stock) restoreStockWebGpuKernels();
  else registerWebGpuKernels();
  await setBackendOrThrow("webgpu");
  return {
    name: "webgpu",
    reason: `WebGPU adapter ${gpu.label}` +
      (gpu.software ? " (software: runs on the CPU, for testing, slow)" : "") +
      (stock
        ? `, tfjs's stock kernels (${WEBGPU_KERNELS_ENV}=stock)`
        : ", with this project's conv kernels"),
  };
}

/**
 * Steps between loss reads (training, the segmenter's training): 1 where
 * tensors already live in CPU memory (a read costs nothing), 10 on WebGPU,
 * where every read is a round trip that drains the GPU's queue. Every step
 * is still logged, in batches.
 */
export function lossReadEvery(backend: string): number {
  return backend === "webgpu" ? 10 : 1;
}

/**
 * Environment variable that, set to `stock`, keeps tfjs's own webgpu
 * convolution kernels (to compare whole steps against ours).
 */
export const WEBGPU_KERNELS_ENV = "PIX2PIX_WEBGPU_KERNELS";

function stockWebGpuKernelsAsked(): boolean {
  try {
    return Deno.env.get(WEBGPU_KERNELS_ENV) === "stock";
  } catch {
    return false; // no env permission: ours
  }
}

/** {@link loadBlas}, its error extended by what `--backend native` needs. */
function loadBlasOrExplain(): Blas {
  try {
    return loadBlas();
  } catch (e) {
    if (!(e instanceof BlasMissingError)) throw e;
    throw new EnvironmentError(
      `backend 'native': ${e.message}; or choose backend wasm`,
      { field: "backend" },
    );
  }
}

/** Single-threaded wasm with the native kernels on `blas`. */
async function startNative(
  blas: Blas,
  threads: number | undefined,
  why: string,
): Promise<BackendChoice> {
  registerWasmKernels();
  registerFusedKernels();
  registerNativeKernels(blas);
  const asked = threads ?? 1;
  const set = blas.setThreads(asked);
  await setBackendOrThrow("wasm");
  const n = set ? blas.threads() : "the library's default";
  return {
    name: "native",
    reason: `${why}; ${blas.library} (${blas.config || "BLAS"}), ` +
      `${n} thread${n === 1 ? "" : "s"}, on the wasm heap`,
  };
}

async function startWasm(
  threads: number | undefined,
  log: (msg: string) => void,
  why: string,
): Promise<BackendChoice> {
  registerWasmKernels();
  registerFusedKernels();
  let running = 1;
  if (threads != null && threads > 1) {
    if (wasmStarted()) {
      log(`wasm: already started in this process; ${threads} threads ignored`);
    } else {
      try {
        running = await startThreadedWasm(threads);
      } catch (e) {
        if (e instanceof ThreadsTimeout) throw e; // a retry would hang too
        log(`wasm: threads failed (${(e as Error).message}); using 1 thread`);
      }
    }
  }
  if (running === 1) await setBackendOrThrow("wasm");
  else {running = (await import("@tensorflow/tfjs-backend-wasm"))
      .getThreadsCount();}
  const simd = await tf.env().getAsync("WASM_HAS_SIMD_SUPPORT");
  return {
    name: "wasm",
    reason: `${why}; wasm ${simd ? "SIMD" : "(no SIMD)"}, ${running} ` +
      `thread${
        running === 1 ? "" : "s"
      }, with this project's conv-gradient kernels`,
  };
}

async function setBackendOrThrow(name: ActiveBackend): Promise<void> {
  let ok = false;
  try {
    ok = await tf.setBackend(name);
  } catch (e) {
    throw new Error(
      `backend '${name}' failed to start: ${(e as Error).message}`,
    );
  }
  if (!ok) throw new Error(`backend '${name}' failed to start`);
}

/**
 * tfjs-backend-cpu prints "looks like you are running TensorFlow.js in
 * Node.js" on its first tensor (Deno looks like Node to it); marking the
 * cpu backend as used keeps it quiet.
 */
function silenceNodeBanner(): void {
  const cpu = tf.findBackend("cpu") as { firstUse?: boolean } | null;
  if (cpu != null && "firstUse" in cpu) cpu.firstUse = false;
}

/**
 * Mesa's Vulkan loader prints "XDG_RUNTIME_DIR is invalid or not set" on
 * every adapter request when the variable is missing (headless machines).
 * Point it at the temp dir; harmless for compute-only WebGPU.
 */
function quietMesa(): void {
  try {
    if (Deno.build.os === "linux" && !Deno.env.get("XDG_RUNTIME_DIR")) {
      Deno.env.set("XDG_RUNTIME_DIR", Deno.env.get("TMPDIR") ?? "/tmp");
    }
  } catch {
    // No env permission: the message stays, nothing else changes.
  }
}
