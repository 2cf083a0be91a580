/**
 * Training-speed benchmark: times full pix2pix iterations (D step + G step)
 * of the real trainer (`Pix2Pix.trainStep`, batch 1, `unet_<size>` +
 * 70x70 PatchGAN, `l1+cgan`) on random data after a warm-up, and the
 * generator's forward pass alone, and records the peak resident memory
 * while doing so. Optionally runs the reference PyTorch step timer
 * (`../shared/peer/torch_pix2pix_step.py`) on the same sizes, alternating
 * with ours size by size so that noise from other processes on a shared
 * machine hits both.
 *
 * Times are milliseconds of wall clock: the median and the minimum over the
 * timed steps of every round (each round runs ours, then the peer, so that
 * both see the same load; PyTorch's step time varies between invocations).
 * On the `native` backend the row also has the convolutions' GEMM work per
 * step and its rate (`lib/runtime/native/`).
 * Memory is the process's resident set size in MB (10^6 bytes): ours is the
 * larger of the Linux high-water mark (`VmHWM`, reset before each size via
 * `/proc/self/clear_refs`) and `Deno.memoryUsage().rss` sampled after every
 * forward pass and step; the peer's is the maximum RSS `/usr/bin/time -v`
 * reports for its whole process.
 *
 * @module
 */

import * as tf from "@tensorflow/tfjs";
import { initBackend } from "../lib/runtime/backend.ts";
import { nativeStats, resetNativeStats } from "../lib/runtime/native/mod.ts";
import { checkThreads } from "../lib/config.ts";
import { UserError } from "../cli/common.ts";
import {
  type BackendName,
  DEFAULT_CONFIG,
  type TrainConfig,
} from "../lib/config.ts";
import { randomPair } from "../lib/data.ts";
import { Pix2Pix } from "../lib/train.ts";

/** Options of {@link runBench}. */
export interface BenchOptions {
  /** Square image sizes in pixels (each a power of two >= 32). */
  sizes: number[];
  /** tfjs backend to time. */
  backend: BackendName;
  /** Wasm threads (`TrainConfig.threads`): 1 = single-threaded. */
  threads: number;
  /** Timed training steps per size (after `warmup`). */
  steps: number;
  /** Untimed steps first (graph building, weight packing, heap growth). */
  warmup: number;
  /**
   * Rounds per size (default 1): each round times ours, then the peer, with
   * `warmup` + `steps` steps each; figures pool the timed steps of all rounds.
   */
  rounds?: number;
  /** Generator filters of the first layer (64 = the paper). */
  ngf: number;
  /** Discriminator filters of the first layer (64 = the paper). */
  ndf: number;
  /** Also run the PyTorch peer on each size. */
  peer: boolean;
  /** Peer script path (default `<repo>/../shared/peer/torch_pix2pix_step.py`). */
  peerScript?: string;
  /** Python interpreter with torch (default `/usr/bin/python3`, Debian's python3-torch). */
  python?: string;
  /** Threads the peer may use (default: the machine's logical cores). */
  peerThreads?: number;
  /** Progress messages (default: none). */
  log?: (message: string) => void;
}

/** Our figures at one size. */
export interface OurTiming {
  /** Median wall time of one training iteration (D step + G step), ms. */
  step_ms: number;
  /** Fastest timed iteration, ms. */
  step_ms_min: number;
  /** Every timed step, ms, in order. */
  step_ms_all: number[];
  /**
   * `native` only (else null): GFLOP of the convolution/matMul GEMMs in one
   * step, and their rate inside BLAS, GFLOP/s.
   */
  gemm_gflop: number | null;
  gemm_gflops: number | null;
  /** Median wall time of one generator forward pass (training mode), ms. */
  forward_ms: number;
  /** Peak resident set size of the process while timing this size, MB. */
  peak_rss_mb: number;
}

/** The PyTorch peer's figures at one size. */
export interface PeerTiming {
  /** Median wall time of one training iteration, ms. */
  peer_step_ms: number;
  /** Fastest timed iteration, ms. */
  peer_step_ms_min: number;
  /** Every timed step, ms (the peer sorts them). */
  peer_step_ms_all: number[];
  /** Maximum resident set size of the peer process, MB. */
  peer_peak_rss_mb: number;
  /** The peer's own description, e.g. `pytorch-1.13.0`. */
  peer_impl: string;
}

