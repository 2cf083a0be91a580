/**
 * Static HTML pages of a run: the training page (`index.html` with loss curves
 * drawn by plotly.js and the latest sample grid) and image galleries (the
 * reference's results pages: one row per input, columns real_A | fake_B |
 * real_B). Pages work from `file://` without a network: plotly.js is copied
 * next to them once and the data is embedded in the page.
 *
 * @module
 */
import { exists, writeFileAtomic } from "../util/files.ts";

/** One training step's record, as written to `loss_log.jsonl`. */
export interface StepRecord {
  /** Steps done after this one (1-based step number). */
  step: number;
  /** 0-based epoch. */
  epoch: number;
  /** Learning rate used. */
  lr: number;
  /** Generator's adversarial loss. */
  G_GAN: number;
  /** Generator's L1 loss (unweighted). */
  G_L1: number;
  /** Discriminator's loss on real pairs. */
  D_real: number;
  /** Discriminator's loss on generated pairs. */
  D_fake: number;
  /** Seconds since the run (or the resumed run) started. */
  seconds: number;
}

/** Losses plotted on the training page. */
const LOSS_KEYS = ["G_GAN", "G_L1", "D_real", "D_fake"] as const;

/** At most this many points per curve; longer logs are averaged in buckets. */
const MAX_POINTS = 2000;

const PLOTLY_SOURCE = new URL(
  "../../node_modules/plotly.js-dist-min/plotly.min.js",
  import.meta.url,
);

