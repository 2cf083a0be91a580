import assert from "node:assert/strict";
import {
  type BootstrapInterval,
  bootstrapMean,
  bootstrapNested,
} from "../lib/eval/bootstrap.ts";
import {
  addToConfusion,
  classCounts,
  fcnScoresOfCounts,
  newConfusion,
  segmentationScores,
} from "../lib/eval/metrics.ts";
import { type ImageScores, sumCounts } from "../lib/eval/evaluate.ts";
import { PAPER_ORDERINGS, PAPER_TABLES, paperRow } from "../lib/eval/paper.ts";
import { buildGrid, type RunResult } from "../lib/ablation/grid.ts";
import {
  cellSpreads,
  orderingLine,
  orderingResults,
  orderingVerdict,
  plusMinus,
  verdictCounts,
} from "../lib/ablation/spread.ts";
import { Rng } from "../lib/util/rng.ts";
import { jsonText } from "../lib/util/files.ts";

const interval = (low: number, high: number): BootstrapInterval => ({
  mean: (low + high) / 2,
  low,
  high,
  n: 10,
  level: 0.95,
});

Deno.test("orderingVerdict: above 0 holds, below 0 does not hold, across 0 a tie", () => {
  assert.equal(orderingVerdict(interval(0.01, 0.05)), "holds");
  assert.equal(orderingVerdict(interval(-0.05, -0.001)), "does not hold");
  assert.equal(orderingVerdict(interval(-0.01, 0.05)), "tie");
  // An end on 0 is not "excluding 0".
  assert.equal(orderingVerdict(interval(0, 0.05)), "tie");
  assert.equal(orderingVerdict(interval(-0.05, 0)), "tie");
  assert.equal(orderingVerdict(null), "not measured");
});

Deno.test("class counts: summed per image, they give the pooled confusion's FCN-scores", () => {
  const rng = new Rng(3);
  const pooled = newConfusion(12);
  const perImage = Array.from({ length: 5 }, () => {
    const gt = Uint8Array.from({ length: 400 }, () => rng.int(12));
    const pred = gt.map((c) => rng.int(3) === 0 ? rng.int(12) : c);
    const one = newConfusion(12);
    addToConfusion(one, gt, pred);
    addToConfusion(pooled, gt, pred);
    return classCounts(one);
  });
  const a = fcnScoresOfCounts(sumCounts(perImage));
  const b = segmentationScores(pooled);
  for (const k of ["per_pixel_acc", "per_class_acc", "class_iou"] as const) {
    assert.ok(Math.abs(a[k] - b[k]) < 1e-12, `${k}: ${a[k]} vs ${b[k]}`);
  }
  assert.ok(b.per_pixel_acc > 0.6 && b.per_pixel_acc < 0.8);
});

Deno.test("bootstrapNested: one replicate is the item bootstrap; disagreeing replicates widen it", () => {
  const values = Array.from({ length: 30 }, (_, i) => 0.5 + 0.01 * (i % 5));
  const mean = (v: readonly number[], idx: Int32Array) =>
    idx.reduce((s, i) => s + v[i], 0) / idx.length;
  const [plain] = bootstrapNested(30, [], (idx) => [mean(values, idx)]);
  assert.deepEqual(plain, bootstrapMean(values));
  // Two seeds: the same values, or shifted by +-0.2.
  const seeds = (shift: number) => [
    values.map((x) => x - shift),
    values.map((x) => x + shift),
  ];
  const stat =
    (s: number[][]) => (idx: Int32Array, [reps]: readonly Int32Array[]) => [
      reps.reduce((t, r) => t + mean(s[r], idx), 0) / reps.length,
    ];
  const [agree] = bootstrapNested(30, [2], stat(seeds(0)));
  const [differ] = bootstrapNested(30, [2], stat(seeds(0.2)));
  assert.ok(Math.abs(agree.mean - differ.mean) < 1e-12);
  assert.ok(agree.high - agree.low < 0.02, `${agree.low} ${agree.high}`);
  assert.ok(differ.low < agree.mean - 0.15, `${differ.low}`);
  assert.ok(differ.high > agree.mean + 0.15, `${differ.high}`);
  assert.throws(() => bootstrapNested(0, [], () => [0]), RangeError);
  assert.throws(() => bootstrapNested(3, [0], () => [0]), RangeError);
});

