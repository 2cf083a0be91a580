import assert from "node:assert/strict";
import * as tf from "@tensorflow/tfjs";
import "@tensorflow/tfjs-backend-cpu";
import type * as tfl from "@tensorflow/tfjs-layers";
import type { TrainConfig } from "../lib/config.ts";
import { discriminatorLoss, generatorLoss } from "../lib/losses.ts";
import { deriveSeed } from "../lib/util/rng.ts";
import { lrAt, lrFactor } from "../lib/schedule.ts";
import { FACADES_DIR, resolveDataroot } from "../lib/datasets/dataroot.ts";
import { Pix2Pix, readLosses, train } from "../lib/train.ts";
import { lossReadEvery } from "../lib/runtime/backend.ts";
import { type StepRecord, trainingSeconds } from "../lib/report/run_page.ts";
import { randomPair, TINY, TINY32 } from "./train_fixtures.ts";

await tf.setBackend("cpu");

const vars = (m: tfl.LayersModel) =>
  m.trainableWeights.map((w) => w.read() as tf.Variable);

async function maxDiff(a: tf.Tensor[], b: tf.Tensor[]): Promise<number> {
  let worst = 0;
  for (let i = 0; i < a.length; i++) {
    const x = await a[i].data();
    const y = await b[i].data();
    for (let j = 0; j < x.length; j++) {
      worst = Math.max(worst, Math.abs(x[j] - y[j]));
    }
  }
  return worst;
}

Deno.test("schedule: lambda_rule, constant then linear decay", () => {
  const cfg = { lr: 1, epochs: 100, epochsDecay: 100 };
  assert.equal(lrFactor(cfg, 0), 1);
  assert.equal(lrFactor(cfg, 98), 1);
  assert.equal(lrFactor(cfg, 99), 1);
  assert.equal(lrFactor(cfg, 100), 1 - 1 / 101);
  assert.equal(lrFactor(cfg, 199), 1 - 100 / 101);
  assert.equal(lrAt({ lr: 2e-4, epochs: 1, epochsDecay: 1 }, 1), 2e-4 / 2);
});

Deno.test("trainStep with one G forward equals the reference's two-forward step", async () => {
  // Reference order (pix2pix_model.py): fake = G(x); D step on (x,y) vs
  // (x, detach(fake)); G step through the updated D. Written here the naive
  // way, G run twice with the same dropout seed.
  const cfg = { ...TINY, seed: 3 };
  const fast = Pix2Pix.create(cfg);
  const ref = Pix2Pix.create(cfg);
  assert.equal(await maxDiff(vars(fast.G), vars(ref.G)), 0);
  for (let step = 0; step < 2; step++) {
    const b = randomPair(10 * step);
    const got = await fast.trainStep(b, step);
    const seed = deriveSeed(cfg.seed, step);
    const dIn = (x: tf.Tensor4D, y: tf.Tensor4D) => tf.concat([x, y], 3);
    const fake = tf.tidy(() =>
      ref.G.apply(b.input, { training: true, dropoutSeed: seed }) as tf.Tensor4D
    );
    const dTotal = ref.optimizerD!.minimize(
      () =>
        discriminatorLoss(
          ref.D!.apply(dIn(b.input, b.target), { training: true }) as tf.Tensor,
          ref.D!.apply(dIn(b.input, fake), { training: true }) as tf.Tensor,
          cfg.ganMode,
        ).total,
      true,
      vars(ref.D!),
    )!;
    const gTotal = ref.optimizerG.minimize(
      () => {
        const f = ref.G.apply(b.input, {
          training: true,
          dropoutSeed: seed,
        }) as tf.Tensor4D;
        return generatorLoss({
          fakeLogits: ref.D!.apply(dIn(b.input, f), {
            training: true,
          }) as tf.Tensor,
          fake: f,
          target: b.target,
          objective: cfg.loss,
          lambdaL1: cfg.lambdaL1,
          mode: cfg.ganMode,
        }).total;
      },
      true,
      vars(ref.G),
    )!;
    assert.ok(
      Math.abs((got.D_real + got.D_fake) / 2 - dTotal.dataSync()[0]) < 1e-5,
      "D loss",
    );
    assert.ok(
      Math.abs(got.G_GAN + cfg.lambdaL1 * got.G_L1 - gTotal.dataSync()[0]) <
        1e-3,
      "G loss",
    );
    tf.dispose([b.input, b.target, fake, dTotal, gTotal]);
  }
  const dG = await maxDiff(vars(fast.G), vars(ref.G));
  const dD = await maxDiff(vars(fast.D!), vars(ref.D!));
  assert.ok(dG < 1e-5 && dD < 1e-5, `weights differ: G ${dG}, D ${dD}`);
  // ...and the weights did move.
  const fresh = Pix2Pix.create(cfg);
  assert.ok(await maxDiff(vars(fast.G), vars(fresh.G)) > 1e-4);
  [fast, ref, fresh].forEach((m) => m.dispose());
});

