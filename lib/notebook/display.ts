/**
 * Rich display helpers for the Deno Jupyter notebooks in `notebooks/`.
 *
 * Every helper returns a {@link Displayable}: the value of a cell's last
 * expression, or the argument of `await Deno.jupyter.display(x)`, renders as
 * the MIME bundle it carries. Images are embedded as small PNG data URLs;
 * charts are plotly.js `<div>`s whose library is embedded once per notebook
 * by {@link plotlyLoader} (so an executed notebook, and the HTML that
 * `jupyter nbconvert --to html` makes of it, render offline).
 *
 * @module
 */
import * as tf from "@tensorflow/tfjs";
import sharp from "sharp";
import { escapeHtml } from "../report/run_page.ts";
import type { RgbImage } from "../util/image.ts";
import { readRgb, valuesToRgb } from "../util/image.ts";
import { type Batch, openAlignedDataset } from "../data.ts";
import type { Direction } from "../config.ts";
import { ensureSynthDataset } from "../datasets/synth.ts";
import { FACADES_DIR } from "../datasets/dataroot.ts";
import type { ResultsJson } from "../ablation/report.ts";
import { exists } from "../util/files.ts";

/** The symbol Deno's Jupyter kernel looks for on a value to get its MIME bundle. */
export const JUPYTER_DISPLAY: unique symbol = Symbol.for(
  "Jupyter.display",
) as typeof JUPYTER_DISPLAY;

/** MIME type → content, e.g. `{ "text/html": "<b>x</b>" }`. */
export type MimeBundle = Record<string, string>;

/** A value that Deno's Jupyter kernel renders as its MIME bundle. */
export interface Displayable {
  [JUPYTER_DISPLAY](): MimeBundle;
}

/** Wraps a MIME bundle so that the kernel displays it. */
export function display(bundle: MimeBundle): Displayable {
  return { [JUPYTER_DISPLAY]: () => bundle };
}

/** Displays an HTML fragment (with a plain-text fallback). */
export function html(markup: string, plain = "[HTML output]"): Displayable {
  return display({ "text/html": markup, "text/plain": plain });
}

const PLOTLY_SOURCE = new URL(
  "../../node_modules/plotly.js-dist-min/plotly.min.js",
  import.meta.url,
);

/**
 * A `<script>` output embedding plotly.js (~4.8 MB). Display it once, near
 * the top of a notebook, before any {@link plot}.
 */
export async function plotlyLoader(): Promise<Displayable> {
  let source: string;
  try {
    source = await Deno.readTextFile(PLOTLY_SOURCE);
  } catch {
    throw new Error(
      `cannot read ${PLOTLY_SOURCE.pathname}: run \`deno install\` to fetch plotly.js-dist-min`,
    );
  }
  return html(
    `<script>${source}</script><small>plotly.js embedded for the charts below.</small>`,
    "plotly.js loaded",
  );
}

/** Chart counter: element ids unique within one kernel session. */
let plotCount = 0;

/**
 * Plotly 3+ ignores plain-string titles: rewrites `title: "x"` of the layout
 * and of its axes (`xaxis`, `yaxis2`, ...) to `title: { text: "x" }`.
 */
function withTitleObjects(
  layout: Record<string, unknown>,
): Record<string, unknown> {
  const fix = (o: Record<string, unknown>) =>
    typeof o.title === "string" ? { ...o, title: { text: o.title } } : o;
  const out = fix(layout);
  for (const [k, v] of Object.entries(out)) {
    if (/^[xy]axis\d*$/.test(k) && v && typeof v === "object") {
      out[k] = fix(v as Record<string, unknown>);
    }
  }
  return out;
}

/**
 * A plotly.js chart. `traces` and `layout` are plotly's own objects
 * (https://plotly.com/javascript/reference/). Needs {@link plotlyLoader}
 * displayed earlier in the notebook.
 */
export function plot(
  traces: readonly Record<string, unknown>[],
  layout: Record<string, unknown> = {},
): Displayable {
  const id = `nbplot-${Date.now().toString(36)}-${plotCount++}`;
  const fullLayout = withTitleObjects({
    height: 360,
    margin: { l: 60, r: 70, t: 50, b: 50 },
    ...layout,
  });
  const title = typeof layout.title === "string" ? layout.title : "chart";
  return html(
    `<div id="${id}" style="width:100%;max-width:900px"></div>
<script>(function draw() {
  if (!window.Plotly) return setTimeout(draw, 50);
  Plotly.newPlot(${JSON.stringify(id)}, ${JSON.stringify(traces)}, ${
      JSON.stringify(fullLayout)
    }, {responsive: true, displaylogo: false});
})();</script>`,
    `[plotly chart: ${title}]`,
  );
}

/** An image in [-1, 1], shape `[h, w, 3]` or `[h, w, 1]`, as 8-bit RGB. */
export function tensorImage(t: tf.Tensor3D): RgbImage {
  const [height, width] = t.shape;
  return { width, height, data: valuesToRgb(t.dataSync(), t.shape) };
}

