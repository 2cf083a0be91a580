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
import { readRgb, tensorToRgb } from "../util/image.ts";
import { valuesToRgb } from "../util/pixels.ts";
import { type Batch, openAlignedDataset } from "../data.ts";
import type { Direction } from "../config.ts";
import { ensureSynthDataset } from "../datasets/synth.ts";
import { FACADES_DIR } from "../datasets/dataroot.ts";
import type { ResultsJson } from "../ablation/report.ts";
import { exists } from "../util/files.ts";
import type { StepEvent, StepLosses } from "../train.ts";
import { withFcnScores } from "../eval/segmenter.ts";
import { notebookBackend } from "./backend.ts";

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
 * A `<div>` and the script that draws a plotly figure (`data`, `layout`,
 * optional `frames`) into it once plotly.js has loaded; the layout gets the
 * charts' margins, `height` unless it sets one, and title objects.
 */
function plotlyFigure(
  figure: {
    data: readonly Record<string, unknown>[];
    layout: Record<string, unknown>;
    frames?: readonly Record<string, unknown>[];
  },
  height: number,
  text: string,
): Displayable {
  const id = `nbplot-${Date.now().toString(36)}-${plotCount++}`;
  const full = {
    ...figure,
    layout: withTitleObjects({
      height,
      margin: { l: 60, r: 70, t: 50, b: 50 },
      ...figure.layout,
    }),
    config: { responsive: true, displaylogo: false },
  };
  return html(
    `<div id="${id}" style="width:100%;max-width:900px"></div>
<script>(function draw() {
  if (!window.Plotly) return setTimeout(draw, 50);
  Plotly.newPlot(${JSON.stringify(id)}, ${JSON.stringify(full)});
})();</script>`,
    text,
  );
}

/** The title of a layout, for a chart's text form. */
function titleOf(layout: Record<string, unknown>): string {
  return typeof layout.title === "string" ? layout.title : "chart";
}

/**
 * A plotly.js chart. `traces` and `layout` are plotly's own objects
 * (https://plotly.com/javascript/reference/). Needs {@link plotlyLoader}
 * displayed earlier in the notebook.
 *
 * @example
 * ```ts
 * plot([{ y: losses, name: "L1" }], { title: "loss", xaxis: { title: "step" } });
 * ```
 */
export function plot(
  traces: readonly Record<string, unknown>[],
  layout: Record<string, unknown> = {},
): Displayable {
  return plotlyFigure(
    { data: traces, layout },
    360,
    `[plotly chart: ${titleOf(layout)}]`,
  );
}

/** One position of a {@link sliderPlot}: its label and the traces shown there. */
export interface SliderFrame {
  /** Slider label, e.g. `"λ = 10"` or `"step 200"`. */
  name: string;
  /** Plotly traces of this position (same number and types in every frame). */
  traces: readonly Record<string, unknown>[];
  /** Layout changes at this position (e.g. a title); optional. */
  layout?: Record<string, unknown>;
}

/**
 * A plotly.js chart with a slider over precomputed frames: interactive in
 * the executed notebook and its HTML without a running kernel. Opens on
 * frame `start` (default 0). Needs {@link plotlyLoader} displayed earlier.
 *
 * @example
 * ```ts
 * sliderPlot([0, 1, 10].map((lam) => ({ name: `λ = ${lam}`, traces: [{ y: curve(lam) }] })),
 *   { title: "c during training" }, "λ");
 * ```
 */
export function sliderPlot(
  frames: readonly SliderFrame[],
  layout: Record<string, unknown> = {},
  label = "",
  start = 0,
): Displayable {
  if (!frames.length) throw new RangeError("sliderPlot: no frames");
  const first = frames[start];
  return plotlyFigure(
    {
      data: first.traces,
      layout: {
        ...layout,
        ...first.layout,
        sliders: [{
          active: start,
          currentvalue: { prefix: label ? `${label}: ` : "" },
          pad: { t: 40 },
          steps: frames.map((f) => ({
            label: f.name,
            method: "animate",
            args: [[f.name], {
              mode: "immediate",
              frame: { duration: 0, redraw: true },
              transition: { duration: 0 },
            }],
          })),
        }],
      },
      frames: frames.map((f) => ({
        name: f.name,
        data: f.traces,
        ...(f.layout ? { layout: withTitleObjects(f.layout) } : {}),
      })),
    },
    400,
    `[plotly chart with a slider over ${frames.length} frames: ${
      titleOf(layout)
    }]`,
  );
}

/**
 * An image in [-1, 1], shape `[h, w, 3]` or `[h, w, 1]`, as 8-bit RGB. The
 * read is asynchronous (`data()`), so it works on every backend, WebGPU
 * included.
 */
export async function tensorImage(t: tf.Tensor3D): Promise<RgbImage> {
  const [height, width] = t.shape;
  return { width, height, data: await tensorToRgb(t) };
}

/**
 * Every image of an NHWC batch in [-1, 1] as 8-bit RGB, read back in one
 * asynchronous read (`data()`).
 *
 * @example
 * ```ts
 * const [first] = await batchImages(batch.input);
 * ```
 */