/** 32px U-Net (no dropout block at this depth), for the fast tests. */
function pair32(seed: number) {
  const input = tf.randomUniform(
    [1, 32, 32, 3],
    -1,
    1,
    "float32",
    seed,
  ) as tf.Tensor4D;
  return { input, target: tf.neg(input) as tf.Tensor4D };
}

Deno.test("no tensor leaks: tensor count and bytes are flat across steps", async () => {
  for (const loss of ["l1+cgan", "l1", "gan"] as const) {
    const m = Pix2Pix.create({ ...TINY32, loss });
    const b = pair32(1);
    await m.trainStep(b, 0); // creates Adam's moments
    const before = tf.memory();
    for (let s = 1; s < 4; s++) await m.trainStep(b, s);
    const after = tf.memory();
    assert.equal(after.numTensors, before.numTensors, loss);
    assert.equal(after.numBytes, before.numBytes, loss);
    tf.dispose([b.input, b.target]);
    m.dispose();
  }
});

Deno.test("losses fall: the L1 objective overfits one pair", async () => {
  const m = Pix2Pix.create({ ...TINY32, loss: "l1", lr: 1e-2 });
  const b = pair32(5);
  const first = await m.trainStep(b, 0);
  let last = first;
  for (let s = 1; s < 20; s++) last = await m.trainStep(b, s);
  assert.equal(first.D_real, 0);
  // Measured on cpu: 0.506 -> 0.325 after 20 steps.
  assert.ok(last.G_L1 < 0.75 * first.G_L1, `L1 ${first.G_L1} -> ${last.G_L1}`);
  tf.dispose([b.input, b.target]);
  m.dispose();
});

function readLog(dir: string): StepRecord[] {
  return Deno.readTextFileSync(`${dir}/loss_log.jsonl`).trim().split("\n").map((
    l,
  ) => JSON.parse(l));
}

Deno.test("train() on the synthetic set writes a run folder; stop + resume equals an uninterrupted run", async () => {
  const dir = await Deno.makeTempDir();
  const cfg: TrainConfig = {
    ...TINY32,
    checkpointsDir: dir,
    synthCount: 5,
    loadSize: 36,
    epochs: 1,
    epochsDecay: 1,
    sampleEvery: 4,
    saveEvery: 3,
  };
  const events: { step: number; G_L1: number; epoch: number }[] = [];
  let grid: { width: number; height: number; bytes: number } | null = null;
  const full = await train({ ...cfg, name: "full" }, {
    quiet: true,
    onStep: async (e) => {
      events.push({ step: e.step, G_L1: e.losses.G_L1, epoch: e.epoch });
      assert.equal(e.lastStep, 10);
      if (e.step === 4) {
        const g = await e.samples();
        grid = { width: g.width, height: g.height, bytes: g.data.length };
      }
    },
  });
  assert.equal(full.steps, 10);
  // onStep: once per step, with the step's losses and a 3-row sample grid.
  assert.deepEqual(events.map((e) => e.step), [1, 2, 3, 4, 5, 6, 7, 8, 9, 10]);
  assert.deepEqual(grid, {
    width: 3 * cfg.cropSize,
    height: 3 * cfg.cropSize,
    bytes: 27 * cfg.cropSize ** 2,
  });
  const run = `${dir}/full`;
  for (
    const f of [
      "config.json",
      "index.html",
      "plotly.min.js",
      "samples/latest.png",
      "samples/step_000004.png",
      "checkpoints/latest",
    ]
  ) {
    assert.ok(Deno.statSync(`${run}/${f}`).isFile, f);
  }
  assert.deepEqual(JSON.parse(Deno.readTextFileSync(`${run}/config.json`)), {
    ...cfg,
    name: "full",
    valSource: "none", // auto resolved: no val/ folder, 10% of 5 pairs is 0
  });
  const html = Deno.readTextFileSync(`${run}/index.html`);
  assert.ok(html.includes('src="plotly.min.js"') && html.includes("G_L1"));
  const log = readLog(run);
  assert.deepEqual(log.map((r) => r.step), [1, 2, 3, 4, 5, 6, 7, 8, 9, 10]);
  assert.deepEqual(events.map((e) => e.G_L1), log.map((r) => r.G_L1));
  assert.deepEqual(events.map((e) => e.epoch), log.map((r) => r.epoch));
  assert.equal(log[4].lr, cfg.lr);
  assert.equal(log[5].lr, cfg.lr / 2);

  // Interrupted after 7 steps (mid-epoch), resumed to the end.
  await train({ ...cfg, name: "cut", maxSteps: 7 }, { quiet: true });
  const resumed = await train({ ...cfg, name: "cut", resume: true }, {
    quiet: true,
  });
  assert.equal(resumed.stepsThisRun, 3);
  const cut = readLog(`${dir}/cut`);
  assert.deepEqual(cut.map((r) => r.step), log.map((r) => r.step));
  // Bit-identical: same data order and jitter, same dropout masks, same
  // optimizer state (including Adam's running beta powers).
  const losses = (r: StepRecord) => [r.G_GAN, r.G_L1, r.D_real, r.D_fake, r.lr];
  assert.deepEqual(cut.map(losses), log.map(losses));
  // The log's clock restarts at the resume; the total counts both pieces.
  assert.ok(cut[7].seconds < cut[6].seconds);
  assert.equal(trainingSeconds(cut), cut[6].seconds + cut[9].seconds);
  await Deno.remove(dir, { recursive: true });
});

