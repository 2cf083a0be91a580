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
 * The records of a run's JSON-lines log `path` (empty when absent). A last
 * line cut short (by a kill or a full disk: no newline after it) is dropped.
 *
 * @throws Error naming the file and line when another line is not a record
 */
async function readStepLog<T extends { step: number }>(
  path: string,
  feeds: string,
): Promise<T[]> {
  const text = await Deno.readTextFile(path).catch(() => "");
  const lines = text.split("\n");
  lines.pop(); // after the last newline: empty, or a record cut short
  return lines.flatMap((line, i) => {
    if (!line.trim()) return [];
    try {
      const record = JSON.parse(line) as T;
      if (typeof record.step === "number") return [record];
    } catch { /* reported below */ }
    throw new Error(
      `${path} line ${
        i + 1
      } is not a step record; delete that line (or the file: it only feeds the ${feeds}) and run again`,
    );
  });
}

/** A run folder's `loss_log.jsonl` records (see {@link readStepLog}). */
export function readLossLog(runDir: string): Promise<StepRecord[]> {
  return readStepLog(`${runDir}/loss_log.jsonl`, "loss curves");
}

/** Averages `records` into at most `MAX_POINTS` buckets per loss curve. */
export function lossCurves(
  records: readonly StepRecord[],
):
  & { step: number[]; lr: number[] }
  & Record<
    (typeof LOSS_KEYS)[number],
    number[]
  > {
  const size = Math.max(1, Math.ceil(records.length / MAX_POINTS));
  const out = {
    step: [] as number[],
    lr: [] as number[],
    G_GAN: [],
    G_L1: [],
    D_real: [],
    D_fake: [],
  } as
    & { step: number[]; lr: number[] }
    & Record<(typeof LOSS_KEYS)[number], number[]>;
  for (let i = 0; i < records.length; i += size) {
    const bucket = records.slice(i, i + size);
    out.step.push(bucket[bucket.length - 1].step);
    out.lr.push(bucket[bucket.length - 1].lr);
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
.warn{background:#fff3cd;border:1px solid #e0b000;padding:4px 12px;margin:8px 0}
</style>${head}</head><body>
${body}
</body></html>
`;
}

/** One validation pass, as written to `val_log.jsonl` (one per epoch and at the end). */
export interface ValRecord {
  /** Steps done when validated. */
  step: number;
  /** Epochs completed (the checkpoint's epoch). */
  epoch: number;
  /** Mean absolute error on the validation pairs, [0, 1] pixel scale. */
  val_L1: number;
  /** FCN-score per-pixel accuracy of the outputs, when a segmenter was there. */
  fcn_pixel_acc?: number;
  /** FCN-score mean per-class accuracy, when a segmenter was there. */
  fcn_class_acc?: number;
  /** FCN-score mean class IoU, when a segmenter was there. */
  fcn_class_iou?: number;
  /** Seconds since the run (or the resumed run) started. */
  seconds: number;
}

/** The FCN-score fields of a {@link ValRecord}, with their chart names. */
export const FCN_FIELDS = {
  fcn_pixel_acc: "FCN per-pixel acc",
  fcn_class_acc: "FCN per-class acc",
  fcn_class_iou: "FCN class IoU",
} as const;

/** A FCN-score field of a {@link ValRecord}. */
export type FcnField = keyof typeof FCN_FIELDS;

/** The validation passes as an HTML table: step, epoch, L1 and the FCN-scores measured. */
function valTable(val: readonly ValRecord[]): string {
  const fcn = (Object.keys(FCN_FIELDS) as FcnField[]).filter((f) =>
    val.some((r) => r[f] !== undefined)
  );
  const head = ["step", "epoch", "val L1", ...fcn.map((f) => FCN_FIELDS[f])];
  const rows = val.map((r) =>
    `<tr><td>${r.step}</td><td>${r.epoch}</td><td>${r.val_L1.toFixed(4)}</td>${
      fcn.map((f) => `<td>${r[f]?.toFixed(3) ?? ""}</td>`).join("")
    }</tr>`
  );
  return `<table class="val"><tr>${
    head.map((h) => `<th>${h}</th>`).join("")
  }</tr>${rows.join("")}</table>`;
}

/** A run folder's `val_log.jsonl` records (see {@link readStepLog}). */
export function readValLog(runDir: string): Promise<ValRecord[]> {
  return readStepLog(`${runDir}/val_log.jsonl`, "validation curves");
}

/** Thresholds of {@link trainingWarnings}. */
export const WARNING_RULES = {
  /** D's mean loss below this counts as "near zero" (BCE on logits; 0.69 is chance). */
  dNearZero: 0.05,
  /** G_GAN's recent mean above this many times its run median counts as exploding... */
  gExplodeFactor: 4,
  /** ... and above this absolute value. */
  gExplodeMin: 5,
  /** Steps averaged for each point checked. */
  window: 10,
} as const;

/**
 * Warnings about how training goes, in the ways pix2pix users report:
 * a loss that is not a finite number (`null` in the log: JSON has no NaN),
 * D's loss near zero for a long stretch (D wins, G gets no useful gradient;
 * a stretch of at least a fifth of the run and 50 steps), and G_GAN
 * exploding (its mean over the last window far above the run's median).
 * Empty when all looks normal; objectives without GAN get only the first.
 */
export function trainingWarnings(
  records: readonly StepRecord[],
  gan: boolean,
): string[] {
  const out: string[] = [];
  const bad = records.find((r) =>
    LOSS_KEYS.some((k) => !Number.isFinite(r[k] as number | null))
  );
  if (bad) {
    const keys = LOSS_KEYS.filter((k) => !Number.isFinite(bad[k]));
    out.push(
      `${
        keys.join(", ")
      } not a finite number (NaN or infinite) at step ${bad.step}: training diverged`,
    );
  }
  const w = WARNING_RULES.window;
  if (!gan || records.length < 2 * w) return out;
  const means = (f: (r: StepRecord) => number) => {
    const m: number[] = [];
    for (let i = 0; i + w <= records.length; i++) {
      let s = 0;
      for (let j = i; j < i + w; j++) s += f(records[j]);
      m.push(s / w);
    }
    return m;
  };
  const d = means((r) => (r.D_real + r.D_fake) / 2);
  let run = 0, longest = 0, longestEnd = 0;
  d.forEach((v, i) => {
    run = v < WARNING_RULES.dNearZero ? run + 1 : 0;
    if (run > longest) [longest, longestEnd] = [run, i];
  });
  const stretch = longest + w - 1;
  if (stretch >= Math.max(50, records.length / 5)) {
    const from = records[longestEnd - longest + 1].step;
    const to = records[longestEnd + w - 1].step;
    out.push(
      `D loss near zero (mean of D_real and D_fake < ${WARNING_RULES.dNearZero}) for ${stretch} steps (${from}-${to}): the discriminator wins and G's adversarial gradient vanishes; try a lower lr, ganMode lsgan, or a larger lambdaL1`,
    );
  }
  const g = means((r) => r.G_GAN);
  const median = [...g].sort((a, b) => a - b)[Math.floor(g.length / 2)];
  const last = g[g.length - 1];
  if (
    last > WARNING_RULES.gExplodeMin &&
    last > WARNING_RULES.gExplodeFactor * median
  ) {
    out.push(
      `G_GAN exploding: ${last.toFixed(2)} over the last ${w} steps, ${
        (last / median).toFixed(1)
      }x its median ${median.toFixed(2)}`,
    );
  }
  return out;
}

