import assert from "node:assert/strict";
import { runTask } from "./cli_fixtures.ts";
import {
  ABLATE_PRESETS,
  buildGrid,
  findRun,
  findSeededRuns,
  imageGanLayers,
  resolvePreset,
  runFolder,
  type RunResult,
  sanitizeId,
  seededRuns,
} from "../lib/ablation/grid.ts";
import {
  readSegmenterRecord,
  runAblation,
  runConfig,
  segmenterDir,
} from "../lib/ablation/run.ts";
import { train } from "../lib/train.ts";
import {
  discriminatorOutputSize,
  discriminatorSpecFromConfig,
} from "../lib/patchgan.ts";
import {
  resultsCsv,
  type ResultsJson,
  tablesMarkdown,
} from "../lib/ablation/report.ts";
import {
  orderingLine,
  orderingVerdict,
  SPREAD_METRICS,
} from "../lib/ablation/spread.ts";
import { PAPER_TABLE_3 } from "../lib/eval/paper.ts";
import { DEFAULT_SEGMENTER_CONFIG } from "../lib/eval/segmenter.ts";
import { FACADES_DIR } from "../lib/datasets/dataroot.ts";
import { hasChromium } from "../lib/site/chromium.ts";
import { runSamples } from "../lib/notebook/display.ts";
import { portableJson } from "../lib/ablation/publish.ts";
import { portablePaths } from "../lib/util/files.ts";
import { isAbsolute, relative } from "node:path";

Deno.test("grid: 13 rows of Tables 1-3 share 10 runs at 256px", () => {
  const grid = buildGrid(256);
  assert.equal(grid.variants.length, 13);
  assert.equal(grid.runs.length, 10);
  const byRow = (study: string, id: string) =>
    grid.variants.find((v) => v.study === study && v.paperId === id)!;
  // Table 1's L1+cGAN = Table 2's U-Net (L1+cGAN) = Table 3's 70x70.
  const main = byRow("objective", "l1+cgan").runId;
  assert.equal(main, "objective-l1-cgan");
  assert.equal(byRow("generator", "unet-l1+cgan").runId, main);
  assert.equal(byRow("discriminator", "d70").runId, main);
  assert.equal(byRow("generator", "unet-l1").runId, "objective-l1");
  assert.notEqual(byRow("generator", "encdec-l1").runId, "objective-l1");
  const d286 = grid.runs.find((r) => r.id === "discriminator-d286")!;
  assert.equal(d286.spec.netD, "n_layers");
  assert.equal(d286.spec.nLayersD, 5);
  for (const r of grid.runs) assert.match(r.id, /^[a-z0-9-]+$/);
});

Deno.test("grid: ImageGAN depth is the deepest D that fits the size", () => {
  assert.equal(imageGanLayers(256), 5);
  assert.equal(imageGanLayers(128), 5);
  assert.equal(imageGanLayers(64), 4);
  assert.equal(imageGanLayers(32), 3);
  // At 32px the "ImageGAN" is the 70x70 itself: one run, with a note.
  const grid = buildGrid(32, ["discriminator"]);
  const d286 = grid.variants.find((v) => v.paperId === "d286")!;
  const d70 = grid.variants.find((v) => v.paperId === "d70")!;
  assert.equal(d286.runId, d70.runId);
  assert.ok(d286.note && d286.note.includes("n_layers 3"));
  assert.equal(grid.runs.length, 3);
});

Deno.test("grid: ids do not depend on which studies are asked for", () => {
  const gen = buildGrid(128, ["generator"]);
  assert.deepEqual(
    gen.runs.map((r) => r.id).sort(),
    [
      "generator-encdec-l1",
      "generator-encdec-l1-cgan",
      "objective-l1",
      "objective-l1-cgan",
    ],
  );
  const all = buildGrid(128);
  assert.equal(findRun(all, "generator-unet-l1").id, "objective-l1");
  assert.equal(findRun(all, "objective-l1+cgan").id, "objective-l1-cgan");
  assert.equal(sanitizeId("Objective-L1+cGAN"), "objective-l1-cgan");
  assert.throws(
    () => findRun(all, "objective-l2"),
    /ConfigError: only objective-l2: no such run/,
  );
});