/** One size's row of the report; peer fields only with `peer: true`. */
export interface BenchRow extends OurTiming, Partial<PeerTiming> {
  /** Image size, pixels. */
  size: number;
  /**
   * 1-minute load average when this size finished (`Deno.loadavg()`): on a
   * shared machine, figures taken above the core count are noise-bound.
   */
  load_avg: number;
  /** `step_ms / peer_step_ms` (medians; below 1: faster than PyTorch). */
  ratio?: number;
  /** `step_ms_min / peer_step_ms_min` (the fastest steps). */
  ratio_min?: number;
}

/** What {@link runBench} measured. */
export interface BenchReport {
  /** Backend that actually ran, and why it was chosen. */
  backend: string;
  backend_reason: string;
  ngf: number;
  ndf: number;
  steps: number;
  warmup: number;
  rounds: number;
  /** Logical CPU cores of the machine. */
  cpus: number;
  /** Threads the PyTorch peer used (null without `peer`). */
  peer_threads: number | null;
  /** One row per size, in the order asked. */
  results: BenchRow[];
}

/** The config the benchmark trains with at `size`: the paper's networks and objective. */
export function benchConfig(
  size: number,
  o: Pick<BenchOptions, "ngf" | "ndf" | "backend" | "threads">,
): TrainConfig {
  return {
    ...DEFAULT_CONFIG,
    name: `bench_${size}`,
    loadSize: size,
    cropSize: size,
    netG: `unet_${size}`,
    netD: "basic",
    ngf: o.ngf,
    ndf: o.ndf,
    loss: "l1+cgan",
    backend: o.backend,
    threads: o.threads,
  };
}

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.floor(s.length / 2)];
}

const MB = 1e6;

/** Peak-RSS tracker: Linux `VmHWM` (resettable) plus explicit samples. */
class RssPeak {
  private sampled = 0;
  /** Resets the kernel's high-water mark to the current RSS where possible. */
  constructor() {
    try {
      Deno.writeTextFileSync("/proc/self/clear_refs", "5");
    } catch {
      // not Linux, or not allowed: the explicit samples remain
    }
    this.sample();
  }
  /** Records the current RSS. */
  sample(): void {
    this.sampled = Math.max(this.sampled, Deno.memoryUsage().rss);
  }
  /** Peak RSS in MB since construction. */
  peakMb(): number {
    this.sample();
    let hwm = 0;
    try {
      const m = /VmHWM:\s+(\d+) kB/.exec(
        Deno.readTextFileSync("/proc/self/status"),
      );
      if (m) hwm = Number(m[1]) * 1024;
    } catch {
      // not Linux
    }
    return Math.max(hwm, this.sampled) / MB;
  }
}

/**
 * Times our trainer at one size: `warmup` + `steps` training iterations of
 * `Pix2Pix.trainStep` on one fixed random pair (NHWC `[1, size, size, 3]`
 * in [-1, 1]), then `steps` generator forward passes. The backend must
 * already be initialised.
 */
