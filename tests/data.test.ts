/**
 * Tests of lib/util/rng.ts, lib/util/image.ts and lib/data.ts on real facades, on
 * generated images and on a corpus of bad files.
 */
import "@tensorflow/tfjs-backend-cpu";
import * as tf from "@tensorflow/tfjs";
import assert from "node:assert/strict";
import { type Batch, openAlignedDataset } from "../lib/data.ts";
import { DatasetError, ImageError } from "../lib/errors.ts";
import type { DatasetOptions } from "../lib/data.ts";
import {
  cropRgb,
  hconcat,
  readRgb,
  resizeRgb,
  type RgbImage,
  rgbToFloat,
  tensorToRgb,
  writePng,
  writeTensorPng,
} from "../lib/util/image.ts";
import { unitToByte, valuesToRgb } from "../lib/util/pixels.ts";
import { deriveSeed, Rng } from "../lib/util/rng.ts";
import {
  assertSamePixels,
  facadesRoot,
  pattern,
  pngBytes,
  writeBadCorpus,
} from "./data_fixtures.ts";

await tf.setBackend("cpu");

const BASE: Omit<DatasetOptions, "dataroot"> = {
  phase: "train",
  direction: "AtoB",
  preprocess: "resize_and_crop",
  loadSize: 36,
  cropSize: 32,
  noFlip: false,
  batchSize: 1,
  seed: 0,
  onWarning: () => {},
};

/** All batches of one epoch as plain arrays (tensors disposed). */
async function collect(
  ds: Awaited<ReturnType<typeof openAlignedDataset>>,
  epoch: number,
) {
  const out: {
    input: Float32Array;
    target: Float32Array;
    paths: string[];
    shape: number[];
  }[] = [];
  for await (const b of ds.batches(epoch)) out.push(unpack(b));
  return out;
}

function unpack(b: Batch) {
  const item = {
    input: b.input.dataSync() as Float32Array,
    target: b.target.dataSync() as Float32Array,
    paths: b.paths,
    shape: b.input.shape,
  };
  tf.dispose([b.input, b.target]);
  return item;
}

const base = (p: string) => p.slice(p.lastIndexOf("/") + 1);

Deno.test("rng: same seed same stream, state round-trips, int/shuffle ranges", () => {
  const a = new Rng(42), b = new Rng(42), c = new Rng(43);
  const sa = Array.from({ length: 5 }, () => a.next());
  assert.deepEqual(sa, Array.from({ length: 5 }, () => b.next()));
  assert.notDeepEqual(sa, Array.from({ length: 5 }, () => c.next()));
  const saved = a.state();
  const restored = Rng.fromState(JSON.parse(JSON.stringify(saved)));
  assert.deepEqual(
    Array.from({ length: 5 }, () => a.next()),
    Array.from({ length: 5 }, () => restored.next()),
  );
  const counts = new Array(7).fill(0);
  for (let i = 0; i < 7000; i++) counts[a.int(7)]++;
  for (const n of counts) {
    assert.ok(n > 800 && n < 1200, `int(7) counts ${counts}`);
  }
  const perm = a.shuffle([...Array(50).keys()]);
  assert.deepEqual([...perm].sort((x, y) => x - y), [...Array(50).keys()]);
  assert.notDeepEqual(perm, [...Array(50).keys()]);
  assert.notEqual(deriveSeed(1, 2), deriveSeed(2, 1));
  assert.throws(() => Rng.fromState([1, 2, 3]), /four|4 unsigned/);
  assert.throws(() => a.int(0), RangeError);
});