Deno.test("seeds: seed 0 keeps the run id as its folder; --only picks a run's seeds or one", () => {
  const grid = buildGrid(128);
  assert.equal(runFolder("objective-l1", 0), "objective-l1");
  assert.equal(runFolder("objective-l1", 3), "objective-l1-seed3");
  const units = seededRuns(grid, 2);
  assert.equal(units.length, 20);
  assert.deepEqual(
    findSeededRuns(grid, "generator-unet-l1", 2).map((u) => u.folder),
    ["objective-l1", "objective-l1-seed1"],
  );
  const [one] = findSeededRuns(grid, "generator-unet-l1-seed1", 2);
  assert.deepEqual([one.run.id, one.seed], ["objective-l1", 1]);
  assert.equal(
    findSeededRuns(grid, "objective-l1-seed0", 2)[0].folder,
    "objective-l1",
  );
  assert.throws(
    () => findSeededRuns(grid, "objective-l1-seed2", 2),
    /ConfigError: only objective-l1-seed2: seed 2 is not below seeds 2/,
  );
  // Each seed trains with its seed, in its folder.
  const p = resolvePreset("cpu256");
  const cfg = runConfig(one.run, p, {
    dataroot: "unused",
    direction: "BtoA",
    out: "unused",
    backend: "cpu",
  }, 1);
  assert.deepEqual([cfg.seed, cfg.name], [1, "objective-l1-seed1"]);
  assert.throws(() => resolvePreset("ci", { seeds: 0 }), /seeds 0/);
});

Deno.test("presets: every run's config is valid at the preset's size", () => {
  for (
    const name of Object.keys(ABLATE_PRESETS) as (keyof typeof ABLATE_PRESETS)[]
  ) {
    const p = resolvePreset(name);
    const grid = buildGrid(p.size);
    assert.equal(grid.variants.length, 13, name);
    for (const run of grid.runs) {
      const cfg = runConfig(run, p, {
        dataroot: "unused",
        direction: "BtoA",
        out: "unused",
        backend: "cpu",
      });
      assert.equal(cfg.cropSize, p.size);
      assert.equal(cfg.netG, `${run.spec.generator}_${p.size}`);
      assert.equal(cfg.name, run.id);
      if (run.spec.loss !== "l1") {
        assert.ok(
          discriminatorOutputSize(discriminatorSpecFromConfig(cfg), p.size) >=
            1,
        );
      }
    }
  }
  assert.throws(() => resolvePreset("ci", { size: 48 }), /48/);
});

Deno.test("--threads goes into every run's config; more than 1 needs native, wasm or auto", () => {
  const p = resolvePreset("ci");
  const run = buildGrid(p.size).runs[0];
  const o = {
    dataroot: "unused",
    direction: "BtoA" as const,
    out: "unused",
    backend: "wasm" as const,
  };
  assert.equal(runConfig(run, p, o).threads, 1);
  assert.equal(runConfig(run, p, { ...o, threads: 2 }).threads, 2);
  assert.throws(
    () => runConfig(run, p, { ...o, backend: "cpu", threads: 2 }),
    /threads 2 needs backend native, wasm or auto/,
  );
});

/** A finished run with made-up scores, for the report tests. */
function fakeResult(id: string, acc: number): RunResult {
  const grid = buildGrid(128);
  const run = grid.runs.find((r) => r.id === id)!;
  return {
    id,
    spec: run.spec,
    config: { seed: 0 } as RunResult["config"],
    steps: 10,
    train_seconds: 1,
    eval_seconds: 1,
    scores: {
      per_pixel_acc: acc,
      per_class_acc: acc / 2,
      class_iou: acc / 4,
      l1: 0.2,
      psnr: 12,
      ssim: 0.3,
      colourfulness: 40,
      n_images: 2,
      ground_truth: { per_pixel_acc: 0.77, per_class_acc: 0.5, class_iou: 0.4 },
    } as RunResult["scores"],
  };
}