export async function benchOurs(
  size: number,
  o: Pick<
    BenchOptions,
    "ngf" | "ndf" | "backend" | "threads" | "steps" | "warmup"
  >,
): Promise<OurTiming> {
  const rss = new RssPeak();
  const model = Pix2Pix.create(benchConfig(size, o));
  const batch = randomPair(1, size); // the fixed pair every step trains on
  try {
    const stepMs: number[] = [];
    for (let i = 0; i < o.warmup + o.steps; i++) {
      if (i === o.warmup) resetNativeStats();
      const t0 = performance.now();
      await model.trainStep(batch, i); // reads the losses back: the step has finished
      const ms = performance.now() - t0;
      rss.sample();
      if (i >= o.warmup) stepMs.push(ms);
    }
    const gemm = nativeStats();
    const native = o.backend === "native" || gemm.gemmMs > 0;
    const forwardMs: number[] = [];
    for (let i = 0; i < Math.max(1, o.steps); i++) {
      const t0 = performance.now();
      const out = tf.tidy(() =>
        model.G.apply(batch.input, { training: true }) as tf.Tensor
      );
      await out.data();
      forwardMs.push(performance.now() - t0);
      out.dispose();
      rss.sample();
    }
    return {
      step_ms: round1(median(stepMs)),
      step_ms_min: round1(Math.min(...stepMs)),
      step_ms_all: stepMs.map(round1),
      gemm_gflop: native
        ? Math.round(gemm.gemmFlops / o.steps / 1e6) / 1e3
        : null,
      gemm_gflops: native && gemm.gemmMs > 0
        ? round1(gemm.gemmFlops / gemm.gemmMs / 1e6)
        : null,
      forward_ms: round1(median(forwardMs)),
      peak_rss_mb: round1(rss.peakMb()),
    };
  } finally {
    tf.dispose([batch.input, batch.target]);
    model.dispose();
  }
}

/** `x` rounded to one decimal. */
export function round1(x: number): number {
  return Math.round(x * 10) / 10;
}

/** Default location of the peer script: `<repo>/../shared/peer/torch_pix2pix_step.py`. */
export const PEER_SCRIPT = new URL(
  "../../shared/peer/torch_pix2pix_step.py",
  import.meta.url,
).pathname;

/** Threads the peer runs with: `peerThreads`, default every logical core. */
function peerThreads(o: Pick<BenchOptions, "peerThreads">): number {
  return o.peerThreads ?? navigator.hardwareConcurrency;
}

/**
 * Resolves the peer's script and interpreter and checks that they and
 * `/usr/bin/time` exist; throws `UserError` naming the missing one.
 */
export async function checkPeer(
  o: Pick<BenchOptions, "peerScript" | "python">,
): Promise<{ script: string; python: string }> {
  const script = o.peerScript ?? PEER_SCRIPT;
  const python = o.python ?? "/usr/bin/python3";
  const needed = [
    ["--peer-script", script],
    ["--python", python],
    ["/usr/bin/time (Debian package `time`)", "/usr/bin/time"],
  ];
  for (const [what, path] of needed) {
    if (!(await Deno.stat(path).then((s) => s.isFile, () => false))) {
      throw new UserError(`${what}: ${path} not found`);
    }
  }
  return { script, python };
}

/**
 * Runs the PyTorch peer at one size under `/usr/bin/time -v` and returns its
 * median step time and maximum RSS. Throws `UserError` naming the script or
 * interpreter when it cannot run.
 */
export async function benchPeer(
  size: number,
  o: Pick<
    BenchOptions,
    "ngf" | "ndf" | "steps" | "warmup" | "peerScript" | "python" | "peerThreads"
  >,
): Promise<PeerTiming> {
  const { script, python } = await checkPeer(o);
  const args = [
    "-v",
    python,
    script,
    "--size",
    String(size),
    "--steps",
    String(Math.max(1, o.steps)),
    "--warmup",
    String(o.warmup),
    "--ngf",
    String(o.ngf),
    "--ndf",
    String(o.ndf),
    "--threads",
    String(peerThreads(o)),
  ];
  const out = await new Deno.Command("/usr/bin/time", {
    args,
    stdout: "piped",
    stderr: "piped",
  }).output();
  const stdout = new TextDecoder().decode(out.stdout);
  const stderr = new TextDecoder().decode(out.stderr);
  if (!out.success) {
    const last = stderr.trim().split("\n").filter((l) =>
      !/^\s/.test(l) && !l.startsWith("Command")
    ).slice(-1)[0] ?? "";
    throw new UserError(
      `peer ${script} (via ${python}) failed with exit code ${out.code}: ${last}`,
    );
  }
  const line = stdout.trim().split("\n").slice(-1)[0];
  let parsed: { impl: string; step_ms_median: number; step_ms_all: number[] };
  try {
    parsed = JSON.parse(line);
  } catch {
    throw new UserError(`peer ${script}: expected a JSON line, got "${line}"`);
  }
  const rss = /Maximum resident set size \(kbytes\): (\d+)/.exec(stderr);
  if (!rss) {
    throw new UserError("/usr/bin/time -v did not report the peer's RSS");
  }
  return {
    peer_step_ms: parsed.step_ms_median,
    peer_step_ms_min: Math.min(...parsed.step_ms_all),
    peer_step_ms_all: parsed.step_ms_all,
    peer_peak_rss_mb: round1(Number(rss[1]) * 1024 / MB),
    peer_impl: parsed.impl,
  };
}

