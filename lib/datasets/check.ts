/**
 * Check an aligned dataset folder: every split, every image decoded in full
 * (so truncated files are found), sizes tallied, problems listed.
 *
 * @module
 */
import { DEFAULT_CONFIG, type TrainConfig } from "../config.ts";
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
  /** Usable files whose pixels are all gray (R = G = B), grayscale files included. */
  grayscale: number;
  /** Usable files with an alpha channel (transparency), kept by `--input-nc 2` or `4`. */
  alpha: number;
  /** How to train on it, from the pair count and size; null when unusable. */
  suggestion?: TrainingSuggestion | null;
}

/**
 * Training settings suggested for a checked dataset, as config fields (the
 * CLI spells them as `deno task train` flags): the `cpu64` preset with what
 * the data needs on top of it.
 */
export type SuggestedSettings =
  & { preset: "cpu64" }
  & Partial<
    Pick<
      TrainConfig,
      | "loadSize"
      | "cropSize"
      | "netG"
      | "epochs"
      | "epochsDecay"
      | "inputNc"
      | "outputNc"
    >
  >;

/** A starting point for training on a checked dataset. */
export interface TrainingSuggestion {
  /** Settings over the defaults, in the order they were chosen. */
  settings: SuggestedSettings;
  /** Why, one line per choice, naming config fields (e.g. `valFraction`). */
  reasons: string[];
}

/** Steps of the `cpu64` preset on facades (400 pairs x 20 epochs), the budget the suggestion keeps. */
const CPU_PRESET_STEPS = 8000;

/**
 * Settings to train a checked dataset with: the `cpu64` preset (64 px crops of 72 px
 * resizes, a 2-core CPU in about two hours) with epochs scaled so that the
 * run has about the preset's 8000 steps whatever the pair count; `paper`
 * (256 px) noted for halves of 256 px and more on a GPU; smaller crops for
 * halves under 64 px; `inputNc`/`outputNc` 1 when every image is
 * gray, 4 when every one has alpha, 2 for both. Null when the set has errors
 * or no `train/` pairs.
 */
export function suggestTraining(
  report: Omit<CheckReport, "suggestion">,
): TrainingSuggestion | null {
  const pairs = report.splits.train ?? 0;
  if (report.errors.length || pairs === 0) return null;
  const settings: SuggestedSettings = { preset: "cpu64" };
  const reasons: string[] = [];
  const halves = Object.keys(report.sizes).map((s) => {
    const [w, h] = s.split("x").map(Number);
    return Math.min(w / 2, h);
  });
  const side = Math.min(...halves);
  if (side < 72) {
    const crop = side >= 64 ? 64 : 32;
    const load = Math.max(side, crop);
    Object.assign(settings, {
      loadSize: load,
      cropSize: crop,
      netG: `unet_${crop}`,
    });
    reasons.push(
      `halves are ${side} px: crops of ${crop} (unet_${crop}) from ${load} px resizes`,
    );
  } else {
    reasons.push(
      `halves are ${side} px: the cpu64 preset trains on 64 px crops of 72 px resizes${
        side >= 256
          ? "; with a GPU, the paper preset trains at 256 px as the paper"
          : ""
      }`,
    );
  }
  const { valFraction } = DEFAULT_CONFIG;
  const trained = report.splits.val
    ? pairs
    : pairs - Math.floor(valFraction * pairs);
  const each = Math.max(1, Math.round(CPU_PRESET_STEPS / trained / 2));
  Object.assign(settings, { epochs: each, epochsDecay: each });
  reasons.push(
    `${trained} pairs trained on: ${each} + ${each} epochs is about ${
      2 * each * trained
    } steps, the cpu64 preset's budget${
      pairs < 100
        ? "; under 100 pairs expect overfitting (facades has 400)"
        : ""
    }`,
  );
  reasons.push(
    report.splits.val
      ? `validation on val/ (${report.splits.val} pairs), best checkpoint in checkpoints/best`
      : `no val/ split: ${
        100 * valFraction
      }% of train is held out for validation (valFraction)`,
  );
  const total = Object.values(report.splits).reduce((a, b) => a + b, 0);
  const gray = report.grayscale === total;
  const alpha = report.alpha === total;
  if (gray || alpha) {
    const nc = (gray ? 1 : 3) + (alpha ? 1 : 0);
    Object.assign(settings, { inputNc: nc, outputNc: nc });
    reasons.push(
      `every image is ${
        gray && alpha
          ? "gray (R = G = B) with alpha"
          : gray
          ? "gray (R = G = B)"
          : "RGBA (with alpha)"
      }: ${nc} channel${nc === 1 ? "" : "s"} in and out`,
    );
  }
  return { settings, reasons };
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
    grayscale: 0,
    alpha: 0,
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
  report.suggestion = suggestTraining(report);
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
      const { width, height, note, data } = result.value;
      if (width % 2 !== 0) {
        report.errors.push({
          file,
          reason: `odd width ${width}: cannot split into two equal A|B halves`,
        });
        return;
      }
      if (note) report.warnings.push({ file, reason: note });
      if (isGray(data)) report.grayscale++;
      if (result.value.hasAlpha) report.alpha++;
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

/** Whether every pixel of RGB bytes has R = G = B. */
function isGray(rgb: Uint8Array): boolean {
  for (let i = 0; i < rgb.length; i += 3) {
    if (rgb[i] !== rgb[i + 1] || rgb[i] !== rgb[i + 2]) return false;
  }
  return true;
}

/**
 * A human-readable version of a {@link CheckReport}, without its suggestion
 * (the CLI writes that as a command line).
 */
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