Deno.test("report: paper numbers beside ours, missing runs marked", () => {
  const grid = buildGrid(128, ["discriminator"]);
  const results = new Map<string, RunResult[]>(
    grid.runs.map((r) => [r.id, []]),
  );
  results.set("discriminator-d1", [fakeResult("discriminator-d1", 0.4321)]);
  const input = {
    out: "unused",
    presetName: "cpu128",
    preset: ABLATE_PRESETS.cpu128,
    grid,
    results,
    dataroot: "facades",
    direction: "BtoA",
    segmenter: null,
  };
  const md = tablesMarkdown(input);
  assert.match(md, /## Table 3/);
  for (const row of PAPER_TABLE_3.rows) {
    assert.ok(md.includes(row.label), `row ${row.label} missing`);
  }
  // A run scored before per-image records: its scores, no spread.
  assert.match(
    md,
    /\| 1x1 \(PixelGAN\) \| 0\.432 \| 0\.216 \| 0\.108 \| 0\.39 \|/,
  );
  assert.match(md, /\*\*not measured\*\*: 70x70 PatchGAN > 1x1 PixelGAN/);
  assert.match(
    md,
    /ground truth \(real photos\) \| 0\.770 \| 0\.500 \| 0\.400 \| 0\.80 \| 0\.26 \| 0\.21/,
  );
  assert.match(md, /discriminator-d16 \(not finished\)/);
  // No segmenter record yet: no segmenter line; with one, below every table.
  assert.ok(!md.includes("segmenter: U-Net"));
  const withSegmenter = tablesMarkdown({
    ...input,
    segmenter: {
      config: { ...DEFAULT_SEGMENTER_CONFIG, size: 128 },
      dataroot: "facades",
      nTrain: 360,
      validation: {
        files: ["1.jpg"],
        per_pixel_acc: 0.61,
        per_class_acc: 0.4,
        bestEpoch: 3,
        epochsRun: 5,
      },
      trainSeconds: 1,
      backend: "native",
      finalLoss: 1,
      test: {
        per_pixel_acc: 0.6634,
        per_class_acc: 0.3,
        class_iou: 0.2,
        nImages: 106,
      },
      createdAt: "",
    },
  });
  assert.match(
    withSegmenter,
    /ground truth[^\n]*\n\nsegmenter: U-Net 128 px[^\n]*validation per-pixel acc 0\.610; real test photos \(106\): per-pixel acc 0\.663/,
  );
  const csv = resultsCsv(input).trim().split("\n");
  assert.equal(csv.length, 1 + 4);
  assert.match(
    csv[1],
    /^discriminator,d1,1x1 \(PixelGAN\),discriminator-d1,done,0\.4321,/,
  );
  assert.match(csv[2], /,missing,/);
});

const haveFacades = await Deno.stat(`${FACADES_DIR}/train`).then(
  () => true,
  () => false,
);

/** Options of a tiny Table 3 grid in `out` (32 px, 2 steps per run, cpu). */
function tinyDiscriminatorGrid(out: string) {
  return {
    studies: ["discriminator" as const],
    preset: "ci" as const,
    dataroot: FACADES_DIR,
    direction: "BtoA" as const,
    out,
    backend: "cpu" as const,
    presetOverrides: {
      size: 32,
      loadSize: 36,
      maxSteps: 2,
      numTest: 2,
      segmenter: { ngf: 4, epochs: 1, epochsDecay: 0, maxTrain: 4 },
    },
    log: () => {},
  };
}

/** Every string of a JSON value that is an absolute path, with its key path. */
function absolutePaths(v: unknown, at = "$"): string[] {
  if (typeof v === "string") return isAbsolute(v) ? [`${at}: ${v}`] : [];
  if (v === null || typeof v !== "object") return [];
  return Object.entries(v).flatMap(([k, x]) => absolutePaths(x, `${at}.${k}`));
}

/** The `.json` files under `dir`, recursively. */
async function jsonFiles(dir: string): Promise<string[]> {
  const out: string[] = [];
  for await (const e of Deno.readDir(dir)) {
    const path = `${dir}/${e.name}`;
    if (e.isDirectory) out.push(...await jsonFiles(path));
    else if (e.name.endsWith(".json")) out.push(path);
  }
  return out;
}

Deno.test("portablePaths: absolute paths become relative to the working directory, nothing else changes", () => {
  const record = {
    dataroot: "/work/shared/datasets/facades",
    config: { checkpointsDir: "runs/ablate-cpu", seed: 0, flip: false },
    files: ["/work/main/runs/a", "b.png"],
    note: null,
    backend: "native",
  };
  assert.deepEqual(portablePaths(record, "/work/main"), {
    dataroot: "../shared/datasets/facades",
    config: { checkpointsDir: "runs/ablate-cpu", seed: 0, flip: false },
    files: ["runs/a", "b.png"],
    note: null,
    backend: "native",
  });
  assert.equal(portablePaths("/work/main", "/work/main"), ".");
  // What publish writes: no absolute path left, from this working directory.
  const text = portableJson(JSON.stringify({ segmenter: record }));
  assert.deepEqual(absolutePaths(JSON.parse(text)), []);
  assert.equal(
    JSON.parse(text).segmenter.dataroot,
    relative(Deno.cwd(), "/work/shared/datasets/facades"),
  );
});

Deno.test("the published grids (docs/ablations/cpu, cpu128, cpu128-ngf32) hold no absolute path", async () => {
  for (
    const [grid, runs] of [
      ["cpu", 10],
      ["cpu128", 20],
      ["cpu128-ngf32", 10],
    ] as const
  ) {
    const dir = new URL(`../docs/ablations/${grid}`, import.meta.url).pathname;
    const files = await jsonFiles(dir);
    assert.ok(files.length > runs, `only ${files.length} JSON files in ${dir}`);
    for (const f of files) {
      const found = absolutePaths(JSON.parse(await Deno.readTextFile(f)));
      assert.deepEqual(found, [], `${f} holds machine paths`);
    }
  }
});

Deno.test({
  name: "ablate ci plumbing: tables, resume-skip, --only, --merge",
  ignore: !haveFacades,
  async fn() {
    const out = await Deno.makeTempDir({ prefix: "ablate_test_" });
    const base = tinyDiscriminatorGrid(out);
    try {
      // One run alone, as a job array would launch it: no tables yet.
      const one = await runAblation({ ...base, only: "discriminator-d16" });
      assert.deepEqual(one.ran, ["discriminator-d16"]);
      assert.equal(one.rows, undefined);
      await Deno.stat(`${out}/discriminator-d16/done.json`);
      const merged = await runAblation({ ...base, merge: true });
      assert.equal(merged.ran.length, 0);
      assert.deepEqual(
        merged.rows!.map((r) => [r.paper_id, r.status]),
        [["d1", "missing"], ["d16", "done"], ["d70", "missing"], [
          "d286",
          "missing",
        ]],
      );
      // An interrupted run (a checkpoint after 1 of 2 steps, no done.json)...
      const p = resolvePreset("ci", base.presetOverrides);
      const d1 = findRun(buildGrid(p.size), "discriminator-d1");
      await train({ ...runConfig(d1, p, base), maxSteps: 1 }, { quiet: true });
      const logPath = `${out}/discriminator-d1/loss_log.jsonl`;
      const firstStep = (await Deno.readTextFile(logPath)).trim();
      // ...resumes; the finished run is skipped, the others train.
      const full = await runAblation(base);
      assert.deepEqual(full.skipped, ["discriminator-d16"]);
      assert.equal(full.ran.length, 2);
      const log = (await Deno.readTextFile(logPath)).trim().split("\n");
      assert.deepEqual(log.map((l) => JSON.parse(l).step), [1, 2]);
      assert.equal(log[0], firstStep, "step 1 was redone instead of resumed");
      const json = JSON.parse(await Deno.readTextFile(`${out}/results.json`));
      assert.equal(json.rows.length, 4);
      for (const r of json.rows) {
        assert.equal(r.status, "done");
        assert.ok(r.per_pixel_acc >= 0 && r.per_pixel_acc <= 1);
        assert.equal(r.n_images, 2);
      }
      const md = await Deno.readTextFile(`${out}/tables.md`);
      for (const row of PAPER_TABLE_3.rows) assert.ok(md.includes(row.label));
      assert.ok(md.includes("ground truth"));
      for (
        const f of [
          "index.html",
          "results.csv",
          "plotly.min.js",
          "sheet-discriminator.png",
        ]
      ) {
        assert.ok((await Deno.stat(`${out}/${f}`)).size > 0, f);
      }
      // A second invocation redoes nothing.
      const again = await runAblation(base);
      assert.equal(again.ran.length, 0);
      assert.equal(again.skipped.length, 3);
    } finally {
      await Deno.remove(out, { recursive: true });
    }
  },
});

Deno.test({
  name:
    "ablate --seeds 2 (ci, Table 3): every run twice, per-image scores, spreads and the orderings' verdicts",
  ignore: !haveFacades,
  async fn() {
    const out = await Deno.makeTempDir({ prefix: "ablate_seeds_" });
    const grid = tinyDiscriminatorGrid(out);
    const base = {
      ...grid,
      seeds: 2,
      presetOverrides: { ...grid.presetOverrides, numTest: 4 },
    };
    try {
      // One seed alone, as a job array would launch it.
      const one = await runAblation({
        ...base,
        only: "discriminator-d16-seed1",
      });
      assert.deepEqual(one.ran, ["discriminator-d16-seed1"]);
      const full = await runAblation(base);
      assert.deepEqual(full.skipped, ["discriminator-d16-seed1"]);
      assert.deepEqual(full.ran.sort(), [
        "discriminator-d1",
        "discriminator-d1-seed1",
        "discriminator-d16",
        "objective-l1-cgan",
        "objective-l1-cgan-seed1",
      ]);
      // Each seed trained with its own seed and kept every image's scores.
      const done = async (folder: string) =>
        JSON.parse(
          await Deno.readTextFile(`${out}/${folder}/done.json`),
        ) as RunResult;
      const [s0, s1] = [
        await done("discriminator-d16"),
        await done("discriminator-d16-seed1"),
      ];
      assert.deepEqual([s0.config.seed, s1.config.seed], [0, 1]);
      const images = s1.scores.per_image!;
      assert.deepEqual(images.map((x) => x.name), ["1", "2", "3", "4"]);
      for (const x of images) {
        assert.equal(x.label.reduce((a, b) => a + b, 0), 32 * 32);
        assert.equal(x.pred.reduce((a, b) => a + b, 0), 32 * 32);
        assert.ok(x.hit.every((h, k) => h <= x.label[k] && h <= x.pred[k]));
      }
      assert.notEqual(s0.scores.l1, s1.scores.l1, "both seeds trained alike");
      // Rows: the mean of the two seeds, each score with its spread.
      const json = JSON.parse(
        await Deno.readTextFile(`${out}/results.json`),
      ) as ResultsJson;
      const d16 = json.rows.find((r) => r.paper_id === "d16")!;
      assert.deepEqual(d16.seeds, [0, 1]);
      assert.ok(
        Math.abs(d16.l1! - (s0.scores.l1 + s1.scores.l1) / 2) < 1e-12,
      );
      for (const m of SPREAD_METRICS) {
        const sp = d16.spread![m];
        assert.deepEqual(sp.by_seed.length, 2, m);
        assert.ok(sp.low <= d16[m]! && d16[m]! <= sp.high, m);
      }
      assert.ok(Math.abs(d16.spread!.l1.by_seed[1] - s1.scores.l1) < 1e-12);
      assert.ok(json.ground_truth_spread!.per_pixel_acc.high <= 1);
      assert.deepEqual(Object.keys(json.runs).sort(), [
        "discriminator-d1",
        "discriminator-d1-seed1",
        "discriminator-d16",
        "discriminator-d16-seed1",
        "objective-l1-cgan",
        "objective-l1-cgan-seed1",
      ]);
      // Table 3's three orderings, each with a verdict by its interval.
      const o = json.orderings!;
      assert.deepEqual(o.map((x) => x.id), ["d70>d1", "d70>d286", "d70>d16"]);
      for (const x of o) {
        assert.ok(["holds", "tie", "does not hold"].includes(x.verdict));
        assert.equal(x.verdict, orderingVerdict(x.diff!.per_pixel_acc));
        assert.deepEqual(x.seeds, { better: 2, worse: 2 });
      }
      // At 32 px the "286" is the 70x70 run itself: a difference of exactly 0.
      assert.deepEqual(
        [o[1].diff!.per_pixel_acc.low, o[1].diff!.per_pixel_acc.high],
        [0, 0],
      );
      assert.equal(o[1].verdict, "tie");
      const md = await Deno.readTextFile(`${out}/tables.md`);
      assert.match(md, /\| 16x16 \| \d\.\d{3} ± \d\.\d{3} \| /);
      assert.match(md, /2 seeds per run/);
      assert.match(
        md,
        /\*\*Verdicts\.\*\* A paper ordering "A > B" \*\*holds\*\*/,
      );
      for (const x of o) assert.ok(md.includes(orderingLine(x)), x.id);
      // A run scored before per-image records is scored again, not retrained.
      const { per_image: _, ...before } = s0.scores;
      await Deno.writeTextFile(
        `${out}/discriminator-d16/done.json`,
        JSON.stringify({ ...s0, scores: before }),
      );
      const log = await Deno.readTextFile(
        `${out}/discriminator-d16/loss_log.jsonl`,
      );
      const again = await runAblation(base);
      assert.deepEqual(again.ran, ["discriminator-d16"]);
      assert.equal(again.skipped.length, 5);
      const rescored = await done("discriminator-d16");
      assert.deepEqual(rescored.scores, s0.scores);
      assert.equal(
        await Deno.readTextFile(`${out}/discriminator-d16/loss_log.jsonl`),
        log,
      );
      const csv = (await Deno.readTextFile(`${out}/results.csv`)).split("\n");
      assert.match(csv[0], /,n_seeds,per_pixel_acc_low,per_pixel_acc_high,/);
      assert.match(
        csv.find((l) => l.startsWith("discriminator,d16,"))!,
        /,2,0\./,
      );
    } finally {
      await Deno.remove(out, { recursive: true });
    }
  },
});

Deno.test("ablate --merge --seeds 2 over the published one-seed cpu grid: its runs read as seed 0, without spread", async () => {
  const docs = new URL("../docs/ablations/cpu", import.meta.url).pathname;
  const published = JSON.parse(
    await Deno.readTextFile(`${docs}/results.json`),
  ) as ResultsJson;
  const out = await Deno.makeTempDir({ prefix: "ablate_legacy_" });
  try {
    for (const id of Object.keys(published.runs)) {
      await Deno.mkdir(`${out}/${id}`);
      await Deno.copyFile(`${docs}/${id}/done.json`, `${out}/${id}/done.json`);
    }
    const merged = await runAblation({
      studies: ["objective", "generator", "discriminator"],
      preset: "cpu128",
      seeds: 2,
      dataroot: "unused",
      direction: "BtoA",
      out,
      backend: "cpu",
      merge: true,
    });
    assert.equal(merged.rows!.length, published.rows.length);
    for (const [i, r] of merged.rows!.entries()) {
      const old = published.rows[i];
      assert.equal(r.status, "done", r.label);
      assert.deepEqual(r.seeds, [0]);
      assert.equal(r.spread, null);
      for (const m of SPREAD_METRICS) assert.equal(r[m], old[m], m);
    }
    const md = await Deno.readTextFile(`${out}/tables.md`);
    assert.match(md, /\| L1\+cGAN \| 0\.557 \| 0\.290 \| 0\.201 \| 0\.66 \|/);
    assert.match(
      md,
      /\*\*not measured\*\*: conditioning helps: cGAN > GAN[^\n]*no per-image scores in these runs/,
    );
  } finally {
    await Deno.remove(out, { recursive: true });
  }
});

Deno.test({
  name:
    "ablate --publish: committable copy with SVG charts, images and a README whose links resolve",
  ignore: !haveFacades || !(await hasChromium()),
  sanitizeResources: false,
  sanitizeOps: false,
  async fn() {
    const out = await Deno.makeTempDir({ prefix: "ablate_publish_" });
    const dest = `${out}/published`;
    const base = tinyDiscriminatorGrid(out);
    try {
      await runAblation({ ...base, only: "discriminator-d16" });
      const merged = await runAblation({ ...base, merge: true, publish: dest });
      const files = merged.published!;
      for (
        const f of [
          "tables.md",
          "results.json",
          "sheet-discriminator.jpg",
          "discriminator-d16/done.json",
          "discriminator-d16/test/images/2_fake_B.png",
          "charts/bars-discriminator.svg",
          "charts/loss-discriminator-d16.svg",
          "README.md",
        ]
      ) assert.ok(files.includes(f), `${f} not published`);
      // Only the finished run is copied.
      assert.ok(!files.some((f) => f.startsWith("discriminator-d1/")));
      for (const f of files) {
        assert.ok((await Deno.stat(`${dest}/${f}`)).size > 0, f);
      }
      // No machine path is published (the grid's own records hold FACADES_DIR).
      assert.ok(
        (await Deno.readTextFile(`${out}/results.json`)).includes(FACADES_DIR),
      );
      for (const f of files) {
        if (!/\.(json|md|csv|svg)$/.test(f)) continue;
        const text = await Deno.readTextFile(`${dest}/${f}`);
        assert.ok(!text.includes(FACADES_DIR), `${f} names ${FACADES_DIR}`);
        if (f.endsWith(".json")) {
          assert.deepEqual(absolutePaths(JSON.parse(text)), [], f);
        }
      }
      const bars = await Deno.readTextFile(
        `${dest}/charts/bars-discriminator.svg`,
      );
      assert.match(bars, /^<svg/);
      for (const row of PAPER_TABLE_3.rows) {
        assert.ok(bars.includes(row.label), `${row.label} not in the chart`);
      }
      // Every link of the README points at a published file.
      const readme = await Deno.readTextFile(`${dest}/README.md`);
      const links = [...readme.matchAll(/\]\(([^)]+)\)/g)].map((m) => m[1]);
      assert.ok(links.includes("charts/bars-discriminator.svg"));
      assert.ok(links.includes("sheet-discriminator.jpg"));
      for (const link of links) {
        assert.ok(files.includes(link), `README links missing ${link}`);
      }
      // The notebooks read the published folder like a grid.
      const fromDocs = await runSamples(dest, "discriminator-d16", "1");
      const fromGrid = await runSamples(out, "discriminator-d16", "1");
      assert.deepEqual(fromDocs.output.data, fromGrid.output.data);
    } finally {
      await Deno.remove(out, { recursive: true });
    }
  },
});