Deno.test("trainingSeconds sums the pieces of a resumed log", () => {
  const at = (seconds: number) => ({ seconds }) as StepRecord;
  assert.equal(trainingSeconds([]), 0);
  assert.equal(trainingSeconds([at(1), at(2), at(3)]), 3);
  assert.equal(trainingSeconds([at(1), at(5), at(2), at(4), at(1)]), 10);
});

Deno.test("train() runs on facades (tiny)", async () => {
  if (!(await Deno.stat(FACADES_DIR).catch(() => null))) {
    console.log(`skipped: ${FACADES_DIR} not found`);
    return;
  }
  const dir = await Deno.makeTempDir();
  const s = await train({
    ...TINY32,
    dataroot: FACADES_DIR,
    direction: "BtoA",
    loadSize: 36,
    checkpointsDir: dir,
    name: "facades",
    maxSteps: 2,
    sampleEvery: 0,
    // Without the validation FCN-score of a cached facades segmenter, if any.
  }, { quiet: true, segmenter: null });
  assert.equal(s.steps, 2);
  assert.ok(
    s.final !== null && Number.isFinite(s.final.G_L1) && s.final.G_L1 > 0,
  );
  await Deno.remove(dir, { recursive: true });
});

Deno.test("resolveDataroot: the config's folder, or the synthetic set with train/ and test/", async () => {
  assert.equal(
    await resolveDataroot({ ...TINY, dataroot: "/some/where" }),
    "/some/where",
  );
  const synth = await resolveDataroot({
    ...TINY,
    dataroot: null,
    synthCount: 4,
    loadSize: 32,
  });
  for (const split of ["train", "test"]) {
    assert.ok(Deno.statSync(`${synth}/${split}`).isDirectory, split);
  }
  assert.equal([...Deno.readDirSync(`${synth}/train`)].length, 4);
});

Deno.test("readLosses: many steps' terms in one read, in order, 0 for missing D terms; tensors freed", async () => {
  const s = (...v: number[]) => v.map((x) => tf.scalar(x));
  const [a, b, c, d] = s(1, 2, 3, 4);
  const [e, f] = s(5, 6);
  const before = tf.memory().numTensors;
  const got = await readLosses([
    { G_GAN: a, G_L1: b, D_real: c, D_fake: d },
    { G_GAN: e, G_L1: f },
  ]);
  assert.deepEqual(got, [
    { G_GAN: 1, G_L1: 2, D_real: 3, D_fake: 4 },
    { G_GAN: 5, G_L1: 6, D_real: 0, D_fake: 0 },
  ]);
  assert.equal(tf.memory().numTensors, before - 6);
  assert.deepEqual(await readLosses([]), []);
  assert.equal(lossReadEvery("webgpu"), 10);
  assert.equal(lossReadEvery("wasm"), 1);
});
