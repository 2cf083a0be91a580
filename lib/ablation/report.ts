/**
 * The outputs of an ablation grid (`lib/ablation/run.ts`), built from whatever
 * runs have finished: `tables.md` (the paper's numbers beside ours, with the
 * ground-truth row), `results.csv`, `results.json`, one sample sheet per
 * study (`sheet-<study>.png`: the same test inputs, one column per variant)
 * and `index.html` with plotly bar charts per table and loss curves per run
 * (plotly.min.js copied next to it, no CDN).
 *
 * Scores are FCN-scores in [0, 1] (per-pixel accuracy, per-class accuracy,
 * class IoU) plus L1 (on [0, 1]), PSNR (dB) and SSIM of the test outputs.
 *
 * @module
 */

import type {
  AblatePreset,
  Grid,
  RunResult,
  StudyName,
  Variant,
} from "./grid.ts";
import type { EvalReport } from "../eval/evaluate.ts";
import {
  hconcat,
  readRgb,
  type RgbImage,
  vconcat,
  writePng,
} from "../util/image.ts";
import {
  PAPER_GROUND_TRUTH,
  PAPER_TABLES,
  type PaperRow,
  paperRow,
} from "../eval/paper.ts";
import type { FcnScores } from "../eval/metrics.ts";
import { naturalCompare } from "../util/files.ts";
import {
  ensurePlotly,
  escapeHtml,
  lossCurves,
  readLossLog,
} from "../report/run_page.ts";
import { type SegmenterRecord, segmenterSummary } from "../eval/segmenter.ts";

/** One table row of the report: a variant, its paper figures and (when finished) ours. */
export interface ReportRow {
  study: StudyName;
  paper_id: string;
  label: string;
  run_id: string;
  /** `done` when the run has finished, else `missing`. */
  status: "done" | "missing";
  per_pixel_acc: number | null;
  per_class_acc: number | null;
  class_iou: number | null;
  l1: number | null;
  psnr: number | null;
  ssim: number | null;
  colourfulness: number | null;
  n_images: number | null;
  paper_per_pixel_acc: number | null;
  paper_per_class_acc: number | null;
  paper_class_iou: number | null;
  steps: number | null;
  train_seconds: number | null;
  eval_seconds: number | null;
  /** Set-up difference from the paper at this size, if any. */
  note: string;
}

/** Everything the report is built from. */
export interface ReportInput {
  /** Grid folder (outputs are written here). */
  out: string;
  /** Preset name and numbers. */
  presetName: string;
  preset: AblatePreset;
  grid: Grid;
  /** `done.json` of each run id, null when not finished. */
  results: ReadonlyMap<string, RunResult | null>;
  /** Dataset (as shown, e.g. relative to the working directory) and direction, for the titles. */
  dataroot: string;
  direction: string;
  /** The grid's segmenter record, null before it is trained. */
  segmenter: SegmenterRecord | null;
}

/** Test inputs shown in each sample sheet. */
const SHEET_ROWS = 4;

/** The report rows, in the paper's order. */
export function reportRows(input: ReportInput): ReportRow[] {
  return input.grid.variants.map((v) => {
    const r = input.results.get(v.runId) ?? null;
    const s: Partial<EvalReport> = r?.scores ?? {};
    const p = paperRow(v.study, v.paperId);
    return {
      study: v.study,
      paper_id: v.paperId,
      label: v.label,
      run_id: v.runId,
      status: r ? "done" : "missing",
      per_pixel_acc: s.per_pixel_acc ?? null,
      per_class_acc: s.per_class_acc ?? null,
      class_iou: s.class_iou ?? null,
      l1: s.l1 ?? null,
      psnr: s.psnr ?? null,
      ssim: s.ssim ?? null,
      colourfulness: s.colourfulness ?? null,
      n_images: s.n_images ?? null,
      paper_per_pixel_acc: p?.per_pixel_acc ?? null,
      paper_per_class_acc: p?.per_class_acc ?? null,
      paper_class_iou: p?.class_iou ?? null,
      steps: r?.steps ?? null,
      train_seconds: r?.train_seconds ?? null,
      eval_seconds: r?.eval_seconds ?? null,
      note: v.note ?? "",
    };
  });
}