Deno.test({
  name:
    "ablate --jobs 2: the grid's runs train in two workers, then the tables",
  ignore: !haveFacades,
  async fn() {
    const out = await Deno.makeTempDir({ prefix: "ablate_jobs_" });
    const lines: string[] = [];
    try {
      const base = {
        ...tinyDiscriminatorGrid(out),
        log: (l: string) => lines.push(l),
      };
      await runAblation({ ...base, only: "discriminator-d16" });
      const summary = await runAblation({ ...base, jobs: 2 });
      assert.deepEqual(summary.skipped, ["discriminator-d16"]);
      // (at 32 px the "286" is the 70x70 itself: 3 runs in all)
      assert.deepEqual(
        [...summary.ran].sort(),
        ["discriminator-d1", "objective-l1-cgan"],
      );
      assert.ok(summary.rows!.every((r) => r.status === "done"));
      // The workers' log lines reach the caller's logger.
      for (const id of summary.ran) {
        assert.ok(lines.some((l) => l.startsWith(`${id}: done`)), id);
      }
    } finally {
      await Deno.remove(out, { recursive: true });
    }
  },
});

Deno.test("ablate CLI: --publish with --only is refused, naming both flags", async () => {
  const { code, stderr } = await runTask("ablate", [
    "--preset",
    "ci",
    "--only",
    "segmenter",
    "--publish",
    "/nonexistent/published",
  ]);
  assert.equal(code, 1);
  assert.match(stderr, /--publish/);
  assert.match(stderr, /--only/);
});

