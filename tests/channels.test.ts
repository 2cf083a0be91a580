/**
 * Channel counts end to end: RGBA folders combine into an RGBA dataset that
 * trains and translates with
 * `--input-nc 4 --output-nc 4` (RGBA) and `2` (gray + alpha); results and
 * samples are PNGs with that alpha, and counts a PNG cannot hold are refused
 * naming the flag.
 */
import assert from "node:assert/strict";
import { runTask } from "./cli_fixtures.ts";
import sharp from "sharp";
import * as tf from "@tensorflow/tfjs";
import "@tensorflow/tfjs-backend-cpu";
import { toChannels } from "../lib/data.ts";
import { checkDataset } from "../lib/datasets/check.ts";
import { combineFolders } from "../lib/datasets/combine.ts";
import { cropRgb, resizeRgb } from "../lib/util/image.ts";

async function task(cli: string, ...args: string[]) {
  const out = await runTask(cli, args);
  return { code: out.code, text: out.stdout + out.stderr };
}

/** A 32x32 RGBA half: colored stripes, alpha varying across (B darker). */
async function rgbaHalf(path: string, seed: number, b: boolean) {
  const w = 32, h = 32;
  const data = new Uint8Array(w * h * 4).map((_, i) => {
    const p = i >> 2, x = p % w, y = Math.floor(p / w), c = i & 3;
    if (c === 3) return 40 + x * 6;
    return ((x + y + seed * 5) % 12 < 6 ? 50 : 200) + c * 10 - (b ? 30 : 0);
  });
  await sharp(data, { raw: { width: w, height: h, channels: 4 } }).png()
    .toFile(path);
}

Deno.test("channels: toChannels gives luma, luma + alpha, RGB and RGBA of an RGBA batch", async () => {
  await tf.setBackend("cpu");
  const x = tf.tensor4d([0.2, 0.4, -0.6, 0.5], [1, 1, 1, 4]);
  const luma = 0.299 * 0.2 + 0.587 * 0.4 + 0.114 * -0.6;
  const close = async (t: tf.Tensor, want: number[]) => {
    const got = [...await t.data()];
    assert.equal(got.length, want.length);
    got.forEach((v, i) => assert.ok(Math.abs(v - want[i]) < 1e-6, `${got}`));
  };
  await close(toChannels(x, 1), [luma]);
  await close(toChannels(x, 2), [luma, 0.5]);
  await close(toChannels(x, 3), [0.2, 0.4, -0.6]);
  assert.equal(toChannels(x, 4), x);
  assert.throws(
    () => toChannels(tf.zeros([1, 1, 1, 3]) as tf.Tensor4D, 2),
    /RGBA input/,
  );
});

Deno.test("channels: RGBA resize and flipped crop equal the RGB ones, channel by channel", async () => {
  const [w, h] = [23, 17];
  const rgba = new Uint8Array(w * h * 4).map((_, i) =>
    (i * 97 + (i >> 3)) % 256
  );
  const plane = (cs: number[]) => {
    const out = new Uint8Array(w * h * 3);
    for (let p = 0; p < w * h; p++) {
      cs.forEach((c, j) => out[p * 3 + j] = rgba[p * 4 + c]);
    }
    return { data: out, width: w, height: h };
  };
  const four = { data: rgba, width: w, height: h, channels: 4 as const };
  for (
    const op of [
      (im: typeof four | ReturnType<typeof plane>) => resizeRgb(im, 31, 9),
      (im: typeof four | ReturnType<typeof plane>) =>
        Promise.resolve(cropRgb(im, 3, 2, 15, 11, true)),
    ]
  ) {
    const got = await op(four);
    assert.equal(got.channels, 4);
    const rgb = await op(plane([0, 1, 2]));
    const alpha = await op(plane([3, 3, 3]));
    const n = got.width * got.height;
    assert.equal(got.data.length, n * 4);
    for (let p = 0; p < n; p++) {
      for (let c = 0; c < 3; c++) {
        assert.equal(got.data[p * 4 + c], rgb.data[p * 3 + c]);
      }
      assert.equal(got.data[p * 4 + 3], alpha.data[p * 3]);
    }
  }
});

