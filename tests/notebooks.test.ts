/**
 * Cheap checks of the notebooks and their helpers. Executing the notebooks
 * is `deno task notebooks` (run by CI), not part of this suite.
 */
import assert from "node:assert/strict";
import * as tf from "@tensorflow/tfjs";
import "@tensorflow/tfjs-backend-cpu";
import sharp from "sharp";
import {
  batchImages,
  colourBar,
  html,
  imageRow,
  JUPYTER_DISPLAY,
  liveTraining,
  mapImage,
  type MimeBundle,
  plot,
  presetRank,
  sliderPlot,
  table,
  tensorImage,
} from "../lib/notebook/display.ts";
import { codeBeside, sourceOf } from "../lib/notebook/source.ts";
import {
  NOTEBOOK_BACKEND_ENV,
  notebookBackend,
} from "../lib/notebook/backend.ts";
import { ConfigError } from "../lib/errors.ts";
import {
  listNotebooks,
  NOTEBOOKS_DIR,
  SOLUTIONS_DIR,
} from "../lib/notebook/runner.ts";

// lib/notebook/backend.ts registers wasm (tfjs's highest priority); the
// helpers' tensors here are plain cpu work.
await tf.setBackend("cpu");

interface Cell {
  cell_type: string;
  source: string[] | string;
  outputs?: unknown[];
  execution_count?: number | null;
}

const notebooks = await listNotebooks(NOTEBOOKS_DIR);