Deno.test("ablate CLI: --list prints one line per seed with its --only value and folder; --seeds 0 is refused", async () => {
  const list = await runTask("ablate", [
    "--preset",
    "ci",
    "--study",
    "discriminator",
    "--seeds",
    "2",
    "--list",
  ]);
  assert.equal(list.code, 0, list.stderr);
  const lines = list.stdout.trim().split("\n");
  // ci at 64 px: four discriminators, two seeds each, then the segmenter.
  assert.equal(lines.length, 4 * 2 + 1);
  assert.ok(
    lines.includes(
      "discriminator-d16-seed0\tdiscriminator-d16/\tdiscriminator/d16",
    ),
    lines.join("\n"),
  );
  assert.ok(
    lines.includes(
      "discriminator-d16-seed1\tdiscriminator-d16-seed1/\tdiscriminator/d16",
    ),
  );
  const bad = await runTask("ablate", ["--preset", "ci", "--seeds", "0"]);
  assert.equal(bad.code, 1);
  assert.match(bad.stderr, /--seeds: expected an integer >= 1, got "0"/);
});

Deno.test("ablate CLI: the old --preset cpu is refused, naming cpu128 and train's cpu64", async () => {
  const { code, stderr } = await runTask("ablate", [
    "--preset",
    "cpu",
    "--list",
  ]);
  assert.equal(code, 1);
  assert.match(stderr, /^error: --preset cpu is now --preset cpu128 /m);
  assert.match(stderr, /--preset cpu64/);
});