Deno.test("channels: RGBA (4) and gray + alpha (2) train and translate to PNGs with alpha; 5 is refused", async () => {
  const dir = await Deno.makeTempDir();
  for (const [split, n] of [["train", 4], ["test", 2]] as const) {
    for (const side of ["A", "B"]) {
      await Deno.mkdir(`${dir}/${side}/${split}`, { recursive: true });
      for (let i = 0; i < n; i++) {
        await rgbaHalf(`${dir}/${side}/${split}/${i}.png`, i, side === "B");
      }
      // An opaque pair: combined as RGB, read as opaque RGBA.
      await sharp({
        create: { width: 32, height: 32, channels: 3, background: "#468" },
      }).png().toFile(`${dir}/${side}/${split}/opaque.png`);
    }
  }
  const combined = await combineFolders({
    a: `${dir}/A`,
    b: `${dir}/B`,
    out: `${dir}/AB`,
    resizeB: false,
  });
  assert.equal(combined.written, 8);
  assert.equal((await sharp(`${dir}/AB/train/0.png`).metadata()).channels, 4);
  assert.equal(
    (await sharp(`${dir}/AB/train/opaque.png`).metadata()).channels,
    3,
  );
  // check counts the files with alpha; all RGBA: it suggests 4 channels.
  assert.equal((await checkDataset(`${dir}/AB`)).alpha, 6);
  await Deno.mkdir(`${dir}/rgba/train`, { recursive: true });
  for (const i of [0, 1]) {
    await Deno.copyFile(
      `${dir}/AB/train/${i}.png`,
      `${dir}/rgba/train/${i}.png`,
    );
  }
  const { settings } = (await checkDataset(`${dir}/rgba`)).suggestion!;
  assert.equal(settings.inputNc, 4);
  assert.equal(settings.outputNc, 4);
  const common = [
    "--dataroot",
    `${dir}/AB`,
    "--preset",
    "cpu64",
    "--load-size",
    "32",
    "--crop-size",
    "32",
    "--net-g",
    "unet_32",
    "--ngf",
    "4",
    "--ndf",
    "4",
    "--backend",
    "cpu",
    "--checkpoints-dir",
    dir,
  ];
  for (const nc of [4, 2]) {
    const name = `nc${nc}`;
    const trained = await task(
      "train",
      ...common,
      "--input-nc",
      `${nc}`,
      "--output-nc",
      `${nc}`,
      "--max-steps",
      "2",
      "--name",
      name,
    );
    assert.equal(trained.code, 0, trained.text);
    const card = JSON.parse(
      await Deno.readTextFile(`${dir}/${name}/model_card.json`),
    );
    assert.deepEqual([card.model.inputNc, card.model.outputNc], [nc, nc]);
    // The sample grid keeps alpha: RGBA (gray shown as RGB).
    const sample = await sharp(`${dir}/${name}/samples/latest.png`).metadata();
    assert.equal(sample.channels, 4, `samples: ${sample.channels} channels`);
    const out = `${dir}/res${nc}`;
    const translated = await task(
      "translate",
      "--checkpoint",
      `${dir}/${name}`,
      "--out",
      out,
      "--eval",
      "--backend",
      "cpu",
    );
    assert.equal(translated.code, 0, translated.text);
    for (const kind of ["real_A", "fake_B", "real_B"]) {
      const file = `${out}/images/0_${kind}.png`;
      const meta = await sharp(file).metadata();
      assert.equal(meta.channels, nc, `${file}: ${meta.channels} channels`);
      assert.ok(meta.hasAlpha, `${file} has alpha`);
      assert.deepEqual([meta.width, meta.height], [32, 32]);
    }
    // The real target's alpha survives the round trip: it varies, as drawn.
    const { data } = await sharp(`${out}/images/0_real_B.png`).raw()
      .toBuffer({ resolveWithObject: true });
    const alphas = new Set<number>();
    for (let i = nc - 1; i < data.length; i += nc) alphas.add(data[i]);
    assert.ok(alphas.size > 10, `alpha values: ${[...alphas]}`);
  }
  for (const flag of ["--input-nc", "--output-nc"]) {
    const refused = await task(
      "train",
      ...common,
      flag,
      "5",
      "--max-steps",
      "1",
      "--name",
      "nc5",
    );
    assert.notEqual(refused.code, 0);
    assert.match(refused.text, new RegExp(`${flag} 5: .*RGBA`));
  }
  await Deno.remove(dir, { recursive: true });
});
