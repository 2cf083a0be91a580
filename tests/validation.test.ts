import assert from "node:assert/strict";
import { runTask } from "./cli_fixtures.ts";
import * as tf from "@tensorflow/tfjs";
import "@tensorflow/tfjs-backend-cpu";
import { loadCheckpoint } from "../lib/checkpoint.ts";
import { DEFAULT_CONFIG, type TrainConfig } from "../lib/config.ts";
import {
  readLossLog,
  readValLog,
  type StepRecord,
  trainingWarnings,
} from "../lib/report/run_page.ts";
import { writeSynthDataset } from "../lib/datasets/synth.ts";
import { TrainingDivergedError } from "../lib/errors.ts";
import { train } from "../lib/train.ts";
import { recordTestScores } from "../lib/report/model_card.ts";
import { heldOutSlice, validationScores } from "../lib/validation.ts";
import { openAlignedDataset } from "../lib/data.ts";
import { rgbToClasses } from "../lib/datasets/facades.ts";
import { tensorToRgb } from "../lib/util/image.ts";
import { buildGenerator, generatorSpecFromConfig } from "../lib/unet.ts";

await tf.setBackend("cpu");

const CFG: TrainConfig = {
  ...DEFAULT_CONFIG,
  netG: "unet_32",
  cropSize: 32,
  loadSize: 36,
  ngf: 4,
  ndf: 4,
  backend: "cpu",
  name: "v",
  sampleEvery: 4,
};

Deno.test("heldOutSlice: seeded, floor(fraction * n), a subset", () => {
  const files = Array.from({ length: 25 }, (_, i) => `f${i}`);
  const a = heldOutSlice(files, 0.1, 3);
  assert.equal(a.size, 2);
  assert.deepEqual(heldOutSlice(files, 0.1, 3), a);
  assert.notDeepEqual([...heldOutSlice(files, 0.2, 4)], [...a].slice(0, 5));
  assert.ok([...a].every((f) => files.includes(f)));
  assert.equal(heldOutSlice(files.slice(0, 9), 0.1, 3).size, 0);
});

