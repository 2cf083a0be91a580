import assert from "node:assert/strict";
import * as tf from "@tensorflow/tfjs";
import "@tensorflow/tfjs-backend-cpu";
import { readRgb, writePng } from "../lib/util/image.ts";
import {
  blendWindow,
  modelSizeMultiple,
  padTo,
  runAnySize,
  tileStarts,
} from "../lib/tiling.ts";
import { train } from "../lib/train.ts";
import { translateImage, translateSplit } from "../lib/translate.ts";
import { buildGenerator, generatorSpecFromConfig } from "../lib/unet.ts";
import { TINY } from "./train_fixtures.ts";

await tf.setBackend("cpu");

Deno.test("tiling: a 256-trained U-Net translates a 512x384 image to 512x384", async () => {
  const G = buildGenerator(
    generatorSpecFromConfig({
      ...TINY,
      netG: "unet_256",
      cropSize: 256,
      ngf: 2,
    }),
  );
  assert.deepEqual(G.inputs[0].shape, [null, 256, 256, 3]);
  assert.equal(modelSizeMultiple(G), 256);
  const x = tf.randomUniform([384, 512, 3], -1, 1, "float32", 3) as tf.Tensor3D;
  for (const opts of [{ eval: true }, { dropoutSeed: 1 }]) {
    const y = await translateImage(G, x, opts);
    assert.deepEqual(y.shape, [384, 512, 3]);
    const v = y.dataSync();
    assert.ok(v.every((a) => a >= -1 && a <= 1 && Number.isFinite(a)));
    y.dispose();
  }
  // A size that needs no padding gives exactly the network's own output.
  const sq = tf.slice(x, [0, 0, 0], [256, 512, 3]) as tf.Tensor3D;
  const direct = G.apply(tf.expandDims(sq, 0), {
    training: false,
  }) as tf.Tensor;
  const any = await translateImage(G, sq, { eval: true });
  assert.deepEqual(any.dataSync(), direct.dataSync());
  tf.dispose([x, sq, direct, any]);
  G.dispose();
});

Deno.test("tiling: padding, tile starts and blend windows", async () => {
  const x = tf.tensor3d([1, 2, 3, 4, 5, 6], [2, 3, 1]);
  const { padded, top, left } = padTo(x, 5, 8);
  assert.deepEqual(padded.shape, [5, 8, 1]);
  assert.deepEqual([top, left], [1, 2]);
  // The original sits at (top, left), mirrored around it.
  const p = padded.arraySync() as number[][][];
  assert.deepEqual(p[1].map((r) => r[0]), [2, 1, 1, 2, 3, 3, 2, 1]);
  assert.deepEqual(p.map((r) => r[2][0]), [1, 1, 4, 4, 1]);
  tf.dispose([x, padded]);
  assert.deepEqual(tileStarts(100, 128, 32), [0]);
  assert.deepEqual(tileStarts(320, 128, 32), [0, 96, 192]);
  assert.deepEqual(tileStarts(256, 128, 0), [0, 128]);
  assert.throws(() => tileStarts(300, 64, 64), /overlap 64 is not below/);
  const w = blendWindow(8, 3, true, false);
  assert.deepEqual(Array.from(w), [0.25, 0.5, 0.75, 1, 1, 1, 1, 1]);
  await assert.rejects(
    runAnySize((t) => t, tf.zeros([8, 8, 3]), { multiple: 4, tile: 6 }),
    /tile 6 is not a multiple of 4/,
  );
});

/** Mean absolute step between neighbouring columns, then rows, inside `border`. */
function steps(img: tf.Tensor3D, border: number): number[] {
  const [h, w, c] = img.shape;
  const v = img.dataSync();
  const out: number[] = [];
  const at = (y: number, x: number, k: number) => v[(y * w + x) * c + k];
  for (let x = border + 1; x < w - border; x++) {
    let s = 0;
    for (let y = border; y < h - border; y++) {
      for (let k = 0; k < c; k++) s += Math.abs(at(y, x, k) - at(y, x - 1, k));
    }
    out.push(s / ((h - 2 * border) * c));
  }
  for (let y = border + 1; y < h - border; y++) {
    let s = 0;
    for (let x = border; x < w - border; x++) {
      for (let k = 0; k < c; k++) s += Math.abs(at(y, x, k) - at(y - 1, x, k));
    }
    out.push(s / ((w - 2 * border) * c));
  }
  return out;
}