/** An image of 2 classes (50 pixels each) segmented with accuracy `acc`. */
function image(name: string, acc: number): ImageScores {
  const hit = Math.round(50 * acc);
  return {
    name,
    l1: 1 - acc,
    psnr: 10 + 10 * acc,
    ssim: acc / 2,
    label: [50, 50],
    hit: [hit, hit],
    pred: [50, 50],
    real_hit: [45, 45],
    real_pred: [50, 50],
  };
}

/** A finished seed of run `id` whose images have accuracies `accs`. */
function run(id: string, seed: number, accs: number[]): RunResult {
  const per_image = accs.map((a, i) => image(String(i + 1), a));
  const pooled = fcnScoresOfCounts(sumCounts(per_image));
  const mean = (k: "l1" | "psnr" | "ssim") =>
    per_image.reduce((s, x) => s + x[k], 0) / per_image.length;
  return {
    id,
    spec: buildGrid(128).runs.find((r) => r.id === id)!.spec,
    config: { seed, name: id } as RunResult["config"],
    steps: 2,
    train_seconds: 1,
    eval_seconds: 1,
    scores: {
      ...pooled,
      n_images: accs.length,
      l1: mean("l1"),
      psnr: mean("psnr"),
      ssim: mean("ssim"),
      colourfulness: 20,
      colourfulness_real: 20,
      ground_truth: { per_pixel_acc: 0.9, per_class_acc: 0.9, class_iou: 0.8 },
      per_image,
    },
  };
}

/** 20 image accuracies around `level`, +-`noise`. */
const accs = (level: number, noise = 0.02) =>
  Array.from({ length: 20 }, (_, i) => level + (i % 2 ? noise : -noise));

Deno.test("cellSpreads: each seed's score, and an interval around their mean", () => {
  const seeds = [
    run("discriminator-d1", 0, accs(0.6)),
    run("discriminator-d1", 1, accs(0.7)),
  ];
  const s = cellSpreads(seeds)!;
  assert.deepEqual(
    s.per_pixel_acc.by_seed.map((x) => x.toFixed(3)),
    ["0.600", "0.700"],
  );
  assert.ok(s.per_pixel_acc.low < 0.65 && s.per_pixel_acc.high > 0.65);
  // Drawing seeds: the interval reaches towards each seed's own score.
  assert.ok(s.per_pixel_acc.low < 0.61 && s.per_pixel_acc.high > 0.69);
  assert.deepEqual(
    s.l1.by_seed.map((x) => x.toFixed(3)),
    ["0.400", "0.300"],
  );
  assert.equal(plusMinus(0.65, s.per_pixel_acc).slice(0, 8), "0.650 ± ");
  assert.equal(plusMinus(0.5, { low: 0.45, high: 0.52 }), "0.500 ± 0.050");
  assert.equal(plusMinus(0.5, null), "0.500");
  assert.equal(plusMinus(null, null), "—");
  // A run scored before per-image records has no spread.
  const old = run("discriminator-d1", 0, accs(0.6));
  delete old.scores.per_image;
  assert.equal(cellSpreads([old]), null);
  // Seeds that scored other images cannot be paired.
  const other = run("discriminator-d1", 1, accs(0.6));
  other.scores.per_image![0].name = "x";
  other.config.name = "discriminator-d1-seed1";
  assert.throws(
    () => cellSpreads([seeds[0], other]),
    /discriminator-d1-seed1\/done\.json: scored other test images/,
  );
});

