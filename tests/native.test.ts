import assert from "node:assert/strict";
import { runTask } from "./cli_fixtures.ts";
import * as tf from "@tensorflow/tfjs";
import "@tensorflow/tfjs-backend-cpu";
import "@tensorflow/tfjs-backend-wasm";
import { initBackend } from "../lib/runtime/backend.ts";
import { BLAS_ENV, loadBlas, nativeStats } from "../lib/runtime/native/mod.ts";
import { formatBench, runBench } from "../bench/train_step.ts";
import { firstStepError, firstStepOn, TINY } from "./train_fixtures.ts";
import {
  caseName,
  CONV_CASES,
  convGradients,
  relError,
  seededValues,
} from "./conv_grad_cases.ts";

/** Whether this machine has the BLAS (CI installs libopenblas0). */
function hasBlas(): boolean {
  try {
    loadBlas();
    return true;
  } catch {
    return false;
  }
}
const ignore = !hasBlas();
if (ignore) {
  console.log("native tests skipped: no BLAS library on this machine");
} else await initBackend("native");

for (const c of CONV_CASES) {
  Deno.test({
    name: `native kernels match cpu: ${caseName(c)}`,
    ignore,
    fn: async () => {
      const ref = await convGradients("cpu", c);
      const got = await convGradients("wasm", c);
      for (const k of ["y", "dx", "dw"] as const) {
        const e = relError(got[k], ref[k]);
        assert.ok(e < 1e-4, `${k}: relative error ${e} (${caseName(c)})`);
      }
    },
  });
}

/** Runs `f` on cpu and on native and returns both results. */
async function both(f: () => tf.Tensor): Promise<[Float32Array, Float32Array]> {
  const out: Float32Array[] = [];
  for (const b of ["cpu", "wasm"]) {
    await tf.setBackend(b);
    const y = tf.tidy(f);
    out.push((await y.data()) as Float32Array);
    y.dispose();
  }
  return [out[0], out[1]];
}

const size = (s: number[]) => s.reduce((p, q) => p * q, 1);
const rand = (s: number[], seed: number) =>
  tf.tensor(seededValues(size(s), seed), s);

Deno.test({
  name: "native FusedConv2D with bias and activations matches cpu",
  ignore,
  fn: async () => {
    const shapes: [number[], number[]][] = [
      [[1, 4, 4, 8], [4, 4, 8, 16]],
      [[2, 9, 9, 3], [3, 3, 3, 2]],
      [[1, 5, 5, 4], [1, 1, 4, 3]], // pointwise: no im2col
    ];
    for (const [xs, fs] of shapes) {
      for (const activation of ["linear", "relu", "leakyrelu"] as const) {
        const [ref, got] = await both(() =>
          tf.fused.conv2d({
            x: rand(xs, 5) as tf.Tensor4D,
            filter: rand(fs, 6) as tf.Tensor4D,
            strides: 2,
            pad: "same",
            bias: rand([fs[3]], 7),
            activation,
            leakyreluAlpha: 0.3,
          })
        );
        const e = relError(got, ref);
        assert.ok(e < 1e-4, `${xs} ${activation}: relative error ${e}`);
      }
    }
  },
});

Deno.test({
  name: "native matMul: transposes, batches, broadcast batch, fused bias",
  ignore,
  fn: async () => {
    const cases: [number[], number[], boolean, boolean][] = [
      [[5, 7], [7, 3], false, false],
      [[7, 5], [7, 3], true, false],
      [[5, 7], [3, 7], false, true],
      [[7, 5], [3, 7], true, true],
      [[4, 5, 7], [4, 7, 3], false, false],
      [[1, 5, 7], [4, 7, 3], false, false],
      [[4, 7, 5], [1, 3, 7], true, true],
    ];
    for (const [as, bs, ta, tb] of cases) {
      const [ref, got] = await both(() =>
        tf.matMul(rand(as, 1), rand(bs, 2), ta, tb)
      );
      assert.ok(relError(got, ref) < 1e-5, `${as} x ${bs} ${ta} ${tb}`);
      const n = tb ? bs[bs.length - 2] : bs[bs.length - 1];
      const [fr, fg] = await both(() =>
        tf.fused.matMul({
          a: rand(as, 3),
          b: rand(bs, 4),
          transposeA: ta,
          transposeB: tb,
          bias: rand([n], 5),
          activation: "relu",
        })
      );
      assert.ok(relError(fg, fr) < 1e-5, `fused ${as} x ${bs} ${ta} ${tb}`);
    }
  },
});

Deno.test({
  name: "native kernels leak no wasm memory",
  ignore,
  fn: async () => {
    const c = CONV_CASES[0];
    await convGradients("wasm", c);
    const backend = tf.backend() as unknown as { numDataIds(): number };
    const ids = backend.numDataIds();
    const tensors = tf.memory().numTensors;
    await convGradients("wasm", c);
    assert.equal(backend.numDataIds(), ids, "wasm data ids leaked");
    assert.equal(tf.memory().numTensors, tensors);
  },
});