export async function batchImages(t: tf.Tensor4D): Promise<RgbImage[]> {
  const [n, height, width, channels] = t.shape;
  const values = await t.data();
  const size = height * width * channels;
  return Array.from({ length: n }, (_, i) => ({
    width,
    height,
    data: valuesToRgb(
      values.subarray(i * size, (i + 1) * size),
      [height, width, channels],
    ),
  }));
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
 * from `range` (default: the map's own min and max) to the colour map. The
 * read is asynchronous (`data()`), so it works on every backend.
 */
export async function mapImage(
  t: tf.Tensor2D,
  range?: readonly [number, number],
): Promise<RgbImage> {
  const [height, width] = t.shape;
  const v = await t.data();
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

/**
 * A horizontal viridis colour bar for maps drawn by {@link mapImage} with
 * `range`: low on the left, high on the right, both labelled.
 */
export function colourBar(
  range: readonly [number, number],
  label = "",
  width = 240,
): Displayable {
  const stops = VIRIDIS.map((c, i) =>
    `rgb(${c.join(",")}) ${(100 * i / (VIRIDIS.length - 1)).toFixed(0)}%`
  ).join(", ");
  const [lo, hi] = range.map((v) => v.toPrecision(3));
  return html(
    `<div style="font-size:12px;margin:4px"><div style="width:${width}px;height:12px;background:linear-gradient(to right, ${stops});border:1px solid #ccc"></div>
<div style="width:${width}px;display:flex;justify-content:space-between"><span>${lo}</span><span>${
      escapeHtml(label)
    }</span><span>${hi}</span></div></div>`,
    `[colour bar ${lo} .. ${hi}${label ? `: ${label}` : ""}]`,
  );
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

/** Presets in the order {@link presetRank} gives. */
const PRESET_RANK = ["paper", "cpu256", "cpu128", "cpu128-ngf32", "cpu", "ci"];

/**
 * Which grid the notebooks prefer, lowest first: most trained first, except
 * that the two-seed `cpu128` comes before the one-seed `cpu128-ngf32` (the
 * notebooks read its spread over seeds); `cpu` is `cpu128` under its name
 * before the rename. A preset not listed comes after every listed one.
 *
 * @example
 * ```ts
 * presetRank("cpu128") < presetRank("ci"); // true
 * ```
 */
export function presetRank(preset: string): number {
  const i = PRESET_RANK.indexOf(preset);
  return i < 0 ? PRESET_RANK.length : i;
}

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
  // Grids written before the segmenter's scores took snake_case spell them
  // perPixelAcc...: read either.
  const read = async (file: string) => {
    const r = JSON.parse(await Deno.readTextFile(file)) as AblationResults;
    return { ...r, segmenter: r.segmenter && withFcnScores(r.segmenter) };
  };
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
    presetRank(r.preset) * 1000 -
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
    backend: notebookBackend("auto"),
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

/** One line of an {@link svgChart}: points `[x, y]`. */
export interface SvgSeries {
  name: string;
  points: readonly (readonly [number, number])[];
  color: string;
}

/**
 * A small line chart as inline SVG markup (no script: it renders wherever
 * HTML does, and can be replaced in place while a cell runs).
 */
export function svgChart(
  series: readonly SvgSeries[],
  o: { title: string; width?: number; height?: number },
): string {
  const { width = 360, height = 200 } = o;
  const pad = { l: 44, r: 8, t: 22, b: 30 };
  const all = series.flatMap((s) => s.points);
  const fin = (f: (p: readonly [number, number]) => number) =>
    all.map(f).filter(Number.isFinite);
  const xs = fin((p) => p[0]), ys = fin((p) => p[1]);
  const [x0, x1] = xs.length ? [Math.min(...xs), Math.max(...xs)] : [0, 1];
  const [y0, y1] = ys.length ? [Math.min(...ys), Math.max(...ys)] : [0, 1];
  const sx = (x: number) =>
    pad.l + (x1 > x0 ? (x - x0) / (x1 - x0) : 0.5) * (width - pad.l - pad.r);
  const sy = (y: number) =>
    height - pad.b -
    (y1 > y0 ? (y - y0) / (y1 - y0) : 0.5) * (height - pad.t - pad.b);
  const lines = series.map((s) =>
    `<polyline fill="none" stroke="${s.color}" stroke-width="1.5" points="${
      s.points.filter((p) => Number.isFinite(p[1])).map((p) =>
        `${sx(p[0]).toFixed(1)},${sy(p[1]).toFixed(1)}`
      ).join(" ")
    }"/>`
  ).join("");
  const legend = series.map((s, i) =>
    `<text x="${pad.l + 6 + i * 70}" y="${
      pad.t + 10
    }" font-size="10" fill="${s.color}">${escapeHtml(s.name)}</text>`
  ).join("");
  const g = (y: number) => y.toPrecision(3);
  return `<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${height}" style="font-family:sans-serif">
<text x="${width / 2}" y="14" font-size="12" text-anchor="middle">${
    escapeHtml(o.title)
  }</text>
<rect x="${pad.l}" y="${pad.t}" width="${width - pad.l - pad.r}" height="${
    height - pad.t - pad.b
  }" fill="none" stroke="#ccc"/>
<text x="${pad.l - 4}" y="${pad.t + 8}" font-size="10" text-anchor="end">${
    g(y1)
  }</text><text x="${pad.l - 4}" y="${
    height - pad.b
  }" font-size="10" text-anchor="end">${g(y0)}</text>
<text x="${pad.l}" y="${
    height - pad.b + 14
  }" font-size="10">${x0}</text><text x="${width - pad.r}" y="${
    height - pad.b + 14
  }" font-size="10" text-anchor="end">${x1}</text>
<text x="${width / 2}" y="${
    height - 4
  }" font-size="10" text-anchor="middle">step</text>${lines}${legend}</svg>`;
}

/** Losses of one step as {@link liveTraining} records them. */
export type LossRecord = { step: number } & StepLosses;

/** Options of {@link liveTraining}. */
export interface LiveTrainingOptions {
  /** Redraw every this many steps (default 5; the last step always redraws). */
  every?: number;
  /** Take a new sample grid every this many steps (default 20, and at the last step). */
  sampleEvery?: number;
  /** CSS width of the sample grid (default 240). */
  sampleSize?: number;
  /**
   * Shows `bundle`, replacing the earlier one when `update` (default:
   * `Deno.jupyter.display` with a display id; give another to use it
   * outside a notebook).
   */
  show?: (bundle: MimeBundle, update: boolean) => Promise<void>;
}

/** What {@link liveTraining} returns: the callback for `train` and what it saw. */
export interface LiveTraining {
  /** Pass as `train(cfg, { onStep })`. */
  onStep(event: StepEvent): Promise<void>;
  /** Every step's losses, in order. */
  history: LossRecord[];
  /** The sample grids taken, with their steps. */
  snapshots: { step: number; image: RgbImage }[];
}

/** Display ids: unique within one kernel session. */
let liveCount = 0;

/**
 * Live training output for a notebook cell: one display, updated in place,
 * with the losses so far (L1, and the GAN terms when there are any) and the
 * latest sample grid (input | output | target rows).
 *
 * @example
 * ```ts
 * const live = liveTraining({ every: 5, sampleEvery: 25 });
 * await train(cfg, { quiet: true, onStep: live.onStep });
 * live.history.at(-1)!.G_L1; // the last step's L1
 * ```
 */
export function liveTraining(opts: LiveTrainingOptions = {}): LiveTraining {
  const { every = 5, sampleEvery = 20, sampleSize = 240 } = opts;
  const id = `pix2pix-live-${Date.now().toString(36)}-${liveCount++}`;
  const show = opts.show ??
    ((bundle: MimeBundle, update: boolean) =>
      Deno.jupyter.display(bundle, { raw: true, display_id: id, update }));
  const history: LossRecord[] = [];
  const snapshots: { step: number; image: RgbImage }[] = [];
  let shown = false;
  let sampleUrl = "";
  return {
    history,
    snapshots,
    async onStep(e) {
      history.push({ step: e.step, ...e.losses });
      const last = e.step >= e.lastStep;
      if (e.step % sampleEvery === 0 || last || !snapshots.length) {
        const image = await e.samples();
        snapshots.push({ step: e.step, image });
        sampleUrl = await pngDataUrl(image);
      }
      if (e.step % every !== 0 && !last && shown) return;
      const pts = (k: keyof StepLosses) =>
        history.map((r) => [r.step, r[k]] as const);
      const gan = history.some((r) => r.D_real !== 0 || r.G_GAN !== 0);
      const l = e.losses;
      const status = `step ${e.step} / ${e.lastStep} · ${
        e.seconds.toFixed(1)
      } s · L1 ${l.G_L1.toFixed(4)}${
        gan
          ? ` · G_GAN ${l.G_GAN.toFixed(3)} · D_real ${
            l.D_real.toFixed(3)
          } · D_fake ${l.D_fake.toFixed(3)}`
          : ""
      }`;
      const charts = svgChart([{
        name: "G_L1",
        points: pts("G_L1"),
        color: "black",
      }], { title: "L1 (generator vs target)" }) +
        (gan
          ? svgChart([
            { name: "G_GAN", points: pts("G_GAN"), color: "#1f77b4" },
            { name: "D_real", points: pts("D_real"), color: "#2ca02c" },
            { name: "D_fake", points: pts("D_fake"), color: "#d62728" },
          ], { title: "GAN terms (BCE)" })
          : "");
      const sample = snapshots.at(-1)!;
      const markup = `<div><div style="font-family:monospace">${
        escapeHtml(status)
      }</div><div style="display:flex;flex-wrap:wrap;align-items:flex-start">${charts}
<figure style="margin:4px;text-align:center"><img src="${sampleUrl}" width="${sampleSize}" style="image-rendering:pixelated;border:1px solid #ccc">
<figcaption style="font-size:12px">samples at step ${sample.step}: input | output | target</figcaption></figure></div></div>`;
      await show({ "text/html": markup, "text/plain": status }, shown);
      shown = true;
    },
  };
}
