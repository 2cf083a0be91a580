import assert from "node:assert/strict";
import * as tf from "@tensorflow/tfjs";
import { initBackend } from "../lib/runtime/backend.ts";
import {
  caseName,
  CONV_CASES,
  convGradients,
  relError,
} from "./conv_grad_cases.ts";

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

/** Why WebGPU may legitimately be missing here, or null if it should work. */
function webgpuMissingReason(): string | null {
  if (Deno.build.os !== "linux") return null;
  const icd = "/usr/share/vulkan/icd.d";
  try {
    for (const e of Deno.readDirSync(icd)) {
      if (e.name.startsWith("lvp_icd")) return null;
    }
  } catch {
    // no ICD folder at all
  }
  return `no Mesa Vulkan (lavapipe) driver in ${icd}; ` +
    "apt-get install mesa-vulkan-drivers";
}

/** The conv cases run on WebGPU: every kernel size, stride and pad kind. */
const GPU_CASES = CONV_CASES.filter((_, i) =>
  [0, 2, 3, 4, 6, 8, 10, 13].includes(i)
);

Deno.test({
  name: "webgpu (lavapipe) conv gradients match cpu",
  // The WebGPU device lives for the whole process.
  sanitizeResources: false,
  sanitizeOps: false,
  fn: async () => {
    try {
      await initBackend("webgpu");
    } catch (e) {
      const missing = webgpuMissingReason();
      if (missing == null) throw e;
      console.log(`skipped: ${missing} (${(e as Error).message})`);
      return;
    }
    for (const c of GPU_CASES) {
      const ref = await convGradients("cpu", c);
      const got = await convGradients("webgpu", c);
      for (const k of ["y", "dx", "dw"] as const) {
        const e = relError(got[k], ref[k]);
        assert.ok(e < 1e-4, `${k}: relative error ${e} (${caseName(c)})`);
      }
    }
  },
});