Deno.test("train: a seeded val slice, validation L1 every epoch, checkpoints/best, run page", async () => {
  const dir = await Deno.makeTempDir();
  const s = await train({
    ...CFG,
    synthCount: 10, // 1 held out, 9 trained on
    epochs: 1,
    epochsDecay: 1,
    checkpointsDir: dir,
    sampleEvery: 6,
  }, { quiet: true });
  const run = `${dir}/v`;
  const config = JSON.parse(Deno.readTextFileSync(`${run}/config.json`));
  assert.equal(config.valSource, "slice");
  assert.equal(s.steps, 2 * 9, "9 of 10 pairs per epoch");
  const val = await readValLog(run);
  assert.deepEqual(val.map((r) => r.step), [9, 18]);
  assert.ok(val.every((r) => r.val_L1 > 0 && r.val_L1 < 1));
  const best = val.reduce((b, r) => r.val_L1 < b.val_L1 ? r : b);
  assert.deepEqual(s.best, best);
  const bestCkpt = await loadCheckpoint(`${run}/checkpoints/best`);
  assert.equal(bestCkpt.step, best.step);
  // best/ links the step's files rather than serialising the models again.
  const inode = (p: string) => Deno.statSync(p).ino;
  const stepName = `step_${String(best.step).padStart(8, "0")}`;
  assert.equal(
    inode(`${run}/checkpoints/best/${stepName}/G/model.json`),
    inode(`${run}/checkpoints/${stepName}/G/model.json`),
  );
  bestCkpt.G.dispose();
  bestCkpt.D?.dispose();
  const html = Deno.readTextFileSync(`${run}/index.html`);
  for (const part of ["Validation", 'id="slider"', '"lr"', "valSource"]) {
    assert.ok(html.includes(part), `run page lacks ${part}`);
  }
  // The model card: written with the model, shown by summary --checkpoint.
  const card = JSON.parse(Deno.readTextFileSync(`${run}/model_card.json`));
  assert.equal(card.training.steps, 18);
  assert.equal(card.training.epochs, 2);
  assert.equal(card.training.status, "finished");
  assert.match(card.training.backend, /^cpu/);
  assert.ok(card.training.seconds > 0);
  assert.equal(card.data.trainPairs, 9);
  assert.deepEqual(card.data.validation, { source: "slice", pairs: 1 });
  assert.deepEqual(card.scores.best, { valL1: best.val_L1, step: best.step });
  assert.equal(card.scores.valL1, val[1].val_L1);
  assert.equal(card.model.sizeMultiple, 32);
  assert.ok(card.model.paramsG > 0 && card.model.paramsD > 0);
  const shown = await runTask("summary", [
    "--checkpoint",
    `${run}/checkpoints/best`,
  ]);
  const text = shown.stdout;
  assert.equal(shown.code, 0, shown.stderr);
  assert.match(text, /# Model card: v/);
  assert.match(text, /18 steps, 2 epochs of 2 \(finished\)/);
  assert.match(
    text,
    /validation: 1 pairs \(a seeded 10% slice held out of train\)/,
  );
  assert.match(text, /--eval/);
  // The card as written by the library, then the CLI's commands for the run.
  const cardMd = Deno.readTextFileSync(`${run}/MODEL_CARD.md`).trim();
  assert.ok(text.startsWith(cardMd), text);
  assert.match(
    text.slice(cardMd.length),
    /next:\n +deno task translate --checkpoint /,
  );
  assert.ok(!cardMd.includes("deno task"), "the library names no deno task");
  assert.match(cardMd, /loadGenerator\(/);
  // Test-split scores go onto the card of the run a checkpoint belongs to.
  const scores = { per_pixel_acc: 0.61, per_class_acc: 0.42, class_iou: 0.3 };
  const report = {
    ...scores,
    n_images: 7,
    l1: 0.1234,
    psnr: 15.5,
    ssim: 0.321,
    colourfulness: 20,
    colourfulness_real: 21,
    ground_truth: { per_pixel_acc: 0.7, per_class_acc: 0.5, class_iou: 0.4 },
  };
  assert.equal(
    await recordTestScores(`${run}/checkpoints/best`, {
      evaluated: "2026-01-01T00:00:00Z",
      mode: "paper",
      report,
      segmenter: "segmenter: a fake one",
    }),
    run,
  );
  const scored = JSON.parse(Deno.readTextFileSync(`${run}/model_card.json`));
  assert.deepEqual(scored.test.report, report);
  assert.deepEqual(scored.training, card.training, "the rest is kept");
  const scoredMd = Deno.readTextFileSync(`${run}/MODEL_CARD.md`);
  assert.match(scoredMd, /## Test split \(7 images, paper test mode/);
  assert.match(
    scoredMd,
    /\| generated photos \| 0\.610 \| 0\.420 \| 0\.300 \| 0\.123 \| 15\.50 \| 0\.321 \|/,
  );
  assert.match(scoredMd, /\| real photos \| 0\.700 \| 0\.500 \| 0\.400 \|/);
  assert.equal(await recordTestScores(dir, { ...scored.test }), null);
  // The sample slider lists every grid written (every 6 steps, and the end).
  for (const step of ["000006", "000012", "000018"]) {
    assert.ok(html.includes(`samples/step_${step}.png`), step);
  }
  await Deno.remove(dir, { recursive: true });
});

Deno.test("train: a val/ folder is used when it exists; --val-source none turns validation off", async () => {
  const dir = await Deno.makeTempDir();
  const root = `${dir}/data`;
  await writeSynthDataset(root, {
    count: 4,
    size: 36,
    seed: 1,
    splits: { train: 4, val: 2 },
  });
  // A segmenter (here a fake: every pixel class 0, at the 32 px crop size)
  // adds the FCN-score.
  const zeros = { segment: () => Promise.resolve(new Uint8Array(32 * 32)) };
  const s = await train({
    ...CFG,
    dataroot: root,
    epochs: 1,
    epochsDecay: 0,
    checkpointsDir: dir,
    direction: "BtoA",
  }, { quiet: true, segmenter: zeros });
  assert.equal(s.steps, 4, "the whole train split is trained on");
  const cfg = JSON.parse(Deno.readTextFileSync(`${dir}/v/config.json`));
  assert.equal(cfg.valSource, "folder");
  const vlog = await readValLog(`${dir}/v`);
  assert.equal(vlog.length, 1);
  const acc = vlog[0].fcn_pixel_acc!;
  assert.ok(acc > 0 && acc < 1, `FCN per-pixel acc ${acc}`);
  const { fcn_class_acc: classAcc, fcn_class_iou: iou } = vlog[0];
  assert.ok(classAcc! > 0 && classAcc! < 1, `FCN per-class acc ${classAcc}`);
  assert.ok(iou! > 0 && iou! < acc, `FCN class IoU ${iou}`);
  const card = JSON.parse(Deno.readTextFileSync(`${dir}/v/model_card.json`));
  assert.equal(card.scores.valFcnPixelAcc, acc);
  const page = Deno.readTextFileSync(`${dir}/v/index.html`);
  for (
    const name of ["FCN per-pixel acc", "FCN per-class acc", "FCN class IoU"]
  ) {
    assert.ok(page.includes(`<th>${name}</th>`), `${name} in the table`);
    assert.ok(page.includes(`"name":"${name}"`), `${name} in the chart`);
  }
  assert.ok(page.includes(`<td>${iou!.toFixed(3)}</td>`));
  const off = await train({
    ...CFG,
    dataroot: root,
    epochs: 1,
    epochsDecay: 0,
    valSource: "none",
    checkpointsDir: dir,
    name: "off",
  }, { quiet: true });
  assert.equal(off.best, null);
  assert.equal((await readValLog(`${dir}/off`)).length, 0);
  await Deno.remove(dir, { recursive: true });
});

Deno.test("train: stops with a clear message on NaN and keeps the last good checkpoint", async () => {
  const dir = await Deno.makeTempDir();
  const base = {
    ...CFG,
    synthCount: 8,
    epochs: 1,
    epochsDecay: 0,
    checkpointsDir: dir,
    saveEvery: 1,
    valSource: "none" as const,
  };
  // From scratch, lr 1e30 overflows at the first step: nothing is saved.
  await assert.rejects(
    train({ ...base, name: "fresh", lr: 1e30 }, { quiet: true }),
    /training diverged at step 1: .*not a finite number.*no checkpoint was saved/,
  );
  assert.equal(
    await Deno.stat(`${dir}/fresh/checkpoints/latest`).catch(() => null),
    null,
  );
  // Two good steps, then the run resumes with lr 1e30 (a change a resume
  // accepts): step 3 overflows.
  await train({ ...base, maxSteps: 2 }, { quiet: true });
  await assert.rejects(
    train({ ...base, lr: 1e30, resume: true }, { quiet: true }),
    (e: Error) => {
      assert.ok(e instanceof TrainingDivergedError, e.message);
      assert.match(e.message, /training diverged at step 3: /);
      assert.match(e.message, /not a finite number/);
      assert.match(e.message, /last good checkpoint is .* \(step 2\)/);
      return true;
    },
  );
  const after = await loadCheckpoint(`${dir}/v`);
  assert.equal(after.step, 2, "the last good checkpoint is still latest");
  assert.ok(
    after.G.weights.every((w) =>
      (w.read().dataSync() as Float32Array).every(Number.isFinite)
    ),
  );
  after.G.dispose();
  after.D?.dispose();
  const html = Deno.readTextFileSync(`${dir}/v/index.html`);
  assert.ok(html.includes("training diverged at step 3"));
  const log = await readLossLog(`${dir}/v`);
  assert.equal(log.length, 3);
  assert.ok(
    [log[2].G_GAN, log[2].G_L1, log[2].D_real, log[2].D_fake].some((v) =>
      !Number.isFinite(v as number | null)
    ),
  );
  await Deno.remove(dir, { recursive: true });
});

function records(
  n: number,
  f: (i: number) => Partial<StepRecord>,
): StepRecord[] {
  return Array.from({ length: n }, (_, i) => ({
    step: i + 1,
    epoch: 0,
    lr: 2e-4,
    G_GAN: 1,
    G_L1: 0.3,
    D_real: 0.6,
    D_fake: 0.6,
    seconds: i,
    ...f(i),
  }));
}

Deno.test("trainingWarnings: D near zero for long, G_GAN exploding, NaN; quiet on a normal run", () => {
  assert.deepEqual(trainingWarnings(records(300, () => ({})), true), []);
  const dZero = trainingWarnings(
    records(300, (i) => i >= 100 ? { D_real: 0.01, D_fake: 0.005 } : {}),
    true,
  );
  assert.equal(dZero.length, 1);
  assert.match(dZero[0], /D loss near zero .* for 200 steps \(101-300\)/);
  // A short dip is not a warning, nor an objective without GAN.
  assert.deepEqual(
    trainingWarnings(
      records(300, (i) => i >= 100 && i < 130 ? { D_real: 0, D_fake: 0 } : {}),
      true,
    ),
    [],
  );
  assert.deepEqual(
    trainingWarnings(records(300, () => ({ D_real: 0, D_fake: 0 })), false),
    [],
  );
  const explode = trainingWarnings(
    records(300, (i) => i >= 280 ? { G_GAN: 30 } : {}),
    true,
  );
  assert.equal(explode.length, 1);
  assert.match(explode[0], /G_GAN exploding: 30\.00/);
  const nan = trainingWarnings(
    records(30, (i) => i === 20 ? { G_L1: null as unknown as number } : {}),
    false,
  );
  assert.match(nan[0], /G_L1 not a finite number .* at step 21/);
});

Deno.test("validationScores: L1 and the FCN-scores (per-pixel, per-class accuracy, class IoU) of a segmenter against the input labels", async () => {
  const dir = await Deno.makeTempDir();
  await writeSynthDataset(dir, {
    count: 2,
    size: 32,
    seed: 2,
    splits: { val: 2 },
  });
  const dataset = await openAlignedDataset({
    ...CFG,
    dataroot: dir,
    phase: "val",
    direction: "BtoA", // input: the label map
    loadSize: 32,
    noFlip: true,
    shuffle: false,
    workers: 0,
  });
  const labels: Uint8Array[] = [];
  for await (const b of dataset.batches(0)) {
    const image = tf.squeeze(b.input, [0]) as tf.Tensor3D;
    labels.push(rgbToClasses(await tensorToRgb(image), 32 * 32));
    image.dispose();
    tf.dispose([b.input, b.target]);
  }
  const G = buildGenerator(generatorSpecFromConfig(CFG));
  let call = 0;
  const oracle = { segment: () => Promise.resolve(labels[call++ % 2]) };
  const zeros = {
    segment: () => Promise.resolve(new Uint8Array(32 * 32)),
  };
  const plain = await validationScores(G, dataset, 0);
  assert.equal(plain.fcn, null);
  assert.ok(plain.l1 > 0 && plain.l1 < 1);
  const perfect = await validationScores(G, dataset, 0, oracle);
  assert.deepEqual(perfect.fcn, {
    per_pixel_acc: 1,
    per_class_acc: 1,
    class_iou: 1,
  });
  assert.equal(perfect.l1, plain.l1, "same seeded masks, same L1");
  const zero = await validationScores(G, dataset, 0, zeros);
  const share =
    labels.reduce((n, l) => n + l.filter((c) => c === 0).length, 0) /
    (2 * 32 * 32);
  assert.ok(
    Math.abs(zero.fcn!.per_pixel_acc - share) < 1e-12,
    `${zero.fcn!.per_pixel_acc} vs ${share}`,
  );
  assert.ok(share > 0 && share < 1);
  // All predicted class 0: class 0 is right on all its pixels, the others on
  // none; its IoU is its share of the pixels, the others' 0.
  const present = new Set(labels.flatMap((l) => [...l])).size;
  assert.ok(present > 1);
  assert.ok(Math.abs(zero.fcn!.per_class_acc - 1 / present) < 1e-12);
  assert.ok(Math.abs(zero.fcn!.class_iou - share / present) < 1e-12);
  G.dispose();
  await Deno.remove(dir, { recursive: true });
});

Deno.test("readValLog drops a last line cut short and names a bad line", async () => {
  const dir = await Deno.makeTempDir();
  const whole = JSON.stringify({ step: 6, epoch: 1, val_L1: 0.2 });
  await Deno.writeTextFile(
    `${dir}/val_log.jsonl`,
    `${whole}\n{"step": 12, "ep`,
  );
  assert.deepEqual(await readValLog(dir), [JSON.parse(whole)]);
  await Deno.writeTextFile(`${dir}/val_log.jsonl`, `{"step"\n${whole}\n`);
  await assert.rejects(
    () => readValLog(dir),
    /val_log\.jsonl line 1 is not a step record/,
  );
  await Deno.remove(dir, { recursive: true });
});