/** Runs this repository's backend start-up in a child with `env` set. */
async function childBackend(
  backend: string,
  env: Record<string, string>,
): Promise<{ code: number; out: string }> {
  const script = `import { initBackend } from ${
    JSON.stringify(new URL("../lib/runtime/backend.ts", import.meta.url).href)
  };
const c = await initBackend(${JSON.stringify(backend)});
console.log("CHOICE " + c.name + ": " + c.reason);`;
  const cmd = new Deno.Command(Deno.execPath(), {
    args: ["eval", "--quiet", script],
    env,
    stdout: "piped",
    stderr: "piped",
  });
  const r = await cmd.output();
  const dec = new TextDecoder();
  return {
    code: r.code,
    out: dec.decode(r.stdout) + dec.decode(r.stderr),
  };
}

Deno.test("--backend native with a missing BLAS fails, naming the file and the fix", async () => {
  const missing = "/nonexistent/libopenblas-missing.so";
  const r = await childBackend("native", { [BLAS_ENV]: missing });
  assert.notEqual(r.code, 0, r.out);
  assert.match(r.out, /backend 'native'/);
  assert.ok(r.out.includes(missing), r.out);
  assert.match(r.out, /apt-get install libopenblas0|brew install openblas/);
});

Deno.test("--backend auto with a missing BLAS falls back to wasm and says why", async () => {
  const missing = "/nonexistent/libopenblas-missing.so";
  const r = await childBackend("auto", { [BLAS_ENV]: missing });
  assert.equal(r.code, 0, r.out);
  // tfjs-node or a hardware GPU would win before native; neither is here.
  assert.match(r.out, /CHOICE (wasm|webgpu|tensorflow):/);
  if (r.out.includes("CHOICE wasm")) {
    assert.ok(r.out.includes(missing), r.out);
  }
});

Deno.test({
  name: "--backend auto picks native when the BLAS is there, naming it",
  ignore,
  fn: async () => {
    const r = await childBackend("auto", {});
    assert.equal(r.code, 0, r.out);
    assert.match(r.out, /CHOICE (native|webgpu|tensorflow):/);
    if (r.out.includes("CHOICE native")) {
      assert.ok(r.out.includes(loadBlas().library), r.out);
    }
  },
});

Deno.test({
  name: "a whole train step on native equals the cpu backend's (1e-4 relative)",
  ignore,
  fn: async () => {
    // unet_64 (dropout, batch norm, skips) + 70x70 PatchGAN, l1+cgan.
    const cfg = { ...TINY, netD: "basic" as const, ngf: 8, ndf: 8, seed: 5 };
    const ref = await firstStepOn("cpu", cfg);
    const got = await firstStepOn("wasm", cfg);
    assert.ok(ref.moments.length > 20, "every G and D variable compared");
    const e = firstStepError(got, ref);
    assert.ok(e.losses < 1e-4, `losses: relative error ${e.losses}`);
    assert.ok(e.moments < 1e-4, `gradients: relative error ${e.moments}`);
    const stats = nativeStats();
    for (
      const k of ["FusedConv2D", "Conv2DBackpropInput", "Conv2DBackpropFilter"]
    ) {
      assert.ok((stats.calls[k] ?? 0) > 0, `${k} never ran natively`);
    }
  },
});

Deno.test({
  name: "bench on native: min and median over rounds, GEMM work and rate",
  ignore,
  fn: async () => {
    const report = await runBench({
      sizes: [32],
      backend: "native",
      threads: 1,
      steps: 2,
      warmup: 1,
      rounds: 2,
      ngf: 8,
      ndf: 8,
      peer: false,
    });
    assert.equal(report.backend, "native");
    const row = report.results[0];
    assert.equal(row.step_ms_all.length, 4, "2 steps x 2 rounds pooled");
    assert.equal(row.step_ms_min, Math.min(...row.step_ms_all));
    assert.ok(row.step_ms_min <= row.step_ms);
    assert.ok(row.gemm_gflop! > 0 && row.gemm_gflops! > 0, JSON.stringify(row));
    assert.match(formatBench(report), /conv GEMM GFLOP\/s/);
  },
});

Deno.test({
  name: "checkpoints resume across backends: native -> wasm -> native",
  ignore,
  fn: async () => {
    const dir = await Deno.makeTempDir();
    const common = [
      "--preset=smoke",
      "--name=x",
      `--checkpoints-dir=${dir}`,
      "--synth-count=4",
      "--ngf=4",
      "--ndf=4",
      "--save-every=2",
    ];
    const legs: [string, number][] = [["native", 2], ["wasm", 4], [
      "native",
      6,
    ]];
    for (const [i, [backend, steps]] of legs.entries()) {
      const r = await runTask("train", [
        ...common,
        `--backend=${backend}`,
        `--max-steps=${steps}`,
        ...(i > 0 ? ["--resume"] : []),
      ]);
      const out = r.stdout + r.stderr;
      assert.equal(r.code, 0, out);
      assert.match(out, new RegExp(`backend:? ${backend}`, "i"), out);
    }
    const log = Deno.readTextFileSync(`${dir}/x/loss_log.jsonl`).trim()
      .split("\n").map((l) => JSON.parse(l));
    assert.deepEqual(log.map((r) => r.step), [1, 2, 3, 4, 5, 6]);
    for (const r of log) assert.ok(Number.isFinite(r.G_L1), JSON.stringify(r));
    await Deno.remove(dir, { recursive: true });
  },
});