/**
 * The seam metric: the largest step between neighbouring columns (or rows)
 * that the tiled output has beyond the whole image's output, over the whole
 * image's median step. A hard tile edge is such an extra step; blended tiles
 * keep it near 0.
 */
function seamExcess(tiled: tf.Tensor3D, whole: tf.Tensor3D): number {
  const t = steps(tiled, 16);
  const w = steps(whole, 16);
  const median = [...w].sort((a, b) => a - b)[Math.floor(w.length / 2)];
  return Math.max(...t.map((s, i) => s - w[i])) / Math.max(median, 1e-6);
}

Deno.test("tiling: blended tiles leave no seam on a constant input; hard tiles do", async () => {
  const G = buildGenerator(generatorSpecFromConfig(TINY));
  const x = tf.fill([320, 320, 3], 0.3) as tf.Tensor3D;
  const whole = await translateImage(G, x, { eval: true });
  const blended = await translateImage(G, x, {
    eval: true,
    tile: 128,
    tileOverlap: 48,
  });
  const hard = await translateImage(G, x, {
    eval: true,
    tile: 128,
    tileOverlap: 0,
  });
  assert.deepEqual(blended.shape, [320, 320, 3]);
  const [eBlend, eHard] = [blended, hard].map((t) => seamExcess(t, whole));
  console.log(
    `seam excess (x median step): blended tiles ${
      eBlend.toFixed(3)
    }, hard tiles ${eHard.toFixed(3)}`,
  );
  assert.ok(eHard > 0.5, `hard tiles show no seam: ${eHard}`);
  assert.ok(eBlend < 0.1, `blended tiles show a seam: ${eBlend}`);
  tf.dispose([x, whole, blended, hard]);
  G.dispose();
});

Deno.test("translateSplit: --preprocess none keeps sizes; single mode reads plain images", async () => {
  const dir = await Deno.makeTempDir();
  await train({
    ...TINY,
    netG: "unet_32",
    cropSize: 32,
    loadSize: 36,
    synthCount: 8,
    checkpointsDir: dir,
    name: "t",
    maxSteps: 1,
    sampleEvery: 0,
  }, { quiet: true });
  const images = `${dir}/plain`;
  await Deno.mkdir(images);
  const data = new Uint8Array(70 * 45 * 3).map((_, i) => (i * 7) % 256);
  await writePng(`${images}/a.png`, { data, width: 70, height: 45 });
  await Deno.writeTextFile(`${images}/notes.txt`, "not an image");
  const s = await translateSplit({
    checkpoint: `${dir}/t`,
    out: `${dir}/single`,
    dataroot: images,
    datasetMode: "single",
    preprocess: "none",
    eval: true,
  });
  assert.equal(s.count, 1);
  const names = [...Deno.readDirSync(`${dir}/single/images`)].map((e) => e.name)
    .sort();
  assert.deepEqual(names, ["a_fake_B.png", "a_real_A.png"]);
  const fake = await readRgb(`${dir}/single/images/a_fake_B.png`);
  assert.deepEqual([fake.width, fake.height], [70, 45]);
  const html = Deno.readTextFileSync(`${dir}/single/index.html`);
  assert.ok(!html.includes("real_B"));
  // Resized by default, to the training size.
  await translateSplit({
    checkpoint: `${dir}/t`,
    out: `${dir}/resized`,
    dataroot: images,
    datasetMode: "single",
    eval: true,
  });
  const small = await readRgb(`${dir}/resized/images/a_fake_B.png`);
  assert.deepEqual([small.width, small.height], [32, 32]);
  // Aligned test split at its own size (the synthetic pairs are 2 x 64 wide).
  await translateSplit({
    checkpoint: `${dir}/t`,
    out: `${dir}/aligned`,
    preprocess: "none",
    eval: true,
    numTest: 1,
  });
  const [first] = [...Deno.readDirSync(`${dir}/aligned/images`)]
    .map((e) => e.name).filter((n) => n.endsWith("_fake_B.png"));
  const out = await readRgb(`${dir}/aligned/images/${first}`);
  const real = await readRgb(
    `${dir}/aligned/images/${first.replace("fake_B", "real_A")}`,
  );
  assert.deepEqual([out.width, out.height], [real.width, real.height]);
  assert.notEqual(out.width, 32);
  await assert.rejects(
    translateSplit({
      checkpoint: `${dir}/t`,
      out: `${dir}/x`,
      dataroot: `${dir}/missing`,
      datasetMode: "single",
    }),
    /missing/,
  );
  await Deno.remove(dir, { recursive: true });
});