/** The segmenter's scores on the real test outputs (from any finished run), or null. */
function groundTruth(input: ReportInput): FcnScores | null {
  for (const r of input.results.values()) {
    if (r?.scores.ground_truth) return r.scores.ground_truth;
  }
  return null;
}

const fmt = (x: number | null, digits = 3) =>
  x === null || !Number.isFinite(x) ? "—" : x.toFixed(digits);

function studies(input: ReportInput): StudyName[] {
  return [...new Set(input.grid.variants.map((v) => v.study))];
}

function setupLine(input: ReportInput): string {
  const p = input.preset;
  return `preset \`${input.presetName}\`: ${p.size}x${p.size} (load ${p.loadSize}), ngf ${p.ngf}, ndf ${p.ndf}, ` +
    `${p.epochs} + ${p.epochsDecay} epochs${
      p.maxSteps ? `, at most ${p.maxSteps} steps` : ""
    }, batch 1; ` +
    `${input.dataroot} (${input.direction}); ${
      p.numTest || "all"
    } test images per run`;
}

/**
 * `tables.md`: one Markdown table per study, ours beside the paper's, with the
 * ground-truth row. `after(study)` gives lines to append below each study's
 * table (the published README adds its chart and sample sheet there).
 */
export function tablesMarkdown(
  input: ReportInput,
  after: (study: StudyName) => string[] = () => [],
): string {
  const rows = reportRows(input);
  const gt = groundTruth(input);
  const out = [
    "# Ablations: ours beside Isola et al. 2017, Tables 1-3",
    "",
    setupLine(input) + ".",
    "",
    "Ours: FCN-scores of the translated test split, segmented by this grid's " +
    "own segmenter (trained once on the real training photos at the grid's size). " +
    "Paper: FCN-8s scores on Cityscapes labels → photo at 256x256, 200 epochs. " +
    "The datasets differ, so compare orderings, not values. " +
    "L1 is on [0, 1], PSNR in dB.",
  ];
  for (const study of studies(input)) {
    const table = PAPER_TABLES.find((t) => t.study === study)!;
    out.push(
      "",
      `## ${table.title}`,
      "",
      `Paper: ${table.note}.`,
      "",
      "| variant | per-pixel acc | per-class acc | class IoU | paper per-pixel | paper per-class | paper IoU | L1 | PSNR | SSIM | run |",
      "|---|---|---|---|---|---|---|---|---|---|---|",
    );
    for (const r of rows.filter((x) => x.study === study)) {
      out.push(
        `| ${r.label}${r.note ? " \\*" : ""} | ${fmt(r.per_pixel_acc)} | ${
          fmt(r.per_class_acc)
        } | ${fmt(r.class_iou)} | ${fmt(r.paper_per_pixel_acc, 2)} | ${
          fmt(r.paper_per_class_acc, 2)
        } | ${fmt(r.paper_class_iou, 2)} | ${fmt(r.l1)} | ${fmt(r.psnr, 2)} | ${
          fmt(r.ssim)
        } | ${r.status === "done" ? r.run_id : `${r.run_id} (not finished)`} |`,
      );
    }
    out.push(
      `| ground truth (real photos) | ${fmt(gt?.per_pixel_acc ?? null)} | ${
        fmt(gt?.per_class_acc ?? null)
      } | ${fmt(gt?.class_iou ?? null)} | ${
        fmt(PAPER_GROUND_TRUTH.per_pixel_acc, 2)
      } | ${fmt(PAPER_GROUND_TRUTH.per_class_acc, 2)} | ${
        fmt(PAPER_GROUND_TRUTH.class_iou, 2)
      } | | | | |`,
    );
    for (const r of rows.filter((x) => x.study === study && x.note)) {
      out.push("", `\\* ${r.label}: ${r.note}.`);
    }
    if (input.segmenter) out.push("", `${segmenterSummary(input.segmenter)}.`);
    out.push(...after(study));
  }
  return out.join("\n") + "\n";
}

