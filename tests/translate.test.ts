import assert from "node:assert/strict";
import * as tf from "@tensorflow/tfjs";
import "@tensorflow/tfjs-backend-cpu";
import { resolveDataroot } from "../lib/datasets/dataroot.ts";
import { train } from "../lib/train.ts";
import { SHEET_FILE, translate, translateSplit } from "../lib/translate.ts";
import { hconcat, readRgb } from "../lib/util/image.ts";
import { buildGenerator, generatorSpecFromConfig } from "../lib/unet.ts";
import { TINY } from "./train_fixtures.ts";

await tf.setBackend("cpu");

async function same(a: tf.Tensor, b: tf.Tensor): Promise<boolean> {
  const [x, y] = [await a.data(), await b.data()];
  return x.every((v, i) => v === y[i]);
}

Deno.test("translate: --eval is deterministic; the paper's test mode is seeded and leaves the model unchanged", async () => {
  const G = buildGenerator(generatorSpecFromConfig(TINY));
  const x = tf.randomUniform(
    [2, 64, 64, 3],
    -1,
    1,
    "float32",
    1,
  ) as tf.Tensor4D;
  const statsBefore = G.nonTrainableWeights.map((w) => w.read().clone());
  const e1 = translate(G, x, { eval: true });
  const e2 = translate(G, x, { eval: true });
  assert.ok(await same(e1, e2), "eval mode differs between calls");
  const t1 = translate(G, x, { dropoutSeed: 4 });
  const t2 = translate(G, x, { dropoutSeed: 4 });
  const t3 = translate(G, x, { dropoutSeed: 5 });
  assert.ok(await same(t1, t2), "same dropout seed, different output");
  assert.ok(!(await same(t1, t3)), "different dropout seeds, same output");
  assert.ok(!(await same(t1, e1)), "test mode equals eval mode");
  for (let i = 0; i < statsBefore.length; i++) {
    assert.ok(
      await same(statsBefore[i], G.nonTrainableWeights[i].read()),
      "moving stats changed",
    );
  }
  // One image (rank 3) gives the same as the batch's first row in eval mode.
  const one = translate(G, tf.slice(x, [0], [1]).squeeze([0]) as tf.Tensor3D, {
    eval: true,
  });
  assert.deepEqual(one.shape, [64, 64, 3]);
  assert.ok(await same(one, tf.slice(e1, [0], [1]).squeeze([0])));
  const out = await e1.data();
  assert.ok(out.every((v) => v >= -1 && v <= 1));
  tf.dispose([x, e1, e2, t1, t2, t3, one, ...statsBefore]);
  G.dispose();
});

Deno.test("translateSplit writes real_A/fake_B/real_B and a gallery", async () => {
  const dir = await Deno.makeTempDir();
  await train({
    ...TINY,
    netG: "unet_32",
    cropSize: 32,
    loadSize: 36,
    direction: "BtoA",
    synthCount: 8, // the synthetic test split gets a quarter: 2 pairs
    checkpointsDir: dir,
    name: "t",
    maxSteps: 1,
    sampleEvery: 0,
  }, { quiet: true });
  const out = `${dir}/results`;
  const s = await translateSplit({
    checkpoint: `${dir}/t`,
    out,
    eval: true,
    numTest: 2,
  });
  assert.equal(s.count, 2);
  assert.equal(s.config.phase, "test");
  const names = [...Deno.readDirSync(`${out}/images`)].map((e) => e.name)
    .sort();
  assert.deepEqual(names, [
    "1_fake_B.png",
    "1_real_A.png",
    "1_real_B.png",
    "2_fake_B.png",
    "2_real_A.png",
    "2_real_B.png",
  ]);
  const html = Deno.readTextFileSync(`${out}/index.html`);
  assert.ok(
    html.includes('src="images/2_fake_B.png"') && html.includes("eval mode"),
  );
  // Eval mode twice gives identical files; a sheet of the first row holds
  // the row's input | output | target pixels, side by side, at full size.
  const first = Deno.readFileSync(`${out}/images/1_fake_B.png`);
  await translateSplit({
    checkpoint: `${dir}/t`,
    out: `${dir}/again`,
    eval: true,
    numTest: 2,
    sheet: 1,
  });
  const sheet = await readRgb(`${dir}/again/${SHEET_FILE}`);
  const row = await Promise.all(
    ["real_A", "fake_B", "real_B"].map((k) =>
      readRgb(`${dir}/again/images/1_${k}.png`)
    ),
  );
  assert.deepEqual([sheet.width, sheet.height], [96, 32]);
  assert.deepEqual(sheet.data, hconcat(...row).data);
  await assert.rejects(
    translateSplit({
      checkpoint: `${dir}/t`,
      out: `${dir}/nosheet`,
      preprocess: "none",
      sheet: 2,
    }),
    /sheet: .*not with preprocess none/,
  );
  assert.deepEqual(
    Deno.readFileSync(`${dir}/again/images/1_fake_B.png`),
    first,
  );
  await assert.rejects(
    translateSplit({ checkpoint: `${dir}/nothing`, out }),
    /no checkpoint in .*nothing/,
  );
  // 1.jpg and 1.png in one split do not overwrite each other's results.
  const synthTest = `${await resolveDataroot(s.config)}/test`;
  const [file] = [...Deno.readDirSync(synthTest)].map((e) => e.name).sort();
  const pair = Deno.readFileSync(`${synthTest}/${file}`);
  Deno.mkdirSync(`${dir}/data/test`, { recursive: true });
  Deno.writeFileSync(`${dir}/data/test/1.png`, pair);
  Deno.writeFileSync(`${dir}/data/test/1.jpg`, pair);
  await translateSplit({
    checkpoint: `${dir}/t`,
    out: `${dir}/same`,
    dataroot: `${dir}/data`,
    eval: true,
  });
  assert.deepEqual(
    [...Deno.readDirSync(`${dir}/same/images`)].map((e) => e.name).sort(),
    ["1_jpg", "1_png"].flatMap((n) =>
      ["fake_B", "real_A", "real_B"].map((k) => `${n}_${k}.png`)
    ),
  );
  await Deno.remove(dir, { recursive: true });
});