/** HTML-escapes text for element content and attribute values. */
export function escapeHtml(text: string): string {
  return text.replace(/&/g, "&amp;").replace(/</g, "&lt;").replace(
    />/g,
    "&gt;",
  ).replace(/"/g, "&quot;");
}

/** Copies `plotly.min.js` into `dir` unless it is already there. */
export async function ensurePlotly(dir: string): Promise<void> {
  const target = `${dir}/plotly.min.js`;
  if (await exists(target)) return;
  try {
    await Deno.copyFile(PLOTLY_SOURCE, target);
  } catch {
    throw new Error(
      `cannot copy ${PLOTLY_SOURCE.pathname}: run \`deno install\` to fetch plotly.js-dist-min`,
    );
  }
}

/**
 * Training seconds over all invocations of a run: `seconds` restarts at each
 * resume, so the log is cut where it drops and the last value of each piece
 * is summed (steps redone after a kill are not in the log, nor their time).
 */
export function trainingSeconds(records: readonly StepRecord[]): number {
  let total = 0;
  for (let i = 0; i < records.length; i++) {
    const next = records[i + 1];
    if (next === undefined || next.seconds < records[i].seconds) {
      total += records[i].seconds;
    }
  }
  return total;
}

/**
 * A run folder's `loss_log.jsonl` records (empty when absent). A last line
 * cut short (by a kill or a full disk: no newline after it) is dropped.
 *
 * @throws Error naming the file and line when another line is not a record
 */
export async function readLossLog(runDir: string): Promise<StepRecord[]> {
  const path = `${runDir}/loss_log.jsonl`;
  const text = await Deno.readTextFile(path).catch(() => "");
  const lines = text.split("\n");
  lines.pop(); // after the last newline: empty, or a record cut short
  return lines.flatMap((line, i) => {
    if (!line.trim()) return [];
    try {
      const record = JSON.parse(line) as StepRecord;
      if (typeof record.step === "number") return [record];
    } catch { /* reported below */ }
    throw new Error(
      `${path} line ${
        i + 1
      } is not a step record; delete that line (or the file: it only feeds the loss curves) and run again`,
    );
  });
}

/** Averages `records` into at most `MAX_POINTS` buckets per loss curve. */
export function lossCurves(
  records: readonly StepRecord[],
): { step: number[] } & Record<(typeof LOSS_KEYS)[number], number[]> {
  const size = Math.max(1, Math.ceil(records.length / MAX_POINTS));
  const out = {
    step: [] as number[],
    G_GAN: [],
    G_L1: [],
    D_real: [],
    D_fake: [],
  } as
    & { step: number[] }
    & Record<(typeof LOSS_KEYS)[number], number[]>;
  for (let i = 0; i < records.length; i += size) {
    const bucket = records.slice(i, i + size);
    out.step.push(bucket[bucket.length - 1].step);
    for (const k of LOSS_KEYS) {
      out[k].push(bucket.reduce((s, r) => s + r[k], 0) / bucket.length);
    }
  }
  return out;
}

function page(title: string, head: string, body: string): string {
  return `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>${escapeHtml(title)}</title>
<style>
body{font-family:system-ui,sans-serif;margin:1.5em;color:#222}
table{border-collapse:collapse}td,th{padding:4px 8px;text-align:left;vertical-align:top}
img{image-rendering:pixelated}pre{background:#f4f4f4;padding:8px;overflow:auto}
</style>${head}</head><body>
${body}
</body></html>
`;
}

/** What the training page shows. */
export interface RunPage {
  /** Run name (page title). */
  name: string;
  /** The resolved config, shown as JSON. */
  config: object;
  /** Every step so far. */
  records: readonly StepRecord[];
  /** Path of the latest sample grid relative to the run folder, if any. */
  latestSample: string | null;
  /** One status line, e.g. "step 120 / 400, 1.3 steps/s". */
  status: string;
}

/**
 * Writes `<runDir>/index.html`: status, loss curves (G_GAN, G_L1, D_real,
 * D_fake against step), the latest sample grid (input | output | target) and
 * the config. Written to a temporary file and renamed, so a browser never
 * sees half a page.
 */
export async function writeRunPage(runDir: string, p: RunPage): Promise<void> {
  await ensurePlotly(runDir);
  const curves = lossCurves(p.records);
  const traces = LOSS_KEYS.map((k) => ({
    x: curves.step,
    y: curves[k],
    name: k,
    type: "scatter",
    mode: "lines",
    yaxis: k === "G_L1" ? "y2" : "y",
  }));
  const layout = {
    title: "losses (bucket means)",
    xaxis: { title: "step" },
    yaxis: { title: "GAN losses" },
    yaxis2: { title: "L1", overlaying: "y", side: "right" },
    height: 420,
  };
  const sample = p.latestSample
    ? `<h2>Latest samples (input | output | target)</h2>
<img src="${
      escapeHtml(p.latestSample)
    }?t=${Date.now()}" style="width:100%;max-width:900px">`
    : "";
  const body = `<h1>${escapeHtml(p.name)}</h1>
<p>${escapeHtml(p.status)}</p>
<div id="losses"></div>
${sample}
<h2>Config</h2><pre>${escapeHtml(JSON.stringify(p.config, null, 2))}</pre>
<script>Plotly.newPlot("losses", ${JSON.stringify(traces)}, ${
    JSON.stringify(layout)
  });</script>`;
  const head =
    `<meta http-equiv="refresh" content="30"><script src="plotly.min.js"></script>`;
  await writeFileAtomic(`${runDir}/index.html`, page(p.name, head, body));
}

/** One gallery row: a label and image paths relative to the page. */
export interface GalleryRow {
  name: string;
  images: string[];
}

/**
 * Writes `<dir>/index.html`, a table with one row per input and one column
 * per entry of `columns` (e.g. real_A, fake_B, real_B), like the reference's
 * results pages.
 */
export async function writeGallery(
  dir: string,
  title: string,
  columns: string[],
  rows: readonly GalleryRow[],
): Promise<void> {
  const header = `<tr><th>name</th>${
    columns.map((c) => `<th>${escapeHtml(c)}</th>`).join("")
  }</tr>`;
  const lines = rows.map((r) =>
    `<tr><td>${escapeHtml(r.name)}</td>${
      r.images.map((src) =>
        `<td><img src="${escapeHtml(src)}" width="256"></td>`
      ).join("")
    }</tr>`
  );
  const body = `<h1>${escapeHtml(title)}</h1>
<table>${header}
${lines.join("\n")}
</table>`;
  await Deno.writeTextFile(`${dir}/index.html`, page(title, "", body));
}
