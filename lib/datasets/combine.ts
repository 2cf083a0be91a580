/**
 * Build an aligned A|B dataset from two folders of matching images, as the
 * reference's `datasets/combine_A_and_B.py`: same-named files (extension
 * ignored) are put side by side, A left and B right.
 *
 * @module
 */
import type { FileIssue } from "../data.ts";
import { ConfigError } from "../errors.ts";
import { foldersOverlap } from "../util/files.ts";
import {
  distinctStems,
  dropOpaqueAlpha,
  fileStem,
  type FolderListing,
  hconcat,
  isImagePath,
  listFolder,
  readRgb,
  resizeRgb,
  writeImage,
} from "../util/image.ts";

/** Options of {@link combineFolders}. */
export interface CombineOptions {
  /** Folder of A images; when it holds split subfolders, each is combined. */
  a: string;
  /** Folder of B images, same layout as `a`. */
  b: string;
  /** Output folder (split subfolders mirror `a`). */
  out: string;
  /** Resize B to A's size when they differ (otherwise the pair is an error). */
  resizeB: boolean;
}

/** What {@link combineFolders} did. */
export interface CombineReport {
  /** Pairs written. */
  written: number;
  /** A files (relative to `a`) without a same-named B file. */
  unmatchedA: string[];
  /** B files (relative to `b`) without a same-named A file. */
  unmatchedB: string[];
  /** Pairs that could not be combined. */
  errors: FileIssue[];
}

async function listDir(dir: string): Promise<FolderListing> {
  const info = await Deno.stat(dir).catch(() => null);
  if (!info?.isDirectory) {
    throw new Error(`${dir}: ${info ? "not a folder" : "folder not found"}`);
  }
  return await listFolder(dir);
}

/** Reports the folders of a listing that are named like images: never combined. */
function reportImageFolders(
  dir: string,
  folders: string[],
  report: CombineReport,
): void {
  for (const f of folders.filter(isImagePath)) {
    report.errors.push({
      file: `${dir}/${f}`,
      reason:
        "a folder named like an image, skipped: rename it or move its files up",
    });
  }
}

async function combineFlat(
  a: string,
  b: string,
  out: string,
  prefix: string,
  resizeB: boolean,
  report: CombineReport,
): Promise<void> {
  const [listA, listB] = [await listDir(a), await listDir(b)];
  reportImageFolders(a, listA.folders, report);
  reportImageFolders(b, listB.folders, report);
  // B by exact name first, else by stem; output names stay distinct
  // when A holds `1.jpg` and `1.png`.
  const unusedB = new Set(listB.images);
  const bByStem = new Map<string, string[]>();
  for (const n of listB.images) {
    const stem = fileStem(n);
    bByStem.set(stem, [...bByStem.get(stem) ?? [], n]);
  }
  const outNames = distinctStems(listA.images);
  for (const [i, nameA] of listA.images.entries()) {
    const nameB = unusedB.has(nameA)
      ? nameA
      : bByStem.get(fileStem(nameA))?.find((n) => unusedB.has(n));
    if (nameB === undefined) {
      report.unmatchedA.push(`${prefix}${nameA}`);
      continue;
    }
    unusedB.delete(nameB);
    const ext = nameA.toLowerCase().endsWith(".png") ? "png" : "jpg";
    const target = `${out}/${outNames[i]}.${ext}`;
    try {
      // PNG output keeps transparency (RGBA, for --input-nc/--output-nc 2
      // and 4); pairs opaque in both halves stay RGB.
      const alpha = ext === "png";
      const [imgA, imgB] = await Promise.all([
        readRgb(`${a}/${nameA}`, alpha),
        readRgb(`${b}/${nameB}`, alpha),
      ]);
      const sameSize = imgA.width === imgB.width &&
        imgA.height === imgB.height;
      if (!sameSize && !resizeB) {
        report.errors.push({
          file: `${b}/${nameB}`,
          reason:
            `size ${imgB.width}x${imgB.height} differs from A's ${imgA.width}x${imgA.height} (pass --resize-b)`,
        });
        continue;
      }
      const matched = await resizeRgb(imgB, imgA.width, imgA.height);
      await writeImage(target, dropOpaqueAlpha(hconcat(imgA, matched)));
      report.written++;
    } catch (err) {
      const e = err as { file?: string; reason?: string };
      report.errors.push({
        file: e.file ?? target,
        reason: e.reason ?? String(err),
      });
    }
  }
  report.unmatchedB.push(...[...unusedB].map((n) => `${prefix}${n}`));
}

/**
 * Pair same-named images of `a` and `b` (same name first, else extension
 * ignored) into aligned A|B images under `out`: PNG when the A file is a
 * PNG, JPEG quality 95 otherwise (`1_jpg.jpg` and `1_png.png` where A holds
 * both `1.jpg` and `1.png`). When `a` has subfolders (`train/`,
 * `test/`...), each is combined with the same-named subfolder of `b` into
 * `out/<split>/`; folders named like images are reported, not combined.
 *
 * @throws Error naming the folder when `a` or `b` is missing, or when
 *   `out` is, contains or lies inside `a` or `b` (nothing is written)
 */
export async function combineFolders(
  opts: CombineOptions,
): Promise<CombineReport> {
  const report: CombineReport = {
    written: 0,
    unmatchedA: [],
    unmatchedB: [],
    errors: [],
  };
  for (const [field, dir] of [["a", opts.a], ["b", opts.b]]) {
    if (await foldersOverlap(opts.out, dir)) {
      throw new ConfigError(
        "out",
        `out ${opts.out} is the ${field.toUpperCase()} folder ${dir} or overlaps it: combining there would write over the input images; choose a separate out folder`,
      );
    }
  }
  const top = await listDir(opts.a);
  const topB = await listDir(opts.b);
  // Split subfolders (train/, test/...); images at the top are a split too.
  const folders = top.folders.filter((f) => !isImagePath(f));
  const splits = top.images.length > 0 || folders.length === 0
    ? ["", ...folders]
    : folders;
  if (!splits.includes("")) { // else combineFlat reports them
    reportImageFolders(opts.a, top.folders, report);
    reportImageFolders(opts.b, topB.folders, report);
  }
  for (const split of splits) {
    const sub = split ? `/${split}` : "";
    const bDir = `${opts.b}${sub}`;
    if (!(await Deno.stat(bDir).catch(() => null))?.isDirectory) {
      report.errors.push({ file: bDir, reason: `missing split folder in B` });
      continue;
    }
    await Deno.mkdir(`${opts.out}${sub}`, { recursive: true });
    await combineFlat(
      `${opts.a}${sub}`,
      bDir,
      `${opts.out}${sub}`,
      split ? `${split}/` : "",
      opts.resizeB,
      report,
    );
  }
  return report;
}
