/**
 * Build an aligned A|B dataset from two folders of matching images, as the
 * reference's `datasets/combine_A_and_B.py`: same-named files (extension
 * ignored) are put side by side, A left and B right.
 *
 * @module
 */
import type { FileIssue } from "../data.ts";
import {
  type FolderListing,
  hconcat,
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

function stem(name: string): string {
  const dot = name.lastIndexOf(".");
  return dot > 0 ? name.slice(0, dot) : name;
}

async function listDir(dir: string): Promise<FolderListing> {
  const info = await Deno.stat(dir).catch(() => null);
  if (!info?.isDirectory) {
    throw new Error(`${dir}: ${info ? "not a folder" : "folder not found"}`);
  }
  return await listFolder(dir);
}

async function combineFlat(
  a: string,
  b: string,
  out: string,
  prefix: string,
  resizeB: boolean,
  report: CombineReport,
): Promise<void> {
  const listA = (await listDir(a)).images;
  const byStemB = new Map(
    (await listDir(b)).images.map((name) => [stem(name), name]),
  );
  for (const nameA of listA) {
    const nameB = byStemB.get(stem(nameA));
    if (nameB === undefined) {
      report.unmatchedA.push(`${prefix}${nameA}`);
      continue;
    }
    byStemB.delete(stem(nameA));
    const ext = nameA.toLowerCase().endsWith(".png") ? "png" : "jpg";
    const target = `${out}/${stem(nameA)}.${ext}`;
    try {
      const [imgA, imgB] = await Promise.all([
        readRgb(`${a}/${nameA}`),
        readRgb(`${b}/${nameB}`),
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
      await writeImage(target, hconcat(imgA, matched));
      report.written++;
    } catch (err) {
      const e = err as { file?: string; reason?: string };
      report.errors.push({
        file: e.file ?? target,
        reason: e.reason ?? String(err),
      });
    }
  }
  report.unmatchedB.push(...[...byStemB.values()].map((n) => `${prefix}${n}`));
}

/**
 * Pair same-named images of `a` and `b` (extension ignored) into aligned
 * A|B images under `out`: PNG when the A file is a PNG, JPEG quality 95
 * otherwise. When `a` has subfolders (`train/`, `test/`...), each is
 * combined with the same-named subfolder of `b` into `out/<split>/`.
 *
 * @throws Error naming the folder when `a` or `b` is missing
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
  const top = await listDir(opts.a);
  await listDir(opts.b);
  const splits = top.folders.length > 0 ? top.folders : [""];
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