Deno.test("README: the paper preset's cost per run follows from the preset and the 256 px bench row", async () => {
  const readme = await Deno.readTextFile(
    new URL("../README.md", import.meta.url),
  );
  const p = ABLATE_PRESETS.paper;
  const steps = 400 * (p.epochs + p.epochsDecay); // facades: 400 training pairs
  const start = readme.indexOf("**What `--preset paper` costs per run.**");
  assert.ok(start > 0, "README has no paper-preset cost paragraph");
  const para = readme.slice(start, readme.indexOf("\n\n", start)).replace(
    /\s+/g,
    " ",
  );
  assert.ok(
    para.includes(`${steps.toLocaleString("en")} training steps per run`),
    para,
  );
  // The bench table's 256 px row: "| 256 | <median> / <min> | ...".
  const row = readme.match(/^\| 256 +\| (\d+) \/ (\d+) +\|/m);
  assert.ok(row, "no 256 px row in the Training speed table");
  const hours = (ms: string) => Math.round(steps * Number(ms) / 3.6e6);
  assert.ok(para.includes(`median ${row[1]} ms a step (min ${row[2]}`), para);
  assert.ok(para.includes(`~${hours(row[1])} h per run`), para);
  assert.ok(para.includes(`${hours(row[2])} h at the min`), para);
});

