import assert from "node:assert/strict";
import { initBackend } from "../lib/runtime/backend.ts";
import { DEFAULT_CONFIG } from "../lib/config.ts";
import { train } from "../lib/train.ts";
import { evaluateResults, listResults } from "../lib/eval/evaluate.ts";
import {
  classesToRgb,
  FACADE_PALETTE,
  N_FACADE_CLASSES,
  rgbToClasses,
} from "../lib/datasets/facades.ts";
import { type RgbImage, writePng } from "../lib/util/image.ts";
import { PSNR_MAX } from "../lib/eval/metrics.ts";
import {
  buildSegmenterModel,
  earlyStopping,
  loadSegmenter,
  type PhotoSegmenter,
  readLabelledPair,
  resizeClasses,
  saveSegmenter,
  Segmenter,
  segmenterCacheDir,
  type SegmenterConfig,
  type SegmenterRecord,
  segmenterSummary,
  segmenterTrainFiles,
  splitValidation,
  trainSegmenter,
  withFcnScores,
} from "../lib/eval/segmenter.ts";

import { FACADES_DIR } from "../lib/datasets/dataroot.ts";
import { listSplit } from "../lib/data.ts";
import { Rng } from "../lib/util/rng.ts";
const FACADES = FACADES_DIR;
const haveFacades = await Deno.stat(FACADES).then(() => true, () => false);
if (!haveFacades) {
  console.log(`skipping facades tests: ${FACADES} is missing`);
}

/** README "share of test pixels (nearest colour)" column, class order. */
const README_SHARES = [
  0.219,
  0.333,
  0.141,
  0.014,
  0.026,
  0.035,
  0.045,
  0.012,
  0.016,
  0.092,
  0.014,
  0.053,
];

Deno.test("rgbToClasses: palette colours map to their class, near colours too", () => {
  const n = N_FACADE_CLASSES;
  assert.deepEqual(
    Array.from(rgbToClasses(FACADE_PALETTE, n)),
    Array.from({ length: n }, (_, i) => i),
  );
  // JPEG-like noise of a few levels keeps the class.
  const noisy = Uint8Array.from(
    FACADE_PALETTE,
    (v, i) => Math.max(0, Math.min(255, v + ((i % 3) - 1) * 6)),
  );
  assert.deepEqual(
    Array.from(rgbToClasses(noisy, n)),
    Array.from({ length: n }, (_, i) => i),
  );
  const classes = Uint8Array.from([3, 0, 11, 7]);
  assert.deepEqual(rgbToClasses(classesToRgb(classes), 4), classes);
  assert.throws(() => rgbToClasses(new Uint8Array(5), 2), /need 6 bytes/);
  assert.throws(() => classesToRgb(Uint8Array.from([12])), /not in \[0, 12\)/);
});

Deno.test({
  name:
    "rgbToClasses on the real test label maps reproduces the README's class shares",
  ignore: !haveFacades,
  fn: async () => {
    const counts = new Float64Array(N_FACADE_CLASSES);
    let total = 0;
    for (const f of (await listSplit(FACADES, "test")).files) {
      const { labels } = await readLabelledPair(f);
      for (const c of labels) counts[c]++;
      total += labels.length;
    }
    for (let c = 0; c < N_FACADE_CLASSES; c++) {
      const share = counts[c] / total;
      assert.ok(
        Math.abs(share - README_SHARES[c]) < 0.002,
        `class ${c}: share ${share.toFixed(4)} vs README ${README_SHARES[c]}`,
      );
    }
  },
});

Deno.test("resizeClasses: nearest neighbour, pixel centres aligned", () => {
  // 4x2 -> 2x1 keeps columns 1 and 3 of row 1 (centres at 1.0 -> index 1).
  const src = Uint8Array.from([0, 1, 2, 3, 4, 5, 6, 7]);
  assert.deepEqual(Array.from(resizeClasses(src, 4, 2, 2, 1)), [5, 7]);
  // Upsampling repeats.
  assert.deepEqual(
    Array.from(resizeClasses(Uint8Array.from([1, 2]), 2, 1, 4, 1)),
    [1, 1, 2, 2],
  );
});

/** A 16x16 label map: four 8x8 quadrants of classes 0, 1, 2, 11. */
function quadrants(): Uint8Array {
  const out = new Uint8Array(256);
  for (let y = 0; y < 16; y++) {
    for (let x = 0; x < 16; x++) {
      out[y * 16 + x] = [0, 1, 2, 11][(y < 8 ? 0 : 2) + (x < 8 ? 0 : 1)];
    }
  }
  return out;
}