/** What the training page shows. */
export interface RunPage {
  /** Run name (page title). */
  name: string;
  /** The resolved config, shown as JSON. */
  config: object;
  /** Every step so far. */
  records: readonly StepRecord[];
  /** Every validation pass so far. */
  validation: readonly ValRecord[];
  /** Whether the objective has GAN terms (for {@link trainingWarnings}). */
  gan: boolean;
  /** One status line, e.g. "step 120 / 400, 1.3 steps/s". */
  status: string;
  /** More warnings to show first (e.g. why training stopped). */
  alerts?: readonly string[];
}

/** Sample grids of a run, `samples/step_*.png`, oldest first, relative to the run folder. */
export async function listSamples(runDir: string): Promise<string[]> {
  const names: string[] = [];
  try {
    for await (const e of Deno.readDir(`${runDir}/samples`)) {
      if (/^step_\d+\.png$/.test(e.name)) names.push(`samples/${e.name}`);
    }
  } catch {
    return [];
  }
  return names.sort();
}

/**
 * Writes `<runDir>/index.html`: status and warnings, loss curves (G_GAN,
 * G_L1, D_real, D_fake) with the learning rate against step, the validation
 * L1 curve with the best epoch marked, the sample grids (input | output |
 * target) with a slider over time, and the config. Written to a temporary
 * file and renamed, so a browser never sees half a page.
 */