Deno.test("notebooks: six, committed without outputs, Deno kernel, importing lib/", async () => {
  assert.equal(notebooks.length, 6);
  for (const path of notebooks) {
    const nb = JSON.parse(await Deno.readTextFile(path));
    assert.equal(nb.metadata.kernelspec.name, "deno", path);
    const code = (nb.cells as Cell[]).filter((c) => c.cell_type === "code");
    for (const c of code) {
      assert.deepEqual(c.outputs, [], `${path}: a cell has outputs`);
      assert.equal(c.execution_count, null, path);
    }
    const source = code.map((c) => [c.source].flat().join("")).join("\n");
    assert.match(source, /from "\.\.\/lib\/mod\.ts"/, path);
    // Notebooks that train have a small-size switch; 05 and 06 read a grid.
    assert.match(
      source,
      /PIX2PIX_NB_SMALL|ablationResults\(/,
      `${path}: no small-size switch`,
    );
  }
});

Deno.test("exercises: every notebook ends with them, and its solutions notebook runs the lib without outputs", async () => {
  for (const path of notebooks) {
    const nb = JSON.parse(await Deno.readTextFile(path));
    const last = [(nb.cells as Cell[]).at(-1)!.source].flat().join("");
    assert.match(
      last,
      /^## Exercises/,
      `${path}: last cell is not the exercises`,
    );
    assert.match(last, /Predict/, `${path}: exercises ask for a prediction`);
    const number = path.replace(/^.*\//, "").slice(0, 2);
    const solution = `${SOLUTIONS_DIR}/${number}_solutions.ipynb`;
    assert.ok(last.includes(`solutions/${number}_solutions.ipynb`), path);
    const sol = JSON.parse(await Deno.readTextFile(solution));
    assert.equal(sol.metadata.kernelspec.name, "deno", solution);
    const code = (sol.cells as Cell[]).filter((c) => c.cell_type === "code");
    for (const c of code) assert.deepEqual(c.outputs, [], solution);
    assert.match(
      code.map((c) => [c.source].flat().join("")).join("\n"),
      /from "\.\.\/\.\.\/lib\/[a-z_/]+\.ts"/,
      solution,
    );
  }
  const all = await listNotebooks(NOTEBOOKS_DIR, ["03"], [SOLUTIONS_DIR]);
  assert.deepEqual(all.map((p) => p.replace(/^.*notebooks\//, "")), [
    "03_patchgan_receptive_field.ipynb",
    "solutions/03_solutions.ipynb",
  ]);
});

Deno.test("listNotebooks: --only filters by name and names a filter that matches nothing", async () => {
  const only = await listNotebooks(NOTEBOOKS_DIR, ["03"]);
  assert.equal(only.length, 1);
  assert.match(only[0], /03_patchgan_receptive_field\.ipynb$/);
  await assert.rejects(
    () => listNotebooks(NOTEBOOKS_DIR, ["nope"]),
    /ConfigError: only nope: no notebook/,
  );
});

Deno.test("presetRank: the notebooks prefer paper, then cpu256, two-seed cpu128 over one-seed cpu128-ngf32, unknown presets last", () => {
  const order = [
    "ci",
    "mystery",
    "cpu128-ngf32",
    "cpu",
    "cpu256",
    "paper",
    "cpu128",
  ]
    .sort((a, b) => presetRank(a) - presetRank(b));
  assert.deepEqual(order, [
    "paper",
    "cpu256",
    "cpu128",
    "cpu128-ngf32",
    "cpu",
    "ci",
    "mystery",
  ]);
});

Deno.test("display helpers: MIME bundles, escaping, plotly title objects", () => {
  const h = html("<b>x</b>")[JUPYTER_DISPLAY]();
  assert.equal(h["text/html"], "<b>x</b>");
  const t = table(["a<b"], [["<i>", 1.23456], ["z", 7]], 2)[JUPYTER_DISPLAY]();
  assert.match(t["text/html"], /a&lt;b/);
  assert.match(t["text/html"], /&lt;i&gt;/);
  assert.match(t["text/html"], />1\.23</);
  const p = plot([{ y: [1, 2] }], { title: "T", yaxis2: { title: "Y2" } })
    [JUPYTER_DISPLAY]()["text/html"];
  assert.match(p, /"title":\{"text":"T"\}/);
  assert.match(p, /"yaxis2":\{"title":\{"text":"Y2"\}\}/);
});

Deno.test("mapImage: low values dark purple, high values yellow; imageRow embeds a decodable PNG", async () => {
  const map = tf.tensor2d([[0, 1], [0.5, 1]]);
  const img = await mapImage(map);
  map.dispose();
  assert.deepEqual([...img.data.slice(0, 3)], [68, 1, 84]);
  assert.deepEqual([...img.data.slice(3, 6)], [253, 231, 37]);
  const row = (await imageRow([{ label: "m", image: img }]))[JUPYTER_DISPLAY]();
  const b64 = /data:image\/png;base64,([A-Za-z0-9+/=]+)/.exec(row["text/html"]);
  assert.ok(b64, "no PNG data URL");
  const meta = await sharp(
    Uint8Array.from(atob(b64[1]), (c) => c.charCodeAt(0)),
  )
    .metadata();
  assert.equal(meta.format, "png");
  assert.equal(meta.width, 2);
});

Deno.test("batchImages: one read, each image of the batch as tensorImage draws it (RGB and gray)", async () => {
  for (const channels of [3, 1]) {
    const batch = tf.randomUniform([3, 4, 5, channels], -1, 1, "float32", 7);
    const images = await batchImages(batch as tf.Tensor4D);
    assert.equal(images.length, 3);
    for (const [i, img] of images.entries()) {
      const one = tf.squeeze(tf.slice(batch, [i, 0, 0, 0], [1, -1, -1, -1]), [
        0,
      ]) as tf.Tensor3D;
      const expected = await tensorImage(one);
      one.dispose();
      assert.deepEqual([img.width, img.height], [5, 4]);
      assert.equal(img.data.length, 4 * 5 * 3);
      assert.deepEqual(img.data, expected.data, `image ${i}, ${channels} ch`);
    }
    assert.notDeepEqual(images[0].data, images[1].data);
    batch.dispose();
  }
});

Deno.test("notebookBackend: the notebook's own choice unless PIX2PIX_NB_BACKEND names another; a bad name is an error naming it", () => {
  const saved = Deno.env.get(NOTEBOOK_BACKEND_ENV);
  try {
    Deno.env.delete(NOTEBOOK_BACKEND_ENV);
    assert.equal(notebookBackend("cpu"), "cpu");
    Deno.env.set(NOTEBOOK_BACKEND_ENV, "webgpu");
    assert.equal(notebookBackend("cpu"), "webgpu");
    Deno.env.set(NOTEBOOK_BACKEND_ENV, "gpu");
    assert.throws(
      () => notebookBackend("auto"),
      (e: unknown) =>
        e instanceof ConfigError && e.field === "backend" &&
        /PIX2PIX_NB_BACKEND="gpu" is not one of auto, native/.test(e.message),
    );
  } finally {
    if (saved === undefined) Deno.env.delete(NOTEBOOK_BACKEND_ENV);
    else Deno.env.set(NOTEBOOK_BACKEND_ENV, saved);
  }
});

Deno.test("notebooks and solutions run on every backend: backends through notebookBackend, no synchronous reads", async () => {
  const all = await listNotebooks(NOTEBOOKS_DIR, [], [SOLUTIONS_DIR]);
  let started = 0;
  for (const path of all) {
    const nb = JSON.parse(await Deno.readTextFile(path));
    const code = (nb.cells as Cell[]).filter((c) => c.cell_type === "code")
      .map((c) => [c.source].flat().join("")).join("\n");
    // WebGPU's sync reads need an OffscreenCanvas, which Deno lacks.
    assert.doesNotMatch(code, /\b(dataSync|arraySync|bufferSync)\(/, path);
    for (const m of code.matchAll(/initBackend\(([^)]*\)?)\)/g)) {
      assert.match(m[1], /^notebookBackend\("\w+"\)$/, path);
      started++;
    }
    for (const m of code.matchAll(/\bbackend: ([^,\n]+)/g)) {
      assert.match(m[1], /^notebookBackend\("\w+"\)$/, path);
    }
  }
  assert.ok(started >= 9, `only ${started} notebooks start a backend`);
});

Deno.test("liveTraining: one display updated in place, losses drawn, samples taken on schedule", async () => {
  const shown: { bundle: MimeBundle; update: boolean }[] = [];
  const live = liveTraining({
    every: 2,
    sampleEvery: 3,
    show: (bundle, update) => {
      shown.push({ bundle, update });
      return Promise.resolve();
    },
  });
  let sampled = 0;
  const grey = { width: 2, height: 2, data: new Uint8Array(12).fill(128) };
  for (let step = 1; step <= 7; step++) {
    await live.onStep({
      step,
      lastStep: 7,
      epoch: 0,
      lr: 2e-4,
      seconds: step / 10,
      losses: { G_GAN: 0.7, G_L1: 1 / step, D_real: 0.6, D_fake: 0.8 },
      samples: () => {
        sampled++;
        return Promise.resolve(grey);
      },
    });
  }
  // Shown at step 1 (first), then every 2 steps and at the last: 1, 2, 4, 6, 7.
  assert.deepEqual(shown.map((s) => s.update), [false, true, true, true, true]);
  // Samples at step 1 (first), every 3 steps and the last: 1, 3, 6, 7.
  assert.deepEqual(live.snapshots.map((s) => s.step), [1, 3, 6, 7]);
  assert.equal(sampled, 4);
  assert.deepEqual(
    live.history.map((r) => r.G_L1),
    [1, 2, 3, 4, 5, 6, 7].map((s) => 1 / s),
  );
  const last = shown.at(-1)!.bundle;
  assert.match(last["text/plain"], /step 7 \/ 7 .* L1 0\.1429/);
  assert.match(last["text/html"], /<svg[\s\S]*<polyline[\s\S]*D_fake/);
  assert.match(last["text/html"], /data:image\/png;base64,/);
});

Deno.test("sliderPlot: one frame per slider step, opening on the chosen one; colourBar labels its range", () => {
  const p = sliderPlot(
    [1, 2, 3].map((k) => ({ name: `k = ${k}`, traces: [{ y: [k, 2 * k] }] })),
    { title: "T" },
    "k",
    1,
  )[JUPYTER_DISPLAY]();
  const json = /Plotly\.newPlot\("[^"]+", (\{.*\})\);/.exec(p["text/html"]);
  assert.ok(json, "no figure");
  const figure = JSON.parse(json[1]);
  assert.deepEqual(figure.frames.map((f: { name: string }) => f.name), [
    "k = 1",
    "k = 2",
    "k = 3",
  ]);
  assert.deepEqual(figure.data, [{ y: [2, 4] }]); // opens on frame 1
  assert.equal(figure.layout.sliders[0].active, 1);
  assert.deepEqual(figure.layout.title, { text: "T" });
  assert.equal(figure.layout.height, 400);
  assert.match(p["text/plain"], /3 frames/);
  assert.throws(() => sliderPlot([]), /no frames/);
  const bar = colourBar([-1.5, 2], "logit")[JUPYTER_DISPLAY]();
  assert.match(bar["text/html"], /-1\.50[\s\S]*logit[\s\S]*2\.00/);
});

Deno.test("sourceOf / codeBeside: the real source of a function and of a method, with doc comment and line", async () => {
  const g = await sourceOf("losses.ts", "generatorLoss");
  const lines = (await Deno.readTextFile("lib/losses.ts")).split("\n");
  assert.equal(g.file, "lib/losses.ts");
  assert.equal(lines[g.line - 1].trim(), "/**");
  assert.match(g.text, /^\/\*\*[\s\S]*export function generatorLoss\(/);
  assert.ok(g.text.endsWith("\n}"));
  assert.equal(
    g.text,
    lines.slice(g.line - 1, g.line - 1 + g.text.split("\n").length).join("\n"),
  );
  const m = await sourceOf("train.ts", "dispatchStep");
  assert.match(
    m.text,
    /^\/\*\*[\s\S]*\ndispatchStep\(batch: TrainBatch[\s\S]*\n\}$/,
  );
  const a = await sourceOf("train.ts", "trainStep"); // an async method
  assert.match(a.text, /^\/\*\*.*\*\/\nasync trainStep\([\s\S]*\n\}$/);
  await assert.rejects(
    () => sourceOf("losses.ts", "noSuchThing"),
    /lib\/losses\.ts: no declaration of noSuchThing/,
  );
  const md = (await codeBeside({
    equation: "$$x$$",
    file: "losses.ts",
    name: "generatorLoss",
    paper: "§3.1",
  }))[JUPYTER_DISPLAY]()["text/markdown"];
  assert.match(
    md,
    /^\$\$x\$\$[\s\S]*\(\.\.\/lib\/losses\.ts\)[\s\S]*arxiv\.org\/abs\/1611\.07004[\s\S]*```ts\n\/\*\*/,
  );
});
