/**
 * Download and unpack the public pix2pix datasets (the reference's
 * `datasets/download_pix2pix_dataset.sh`): resumable HTTP download into a
 * `.part` file (HTTP Range), then `tar.gz` extraction with npm:tar.
 *
 * @module
 */
import cliProgress from "cli-progress";
import * as tar from "tar";
import { DownloadError } from "../errors.ts";

/** Dataset names of the public pix2pix archive. */
export const DATASET_NAMES: readonly string[] = [
  "facades",
  "cityscapes",
  "maps",
  "edges2shoes",
  "edges2handbags",
  "night2day",
];

/** The reference's archive URL of a dataset. */
export function datasetUrl(name: string): string {
  return `http://efrosgans.eecs.berkeley.edu/pix2pix/datasets/${name}.tar.gz`;
}

/** Progress callback: bytes on disk so far, and the total when known. */
export type ProgressFn = (done: number, total: number | undefined) => void;

/** A download progress bar on stderr: pass `update` as the {@link ProgressFn}. */
export interface ProgressBar {
  /** Show `done` of `total` bytes. */
  update: ProgressFn;
  /** Finish the bar (no-op when it never started). */
  stop: () => void;
}

/**
 * A cli-progress bar in megabytes. It redraws in place on a terminal and
 * prints a line every 5 s otherwise (CI logs).
 */
export function progressBar(): ProgressBar {
  let bar: cliProgress.SingleBar | undefined;
  const mb = (bytes: number) => (bytes / 1e6).toFixed(1);
  return {
    update(done, total) {
      const payload = { done: mb(done), size: total ? mb(total) : "?" };
      if (!bar) {
        bar = new cliProgress.SingleBar({
          format: "{bar} {percentage}% | {done}/{size} MB | ETA {eta}s",
          noTTYOutput: true,
          notTTYSchedule: 5000,
        }, cliProgress.Presets.shades_classic);
        bar.start(total ?? 0, done, payload);
      } else bar.update(done, payload);
    },
    stop() {
      bar?.stop();
    },
  };
}

/** What {@link downloadFile} did. */
export interface DownloadResult {
  /** Final file size, bytes. */
  bytes: number;
  /** Bytes already in the `.part` file that were kept (0 for a fresh start). */
  resumedFrom: number;
}

async function fileSize(path: string): Promise<number> {
  const info = await Deno.stat(path).catch(() => null);
  return info?.isFile ? info.size : 0;
}

function errorText(err: unknown): string {
  if (!(err instanceof Error)) return String(err);
  const cause = err.cause instanceof Error ? `: ${err.cause.message}` : "";
  return `${err.message}${cause}`;
}

async function request(url: string, offset: number): Promise<Response> {
  try {
    return await fetch(url, {
      headers: offset > 0 ? { Range: `bytes=${offset}-` } : {},
    });
  } catch (err) {
    throw new DownloadError(
      `cannot reach ${url} (${errorText(err)}); are you offline? ` +
        `Run the same command again later, or pass url with a mirror`,
      { field: "url" },
    );
  }
}

/**
 * Download `url` to `dest`, resuming a previous `dest.part` with an HTTP
 * Range request (when the server ignores the range, it starts over). The
 * `.part` file is renamed to `dest` only when complete, so an interrupted
 * download can be resumed by calling again.
 *
 * @param url http(s) URL
 * @param dest final file path
 * @param onProgress called as bytes arrive
 * @throws DownloadError when unreachable, on HTTP errors, or when interrupted
 */
