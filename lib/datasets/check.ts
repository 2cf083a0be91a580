/**
 * Check an aligned dataset folder: every split, every image decoded in full
 * (so truncated files are found), sizes tallied, problems listed.
 *
 * @module
 */
import type { FileIssue } from "../data.ts";
import { listFolder, readRgb } from "../util/image.ts";

/** The result of {@link checkDataset}; `errors` empty means usable. */
export interface CheckReport {
  /** The folder checked. */
  dir: string;
  /** Usable pairs per split folder, e.g. `{ train: 400, test: 106 }`. */
  splits: Record<string, number>;
  /** Image sizes (`"512x256"`) and how many files have each. */
  sizes: Record<string, number>;
  /** Problems that make a file or split unusable. */
  errors: FileIssue[];
  /** Files that load, but are converted (grayscale, alpha, ...). */
  warnings: FileIssue[];
  /** Files without an image extension, ignored by the loader. */
  ignored: string[];
}

/** Images decoded at once (sharp runs them in libvips threads). */
const PARALLEL = 4;

/**
 * Check every split folder of an aligned dataset.
 *
 * Errors: a missing folder, no split folders, an empty split, a file that
 * cannot be decoded, an odd width (the A|B halves cannot be equal).
 * Warnings: conversions on load, and splits mixing image sizes.
 *
 * @param dir dataset root holding `train/`, `test/`, ...
 */
export async function checkDataset(dir: string): Promise<CheckReport> {
  const report: CheckReport = {
    dir,
    splits: {},
    sizes: {},
    errors: [],
    warnings: [],
    ignored: [],
  };
  const info = await Deno.stat(dir).catch(() => null);
  if (!info?.isDirectory) {
    report.errors.push({
      file: dir,
      reason: info ? "not a folder" : "folder not found",
    });
    return report;
  }
  const splits = (await listFolder(dir)).folders;
  if (splits.length === 0) {
    report.errors.push({
      file: dir,
      reason: "no split folders (train/, val/, test/)",
    });
    return report;
  }
  for (const split of splits) {
    await checkSplit(`${dir}/${split}`, split, report);
  }
  return report;
}

async function checkSplit(
  splitDir: string,
  split: string,
  report: CheckReport,
): Promise<void> {
  const listing = await listFolder(splitDir);
  const files = listing.images.map((name) => `${splitDir}/${name}`);
  report.ignored.push(...listing.other.map((name) => `${splitDir}/${name}`));
  report.splits[split] = 0;
  if (files.length === 0) {
    report.errors.push({ file: splitDir, reason: "no images in this split" });
    return;
  }
  const sizes = new Set<string>();
  for (let start = 0; start < files.length; start += PARALLEL) {
    const chunk = files.slice(start, start + PARALLEL);
    const results = await Promise.allSettled(chunk.map((f) => readRgb(f)));
    results.forEach((result, i) => {
      const file = chunk[i];
      if (result.status === "rejected") {
        const err = result.reason;
        report.errors.push({ file, reason: err?.reason ?? String(err) });
        return;
      }
      const { width, height, note } = result.value;
      if (width % 2 !== 0) {
        report.errors.push({
          file,
          reason: `odd width ${width}: cannot split into two equal A|B halves`,
        });
        return;
      }
      if (note) report.warnings.push({ file, reason: note });
      const size = `${width}x${height}`;
      sizes.add(size);
      report.sizes[size] = (report.sizes[size] ?? 0) + 1;
      report.splits[split]++;
    });
  }
  if (sizes.size > 1) {
    report.warnings.push({
      file: splitDir,
      reason: `mixed image sizes (${
        [...sizes].join(", ")
      }): fine with resize_and_crop, batches need one size otherwise`,
    });
  }
}

/** A human-readable version of a {@link CheckReport}. */
export function formatCheckReport(report: CheckReport): string {
  const lines = [`${report.dir}:`];
  for (const [split, n] of Object.entries(report.splits)) {
    lines.push(`  ${split}: ${n} pairs`);
  }
  const sizes = Object.entries(report.sizes)
    .map(([size, n]) => `${size} (${n})`).join(", ");
  if (sizes) lines.push(`  sizes: ${sizes}`);
  for (const w of report.warnings) {
    lines.push(`  warning: ${w.file}: ${w.reason}`);
  }
  if (report.ignored.length) {
    lines.push(`  ignored ${report.ignored.length} non-image file(s)`);
  }
  for (const e of report.errors) lines.push(`  error: ${e.file}: ${e.reason}`);
  lines.push(
    report.errors.length ? `  ${report.errors.length} error(s)` : "  ok",
  );
  return lines.join("\n");
}