const rgb16 = (classes: Uint8Array): RgbImage => ({
  data: classesToRgb(classes),
  width: 16,
  height: 16,
});

/** A "segmenter" that reads a label-coloured image back to classes. */
const oracle: PhotoSegmenter = {
  segment: (photo) =>
    Promise.resolve(rgbToClasses(photo.data, photo.width * photo.height)),
};

async function writeTriple(
  dir: string,
  name: string,
  a: RgbImage,
  fake: RgbImage,
  real: RgbImage,
): Promise<void> {
  await writePng(`${dir}/images/${name}_real_A.png`, a);
  await writePng(`${dir}/images/${name}_fake_B.png`, fake);
  await writePng(`${dir}/images/${name}_real_B.png`, real);
}

Deno.test("evaluateResults: hand-computed scores with an oracle segmenter", async () => {
  const dir = await Deno.makeTempDir();
  try {
    const labels = quadrants();
    // Generated image: the class-11 quadrant painted as class 2.
    const wrong = labels.map((c) => (c === 11 ? 2 : c));
    await writeTriple(dir, "1", rgb16(labels), rgb16(wrong), rgb16(labels));
    await writeTriple(dir, "2", rgb16(labels), rgb16(labels), rgb16(labels));
    const r = await evaluateResults(dir, { segmenter: oracle });
    assert.equal(r.n_images, 2);
    // 512 pixels, 64 wrong.
    assert.ok(Math.abs(r.per_pixel_acc - 448 / 512) < 1e-12);
    // Classes 0, 1, 2: acc 1; class 11: 64 of 128 right.
    assert.ok(Math.abs(r.per_class_acc - (3 + 0.5) / 4) < 1e-12);
    // IoU: 1, 1, 128 / (128 + 64), 64 / 128.
    assert.ok(Math.abs(r.class_iou - (2 + 2 / 3 + 0.5) / 4) < 1e-12);
    assert.deepEqual(r.ground_truth, {
      per_pixel_acc: 1,
      per_class_acc: 1,
      class_iou: 1,
    });
    // L1 on [0,1]: image 1 differs in a quarter of its pixels by
    // |palette[11] - palette[2]|, image 2 not at all.
    const p = FACADE_PALETTE;
    const d = [0, 1, 2].reduce((s, c) => s + Math.abs(p[33 + c] - p[6 + c]), 0);
    assert.ok(Math.abs(r.l1 - (d / 255 / 3 / 4) / 2) < 1e-6, `l1 ${r.l1}`);
    // Image 2 is perfect: it counts as PSNR_MAX, so the mean stays finite.
    assert.ok(r.psnr > PSNR_MAX / 2 && r.psnr < PSNR_MAX, `psnr ${r.psnr}`);
    assert.equal(JSON.parse(JSON.stringify(r)).psnr, r.psnr);
    assert.ok(r.ssim < 1 && r.ssim > 0);
    assert.ok(r.colourfulness > 0);
    assert.equal(r.per_image, undefined);
    // Per-image records: image 1's class counts, and the same report beside them.
    const { per_image: images, ...same } = await evaluateResults(dir, {
      segmenter: oracle,
      perImage: true,
    });
    assert.deepEqual(same, r);
    assert.deepEqual(images!.map((x) => x.name), ["1", "2"]);
    const one = images![0];
    assert.deepEqual([one.label[11], one.hit[11], one.pred[11]], [64, 0, 0]);
    assert.deepEqual([one.label[2], one.hit[2], one.pred[2]], [64, 64, 128]);
    assert.deepEqual([one.real_hit[11], one.real_pred[2]], [64, 64]);
    assert.equal(images![1].l1, 0);
    assert.ok(Math.abs((one.l1 + images![1].l1) / 2 - r.l1) < 1e-15);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("evaluateResults: clear errors for missing, incomplete and mismatched results", async () => {
  const dir = await Deno.makeTempDir();
  try {
    await assert.rejects(
      evaluateResults(`${dir}/nope`, { segmenter: oracle }),
      /nope: no such results folder/,
    );
    await Deno.mkdir(`${dir}/images`);
    await assert.rejects(listResults(dir), /no \*_real_A.png/);
    const img = rgb16(quadrants());
    await writePng(`${dir}/images/7_real_A.png`, img);
    await writePng(`${dir}/images/7_real_B.png`, img);
    await assert.rejects(listResults(dir), /7_fake_B\.png: missing/);
    await writePng(`${dir}/images/7_fake_B.png`, {
      data: new Uint8Array(8 * 16 * 3),
      width: 8,
      height: 16,
    });
    await assert.rejects(
      evaluateResults(dir, { segmenter: oracle }),
      /7_fake_B\.png: 8x16, but .*7_real_A\.png is 16x16/,
    );
    await Deno.writeTextFile(`${dir}/images/7_fake_B.png`, "not a png");
    await assert.rejects(
      evaluateResults(dir, { segmenter: oracle }),
      /7_fake_B\.png: not a readable image/,
    );
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

const TINY: SegmenterConfig = {
  size: 32,
  numDowns: 5,
  ngf: 4,
  epochs: 1,
  epochsDecay: 1,
  batchSize: 2,
  lr: 1e-3,
  seed: 3,
  maxTrain: 5,
  valFraction: 0.2,
  jitter: true,
  patience: 1,
  flipTest: true,
};

Deno.test({
  name:
    "flipTest: a mirrored photo segments to the mirrored classes; without it an untrained net does not",
  sanitizeResources: false,
  sanitizeOps: false,
  fn: async () => {
    await initBackend("cpu");
    const s = TINY.size;
    const rng = new Rng(5);
    const photo: RgbImage = {
      width: s,
      height: s,
      data: Uint8Array.from({ length: s * s * 3 }, () => rng.int(256)),
    };
    const mirror = <T extends Uint8Array>(data: T, channels: number): T => {
      const out = data.slice() as T;
      for (let y = 0; y < s; y++) {
        for (let x = 0; x < s; x++) {
          for (let c = 0; c < channels; c++) {
            out[(y * s + x) * channels + c] =
              data[(y * s + s - 1 - x) * channels + c];
          }
        }
      }
      return out;
    };
    const mirrored: RgbImage = { ...photo, data: mirror(photo.data, 3) };
    const equivariance = async (flipTest: boolean) => {
      const seg = new Segmenter(
        buildSegmenterModel({ ...TINY, flipTest }),
        { ...TINY, flipTest },
      );
      const a = await seg.segment(photo);
      const b = await seg.segment(mirrored);
      seg.dispose();
      return { a, b };
    };
    const on = await equivariance(true);
    assert.deepEqual(on.b, mirror(on.a, 1));
    const off = await equivariance(false);
    assert.notDeepEqual(off.b, mirror(off.a, 1));
    // Records from before the field read as off.
    const { flipTest: _, ...before } = TINY;
    assert.equal(
      withFcnScores({ config: before } as unknown as SegmenterRecord).config
        .flipTest,
      false,
    );
  },
});

Deno.test("splitValidation: a seeded pick of round(n * valFraction) files, disjoint from training, in order", () => {
  const files = Array.from({ length: 400 }, (_, i) => `train/${i + 1}.jpg`);
  const a = splitValidation(files, { valFraction: 0.1, seed: 0 });
  assert.equal(a.val.length, 40);
  assert.equal(a.train.length, 360);
  assert.deepEqual([...a.train, ...a.val].sort(), [...files].sort());
  const order = (l: string[]) => l.map((f) => files.indexOf(f));
  assert.deepEqual(order(a.val), [...order(a.val)].sort((x, y) => x - y));
  // Not simply the first or last files; the same seed gives the same split.
  assert.notDeepEqual(a.val, files.slice(0, 40));
  assert.notDeepEqual(a.val, files.slice(-40));
  assert.deepEqual(splitValidation(files, { valFraction: 0.1, seed: 0 }), a);
  assert.notDeepEqual(
    splitValidation(files, { valFraction: 0.1, seed: 1 }).val,
    a.val,
  );
  // At least one validation file when asked for, never all; none at 0.
  assert.equal(
    splitValidation(files.slice(0, 3), { valFraction: 0.01, seed: 0 }).val
      .length,
    1,
  );
  assert.equal(
    splitValidation(files.slice(0, 2), { valFraction: 0.9, seed: 0 }).train
      .length,
    1,
  );
  assert.deepEqual(
    splitValidation(files, { valFraction: 0, seed: 0 }).train,
    files,
  );
});

Deno.test("earlyStopping: best epoch is the first maximum; stop after patience epochs without a better one", () => {
  assert.deepEqual(earlyStopping([0.5], 2), { best: 1, stop: false });
  assert.deepEqual(earlyStopping([0.5, 0.6, 0.58], 2), {
    best: 2,
    stop: false,
  });
  assert.deepEqual(earlyStopping([0.5, 0.6, 0.58, 0.6], 2), {
    best: 2,
    stop: true,
  });
  assert.deepEqual(earlyStopping([0.5, 0.6, 0.58, 0.61], 2), {
    best: 4,
    stop: false,
  });
  // patience 0: never stop, still track the best.
  assert.deepEqual(earlyStopping([0.7, 0.1, 0.1, 0.1], 0), {
    best: 1,
    stop: false,
  });
});

Deno.test("segmenterSummary: the score tables' line names validation and real-test-photo accuracy", () => {
  const record: SegmenterRecord = {
    config: { ...TINY, size: 128, ngf: 16, epochs: 20 },
    dataroot: "../shared/datasets/facades",
    nTrain: 360,
    validation: {
      files: Array.from({ length: 40 }, (_, i) => `${i}.jpg`),
      per_pixel_acc: 0.6123,
      per_class_acc: 0.4,
      bestEpoch: 7,
      epochsRun: 12,
    },
    trainSeconds: 1,
    backend: "native",
    finalLoss: 1,
    test: {
      per_pixel_acc: 0.5834,
      per_class_acc: 0.3512,
      class_iou: 0.2431,
      nImages: 106,
    },
    createdAt: "",
  };
  const line = segmenterSummary(record);
  for (
    const part of [
      "128 px",
      "ngf 16",
      "360 training photos + 40 validation (best epoch 7 of 12)",
      "jitter on, flip-averaged",
      "validation per-pixel acc 0.612",
      "real test photos (106): per-pixel acc 0.583, per-class acc 0.351, class IoU 0.243",
    ]
  ) assert.ok(line.includes(part), `${part} not in: ${line}`);
  // A record from before the decay field reads as a constant rate.
  const { epochsDecay: _, ...before } = record.config;
  assert.equal(
    withFcnScores({ ...record, config: before as SegmenterConfig }).config
      .epochsDecay,
    0,
  );
  assert.ok(
    segmenterSummary({ ...record, validation: undefined }).includes(
      "360 training photos, 21 epochs",
    ),
  );
  // A record from before validation splits: no validation part.
  const old = segmenterSummary({ ...record, validation: undefined });
  assert.ok(!old.includes("validation"), old);
  assert.ok(old.includes("per-pixel acc 0.583"), old);
});

Deno.test({
  name:
    "a tiny segmenter trains, saves and loads; the CLI scores --results and --checkpoint",
  ignore: !haveFacades,
  sanitizeResources: false,
  sanitizeOps: false,
  fn: async () => {
    await initBackend("cpu");
    const root = await Deno.makeTempDir();
    try {
      const steps: number[] = [];
      const { segmenter, record } = await trainSegmenter({
        dataroot: FACADES,
        config: TINY,
        maxTest: 2,
        backend: "cpu (as initBackend chose)",
        onProgress: (p) => steps.push(p.step),
      });
      // The record names the backend it was given (native reports "wasm" to tfjs).
      assert.equal(record.backend, "cpu (as initBackend chose)");
      // 5 pairs: 1 held out for validation, 4 trained on in 2 batches of 2,
      // for 1 epoch at the initial rate and 1 of decay.
      assert.deepEqual(steps, [1, 2, 3, 4]);
      assert.equal(record.nTrain, 4);
      const files = await segmenterTrainFiles(FACADES, TINY);
      const { val } = splitValidation(files, TINY);
      assert.deepEqual(
        record.validation?.files,
        val.map((f) => f.slice(f.lastIndexOf("/") + 1)),
      );
      assert.ok([1, 2].includes(record.validation!.bestEpoch));
      assert.equal(record.validation!.epochsRun, 2);
      const v = record.validation!.per_pixel_acc;
      assert.ok(v >= 0 && v <= 1, `validation acc ${v}`);
      assert.equal(record.test.nImages, 2);
      assert.ok(
        record.test.per_pixel_acc >= 0 && record.test.per_pixel_acc <= 1,
      );
      assert.ok(Number.isFinite(record.finalLoss));

      // Cache keys depend on the config.
      const key = await segmenterCacheDir(FACADES, TINY, root);
      const reversed = Object.fromEntries(
        Object.entries(TINY).reverse(),
      ) as SegmenterConfig;
      assert.equal(key, await segmenterCacheDir(FACADES, reversed, root));
      assert.notEqual(
        key,
        await segmenterCacheDir(FACADES, { ...TINY, seed: 4 }, root),
      );

      await saveSegmenter(key, segmenter, record);
      const loaded = await loadSegmenter(key);
      const pair = await readLabelledPair(
        (await listSplit(FACADES, "test")).files[0],
      );
      const before = await segmenter.segment(pair.photo);
      assert.equal(before.length, 256 * 256);
      assert.deepEqual(await loaded.segmenter.segment(pair.photo), before);
      assert.deepEqual(loaded.record.test, record.test);
      segmenter.dispose();
      loaded.segmenter.dispose();
      await assert.rejects(
        loadSegmenter(`${root}/none`),
        /no trained segmenter/,
      );

      // A results folder scored by `deno task eval --results --json`.
      const results = `${root}/results`;
      await writeTriple(
        results,
        "1",
        { ...pair.photo, data: classesToRgb(pair.labels) },
        pair.photo,
        pair.photo,
      );
      const cli = (args: string[]) =>
        new Deno.Command(Deno.execPath(), {
          args: [
            "run",
            "-A",
            new URL("../cli/eval.ts", import.meta.url).pathname,
            ...args,
          ],
          stdout: "piped",
          stderr: "piped",
        }).output();
      const ok = await cli([
        "--results",
        results,
        "--segmenter",
        key,
        "--json",
        "--backend",
        "cpu",
      ]);
      assert.equal(ok.code, 0, new TextDecoder().decode(ok.stderr));
      const report = JSON.parse(new TextDecoder().decode(ok.stdout));
      assert.equal(report.n_images, 1);
      // fake_B is the real photo: generated and ground-truth rows agree.
      assert.equal(report.per_pixel_acc, report.ground_truth.per_pixel_acc);
      assert.equal(report.l1, 0);
      assert.equal(report.ssim, 1);
      assert.equal(report.psnr, PSNR_MAX); // not null: JSON has no Infinity
      for (const k of ["per_class_acc", "class_iou", "psnr", "colourfulness"]) {
        assert.ok(k in report, k);
      }

      // --checkpoint: translate 3 facades test images with a 1-step model, then score.
      await train({
        ...DEFAULT_CONFIG,
        netG: "unet_32",
        cropSize: 32,
        loadSize: 32,
        ngf: 4,
        ndf: 4,
        direction: "BtoA",
        dataroot: FACADES,
        checkpointsDir: root,
        name: "g",
        maxSteps: 1,
        sampleEvery: 0,
        backend: "cpu",
        // No validation FCN-score: a cached facades segmenter on this machine
        // would score the 40 validation pairs on the cpu backend for minutes.
      }, { quiet: true, segmenter: null });
      const run = await cli([
        "--checkpoint",
        `${root}/g`,
        "--dataroot",
        FACADES,
        "--num-test",
        "3",
        "--out",
        `${root}/g_results`,
        "--segmenter",
        key,
        "--json",
        "--backend",
        "cpu",
      ]);
      assert.equal(run.code, 0, new TextDecoder().decode(run.stderr));
      const scored = JSON.parse(new TextDecoder().decode(run.stdout));
      assert.equal(scored.n_images, 3);
      assert.ok(scored.l1 > 0 && scored.ssim < 1);
      assert.equal((await listResults(`${root}/g_results`)).length, 3);

      const bad = await cli([
        "--results",
        `${root}/empty`,
        "--segmenter",
        key,
        "--backend",
        "cpu",
      ]);
      const err = new TextDecoder().decode(bad.stderr);
      assert.equal(bad.code, 1);
      assert.match(err, /error: .*empty: no such results folder/);
      assert.doesNotMatch(err, /^\s+at /m);

      // --threads (the segmenter's CPU threads) is checked before any work.
      const threads = await cli(["--train-segmenter", "--threads", "0"]);
      assert.equal(threads.code, 1);
      assert.match(
        new TextDecoder().decode(threads.stderr),
        /error: --threads: expected an integer >= 1, got "0"/,
      );
    } finally {
      await Deno.remove(root, { recursive: true });
    }
  },
});