Deno.test("orderingResults: holds, tie, does not hold and not measured, from constructed runs", () => {
  const grid = buildGrid(128, ["discriminator"]);
  const results = new Map<string, RunResult[]>([
    // 70x70 (the main run): 0.70 on both seeds.
    ["objective-l1-cgan", [
      run("objective-l1-cgan", 0, accs(0.7)),
      run("objective-l1-cgan", 1, accs(0.7)),
    ]],
    // 1x1 clearly below: "70x70 > 1x1" holds.
    ["discriminator-d1", [
      run("discriminator-d1", 0, accs(0.5)),
      run("discriminator-d1", 1, accs(0.5)),
    ]],
    // 286 clearly above: "70x70 > 286" does not hold.
    ["discriminator-d286", [
      run("discriminator-d286", 0, accs(0.9)),
      run("discriminator-d286", 1, accs(0.9)),
    ]],
    // 16x16: its seeds disagree (0.94 and 0.36, mean 0.65 below 0.70): a tie,
    // though the test images alone would call it.
    ["discriminator-d16", [
      run("discriminator-d16", 0, accs(0.94)),
      run("discriminator-d16", 1, accs(0.36)),
    ]],
  ]);
  const o = orderingResults(grid, results);
  assert.deepEqual(o.map((x) => [x.id, x.verdict]), [
    ["d70>d1", "holds"],
    ["d70>d286", "does not hold"],
    ["d70>d16", "tie"],
  ]);
  const d16 = o[2];
  assert.ok(Math.abs(d16.diff!.per_pixel_acc.mean - 0.05) < 1e-9);
  assert.ok(
    d16.diff!.per_pixel_acc.low < 0 && d16.diff!.per_pixel_acc.high > 0,
  );
  // One seed of 16x16 only: the images alone decide.
  const oneSeed = new Map(results);
  oneSeed.set("discriminator-d16", [run("discriminator-d16", 0, accs(0.66))]);
  assert.equal(orderingResults(grid, oneSeed)[2].verdict, "holds");
  assert.equal(verdictCounts(o), "holds 1, tie 1, does not hold 1");
  assert.match(
    orderingLine(o[0]),
    /^- \*\*holds\*\*: 70x70 PatchGAN > 1x1 PixelGAN \(paper 0\.66 vs 0\.39\)\. per-pixel 70x70 − 1x1 \(PixelGAN\): \+0\.200 \[0\.\d+, 0\.\d+\]; per-class \+0\.200 [^;]+\(holds\); IoU [^;]+\(holds\); seeds 2 \/ 2\.$/,
  );
  // A missing run is not measured.
  const missing = new Map(results);
  missing.set("discriminator-d1", []);
  const m = orderingResults(grid, missing)[0];
  assert.equal(m.verdict, "not measured");
  assert.match(orderingLine(m), /a run has not finished/);
});

Deno.test("PAPER_ORDERINGS: the 11 orderings each hold in the paper's per-pixel numbers and name grid rows", () => {
  assert.equal(PAPER_ORDERINGS.length, 11);
  assert.equal(new Set(PAPER_ORDERINGS.map((o) => o.id)).size, 11);
  const grid = buildGrid(256);
  for (const o of PAPER_ORDERINGS) {
    const a = paperRow(o.better.study, o.better.id)!;
    const b = paperRow(o.worse.study, o.worse.id)!;
    assert.ok(a.per_pixel_acc > b.per_pixel_acc, o.id);
    for (const r of [o.better, o.worse]) {
      assert.ok(
        grid.variants.some((v) => v.study === r.study && v.paperId === r.id),
        `${o.id}: ${r.study}/${r.id} is no grid row`,
      );
    }
    // The two rows are distinct runs at 256 px.
    const run = (r: typeof o.better) =>
      grid.variants.find((v) => v.study === r.study && v.paperId === r.id)!
        .runId;
    assert.notEqual(run(o.better), run(o.worse), o.id);
  }
  // Every study has orderings.
  for (const t of PAPER_TABLES) {
    assert.ok(PAPER_ORDERINGS.some((o) => o.better.study === t.study));
  }
});

Deno.test("jsonText: arrays of plain values on one line, objects indented", () => {
  const v = { a: [1, 2.5, null], b: { c: "x", d: [] }, e: [{ f: [true] }] };
  assert.equal(
    jsonText(v),
    '{\n  "a": [1, 2.5, null],\n  "b": {\n    "c": "x",\n    "d": []\n  },\n  "e": [\n    {\n      "f": [true]\n    }\n  ]\n}\n',
  );
  assert.deepEqual(JSON.parse(jsonText(v)), v);
  assert.deepEqual(JSON.parse(jsonText(["a,\nb", "[c]"])), ["a,\nb", "[c]"]);
});