export async function writeRunPage(runDir: string, p: RunPage): Promise<void> {
  await ensurePlotly(runDir);
  const curves = lossCurves(p.records);
  const traces: object[] = LOSS_KEYS.map((k) => ({
    x: curves.step,
    y: curves[k],
    name: k,
    type: "scatter",
    mode: "lines",
    yaxis: k === "G_L1" ? "y2" : "y",
  }));
  traces.push({
    x: curves.step,
    y: curves.lr,
    name: "lr",
    type: "scatter",
    mode: "lines",
    line: { dash: "dot", color: "#888" },
    yaxis: "y3",
  });
  const layout = {
    title: { text: "losses (bucket means) and learning rate" },
    xaxis: { title: { text: "step" }, domain: [0, 0.88] },
    yaxis: { title: { text: "GAN losses" } },
    yaxis2: { title: { text: "L1" }, overlaying: "y", side: "right" },
    yaxis3: {
      title: { text: "lr" },
      overlaying: "y",
      side: "right",
      anchor: "free",
      position: 0.97,
      rangemode: "tozero",
      exponentformat: "e",
    },
    height: 420,
  };
  const val = p.validation;
  const best = val.reduce<ValRecord | null>(
    (b, r) => b === null || r.val_L1 < b.val_L1 ? r : b,
    null,
  );
  const valPlot = val.length
    ? `<h2>Validation</h2><p>L1 on the validation pairs ([0, 1] pixel scale, the paper's test mode), best ${
      best!.val_L1.toFixed(4)
    } at step ${best!.step} (checkpoints/best)</p><div id="val"></div>${
      valTable(val)
    }`
    : "<h2>Validation</h2><p>no validation pass yet (one per epoch)</p>";
  const valTraces = [
    {
      x: val.map((r) => r.step),
      y: val.map((r) => r.val_L1),
      name: "val L1",
      type: "scatter",
      mode: "lines+markers",
    },
    ...Object.entries(FCN_FIELDS).filter(([field]) =>
      val.some((r) => r[field as FcnField] !== undefined)
    ).map(([field, name]) => ({
      x: val.map((r) => r.step),
      y: val.map((r) => r[field as FcnField] ?? null),
      name,
      type: "scatter",
      mode: "lines+markers",
      yaxis: "y2",
    })),
    ...(best
      ? [{
        x: [best.step],
        y: [best.val_L1],
        name: "best",
        type: "scatter",
        mode: "markers",
        marker: { size: 12, symbol: "star" },
      }]
      : []),
  ];
  const samples = await listSamples(runDir);
  const stepOf = (f: string) => Number(/step_(\d+)/.exec(f)![1]);
  const slider = samples.length
    ? `<h2>Samples over time (input | output | target)</h2>
<p><input type="range" id="slider" min="0" max="${samples.length - 1}" value="${
      samples.length - 1
    }" style="width:min(900px,100%)"><br>
step <b id="sample-step">${stepOf(samples[samples.length - 1])}</b></p>
<img id="sample" src="${
      escapeHtml(samples[samples.length - 1])
    }?t=${Date.now()}" style="width:100%;max-width:900px">`
    : "";
  const warnings = [...(p.alerts ?? []), ...trainingWarnings(p.records, p.gan)];
  const warningList = warnings.length
    ? `<div class="warn"><b>Warnings</b><ul>${
      warnings.map((w) => `<li>${escapeHtml(w)}</li>`).join("")
    }</ul></div>`
    : "";
  const body = `<h1>${escapeHtml(p.name)}</h1>
<p>${escapeHtml(p.status)}</p>
${warningList}
<div id="losses"></div>
${valPlot}
${slider}
<h2>Config</h2><pre>${escapeHtml(JSON.stringify(p.config, null, 2))}</pre>
<script>Plotly.newPlot("losses", ${JSON.stringify(traces)}, ${
    JSON.stringify(layout)
  });
${
    val.length
      ? `Plotly.newPlot("val", ${JSON.stringify(valTraces)}, ${
        JSON.stringify({
          xaxis: { title: { text: "step" } },
          yaxis: { title: { text: "val L1" } },
          yaxis2: {
            title: { text: "FCN-score" },
            overlaying: "y",
            side: "right",
          },
          height: 320,
        })
      });`
      : ""
  }
const samples = ${JSON.stringify(samples.map((f) => [f, stepOf(f)]))};
const slider = document.getElementById("slider");
if (slider) slider.oninput = () => {
  const [src, step] = samples[Number(slider.value)];
  document.getElementById("sample").src = src;
  document.getElementById("sample-step").textContent = step;
};
</script>`;
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