/** Every image of an NHWC batch in [-1, 1] as 8-bit RGB. */
export function batchImages(t: tf.Tensor4D): RgbImage[] {
  return tf.unstack(t).map((img) => {
    const rgb = tensorImage(img as tf.Tensor3D);
    img.dispose();
    return rgb;
  });
}

/** Stops of the viridis colour map, RGB 0-255, from low to high. */
const VIRIDIS = [
  [68, 1, 84],
  [59, 82, 139],
  [33, 145, 140],
  [94, 201, 98],
  [253, 231, 37],
];

/**
 * A 2-D map (e.g. a feature map or the discriminator's logits), shape
 * `[h, w]`, as a viridis-coloured image, low values dark. Values are scaled
 * from `range` (default: the map's own min and max) to the colour map.
 */
export function mapImage(
  t: tf.Tensor2D,
  range?: readonly [number, number],
): RgbImage {
  const [height, width] = t.shape;
  const v = t.dataSync();
  let [lo, hi] = range ?? [Infinity, -Infinity];
  if (!range) {
    for (const x of v) {
      lo = Math.min(lo, x);
      hi = Math.max(hi, x);
    }
  }
  const span = hi > lo ? hi - lo : 1;
  const data = new Uint8Array(width * height * 3);
  v.forEach((x, i) => {
    const s = Math.min(Math.max((x - lo) / span, 0), 1) * (VIRIDIS.length - 1);
    const k = Math.min(Math.floor(s), VIRIDIS.length - 2);
    const f = s - k;
    for (let c = 0; c < 3; c++) {
      data[i * 3 + c] = Math.round(
        VIRIDIS[k][c] * (1 - f) + VIRIDIS[k + 1][c] * f,
      );
    }
  });
  return { width, height, data };
}

/** A PNG data URL of an RGB image. */
export async function pngDataUrl(img: RgbImage): Promise<string> {
  const png = await sharp(img.data, {
    raw: { width: img.width, height: img.height, channels: 3 },
  }).png().toBuffer();
  return `data:image/png;base64,${png.toString("base64")}`;
}

/** One captioned image of an {@link imageRow}. */
export interface Figure {
  label: string;
  image: RgbImage;
}

/**
 * A row of captioned images, each drawn `size` CSS pixels wide (nearest
 * neighbour, so small images stay crisp), wrapping onto more lines if needed.
 */
export async function imageRow(
  figures: readonly Figure[],
  size = 160,
): Promise<Displayable> {
  const cells = await Promise.all(
    figures.map(async (f) =>
      `<figure style="margin:4px;text-align:center">
<img src="${await pngDataUrl(
        f.image,
      )}" width="${size}" style="image-rendering:pixelated;border:1px solid #ccc">
<figcaption style="font-size:12px;max-width:${size}px">${
        escapeHtml(f.label)
      }</figcaption></figure>`
    ),
  );
  return html(
    `<div style="display:flex;flex-wrap:wrap">${cells.join("")}</div>`,
    `[${figures.length} images: ${figures.map((f) => f.label).join(", ")}]`,
  );
}

/** An HTML table; numbers are shown with `digits` decimals. */
export function table(
  headers: readonly string[],
  rows: readonly (readonly (string | number)[])[],
  digits = 3,
): Displayable {
  const cell = (v: string | number) =>
    typeof v === "number"
      ? `<td style="text-align:right">${
        Number.isInteger(v) ? v.toLocaleString("en-US") : v.toFixed(digits)
      }</td>`
      : `<td style="text-align:left">${escapeHtml(v)}</td>`;
  const body = rows.map((r) => `<tr>${r.map(cell).join("")}</tr>`).join("\n");
  const plain = [headers, ...rows].map((r) => r.join("\t")).join("\n");
  return html(
    `<table><thead><tr>${
      headers.map((h) => `<th>${escapeHtml(h)}</th>`).join("")
    }</tr></thead>
<tbody>${body}</tbody></table>`,
    plain,
  );
}

/** A dataset root for the notebooks and what it is. */
export interface NotebookData {
  /** Dataset root (with `train/` and `test/`). */
  root: string;
  /** `facades` (real) or `synthetic` (the fallback from `lib/datasets/synth.ts`). */
  kind: "facades" | "synthetic";
}

/**
 * The real facades set when `../shared` has it, else the embedded synthetic
 * set (`count` train pairs of `size` pixels, generated once under `.cache/`).
 * Both store photo (A) left and labels (B) right, so labels → photo is `BtoA`.
 */
export async function notebookData(
  count = 40,
  size = 256,
): Promise<NotebookData> {
  const real = await Deno.stat(`${FACADES_DIR}/train`).then(
    (s) => s.isDirectory,
    () => false,
  );
  if (real) return { root: FACADES_DIR, kind: "facades" };
  return {
    root: await ensureSynthDataset({ count, size, seed: 0 }),
    kind: "synthetic",
  };
}

