/** Tests of lib/datasets/synth.ts: determinism, labels, learnability, caching. */
import "@tensorflow/tfjs-backend-cpu";
import * as tf from "@tensorflow/tfjs";
import assert from "node:assert/strict";
import { openAlignedDataset } from "../lib/data.ts";
import { FACADE_PALETTE, N_FACADE_CLASSES } from "../lib/datasets/facades.ts";
import { readRgb } from "../lib/util/image.ts";
import { assertSamePixels, samePixels } from "./data_fixtures.ts";
import {
  ensureSynthDataset,
  renderSynthPair,
  writeSynthDataset,
} from "../lib/datasets/synth.ts";

await tf.setBackend("cpu");

Deno.test("synth: deterministic per seed, labels in the facades palette", () => {
  const a = renderSynthPair(64, 5), b = renderSynthPair(64, 5);
  const c = renderSynthPair(64, 6);
  assertSamePixels(a.photo.data, b.photo.data);
  assertSamePixels(a.labels.data, b.labels.data);
  assert.ok(!samePixels(a.photo.data, c.photo.data));
  const present = new Set(a.classes);
  assert.ok(present.size >= 4, `classes ${[...present]}`);
  for (let i = 0; i < a.classes.length; i += 97) {
    const k = a.classes[i];
    assert.ok(k < N_FACADE_CLASSES);
    assert.deepEqual(
      [...a.labels.data.subarray(3 * i, 3 * i + 3)],
      [...FACADE_PALETTE.subarray(3 * k, 3 * k + 3)],
    );
  }
});

Deno.test("synth: the photo is predictable from the labels (nearest class mean)", () => {
  let correct = 0, total = 0;
  for (let seed = 0; seed < 5; seed++) {
    const { photo, classes } = renderSynthPair(64, seed);
    const sum = new Float64Array(N_FACADE_CLASSES * 3);
    const count = new Float64Array(N_FACADE_CLASSES);
    classes.forEach((k, i) => {
      count[k]++;
      for (let c = 0; c < 3; c++) sum[k * 3 + c] += photo.data[i * 3 + c];
    });
    classes.forEach((k, i) => {
      let best = -1, bestD = Infinity;
      for (let j = 0; j < N_FACADE_CLASSES; j++) {
        if (!count[j]) continue;
        let d = 0;
        for (let c = 0; c < 3; c++) {
          d += (photo.data[i * 3 + c] - sum[j * 3 + c] / count[j]) ** 2;
        }
        if (d < bestD) [best, bestD] = [j, d];
      }
      if (best === k) correct++;
      total++;
    });
  }
  // Chance (the largest class) is about 0.5; textures and shading add noise.
  assert.ok(correct / total > 0.7, `accuracy ${correct / total}`);
});

Deno.test("synth: writes aligned photo|labels splits that the loader reads BtoA", async () => {
  const dir = await Deno.makeTempDir();
  try {
    const t0 = performance.now();
    const splits = await writeSynthDataset(dir, {
      count: 100,
      size: 64,
      seed: 1,
    });
    const ms = performance.now() - t0;
    console.log(`synth: 125 pairs of 64x64 in ${ms.toFixed(0)} ms`);
    assert.deepEqual(splits, { train: 100, test: 25 });
    const img = await readRgb(`${dir}/test/25.jpg`);
    assert.deepEqual([img.width, img.height], [128, 64]);
    const ds = await openAlignedDataset({
      dataroot: dir,
      phase: "test",
      direction: "BtoA",
      preprocess: "resize_and_crop",
      loadSize: 64,
      cropSize: 64,
      noFlip: true,
      batchSize: 25,
      seed: 0,
    });
    for await (const b of ds.batches(0)) {
      assert.deepEqual(b.input.shape, [25, 64, 64, 3]);
      // Input = labels (saturated palette colours), target = photo.
      const blueInput = tf.mean(b.input.slice([0, 0, 0, 2], [-1, -1, -1, 1]));
      const blueTarget = tf.mean(b.target.slice([0, 0, 0, 2], [-1, -1, -1, 1]));
      assert.ok(blueInput.dataSync()[0] > blueTarget.dataSync()[0]);
      tf.dispose([b.input, b.target, blueInput, blueTarget]);
    }
    await assert.rejects(
      writeSynthDataset(dir, { count: 2, size: 32, seed: 1 }),
      /train is not empty/,
    );
    await assert.rejects(
      writeSynthDataset(`${dir}/x`, { count: 0, size: 32, seed: 1 }),
      /count must be an integer >= 1/,
    );
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("synth: ensureSynthDataset generates once per parameter set", async () => {
  const cacheDir = await Deno.makeTempDir();
  try {
    const opts = { count: 6, size: 32, seed: 3, cacheDir };
    const [d1, d1b] = await Promise.all([
      ensureSynthDataset(opts),
      ensureSynthDataset(opts),
    ]);
    assert.equal(d1, d1b);
    const mtime = (await Deno.stat(`${d1}/train/1.jpg`)).mtime;
    const again = await ensureSynthDataset(opts);
    assert.equal(again, d1);
    assert.deepEqual((await Deno.stat(`${d1}/train/1.jpg`)).mtime, mtime);
    const other = await ensureSynthDataset({ ...opts, seed: 4 });
    assert.notEqual(other, d1);
    const entries = [];
    for await (const e of Deno.readDir(cacheDir)) entries.push(e.name);
    assert.equal(entries.length, 2, `no leftover temp folders: ${entries}`);
  } finally {
    await Deno.remove(cacheDir, { recursive: true });
  }
});