Deno.test("pixels: [-1, 1] to bytes rounded and clamped; gray repeated, alpha left out; writeTensorPng writes the same bytes", async () => {
  assert.deepEqual([-2, -1, 0, 0.5, 1, 3].map(unitToByte), [
    0,
    0,
    128,
    191,
    255,
    255,
  ]);
  // Two pixels of gray + alpha, then of RGBA.
  assert.deepEqual([...valuesToRgb([0, -1, 1, 1], [1, 2, 2])], [
    128,
    128,
    128,
    255,
    255,
    255,
  ]);
  assert.deepEqual(
    [...valuesToRgb([-1, 0, 1, -1, 1, 1, -1, 0], [1, 2, 4])],
    [0, 128, 255, 255, 255, 0],
  );
  assert.throws(() => valuesToRgb([0], [1, 1, 5]), RangeError);
  const dir = await Deno.makeTempDir();
  try {
    const values = Float32Array.from(
      { length: 4 * 5 * 3 },
      (_, i) => Math.sin(i) * 1.2,
    );
    const t = tf.tensor3d(values, [4, 5, 3]);
    await writeTensorPng(`${dir}/t.png`, t);
    t.dispose();
    const back = await readRgb(`${dir}/t.png`);
    assertSamePixels(back.data, valuesToRgb(values, [4, 5, 3]));
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("image: PNG round trip, crop/flip, hconcat, tensor conversions", async () => {
  const dir = await Deno.makeTempDir();
  try {
    const img = pattern(10, 6, 5);
    await writePng(`${dir}/a.png`, img);
    const back = await readRgb(`${dir}/a.png`);
    assert.equal(back.note, undefined);
    assert.deepEqual([back.width, back.height], [10, 6]);
    assertSamePixels(back.data, img.data);
    const flipped = cropRgb(img, 2, 1, 4, 3, true);
    // Pixel (0, 0) of the flipped crop is pixel (2 + 3, 1) of the image.
    assert.deepEqual(
      [...flipped.data.subarray(0, 3)],
      [...img.data.subarray((1 * 10 + 5) * 3, (1 * 10 + 5) * 3 + 3)],
    );
    const joined = hconcat(img, pattern(4, 6, 9));
    assert.equal(joined.width, 14);
    assertSamePixels(cropRgb(joined, 0, 0, 10, 6).data, img.data);
    const floats = new Float32Array(img.data.length);
    rgbToFloat(img, floats);
    assert.ok(floats.every((v) => v >= -1 && v <= 1));
    const t = tf.tensor3d(floats, [6, 10, 3]);
    assertSamePixels(await tensorToRgb(t), img.data);
    t.dispose();
    await assert.rejects(writePng(`${dir}/a.jpg`, img), ImageError);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

/** PIL's bicubic filter (a = -0.5). */
function pilCubic(x: number): number {
  const a = -0.5;
  x = Math.abs(x);
  if (x < 1) return ((a + 2) * x - (a + 3)) * x * x + 1;
  if (x < 2) return (((x - 5) * x + 8) * x - 4) * a;
  return 0;
}

/**
 * An independent port of Pillow's `ImagingResample` (BICUBIC, 8-bit
 * fixed point, horizontal pass then vertical) for one axis of an HWC image.
 */
function pilResampleAxis(
  img: RgbImage,
  outSize: number,
  horizontal: boolean,
): RgbImage {
  const inSize = horizontal ? img.width : img.height;
  const scale = inSize / outSize;
  const filterScale = Math.max(scale, 1);
  const support = 2 * filterScale;
  const width = horizontal ? outSize : img.width;
  const height = horizontal ? img.height : outSize;
  const out = new Uint8Array(width * height * 3);
  const bits = 22;
  for (let o = 0; o < outSize; o++) {
    const center = (o + 0.5) * scale;
    const xmin = Math.max(0, Math.trunc(center - support + 0.5));
    const xmax = Math.min(inSize, Math.trunc(center + support + 0.5));
    const w: number[] = [];
    for (let x = xmin; x < xmax; x++) {
      w.push(pilCubic((x - center + 0.5) / filterScale));
    }
    const total = w.reduce((p, q) => p + q, 0);
    const k = w.map((v) => {
      const n = v / total;
      return Math.trunc(n * (1 << bits) + (n < 0 ? -0.5 : 0.5));
    });
    const lines = horizontal ? img.height : img.width;
    for (let line = 0; line < lines; line++) {
      for (let c = 0; c < 3; c++) {
        let acc = 1 << (bits - 1);
        for (let i = 0; i < k.length; i++) {
          const x = xmin + i;
          const src = horizontal
            ? (line * img.width + x) * 3 + c
            : (x * img.width + line) * 3 + c;
          acc += img.data[src] * k[i];
        }
        const v = Math.floor(acc / (1 << bits));
        const dst = horizontal
          ? (line * width + o) * 3 + c
          : (o * width + line) * 3 + c;
        out[dst] = v < 0 ? 0 : v > 255 ? 255 : v;
      }
    }
  }
  return { data: out, width, height };
}

Deno.test("image: resizeRgb equals a port of Pillow's BICUBIC resize (the reference's)", async () => {
  const rng = new Rng(11);
  const src = pattern(24, 20, 0);
  // Blocky content plus noise: edges and flat areas.
  for (let i = 0; i < src.data.length; i++) {
    const x = Math.floor(i / 3) % 24, y = Math.floor(i / 72);
    src.data[i] = ((x >> 2) * 40 + (y >> 2) * 25 + rng.int(20)) % 256;
  }
  for (const [w, h] of [[27, 23], [16, 12], [30, 15], [24, 40]]) {
    let ref = w === src.width ? src : pilResampleAxis(src, w, true);
    if (h !== src.height) ref = pilResampleAxis(ref, h, false);
    const ours = await resizeRgb(src, w, h);
    assert.deepEqual([ours.width, ours.height], [w, h]);
    assertSamePixels(ours.data, ref.data, `${w}x${h}`);
  }
});

Deno.test("image: bad files give ImageError naming the file; gray/RGBA convert with a note", async () => {
  const dir = await Deno.makeTempDir();
  try {
    const corpus = await writeBadCorpus(dir);
    for (const name of corpus.bad.filter((n) => n !== "odd.png")) {
      const path = `${corpus.split}/${name}`;
      await assert.rejects(readRgb(path), (err: unknown) => {
        assert.ok(err instanceof ImageError);
        assert.equal(err.file, path);
        assert.ok(err.message.startsWith(path), err.message);
        assert.ok(!/\n\s+at /.test(err.message), "no stack in message");
        return true;
      });
    }
    await assert.rejects(
      readRgb(`${dir}/missing.jpg`),
      /missing\.jpg: file not found/,
    );
    const gray = await readRgb(`${corpus.split}/gray.png`);
    assert.match(gray.note ?? "", /grayscale converted to RGB/);
    assert.equal(gray.data.length, 64 * 32 * 3);
    assert.equal(gray.data[0], gray.data[1]);
    const rgba = await readRgb(`${corpus.split}/rgba.png`);
    assert.match(rgba.note ?? "", /alpha channel dropped/);
    assertSamePixels(rgba.data, pattern(64, 32).data);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("data: facades BtoA without jitter gives exactly the B and A halves", async () => {
  const root = await facadesRoot();
  if (!root) return;
  const ds = await openAlignedDataset({
    ...BASE,
    dataroot: root,
    phase: "test",
    direction: "BtoA",
    preprocess: "crop",
    cropSize: 256,
    noFlip: true,
    batchSize: 2,
    maxItems: 3,
  });
  assert.equal(ds.size, 3);
  assert.deepEqual(ds.files.map(base), ["1.jpg", "2.jpg", "3.jpg"]);
  const batches = await collect(ds, 0);
  assert.deepEqual(batches.map((b) => b.shape), [[2, 256, 256, 3], [
    1,
    256,
    256,
    3,
  ]]);
  assert.deepEqual(batches.flatMap((b) => b.paths.map(base)), [
    "1.jpg",
    "2.jpg",
    "3.jpg",
  ]);
  const img = await readRgb(ds.files[0]);
  const a = new Float32Array(256 * 256 * 3),
    b = new Float32Array(256 * 256 * 3);
  rgbToFloat(cropRgb(img, 0, 0, 256, 256), a);
  rgbToFloat(cropRgb(img, 256, 0, 256, 256), b);
  assertSamePixels(batches[0].input.subarray(0, a.length), b, "input");
  assertSamePixels(batches[0].target.subarray(0, a.length), a, "target");
});

Deno.test("data: facades resize_and_crop 286->256 is seeded, in [-1, 1], order changes per epoch", async () => {
  const root = await facadesRoot();
  if (!root) return;
  const opts: DatasetOptions = {
    ...BASE,
    dataroot: root,
    direction: "BtoA",
    loadSize: 286,
    cropSize: 256,
    batchSize: 2,
    maxItems: 6,
    seed: 7,
  };
  const ds = await openAlignedDataset(opts);
  const e0 = await collect(ds, 0);
  const again = await collect(await openAlignedDataset(opts), 0);
  const e1 = await collect(ds, 1);
  assert.deepEqual(e0.map((b) => b.shape), [
    [2, 256, 256, 3],
    [2, 256, 256, 3],
    [2, 256, 256, 3],
  ]);
  assert.deepEqual(e0.map((b) => b.paths), again.map((b) => b.paths));
  assertSamePixels(e0[0].input, again[0].input);
  assert.notDeepEqual(
    e0.map((b) => b.paths).flat(),
    e1.map((b) => b.paths).flat(),
  );
  assert.deepEqual(e0.flatMap((b) => b.paths).sort(), [...ds.files].sort());
  for (const b of e0) {
    let min = Infinity, max = -Infinity;
    for (const v of b.target) {
      if (v < min) min = v;
      if (v > max) max = v;
    }
    assert.ok(min >= -1 && max <= 1 && max - min > 1, `range ${min}..${max}`);
  }
  // The main-thread path (workers: 0) gives the same batches as the workers.
  const inline = await collect(
    await openAlignedDataset({ ...opts, workers: 0 }),
    0,
  );
  assertSamePixels(inline[1].target, e0[1].target);
});

Deno.test("data: A and B get the same crop and flip; flips happen, noFlip stops them", async () => {
  const dir = await Deno.makeTempDir();
  try {
    await Deno.mkdir(`${dir}/train`);
    const half = pattern(40, 40, 3);
    for (let i = 0; i < 8; i++) {
      await Deno.writeFile(
        `${dir}/train/${i}.png`,
        await pngBytes(hconcat(half, half)),
      );
    }
    const opts = { ...BASE, dataroot: dir, loadSize: 48, cropSize: 32 };
    const items = await collect(await openAlignedDataset(opts), 3);
    assert.equal(items.length, 8);
    for (const it of items) assertSamePixels(it.input, it.target);
    // A crop's left-right orientation: the pattern grows with x (mod 256).
    const increasing = (t: Float32Array) => t[3] > t[0];
    const orientation = items.map((it) => increasing(it.input));
    assert.ok(
      orientation.includes(true) && orientation.includes(false),
      `${orientation}`,
    );
    const crops = new Set(items.map((it) => it.input[0]));
    assert.ok(crops.size > 1, "crop positions vary");
    const noFlip = await collect(
      await openAlignedDataset({ ...opts, noFlip: true }),
      3,
    );
    assert.ok(noFlip.every((it) => increasing(it.input)));
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("data: bad corpus: skips and converts with warnings, never throws", async () => {
  const dir = await Deno.makeTempDir();
  try {
    const corpus = await writeBadCorpus(dir);
    const warnings: string[] = [];
    const ds = await openAlignedDataset({
      ...BASE,
      dataroot: dir,
      onWarning: (m) => warnings.push(m),
    });
    const items = await collect(ds, 0);
    assert.deepEqual(
      items.map((it) => base(it.paths[0])).sort(),
      [...corpus.good].sort(),
    );
    assert.ok(items.every((it) => it.shape.join() === "1,32,32,3"));
    assert.deepEqual(
      ds.stats.skipped.map((s) => base(s.file)).sort(),
      [...corpus.bad].sort(),
    );
    assert.deepEqual(
      ds.stats.warnings.map((s) => base(s.file)).sort(),
      [...corpus.converted].sort(),
    );
    assert.deepEqual(ds.stats.ignored.map(base), corpus.ignored);
    const odd = ds.stats.skipped.find((s) => s.file.endsWith("odd.png"));
    assert.match(odd!.reason, /odd width 65/);
    assert.ok(warnings.some((w) => w.includes("truncated.jpg")));
    assert.match(ds.stats.summary(), /skipped 4 file/);
    // A second epoch reports nothing new.
    const before = warnings.length;
    await collect(ds, 1);
    assert.equal(warnings.length, before);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("data: clear errors for missing/empty folders, bad options, mixed sizes, all-bad splits", async () => {
  const dir = await Deno.makeTempDir();
  try {
    await assert.rejects(
      openAlignedDataset({ ...BASE, dataroot: `${dir}/nope` }),
      (e: unknown) =>
        e instanceof DatasetError && /nope: folder not found/.test(e.message),
    );
    await Deno.mkdir(`${dir}/test`);
    await assert.rejects(
      openAlignedDataset({ ...BASE, dataroot: dir }),
      /has no split folder "train\/" \(found: test\)/,
    );
    await assert.rejects(
      openAlignedDataset({ ...BASE, dataroot: dir, phase: "test" }),
      /test: no images/,
    );
    await assert.rejects(
      openAlignedDataset({ ...BASE, dataroot: dir, loadSize: 16 }),
      /loadSize \(16\) must be >= cropSize \(32\)/,
    );
    await assert.rejects(
      openAlignedDataset({ ...BASE, dataroot: dir, batchSize: 0 }),
      /batchSize must be a positive integer/,
    );
    await Deno.writeFile(`${dir}/test/a.png`, await pngBytes(pattern(64, 32)));
    await Deno.writeFile(`${dir}/test/b.png`, await pngBytes(pattern(64, 48)));
    const mixed = await openAlignedDataset({
      ...BASE,
      dataroot: dir,
      phase: "test",
      preprocess: "none",
      batchSize: 2,
    });
    await assert.rejects(
      collect(mixed, 0),
      /batch mixes image sizes: .*a\.png gives 32x32, .*b\.png gives 32x48/,
    );
    await Deno.writeTextFile(`${dir}/test/c.jpg`, "garbage");
    const none = await openAlignedDataset({
      ...BASE,
      dataroot: dir,
      phase: "test",
      preprocess: "none",
      maxItems: 1,
    });
    assert.equal((await collect(none, 0))[0].shape.join(), "1,32,32,3");
    await Deno.remove(`${dir}/test/a.png`);
    await Deno.remove(`${dir}/test/b.png`);
    const allBad = await openAlignedDataset({
      ...BASE,
      dataroot: dir,
      phase: "test",
    });
    await assert.rejects(
      collect(allBad, 0),
      /all 1 file\(s\) were skipped \(first: .*c\.jpg: not a readable image/,
    );
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("data: symlinked files are read, broken links skipped", async () => {
  const dir = await Deno.makeTempDir();
  try {
    await Deno.mkdir(`${dir}/train`);
    await Deno.mkdir(`${dir}/val`);
    await Deno.writeFile(`${dir}/train/a.png`, await pngBytes(pattern(64, 32)));
    await Deno.symlink(`${dir}/train/a.png`, `${dir}/val/a.png`);
    await Deno.symlink(`${dir}/train/gone.png`, `${dir}/val/b.png`);
    const ds = await openAlignedDataset({
      ...BASE,
      dataroot: dir,
      phase: "val",
    });
    assert.deepEqual(ds.files.map(base), ["a.png", "b.png"]);
    const items = await collect(ds, 0);
    assert.deepEqual(items.map((it) => base(it.paths[0])), ["a.png"]);
    assert.deepEqual(ds.stats.skipped.map((s) => [base(s.file), s.reason]), [
      ["b.png", "file not found"],
    ]);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("data: preprocess none rounds to sizeMultiple; scale_width keeps aspect", async () => {
  const dir = await Deno.makeTempDir();
  try {
    await Deno.mkdir(`${dir}/train`);
    await Deno.writeFile(
      `${dir}/train/a.png`,
      await pngBytes(pattern(2 * 50, 30)),
    );
    const notes: string[] = [];
    const none = await openAlignedDataset({
      ...BASE,
      dataroot: dir,
      preprocess: "none",
      sizeMultiple: 16,
      onWarning: (m) => notes.push(m),
    });
    assert.equal((await collect(none, 0))[0].shape.join(), "1,32,48,3");
    assert.ok(
      notes.some((n) => /resized to 48x32 \(a multiple of 16\)/.test(n)),
      notes.join(),
    );
    const sw = await openAlignedDataset({
      ...BASE,
      dataroot: dir,
      preprocess: "scale_width",
      loadSize: 40,
    });
    assert.equal((await collect(sw, 0))[0].shape.join(), "1,32,40,3");
    const swc = await openAlignedDataset({
      ...BASE,
      dataroot: dir,
      preprocess: "scale_width_and_crop",
      loadSize: 40,
      cropSize: 24,
    });
    assert.equal((await collect(swc, 0))[0].shape.join(), "1,24,24,3");
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("data: facades epoch keeps memory flat and prefetch hides decoding", async () => {
  const root = await facadesRoot();
  if (!root) return;
  const ds = await openAlignedDataset({
    ...BASE,
    dataroot: root,
    direction: "BtoA",
    loadSize: 286,
    cropSize: 256,
    batchSize: 4,
  });
  const tensors = tf.memory().numTensors;
  const rssMb = () => Deno.memoryUsage().rss / 1e6;
  const rss = [rssMb()];
  let pairs = 0;
  let seconds = 0;
  for (const epoch of [0, 1]) {
    const t0 = performance.now();
    for await (const b of ds.batches(epoch)) {
      if (epoch === 0) pairs += b.paths.length;
      tf.dispose([b.input, b.target]);
    }
    if (epoch === 0) seconds = (performance.now() - t0) / 1000;
    rss.push(rssMb());
  }
  console.log(
    `facades train: ${pairs} pairs in ${seconds.toFixed(2)} s = ${
      (pairs / seconds).toFixed(0)
    } pairs/s; RSS ${
      rss.map((r) => r.toFixed(0)).join(" -> ")
    } MB over 2 epochs`,
  );
  assert.equal(pairs, 400);
  assert.equal(tf.memory().numTensors, tensors);
  // Holding an epoch's pairs would take > 600 MB (400 x 2 x 256x256x3
  // floats) on top of the first epoch's allocator and worker warm-up
  // (150-350 MB measured); the second epoch must stay flat.
  assert.ok(rss[1] - rss[0] < 600, `first epoch grew RSS: ${rss}`);
  assert.ok(rss[2] - rss[1] < 150, `second epoch grew RSS: ${rss}`);

  // A consumer doing 50 ms of synchronous work per batch should rarely wait.
  const busy = await openAlignedDataset({
    ...BASE,
    dataroot: root,
    direction: "BtoA",
    loadSize: 286,
    cropSize: 256,
    maxItems: 20,
    prefetch: 4,
  });
  await collect(busy, 0); // start the workers
  const wait0 = busy.stats.waitMs, total0 = busy.stats.totalMs;
  for await (const b of busy.batches(1)) {
    const end = performance.now() + 50;
    while (performance.now() < end) { /* simulated training step */ }
    tf.dispose([b.input, b.target]);
  }
  const share = (busy.stats.waitMs - wait0) / (busy.stats.totalMs - total0);
  console.log(
    `consumer with 50 ms/batch waited ${(100 * share).toFixed(1)}% of the time`,
  );
  // Quiet machine: ~1-2% (decoding on the main thread instead: ~22%). The
  // bound is loose because the parallel test suite starves the worker.
  assert.ok(share < 0.5, `wait share ${share}`);
});