const CSV_FIELDS: (keyof ReportRow)[] = [
  "study",
  "paper_id",
  "label",
  "run_id",
  "status",
  "per_pixel_acc",
  "per_class_acc",
  "class_iou",
  "l1",
  "psnr",
  "ssim",
  "colourfulness",
  "n_images",
  "paper_per_pixel_acc",
  "paper_per_class_acc",
  "paper_class_iou",
  "steps",
  "train_seconds",
  "eval_seconds",
  "note",
];

function csvCell(v: unknown): string {
  const s = v === null || v === undefined ? "" : String(v);
  return /[",\n]/.test(s) ? `"${s.replace(/"/g, '""')}"` : s;
}

/** `results.csv`: one line per table row (header first). */
export function resultsCsv(input: ReportInput): string {
  return [
    CSV_FIELDS.join(","),
    ...reportRows(input).map((r) =>
      CSV_FIELDS.map((f) => csvCell(r[f])).join(",")
    ),
  ].join("\n") + "\n";
}

/**
 * `results.json`: set-up, ground truth, table rows and every run's
 * `done.json`. Written by {@link writeAblationReport}, read back (notebooks)
 * as this same type.
 */
export interface ResultsJson {
  /** Preset name: `ci`, `cpu128` or `paper` (`cpu` in grids run before the rename). */
  preset: string;
  /** The preset's numbers (image size, widths, epochs, steps...). */
  setup: AblatePreset;
  dataroot: string;
  direction: string;
  /** Our segmenter's scores on the real test photos, once a run has them. */
  ground_truth: FcnScores | null;
  /** The grid's segmenter record, null before it is trained. */
  segmenter: SegmenterRecord | null;
  paper_ground_truth: PaperRow;
  /** One row per paper-table row, in the paper's order. */
  rows: ReportRow[];
  /** `done.json` of each run id, null when not finished. */
  runs: Record<string, RunResult | null>;
}

/** The {@link ResultsJson} of a grid. */
export function resultsJson(input: ReportInput): ResultsJson {
  return {
    preset: input.presetName,
    setup: input.preset,
    dataroot: input.dataroot,
    direction: input.direction,
    ground_truth: groundTruth(input),
    segmenter: input.segmenter,
    paper_ground_truth: PAPER_GROUND_TRUTH,
    rows: reportRows(input),
    runs: Object.fromEntries(input.results),
  };
}

/** Test image names (natural order) with a `_fake_B.png` in `<dir>/test/images`. */
export async function testNames(dir: string): Promise<string[]> {
  const names: string[] = [];
  try {
    for await (const e of Deno.readDir(`${dir}/test/images`)) {
      const m = /^(.*)_fake_B\.png$/.exec(e.name);
      if (m) names.push(m[1]);
    }
  } catch {
    return [];
  }
  return names.sort(naturalCompare);
}

/** A written sample sheet: file name, column labels, width in pixels. */
export interface Sheet {
  file: string;
  columns: string[];
  width: number;
}

/**
 * Writes `sheet-<study>.png`: one row per test input (the first
 * {@link SHEET_ROWS} that every finished variant translated), columns input |
 * each finished variant's output, in table order | target. Returns the file
 * name and the column labels, or null when no variant of the study has finished.
 */
export async function writeSheet(
  input: ReportInput,
  study: StudyName,
): Promise<Sheet | null> {
  const variants = input.grid.variants.filter((v: Variant) =>
    v.study === study && input.results.get(v.runId)
  );
  if (variants.length === 0) return null;
  const lists = await Promise.all(
    variants.map((v) => testNames(`${input.out}/${v.runId}`)),
  );
  const names = lists[0].filter((n) => lists.every((l) => l.includes(n)))
    .slice(0, SHEET_ROWS);
  if (names.length === 0) return null;
  const rows: RgbImage[] = [];
  for (const name of names) {
    const first = `${input.out}/${variants[0].runId}/test/images/${name}`;
    const cells = [await readRgb(`${first}_real_A.png`)];
    for (const v of variants) {
      cells.push(
        await readRgb(`${input.out}/${v.runId}/test/images/${name}_fake_B.png`),
      );
    }
    cells.push(await readRgb(`${first}_real_B.png`));
    rows.push(hconcat(...cells));
  }
  const file = `sheet-${study}.png`;
  const sheet = vconcat(rows);
  await writePng(`${input.out}/${file}`, sheet);
  return {
    file,
    columns: ["input", ...variants.map((v) => v.label), "target"],
    width: sheet.width,
  };
}

function htmlTable(
  rows: ReportRow[],
  gt: FcnScores | null,
): string {
  const head = [
    "variant",
    "per-pixel acc",
    "per-class acc",
    "class IoU",
    "paper per-pixel",
    "paper per-class",
    "paper IoU",
    "L1",
    "PSNR",
    "SSIM",
    "run",
  ];
  const cells = (xs: string[]) => xs.map((x) => `<td>${x}</td>`).join("");
  const body = rows.map((r) =>
    `<tr>${
      cells([
        escapeHtml(r.label) +
        (r.note ? ` <small>(${escapeHtml(r.note)})</small>` : ""),
        fmt(r.per_pixel_acc),
        fmt(r.per_class_acc),
        fmt(r.class_iou),
        fmt(r.paper_per_pixel_acc, 2),
        fmt(r.paper_per_class_acc, 2),
        fmt(r.paper_class_iou, 2),
        fmt(r.l1),
        fmt(r.psnr, 2),
        fmt(r.ssim),
        r.status === "done"
          ? `<a href="${r.run_id}/index.html">training</a> · <a href="${r.run_id}/test/index.html">test images</a>`
          : `${escapeHtml(r.run_id)} (not finished)`,
      ])
    }</tr>`
  );
  body.push(
    `<tr><td><b>ground truth</b> (real photos)</td>${
      cells([
        fmt(gt?.per_pixel_acc ?? null),
        fmt(gt?.per_class_acc ?? null),
        fmt(gt?.class_iou ?? null),
        fmt(PAPER_GROUND_TRUTH.per_pixel_acc, 2),
        fmt(PAPER_GROUND_TRUTH.per_class_acc, 2),
        fmt(PAPER_GROUND_TRUTH.class_iou, 2),
        "",
        "",
        "",
        "",
      ])
    }</tr>`,
  );
  return `<table border="1"><tr>${
    head.map((h) => `<th>${h}</th>`).join("")
  }</tr>\n${body.join("\n")}</table>`;
}

/** One colour per FCN-score; the paper's bars are hatched in the same colour. */
const COLOURS = ["#1f77b4", "#2ca02c", "#9467bd"];

/** Plotly traces: ours (solid) and the paper (hatched) per FCN-score. */
function barTraces(rows: ReportRow[]): object[] {
  const metrics = [
    ["per_pixel_acc", "paper_per_pixel_acc", "per-pixel acc"],
    ["per_class_acc", "paper_per_class_acc", "per-class acc"],
    ["class_iou", "paper_class_iou", "class IoU"],
  ] as const;
  const x = rows.map((r) => r.label);
  return metrics.flatMap(([ours, paper, name], i) => [
    {
      type: "bar",
      name: `ours: ${name}`,
      x,
      y: rows.map((r) => r[ours]),
      marker: { color: COLOURS[i] },
    },
    {
      type: "bar",
      name: `paper: ${name}`,
      x,
      y: rows.map((r) => r[paper]),
      marker: {
        color: "white",
        line: { color: COLOURS[i], width: 1.5 },
        pattern: { shape: "/", fgcolor: COLOURS[i] },
      },
    },
  ]);
}

/** Writes `index.html`, linking everything. */
async function writeIndex(
  input: ReportInput,
  sheets: Map<StudyName, Sheet | null>,
): Promise<void> {
  const rows = reportRows(input);
  const gt = groundTruth(input);
  const scripts: string[] = [];
  const sections: string[] = [];
  for (const study of studies(input)) {
    const table = PAPER_TABLES.find((t) => t.study === study)!;
    const studyRows = rows.filter((r) => r.study === study);
    const chart = `bars-${study}`;
    scripts.push(
      `Plotly.newPlot(${JSON.stringify(chart)}, ${
        JSON.stringify(barTraces(studyRows))
      }, ${
        JSON.stringify({
          barmode: "group",
          height: 380,
          yaxis: { range: [0, 1] },
          title: { text: table.title },
        })
      });`,
    );
    const sheet = sheets.get(study);
    sections.push(`<h2>${escapeHtml(table.title)}</h2>
<p>Paper: ${escapeHtml(table.note)}.</p>
${htmlTable(studyRows, gt)}
<div id="${chart}"></div>
${
      sheet
        ? `<h3>Samples</h3><p>Columns: ${
          escapeHtml(sheet.columns.join(" | "))
        }</p><img src="${sheet.file}" style="width:${
          Math.min(2 * sheet.width, 1200)
        }px;max-width:100%;image-rendering:pixelated">`
        : "<p>No finished run yet: no sample sheet.</p>"
    }`);
  }
  const curves: string[] = [];
  for (const run of input.grid.runs) {
    const records = await readLossLog(`${input.out}/${run.id}`);
    if (records.length === 0) continue;
    const c = lossCurves(records);
    const id = `loss-${run.id}`;
    const traces = (["G_GAN", "G_L1", "D_real", "D_fake"] as const).map((
      k,
    ) => ({
      x: c.step,
      y: c[k],
      name: k,
      type: "scatter",
      mode: "lines",
    }));
    curves.push(
      `<div id="${id}" style="display:inline-block;width:32%"></div>`,
    );
    scripts.push(
      `Plotly.newPlot(${JSON.stringify(id)}, ${JSON.stringify(traces)}, ${
        JSON.stringify({
          title: {
            text: `${run.id}<br><sub>${run.rows.join(", ")}</sub>`,
            font: { size: 14 },
          },
          height: 300,
          xaxis: { title: { text: "step" } },
          showlegend: true,
        })
      });`,
    );
  }
  const html = `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>pix2pix ablations (${
    escapeHtml(input.presetName)
  })</title>
<script src="plotly.min.js"></script>
<style>body{font-family:system-ui,sans-serif;margin:1.5em}td,th{padding:3px 6px}</style></head><body>
<h1>pix2pix ablations: ours beside the paper's Tables 1-3</h1>
<p>${escapeHtml(setupLine(input))}</p>
<p>Files: <a href="tables.md">tables.md</a> · <a href="results.csv">results.csv</a> · <a href="results.json">results.json</a></p>
<p>Paper figures are Cityscapes labels → photo at 256x256; ours are this dataset at this size, scored by this grid's segmenter: compare orderings, not values.</p>
${
    input.segmenter
      ? `<p>${escapeHtml(segmenterSummary(input.segmenter))}.</p>\n`
      : ""
  }${sections.join("\n")}
<h2>Loss curves per run</h2>
${curves.join("\n") || "<p>No run has started.</p>"}
<script>
${scripts.join("\n")}
</script>
</body></html>
`;
  await Deno.writeTextFile(`${input.out}/index.html`, html);
}

/** What {@link writeAblationReport} wrote: the rows and each study's sheet. */
export interface AblationReport {
  rows: ReportRow[];
  /** Sample sheet per study, null when no variant of it has finished. */
  sheets: Map<StudyName, Sheet | null>;
}

/**
 * Writes every output of the grid into `input.out`: tables.md, results.csv,
 * results.json, sheet-<study>.png, plotly.min.js and index.html.
 */
export async function writeAblationReport(
  input: ReportInput,
): Promise<AblationReport> {
  await Deno.mkdir(input.out, { recursive: true });
  await ensurePlotly(input.out);
  await Deno.writeTextFile(`${input.out}/tables.md`, tablesMarkdown(input));
  await Deno.writeTextFile(`${input.out}/results.csv`, resultsCsv(input));
  await Deno.writeTextFile(
    `${input.out}/results.json`,
    JSON.stringify(resultsJson(input), null, 2) + "\n",
  );
  const sheets = new Map<
    StudyName,
    Sheet | null
  >();
  for (const study of studies(input)) {
    sheets.set(study, await writeSheet(input, study));
  }
  await writeIndex(input, sheets);
  return { rows: reportRows(input), sheets };
}
