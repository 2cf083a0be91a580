import assert from "node:assert/strict";
import * as tf from "@tensorflow/tfjs";
import { initBackend, tensorflowDevice } from "../lib/runtime/backend.ts";

const NAMES = ["native", "wasm", "webgpu", "cpu", "tensorflow"];

Deno.test("initBackend('auto') picks a backend and says why", async () => {
  const logged: string[] = [];
  const c = await initBackend("auto", { log: (m) => logged.push(m) });
  assert.ok(NAMES.includes(c.name), `unexpected name ${c.name}`);
  // native is tfjs-wasm with native kernels registered on it.
  assert.equal(tf.getBackend(), c.name === "native" ? "wasm" : c.name);
  assert.ok(c.reason.trim().length > 0, "empty reason");
  assert.ok(logged.some((m) => m.includes(c.reason)), "reason not logged");
});

Deno.test("initBackend('wasm') registers the conv-gradient kernels", async () => {
  const c = await initBackend("wasm");
  assert.equal(c.name, "wasm");
  assert.equal(tf.getBackend(), "wasm");
  assert.ok(tf.getKernel("Conv2DBackpropFilter", "wasm"));
});

Deno.test("initBackend('cpu') starts cpu", async () => {
  assert.equal((await initBackend("cpu")).name, "cpu");
  assert.equal(tf.getBackend(), "cpu");
});

Deno.test("initBackend('tensorflow') without tfjs-node explains how to install it", async () => {
  const spec: string = "@tensorflow/tfjs-node";
  const installed = await import(spec).then(() => true, () => false);
  if (installed) {
    console.log("skipped: @tensorflow/tfjs-node is installed here");
    return;
  }
  await assert.rejects(
    () => initBackend("tensorflow"),
    (e: Error) => {
      assert.match(e.message, /deno add npm:@tensorflow\/tfjs-node/);
      assert.match(e.message, /tfjs-node-gpu/);
      return true;
    },
  );
});

Deno.test("initBackend rejects an unknown name", async () => {
  await assert.rejects(
    () => initBackend("tpu" as never),
    /unknown backend "tpu"/,
  );
});

Deno.test("initBackend('wasm', { threads: 2 }) starts threaded wasm, same results", async () => {
  // A fresh process: threads must be chosen before wasm first starts.
  const child = new Deno.Command(Deno.execPath(), {
    args: [
      "run",
      "-A",
      new URL("./wasm_threads_child.ts", import.meta.url).pathname,
    ],
    stdout: "piped",
    stderr: "piped",
    signal: AbortSignal.timeout(120_000),
  });
  const out = await child.output();
  const stdout = new TextDecoder().decode(out.stdout);
  const stderr = new TextDecoder().decode(out.stderr);
  assert.equal(out.code, 0, `child failed (or hung):\n${stdout}\n${stderr}`);
  const r = JSON.parse(stdout.trim().split("\n").at(-1)!);
  assert.equal(r.name, "wasm");
  assert.match(r.reason, /\b2 threads\b/);
  assert.ok(r.maxRelError < 1e-4, `relative error ${r.maxRelError}`);
});

Deno.test("tensorflowDevice: warns when tfjs-node-gpu runs on the CPU (CUDA 11.2 + cuDNN 8.1 missing)", () => {
  const gpu = "@tensorflow/tfjs-node-gpu";
  const noGpu = tensorflowDevice(gpu, {
    isGPUPackage: true,
    isUsingGpuDevice: false,
  });
  assert.equal(noGpu.where, "CPU: no GPU device");
  assert.match(noGpu.warning!, /CUDA 11\.2 and cuDNN 8\.1/);
  assert.match(noGpu.warning!, /webgpu backend/);
  // An older binding without the flags: the package name decides.
  assert.ok(tensorflowDevice(gpu, {}).warning);
  assert.deepEqual(
    tensorflowDevice(gpu, { isGPUPackage: true, isUsingGpuDevice: true }),
    { where: "GPU" },
  );
  assert.deepEqual(
    tensorflowDevice("@tensorflow/tfjs-node", { isGPUPackage: false }),
    { where: "CPU" },
  );
});
