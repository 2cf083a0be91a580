import assert from "node:assert/strict";
import {
  benchConfig,
  type BenchOptions,
  formatBench,
  runBench,
} from "../bench/train_step.ts";
import { formatProfile, profileStep } from "../bench/profile.ts";
import { initBackend } from "../lib/runtime/backend.ts";

/** One 32px step with 8 filters on cpu, no peer: the fastest real benchmark. */
const TINY_BENCH: BenchOptions = {
  sizes: [32],
  backend: "cpu",
  threads: 1,
  steps: 1,
  warmup: 0,
  ngf: 8,
  ndf: 8,
  peer: false,
};

Deno.test("bench: one tiny step gives every field, positive", async () => {
  const report = await runBench(TINY_BENCH);
  assert.equal(report.backend, "cpu");
  assert.equal(report.results.length, 1);
  const row = report.results[0];
  assert.equal(row.size, 32);
  for (const k of ["step_ms", "forward_ms", "peak_rss_mb"] as const) {
    assert.equal(typeof row[k], "number", k);
    assert.ok(row[k] > 0, `${k} = ${row[k]}`);
  }
  assert.equal(row.step_ms_all.length, 1);
  assert.equal(row.step_ms_min, row.step_ms_all[0]);
  assert.equal(row.gemm_gflop, null, "GEMM figures are native's");
  assert.ok(row.load_avg >= 0);
  assert.equal(row.ratio, undefined);
  const json = JSON.parse(JSON.stringify(report));
  assert.equal(json.results[0].size, 32);
  assert.match(formatBench(report), /\| 32 \| /);
});

Deno.test("bench: the paper's networks at the asked size, bad sizes refused", async () => {
  const cfg = benchConfig(128, {
    ngf: 64,
    ndf: 64,
    backend: "wasm",
    threads: 2,
  });
  assert.equal(cfg.threads, 2);
  assert.equal(cfg.netG, "unet_128");
  assert.equal(cfg.cropSize, 128);
  assert.equal(cfg.netD, "basic");
  assert.equal(cfg.loss, "l1+cgan");
  await assert.rejects(
    () => runBench({ ...TINY_BENCH, sizes: [48] }),
    /--sizes: 48 is not a power of two/,
  );
  await assert.rejects(
    () => runBench({ ...TINY_BENCH, threads: 2 }),
    /threads 2 needs backend native, wasm or auto/,
  );
});

/** Is the PyTorch peer runnable here (script present, Debian's python3 with torch)? */
async function peerAvailable(): Promise<boolean> {
  const script = new URL(
    "../../shared/peer/torch_pix2pix_step.py",
    import.meta.url,
  );
  const ok = await Deno.stat(script).then(() => true, () => false);
  if (!ok) return false;
  const r = await new Deno.Command("/usr/bin/python3", {
    args: ["-c", "import torch"],
    stdout: "null",
    stderr: "null",
  }).output().catch(() => null);
  return r?.success ?? false;
}

const havePeer = await peerAvailable();
if (!havePeer) {
  console.log("bench peer test skipped: no ../shared peer script or torch");
}

Deno.test({
  name: "bench --peer: PyTorch step time, RSS and ratio per size",
  ignore: !havePeer,
  async fn() {
    const report = await runBench({ ...TINY_BENCH, peer: true });
    const row = report.results[0];
    for (const k of ["peer_step_ms", "peer_peak_rss_mb", "ratio"] as const) {
      assert.equal(typeof row[k], "number", k);
      assert.ok(row[k]! > 0, `${k} = ${row[k]}`);
    }
    assert.match(row.peer_impl!, /^pytorch/);
    assert.ok(Math.abs(row.ratio! - row.step_ms / row.peer_step_ms!) < 0.01);
    assert.ok(row.peer_step_ms_min! <= row.peer_step_ms!);
    assert.ok(
      Math.abs(row.ratio_min! - row.step_ms_min / row.peer_step_ms_min!) <
        0.01,
    );
  },
});

Deno.test("bench --profile: one step's kernels, summed per name, shares add to 1", async () => {
  await initBackend("cpu");
  const p = await profileStep(32, {
    ngf: 8,
    ndf: 8,
    backend: "cpu",
    threads: 1,
    warmup: 1,
  });
  assert.equal(p.size, 32);
  const names = p.kernels.map((k) => k.kernel);
  assert.equal(new Set(names).size, names.length, "one row per kernel name");
  assert.ok(!names.some((n) => n.endsWith("__op")), "op scopes double count");
  for (const k of ["Conv2D", "Conv2DBackpropFilter", "Conv2DBackpropInput"]) {
    assert.ok(names.includes(k), `${k} missing from ${names.join(", ")}`);
  }
  const shares = p.kernels.reduce((s, k) => s + k.share, 0);
  assert.ok(Math.abs(shares - 1) < 1e-9, `shares sum to ${shares}`);
  for (let i = 1; i < p.kernels.length; i++) {
    assert.ok(p.kernels[i - 1].ms >= p.kernels[i].ms, "sorted by time");
  }
  assert.ok(p.kernel_ms > 0 && p.step_ms > 0);
  const table = formatProfile(p, 3);
  assert.match(table, /\| kernel \| calls \| ms \| share \|/);
  assert.match(table, /others \|/);
});
