import assert from "node:assert/strict";
import * as tf from "@tensorflow/tfjs";
import { Adam } from "../lib/adam.ts";
import { initBackend } from "../lib/backend.ts";
import { hasFusedAdam } from "../lib/runtime/fused/mod.ts";
import {
  compileFusedWat,
  fusedWasmModule,
} from "../lib/runtime/fused/build.ts";

await initBackend("wasm");

Deno.test("fused_wasm.ts is fused.wat compiled (deno task build-wasm)", async () => {
  const committed = await Deno.readTextFile(
    new URL("../lib/runtime/fused/fused_wasm.ts", import.meta.url),
  );
  assert.equal(committed, fusedWasmModule(await compileFusedWat()));
});

/** Runs `steps` updates on seeded variables (odd sizes: the scalar tail too). */
function run(opt: tf.Optimizer, tag: string, steps: number): Float32Array[] {
  const vars = [1, 3, 4, 7, 130, 4099].map((n, i) =>
    tf.tidy(() =>
      tf.variable(
        tf.randomNormal([n], 0, 1, "float32", i + 1),
        true,
        `${tag}${i}`,
      )
    )
  );
  for (let t = 0; t < steps; t++) {
    const g = Object.fromEntries(vars.map((v, i) => [
      v.name,
      tf.randomNormal(v.shape, 0, 1, "float32", 100 * t + i + 1),
    ]));
    opt.applyGradients(g);
    tf.dispose(Object.values(g));
  }
  const out = vars.map((v) => v.dataSync() as Float32Array);
  tf.dispose(vars);
  return out;
}

Deno.test("fused Adam on wasm is bit-identical to tf.train.adam", () => {
  assert.ok(hasFusedAdam(), "the wasm backend has the fused kernel");
  const ours = new Adam(2e-4, 0.5, 0.999, 1e-8);
  const theirs = tf.train.adam(2e-4, 0.5, 0.999, 1e-8);
  const a = run(ours, "ours", 5);
  const b = run(theirs, "theirs", 5);
  for (let i = 0; i < a.length; i++) assert.deepEqual(a[i], b[i], `var ${i}`);
  const moved = run(new Adam(2e-4, 0.5, 0.999, 1e-8), "moved", 0);
  assert.notDeepEqual(a[5], moved[5], "the update changed the weights");
  ours.dispose();
  theirs.dispose();
});

Deno.test("fused Adam frees its intermediates", () => {
  const opt = new Adam(1e-3, 0.5, 0.999, 1e-8);
  run(opt, "warm", 1);
  const before = tf.memory().numTensors;
  run(opt, "warm", 2);
  assert.equal(tf.memory().numTensors, before);
  opt.dispose();
});