/** What {@link loadPairs} reads. */
export interface LoadPairsOptions {
  /** Dataset root. */
  root: string;
  /** Split folder, e.g. `train` or `test`. */
  phase: string;
  /** Pairs: the first `count` files in natural order. */
  count: number;
  /** Side the pairs are resized to, pixels (no crop, no flip). */
  size: number;
  direction: Direction;
}

/**
 * The first `count` pairs of a split as one batch, resized to `size` x `size`
 * without jitter (NHWC in [-1, 1]; the caller disposes the tensors).
 */
export async function loadPairs(o: LoadPairsOptions): Promise<Batch> {
  const ds = await openAlignedDataset({
    dataroot: o.root,
    phase: o.phase,
    direction: o.direction,
    preprocess: "resize_and_crop",
    loadSize: o.size,
    cropSize: o.size,
    noFlip: true,
    batchSize: o.count,
    seed: 0,
    shuffle: false,
    maxItems: o.count,
    workers: 0,
  });
  const epoch = ds.batches(0);
  const first = await epoch.next();
  await epoch.return?.();
  if (first.done) throw new Error(`no pairs in ${o.root}/${o.phase}`);
  return first.value;
}

/** An ablation grid's `results.json` (written by `lib/ablation/report.ts`). */
export type AblationResults = ResultsJson;

/** A found or freshly made ablation grid. */
export interface AblationSource {
  /** Grid folder (run folders hold `test/images/<name>_{real_A,fake_B,real_B}.png`). */
  dir: string;
  results: AblationResults;
  /** How it was obtained, one line. */
  origin: string;
}

/** Presets from the most to the least trained. */
/** Most trained first; `cpu` is `cpu128` under its name before the rename. */
const PRESET_RANK = ["paper", "cpu128", "cpu", "ci"];

/** `<root>/<child>/results.json` for every child folder of `root` whose name passes `keep`. */
async function resultFiles(
  root: string,
  keep: (name: string) => boolean,
): Promise<string[]> {
  const found: string[] = [];
  try {
    for await (const e of Deno.readDir(root)) {
      const file = `${root}/${e.name}/results.json`;
      if (
        e.isDirectory && keep(e.name) &&
        await exists(file)
      ) found.push(file);
    }
  } catch {
    // no such folder
  }
  return found;
}

/**
 * The ablation results to show: `$PIX2PIX_ABLATION_DIR` if set; else the
 * most trained grid (preset `paper` over `cpu128` over `ci`, then the one with
 * the most finished rows) among `docs/ablations/*` and `runs/ablate*`; else
 * a tiny grid (`ci` preset: 20 steps per run at 64x64, about a minute) run
 * now into `runs/notebooks/ablate-ci` on `data` — plumbing-sized, its scores
 * mean little.
 */
export async function ablationResults(
  data: NotebookData,
): Promise<AblationSource> {
  const repo = new URL("../..", import.meta.url).pathname.replace(/\/$/, "");
  const env = Deno.env.get("PIX2PIX_ABLATION_DIR");
  const read = async (file: string) =>
    JSON.parse(await Deno.readTextFile(file)) as AblationResults;
  if (env) {
    return {
      dir: env,
      results: await read(`${env}/results.json`),
      origin: `PIX2PIX_ABLATION_DIR=${env}`,
    };
  }
  const files = [
    ...await resultFiles(`${repo}/docs/ablations`, () => true),
    ...await resultFiles(`${repo}/runs`, (n) => n.startsWith("ablate")),
  ];
  const found = await Promise.all(
    files.map(async (f) => ({ file: f, results: await read(f) })),
  );
  const rank = (r: AblationResults) =>
    PRESET_RANK.indexOf(r.preset) * 1000 -
    r.rows.filter((x) => x.status === "done").length;
  found.sort((a, b) => rank(a.results) - rank(b.results));
  if (found.length) {
    const dir = found[0].file.replace(/\/results\.json$/, "");
    return { dir, results: found[0].results, origin: `found ${dir}` };
  }
  const out = `${repo}/runs/notebooks/ablate-ci`;
  // Imported here: the grid pulls in the segmenter and evaluation modules.
  const { runAblation } = await import("../ablation/run.ts");
  await runAblation({
    studies: ["objective", "generator", "discriminator"],
    preset: "ci",
    dataroot: data.root,
    direction: "BtoA",
    out,
    backend: "auto",
    log: () => {},
  });
  return {
    dir: out,
    results: await read(`${out}/results.json`),
    origin: `no ablation results found: ran the tiny ci grid into ${out}`,
  };
}

/**
 * Test images of one run of a grid: input, output, target for the image
 * `name` (e.g. `"1"`), from `<dir>/<runId>/test/images/`.
 */
export async function runSamples(
  dir: string,
  runId: string,
  name: string,
): Promise<{ input: RgbImage; output: RgbImage; target: RgbImage }> {
  const base = `${dir}/${runId}/test/images/${name}`;
  const [input, output, target] = await Promise.all(
    ["real_A", "fake_B", "real_B"].map((k) => readRgb(`${base}_${k}.png`)),
  );
  return { input, output, target };
}
