/**
 * Publishes a finished ablation grid as a small, self-contained folder that
 * can be committed (e.g. `docs/ablations/cpu/`): `tables.md`, `results.csv`,
 * `results.json`, the sample sheets (as JPEG), each seed's `done.json` (the JSON
 * files with absolute paths made relative to the working directory by
 * `portablePaths`: no machine's paths are committed), each run's first
 * {@link PUBLISHED_TEST_IMAGES} translated test images of its first seed
 * (what notebooks 05 and 06 read), the plotly charts of the grid's `index.html` rendered to SVG by
 * headless Chromium (`charts/<chart id>.svg`: no 4.8 MB plotly.min.js to
 * commit), and a `README.md` that shows the tables with their charts and
 * sheets, which GitHub renders.
 *
 * @module
 */

import { dirname } from "node:path";
import { pathToFileURL } from "node:url";
import {
  type AblationReport,
  type ReportInput,
  resultFolder,
  tablesMarkdown,
  testNames,
} from "./report.ts";
import type { StudyName } from "./grid.ts";
import { launchChromium } from "../site/chromium.ts";
import { readRgb, writeImage } from "../util/image.ts";
import { jsonText, portablePaths } from "../util/files.ts";

/** Test images per run copied into the published folder (notebooks 05/06 show 1-8). */
export const PUBLISHED_TEST_IMAGES = 8;

/**
 * JPEG quality of the published sample sheets (a PNG sheet of photos is
 * ~1 MB; the test images stay PNG: notebook 06 reads their exact pixels).
 */
const SHEET_QUALITY = 90;

/** `sheet-<study>.png` → `sheet-<study>.jpg`. */
function publishedSheet(file: string): string {
  return file.replace(/\.png$/, ".jpg");
}

/** Width in CSS pixels of the exported charts: bar charts, loss curves. */
const BAR_WIDTH = 900;
const LOSS_WIDTH = 560;

/**
 * Runs in the page: every plotly chart as `{ id: svg text }`.
 * A string, because the page has the DOM and Plotly, which Deno's types lack.
 */
const EXPORT_SCRIPT = `(async () => {
  const out = {};
  for (const el of document.querySelectorAll(".js-plotly-plot")) {
    const width = el.id.startsWith("loss-") ? ${LOSS_WIDTH} : ${BAR_WIDTH};
    const url = await Plotly.toImage(el, {
      format: "svg", width, height: el._fullLayout.height,
    });
    out[el.id] = decodeURIComponent(url.slice(url.indexOf(",") + 1));
  }
  return out;
})()`;

/**
 * Renders every plotly chart of `htmlFile` (its plotly.min.js beside it) to
 * SVG in headless Chromium. Returns chart id → SVG text.
 *
 * @throws Error when the page raises an error (the message names the file).
 */
export async function renderPlotlyCharts(
  htmlFile: string,
): Promise<Map<string, string>> {
  const browser = await launchChromium();
  try {
    const page = await browser.newPage();
    const errors: string[] = [];
    page.on("pageerror", (e) => errors.push(e.message));
    await page.goto(pathToFileURL(await Deno.realPath(htmlFile)).href);
    const svgs = await page.evaluate<Record<string, string>>(EXPORT_SCRIPT);
    if (errors.length) {
      throw new Error(`${htmlFile}: page error: ${errors.join("; ")}`);
    }
    return new Map(Object.entries(svgs));
  } finally {
    await browser.close();
  }
}

/**
 * Copies `from` to `to`, creating `to`'s folder; a `.json` file goes
 * through {@link portableJson}.
 */
async function copy(from: string, to: string): Promise<void> {
  await Deno.mkdir(dirname(to), { recursive: true });
  if (!to.endsWith(".json")) return await Deno.copyFile(from, to);
  await Deno.writeTextFile(to, portableJson(await Deno.readTextFile(from)));
}

/**
 * The JSON text `text` re-written with every absolute path relative to the
 * working directory (`portablePaths`), two-space indented: how the published
 * `results.json` and `done.json` files are written.
 */
export function portableJson(text: string): string {
  return jsonText(portablePaths(JSON.parse(text)));
}

/**
 * Writes the published folder `dest` from the grid `input.out` (whose
 * report, `report`, has just been written by `writeAblationReport`).
 * Returns the files written, relative to `dest`.
 */
export async function publishAblation(
  input: ReportInput,
  report: AblationReport,
  dest: string,
): Promise<string[]> {
  const written: string[] = [];
  const put = async (rel: string, from: string) => {
    await copy(from, `${dest}/${rel}`);
    written.push(rel);
  };
  for (const f of ["tables.md", "results.csv", "results.json"]) {
    await put(f, `${input.out}/${f}`);
  }
  for (const sheet of report.sheets.values()) {
    if (!sheet) continue;
    const jpeg = publishedSheet(sheet.file);
    await writeImage(
      `${dest}/${jpeg}`,
      await readRgb(`${input.out}/${sheet.file}`),
      SHEET_QUALITY,
    );
    written.push(jpeg);
  }
  for (const run of input.grid.runs) {
    const seeds = input.results.get(run.id) ?? [];
    for (const [i, result] of seeds.entries()) {
      const folder = resultFolder(result);
      await put(`${folder}/done.json`, `${input.out}/${folder}/done.json`);
      if (i > 0) continue; // test images of the first finished seed only
      const names = (await testNames(`${input.out}/${folder}`)).slice(
        0,
        PUBLISHED_TEST_IMAGES,
      );
      for (const name of names) {
        for (const kind of ["real_A", "fake_B", "real_B"]) {
          const rel = `${folder}/test/images/${name}_${kind}.png`;
          await put(rel, `${input.out}/${rel}`);
        }
      }
    }
  }
  const charts = await renderPlotlyCharts(`${input.out}/index.html`);
  await Deno.mkdir(`${dest}/charts`, { recursive: true });
  for (const [id, svg] of charts) {
    await Deno.writeTextFile(`${dest}/charts/${id}.svg`, svg);
    written.push(`charts/${id}.svg`);
  }
  await Deno.writeTextFile(
    `${dest}/README.md`,
    publishedReadme(input, report, [...charts.keys()]),
  );
  written.push("README.md");
  return written;
}

/** The published README: the tables, each with its chart and sheet, then the loss curves. */
function publishedReadme(
  input: ReportInput,
  report: AblationReport,
  chartIds: string[],
): string {
  const figures = (study: StudyName) => {
    const lines: string[] = [];
    if (chartIds.includes(`bars-${study}`)) {
      lines.push(
        "",
        `![FCN-scores, ours beside the paper's](charts/bars-${study}.svg)`,
      );
    }
    const sheet = report.sheets.get(study);
    if (sheet) {
      lines.push(
        "",
        `Test samples, columns: ${sheet.columns.join(" | ")}.`,
        "",
        `![test samples](${publishedSheet(sheet.file)})`,
      );
    }
    return lines;
  };
  const losses = chartIds.filter((id) => id.startsWith("loss-"));
  return tablesMarkdown(input, figures) + [
    "",
    "## Loss curves",
    "",
    "Per run and seed (bucket means of `loss_log.jsonl`); each one's `done.json` has its config, scores and per-image scores.",
    "",
    ...losses.map((id) => `![${id.slice(5)}](charts/${id}.svg)`),
    "",
    "Files: [tables.md](tables.md) · [results.csv](results.csv) · [results.json](results.json)",
  ].join("\n") + "\n";
}
