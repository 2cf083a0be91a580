import assert from "node:assert/strict";
import * as tf from "@tensorflow/tfjs";
import "@tensorflow/tfjs-backend-cpu";
import "@tensorflow/tfjs-backend-wasm";
import { getKernel } from "@tensorflow/tfjs";
import { initBackend } from "../lib/runtime/backend.ts";
import { registerWasmKernels } from "../lib/runtime/kernels/mod.ts";
import {
  caseName,
  CONV_CASES,
  convGradients,
  relError,
  seededValues,
} from "./conv_grad_cases.ts";

await initBackend("wasm"); // registers the kernels, quiets tfjs's banner

for (const c of CONV_CASES) {
  Deno.test(`wasm kernels match cpu: ${caseName(c)}`, async () => {
    const ref = await convGradients("cpu", c);
    const got = await convGradients("wasm", c);
    for (const k of ["y", "dx", "dw"] as const) {
      const e = relError(got[k], ref[k]);
      assert.ok(e < 1e-4, `${k}: relative error ${e} (${caseName(c)})`);
    }
  });
}

Deno.test("wasm Slice matches cpu for ranks 1-6", async () => {
  const shapes = [[17], [5, 6], [3, 4, 5], [2, 3, 4, 5], [2, 3, 2, 4, 2, 3]];
  for (const [i, shape] of shapes.entries()) {
    const n = shape.reduce((a, b) => a * b, 1);
    const vals = seededValues(n, 10 + i);
    const begin = shape.map((d, j) =>
      (j + i) % 2 === 0 ? 0 : Math.min(1, d - 1)
    );
    const size = shape.map((d, j) => j === 0 ? -1 : d - begin[j] - (j % 2));
    const results: Float32Array[] = [];
    for (const b of ["cpu", "wasm"]) {
      await tf.setBackend(b);
      const x = tf.tensor(vals, shape);
      const y = tf.slice(x, begin, size);
      results.push(y.dataSync() as Float32Array);
      tf.dispose([x, y]);
    }
    assert.deepEqual(results[1], results[0], `shape ${shape}`);
  }
});

Deno.test("wasm Identity: a clone shares the heap buffer and outlives the original", async () => {
  await tf.setBackend("wasm");
  const backend = tf.backend() as unknown as {
    getMemoryOffset(dataId: object): number;
  };
  const tensorsBefore = tf.memory().numTensors;
  const x = tf.tensor1d([1, 2, 3]);
  const y = tf.clone(x);
  assert.equal(
    backend.getMemoryOffset(y.dataId),
    backend.getMemoryOffset(x.dataId),
    "the clone was copied",
  );
  x.dispose();
  assert.deepEqual(Array.from(y.dataSync()), [1, 2, 3]);
  // A variable made from the clone, then reassigned, leaves the clone intact.
  const v = tf.variable(y);
  const next = tf.tensor1d([4, 5, 6]);
  v.assign(next);
  next.dispose();
  assert.deepEqual(Array.from(y.dataSync()), [1, 2, 3]);
  assert.deepEqual(Array.from(v.dataSync()), [4, 5, 6]);
  // Gradients through saved (cloned) tensors still match cpu.
  const f = (a: tf.Tensor) => tf.sum(tf.mul(tf.square(a), tf.sin(a)));
  const gradOn = async (backend: string, a: () => tf.Tensor) => {
    await tf.setBackend(backend);
    const g = tf.tidy(() => tf.grad(f)(a()));
    const values = g.dataSync();
    g.dispose();
    return values;
  };
  const wasmGrad = await gradOn("wasm", () => y);
  const cpuGrad = await gradOn("cpu", () => tf.tensor1d([1, 2, 3]));
  for (let i = 0; i < 3; i++) {
    assert.ok(Math.abs(wasmGrad[i] - cpuGrad[i]) < 1e-5, `grad ${i}`);
  }
  await tf.setBackend("wasm");
  tf.dispose([y, v]);
  assert.equal(tf.memory().numTensors, tensorsBefore);
});

Deno.test("registerWasmKernels is idempotent", () => {
  const before = getKernel("Conv2DBackpropInput", "wasm");
  registerWasmKernels();
  assert.equal(getKernel("Conv2DBackpropInput", "wasm"), before);
  assert.ok(getKernel("Conv2DBackpropFilter", "wasm"));
});

Deno.test("wasm kernels free their intermediates", async () => {
  await tf.setBackend("wasm");
  const c = CONV_CASES[0];
  await convGradients("wasm", c); // warm-up: kernel set-up allocations
  const before = tf.memory().numBytes;
  const tensors = tf.memory().numTensors;
  await convGradients("wasm", c);
  assert.equal(tf.memory().numTensors, tensors);
  assert.equal(tf.memory().numBytes, before);
  const backend = tf.backend() as unknown as { numDataIds(): number };
  const ids = backend.numDataIds();
  await convGradients("wasm", c);
  assert.equal(backend.numDataIds(), ids, "wasm data ids leaked");
});

Deno.test("wasm FusedConv2D with bias matches cpu (linear and relu)", async () => {
  const shapes: [number[], number[]][] = [
    [[1, 4, 4, 8], [4, 4, 8, 16]], // matMul path
    [[2, 9, 9, 3], [3, 3, 3, 2]], // stock path (many pixels)
  ];
  for (const [xs, fs] of shapes) {
    for (const activation of ["linear", "relu"] as const) {
      const results: Float32Array[] = [];
      for (const b of ["cpu", "wasm"]) {
        await tf.setBackend(b);
        const size = (s: number[]) => s.reduce((p, q) => p * q, 1);
        const x = tf.tensor4d(seededValues(size(xs), 5), xs as never);
        const f = tf.tensor4d(seededValues(size(fs), 6), fs as never);
        const bias = tf.tensor1d(seededValues(fs[3], 7));
        const y = tf.fused.conv2d({
          x,
          filter: f,
          strides: 2,
          pad: "same",
          bias,
          activation,
        });
        results.push(y.dataSync() as Float32Array);
        tf.dispose([x, f, bias, y]);
      }
      const e = relError(results[1], results[0]);
      assert.ok(e < 1e-4, `${xs} ${activation}: relative error ${e}`);
    }
  }
});