/** Checks the options; throws `UserError` naming the flag. */
function validate(o: BenchOptions): void {
  if (o.sizes.length === 0) throw new UserError("--sizes: no size given");
  for (const s of o.sizes) {
    if (!Number.isInteger(s) || s < 32 || Math.log2(s) % 1 !== 0) {
      throw new UserError(
        `--sizes: ${s} is not a power of two >= 32 (the U-Net needs 2^depth pixels)`,
      );
    }
  }
  if (!Number.isInteger(o.steps) || o.steps < 1) {
    throw new UserError(`--steps must be an integer >= 1, got ${o.steps}`);
  }
  if (o.rounds !== undefined && (!Number.isInteger(o.rounds) || o.rounds < 1)) {
    throw new UserError(`--rounds must be an integer >= 1, got ${o.rounds}`);
  }
  if (!Number.isInteger(o.warmup) || o.warmup < 0) {
    throw new UserError(`--warmup must be an integer >= 0, got ${o.warmup}`);
  }
  if (
    o.peerThreads !== undefined &&
    (!Number.isInteger(o.peerThreads) || o.peerThreads < 1)
  ) {
    throw new UserError(
      `--peer-threads must be an integer >= 1, got ${o.peerThreads}`,
    );
  }
  checkThreads(o.threads, o.backend);
  for (const k of ["ngf", "ndf"] as const) {
    if (!Number.isInteger(o[k]) || o[k] < 1) {
      throw new UserError(`--${k} must be an integer >= 1, got ${o[k]}`);
    }
  }
}

/**
 * Runs the benchmark: for each size, ours then (with `peer`) the PyTorch
 * peer, so both see the same machine load at that size.
 */
export async function runBench(o: BenchOptions): Promise<BenchReport> {
  validate(o);
  if (o.peer) await checkPeer(o);
  const log = o.log ?? (() => {});
  const backend = await initBackend(o.backend, { threads: o.threads });
  log(`backend: ${backend.name} (${backend.reason})`);
  const results: BenchRow[] = [];
  const rounds = o.rounds ?? 1;
  for (const size of o.sizes) {
    const ours: OurTiming[] = [];
    const peers: PeerTiming[] = [];
    for (let r = 1; r <= rounds; r++) {
      const of = rounds > 1 ? ` (round ${r} of ${rounds})` : "";
      log(
        `${size}px: ours, ${o.warmup} warm-up + ${o.steps} timed steps${of}...`,
      );
      ours.push(await benchOurs(size, o));
      if (o.peer) {
        log(`${size}px: PyTorch peer${of}...`);
        peers.push(await benchPeer(size, o));
      }
    }
    const row: BenchRow = { size, ...poolOurs(ours), load_avg: 0 };
    if (o.peer) {
      const peer = poolPeer(peers);
      Object.assign(row, peer, {
        ratio: round2(row.step_ms / peer.peer_step_ms),
        ratio_min: round2(row.step_ms_min / peer.peer_step_ms_min),
      });
    }
    row.load_avg = round2(Deno.loadavg()[0]);
    log(formatRow(row));
    results.push(row);
  }
  return {
    backend: backend.name,
    backend_reason: backend.reason,
    ngf: o.ngf,
    ndf: o.ndf,
    steps: o.steps,
    warmup: o.warmup,
    rounds,
    cpus: navigator.hardwareConcurrency,
    peer_threads: o.peer ? peerThreads(o) : null,
    results,
  };
}

function round2(x: number): number {
  return Math.round(x * 100) / 100;
}