Deno.test("README: the cpu256 estimate follows from the preset, its runs and seeds, and the measured step", async () => {
  const readme = await Deno.readTextFile(
    new URL("../README.md", import.meta.url),
  );
  const p = ABLATE_PRESETS.cpu256;
  const runs = buildGrid(p.size).runs.length * p.seeds;
  const steps = 400 * (p.epochs + p.epochsDecay); // facades: 400 training pairs
  const start = readme.indexOf("**Why `cpu256` is");
  assert.ok(start > 0, "README has no cpu256 paragraph");
  const text = readme.slice(start, readme.indexOf("\n## ", start));
  assert.ok(
    text.startsWith(
      `**Why \`cpu256\` is ${p.size} px, ngf/ndf ${p.ngf}, ${p.epochs} + ${p.epochsDecay} epochs, ${p.seeds} seeds`,
    ),
    text.slice(0, 120),
  );
  const flat = text.replace(/\s+/g, " ");
  assert.ok(flat.includes(`for the ${runs} runs`), "run count");
  assert.ok(flat.includes(`of ${steps} steps`), "steps per run");
  const row = text.match(
    /^\| \*\*256 px, ngf\/ndf 32\*\* +\| (\d+) ms, 1 thread +\| ([\d.]+) h +\| \*\*~([\d.]+) h\*\*/m,
  );
  assert.ok(row, "no cpu256 row in the estimate table");
  const hours = runs * steps * Number(row[1]) / 3.6e6;
  assert.equal(row[2], hours.toFixed(1));
  assert.equal(row[3], (hours / 2).toFixed(1)); // --jobs 2 on 2 cores
});

Deno.test("a grid's segmenter.json written with the old camelCase scores reads as FcnScores", async () => {
  const out = await Deno.makeTempDir();
  await Deno.mkdir(segmenterDir(out), { recursive: true });
  await Deno.writeTextFile(
    `${segmenterDir(out)}/segmenter.json`,
    JSON.stringify({
      test: { perPixelAcc: 0.55, perClassAcc: 0.3, classIou: 0.2 },
    }),
  );
  const r = await readSegmenterRecord(out);
  assert.deepEqual(r!.test, {
    per_pixel_acc: 0.55,
    per_class_acc: 0.3,
    class_iou: 0.2,
  });
  await Deno.remove(out, { recursive: true });
});