export async function downloadFile(
  url: string,
  dest: string,
  onProgress?: ProgressFn,
): Promise<DownloadResult> {
  const part = `${dest}.part`;
  let offset = await fileSize(part);
  let response = await request(url, offset);
  if (response.status === 416) {
    // The .part may already hold everything; otherwise start over.
    await response.body?.cancel();
    const total = Number(
      response.headers.get("content-range")?.match(/\/(\d+)$/)?.[1],
    );
    if (total === offset && offset > 0) {
      await Deno.rename(part, dest);
      return { bytes: offset, resumedFrom: offset };
    }
    offset = 0;
    response = await request(url, 0);
  }
  if (!response.ok || !response.body) {
    await response.body?.cancel();
    throw new DownloadError(
      `${url}: HTTP ${response.status} ${response.statusText}`,
    );
  }
  const resumedFrom = response.status === 206 ? offset : 0;
  const rangeStart = response.headers.get("content-range")?.match(
    /bytes (\d+)-/,
  )?.[1];
  if (response.status === 206 && Number(rangeStart) !== offset) {
    await response.body.cancel();
    throw new DownloadError(
      `${url}: asked for bytes from ${offset}, the server sent ${
        response.headers.get("content-range")
      }; delete ${part} and try again`,
    );
  }
  const length = Number(response.headers.get("content-length"));
  const total = Number.isFinite(length) && length > 0
    ? resumedFrom + length
    : undefined;
  const file = await Deno.open(part, {
    create: true,
    write: true,
    append: resumedFrom > 0,
    truncate: resumedFrom === 0,
  });
  let done = resumedFrom;
  onProgress?.(done, total);
  try {
    for await (const chunk of response.body) {
      let written = 0;
      while (written < chunk.length) {
        written += await file.write(chunk.subarray(written));
      }
      done += chunk.length;
      onProgress?.(done, total);
    }
  } catch (err) {
    throw new DownloadError(
      `download of ${url} interrupted after ${done}${
        total ? ` of ${total}` : ""
      } bytes (${errorText(err)}); run the same command again to resume`,
    );
  } finally {
    file.close();
  }
  if (total !== undefined && done !== total) {
    throw new DownloadError(
      `download of ${url} stopped after ${done} of ${total} bytes; run the same command again to resume`,
    );
  }
  await Deno.rename(part, dest);
  return { bytes: done, resumedFrom };
}

/**
 * Unpack a `.tar.gz` archive into `dir` (created when missing).
 *
 * @throws DownloadError naming the archive when it is not a valid tar.gz
 */
export async function extractTarGz(
  archive: string,
  dir: string,
): Promise<void> {
  await Deno.mkdir(dir, { recursive: true });
  try {
    await tar.x({ file: archive, cwd: dir, strict: true });
  } catch (err) {
    throw new DownloadError(
      `${archive}: not a valid .tar.gz archive (${
        errorText(err)
      }); delete it and download again`,
    );
  }
}

/** Options of {@link downloadDataset}. */
export interface DownloadOptions {
  /** Parent folder; the set lands in `<dir>/<name>/`. */
  dir: string;
  /** Archive URL (default: {@link datasetUrl}). */
  url?: string;
  /** Progress of the download. */
  onProgress?: ProgressFn;
}

/** What {@link downloadDataset} did. */
export interface DownloadSummary {
  /** The dataset root, `<dir>/<name>`. */
  root: string;
  /** False when the dataset was already there and nothing was downloaded. */
  downloaded: boolean;
  /** Archive bytes, when downloaded. */
  bytes?: number;
  /** Bytes of an earlier partial download that were reused. */
  resumedFrom?: number;
}

/**
 * Download the archive of dataset `name`, unpack it into `opts.dir` and
 * delete the archive. Does nothing when `<dir>/<name>/` already exists.
 *
 * @param name one of {@link DATASET_NAMES} (any name with `opts.url`)
 * @throws DownloadError for unknown names, network or archive problems
 */
export async function downloadDataset(
  name: string,
  opts: DownloadOptions,
): Promise<DownloadSummary> {
  if (!opts.url && !DATASET_NAMES.includes(name)) {
    throw new DownloadError(
      `unknown dataset "${name}"; choose one of ${
        DATASET_NAMES.join(", ")
      } (or pass url)`,
      { field: "url" },
    );
  }
  if (!/^[A-Za-z0-9_.-]+$/.test(name) || name.startsWith(".")) {
    throw new DownloadError(`bad dataset name "${name}"`);
  }
  const root = `${opts.dir}/${name}`;
  if ((await Deno.stat(root).catch(() => null))?.isDirectory) {
    return { root, downloaded: false };
  }
  await Deno.mkdir(opts.dir, { recursive: true });
  const archive = `${opts.dir}/${name}.tar.gz`;
  const url = opts.url ?? datasetUrl(name);
  const result = await downloadFile(url, archive, opts.onProgress);
  await extractTarGz(archive, opts.dir);
  if (!(await Deno.stat(root).catch(() => null))?.isDirectory) {
    throw new DownloadError(
      `${archive} unpacked, but it holds no folder "${name}/" (kept the archive for a look)`,
    );
  }
  await Deno.remove(archive);
  return { root, downloaded: true, ...result };
}