/** One size's figures from several rounds: steps pooled, memory the peak. */
function poolOurs(rs: OurTiming[]): OurTiming {
  const all = rs.flatMap((r) => r.step_ms_all);
  const flop = rs.map((r) => r.gemm_gflop).filter((x) => x != null);
  const rate = rs.map((r) => r.gemm_gflops).filter((x) => x != null);
  return {
    step_ms: round1(median(all)),
    step_ms_min: Math.min(...all),
    step_ms_all: all,
    gemm_gflop: flop.length ? flop[0] : null,
    gemm_gflops: rate.length ? round1(median(rate)) : null,
    forward_ms: round1(median(rs.map((r) => r.forward_ms))),
    peak_rss_mb: Math.max(...rs.map((r) => r.peak_rss_mb)),
  };
}

/** The peer's figures from several rounds, pooled like {@link poolOurs}. */
function poolPeer(rs: PeerTiming[]): PeerTiming {
  const all = rs.flatMap((r) => r.peer_step_ms_all).sort((a, b) => a - b);
  return {
    peer_step_ms: round1(median(all)),
    peer_step_ms_min: all[0],
    peer_step_ms_all: all,
    peer_peak_rss_mb: Math.max(...rs.map((r) => r.peer_peak_rss_mb)),
    peer_impl: rs[0].peer_impl,
  };
}

function formatRow(r: BenchRow): string {
  const peer = r.peer_step_ms !== undefined
    ? `, PyTorch ${r.peer_step_ms} ms (min ${r.peer_step_ms_min}, ${r.peer_peak_rss_mb} MB), ratio ${r.ratio}x (min ${r.ratio_min}x)`
    : "";
  const gemm = r.gemm_gflops != null
    ? `, GEMM ${r.gemm_gflop} GFLOP at ${r.gemm_gflops} GFLOP/s`
    : "";
  return `${r.size}px: step ${r.step_ms} ms (min ${r.step_ms_min}), forward ${r.forward_ms} ms, peak RSS ${r.peak_rss_mb} MB${gemm}${peer}, load average ${r.load_avg}`;
}

/** The report as a Markdown table (one row per size). */
export function formatBench(r: BenchReport): string {
  const peer = r.results.some((x) => x.peer_step_ms !== undefined);
  const gemm = r.results.some((x) => x.gemm_gflops != null);
  const head = [
    "size",
    "step ms (median)",
    "step ms (min)",
    "G forward ms",
    "peak RSS MB",
    ...(gemm ? ["conv GEMM GFLOP/step", "conv GEMM GFLOP/s"] : []),
    "load avg",
    ...(peer
      ? [
        "PyTorch median",
        "PyTorch min",
        "PyTorch peak RSS MB",
        "ratio (median)",
        "ratio_min",
      ]
      : []),
  ];
  const rows = r.results.map((x) => [
    `${x.size}`,
    `${x.step_ms}`,
    `${x.step_ms_min}`,
    `${x.forward_ms}`,
    `${x.peak_rss_mb}`,
    ...(gemm ? [`${x.gemm_gflop ?? ""}`, `${x.gemm_gflops ?? ""}`] : []),
    `${x.load_avg}`,
    ...(peer
      ? [
        `${x.peer_step_ms ?? ""}`,
        `${x.peer_step_ms_min ?? ""}`,
        `${x.peer_peak_rss_mb ?? ""}`,
        `${x.ratio ?? ""}x`,
        `${x.ratio_min ?? ""}x`,
      ]
      : []),
  ]);
  return [
    `backend ${r.backend} (${r.backend_reason}); U-Net + 70x70 PatchGAN, ngf ${r.ngf}, ndf ${r.ndf}, batch 1; ` +
    `${r.rounds} round(s) of ${r.warmup} warm-up + ${r.steps} timed steps per side; ${r.cpus} CPUs` +
    (r.peer_threads ? `; PyTorch with ${r.peer_threads} thread(s)` : ""),
    "",
    `| ${head.join(" | ")} |`,
    `|${head.map(() => "---").join("|")}|`,
    ...rows.map((x) => `| ${x.join(" | ")} |`),
  ].join("\n");
}
