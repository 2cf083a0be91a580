/**
 * The browser demo as a static site: the page's assets (`lib/site/web_bundle.ts`),
 * a checkpoint's generator in tfjs LayersModel format under `model/`, and
 * `demo.json`, which tells the page what the model expects. `serveDemoSite`
 * serves it on 127.0.0.1 (`deno task demo`), `writeDemoSite` writes it to a
 * folder any static host can serve (`deno task export`).
 *
 * Site layout:
 *
 * ```
 * index.html, style.css, app.js   the page
 * wasm/*.wasm                     tfjs wasm backend binaries
 * model/model.json, model/*.bin   the generator G (copied from <checkpoint>/G)
 * examples/<name>.png             input halves of the run's first test pairs
 * demo.json                       DemoInfo
 * ```
 *
 * @module
 */
import { resolveCheckpoint } from "../checkpoint.ts";
import { CheckpointError, Pix2PixError } from "../errors.ts";
import { readJsonFile } from "../util/files.ts";
import type { Direction, TrainConfig } from "../config.ts";
import { resolveDataroot } from "../datasets/dataroot.ts";
import { looksLikeLabelMap } from "../datasets/facades.ts";
import {
  cropRgb,
  encodePng,
  listFolder,
  readRgb,
  type RgbImage,
} from "../util/image.ts";
import { bundleWebApp } from "./web_bundle.ts";

/**
 * What the generator takes: a facades label map (painting mode offered,
 * palette of `lib/datasets/facades.ts`) or any image (upload mode only).
 */
export type InputKind = "facade-labels" | "image";

/** `demo.json`: what the page needs to know about the model. */
export interface DemoInfo {
  /** Title shown on the page (the run name). */
  title: string;
  /** URL of the generator's `model.json`, relative to the page. */
  model: string;
  inputKind: InputKind;
  /** Which half of an uploaded A|B pair is the input (`BtoA`: the right one). */
  direction: Direction;
  /** Generator name, e.g. `unet_256`. */
  netG: string;
  /** Training steps of the checkpoint. */
  step: number;
  /**
   * Example inputs (site paths of PNGs): the input halves of the first pairs
   * of the run's test split. The page opens with the first one translated.
   */
  examples: string[];
}

/** One file of the site: bytes in memory, or a file on disk read when needed. */
export type SiteFile = { data: Uint8Array<ArrayBuffer> } | { file: string };

/** A demo site: files keyed by site path (`index.html`, `model/model.json`, ...). */
export interface DemoSite {
  files: Map<string, SiteFile>;
  info: DemoInfo;
  /** The checkpoint folder the generator came from. */
  checkpoint: string;
}

/** Options of {@link buildDemoSite}. */
export interface DemoSiteOptions {
  /** Checkpoint folder, run `checkpoints/` folder or run folder (`--checkpoint`). */
  checkpoint: string;
  /** `auto` (default): facade labels when the run's test inputs are label maps (see {@link inferInputKind}). */
  inputKind?: InputKind | "auto";
  /** Minify the bundle (default true). */
  minify?: boolean;
}

/** Example inputs the site carries (the page cycles through them). */
export const EXAMPLE_COUNT = 4;

/** One example input: a test pair's input half. */
export interface ExampleInput {
  /** File name of the pair without extension, e.g. `1`. */
  name: string;
  rgb: RgbImage;
}

/**
 * The input halves (by `config.direction`) of the first `count` readable
 * pairs of the run's `test` split (else `val`), in file-name order; none when
 * the dataset is not on this machine. A `dataroot` of `null` is the embedded synthetic
 * set, regenerated if its cache was removed.
 */
export async function exampleInputs(
  config: TrainConfig,
  count: number = EXAMPLE_COUNT,
): Promise<ExampleInput[]> {
  const root = await resolveDataroot(config);
  for (const split of ["test", "val"]) {
    const listing = await listFolder(`${root}/${split}`).catch(() => null);
    if (!listing?.images.length) continue;
    const out: ExampleInput[] = [];
    for (const file of listing.images) {
      if (out.length === count) break;
      // An unreadable file is left out (lib/datasets/check.ts reports it).
      const ab = await readRgb(`${root}/${split}/${file}`).catch(() => null);
      if (!ab) continue;
      const half = Math.floor(ab.width / 2);
      const rgb = ab.width < 1.5 * ab.height ? ab : cropRgb(
        ab,
        config.direction === "AtoB" ? 0 : half,
        0,
        half,
        ab.height,
      );
      out.push({ name: file.replace(/\.[^.]+$/, ""), rgb });
    }
    return out;
  }
  return [];
}

/**
 * The input kind of a run: facade label maps when its example inputs are
 * label maps in the 12 facades colours (`looksLikeLabelMap`), as on facades
 * and the embedded synthetic set trained BtoA (labels → photo); else images.
 * Without examples (dataset not on this machine) the run's config decides:
 * BtoA on the embedded set or on a dataset whose path names facades.
 */
export function inferInputKind(
  config: TrainConfig,
  examples: readonly ExampleInput[] = [],
): InputKind {
  const labels = examples.length > 0
    ? examples.every(({ rgb }) =>
      looksLikeLabelMap(rgb.data, rgb.width * rgb.height)
    )
    : config.direction === "BtoA" &&
      (config.dataroot === null || /facades/i.test(config.dataroot));
  return labels ? "facade-labels" : "image";
}

/** Reads a JSON file of the flag `flag`'s folder; errors name both. */
async function readFlagJson<T>(path: string, flag: string): Promise<T> {
  return await readJsonFile<T>(
    path,
    (reason) =>
      new CheckpointError(`${flag}: ${path}: ${reason}`, { file: path }),
  );
}

/**
 * Collects the site for a checkpoint: bundles the page, points `model/` at
 * the checkpoint's `G/model.json` and weight shards, and writes `demo.json`
 * from the checkpoint's `state.json`.
 *
 * @throws CheckpointError naming `--checkpoint` and the file when the checkpoint,
 *   its `state.json`, `G/model.json` or a weight shard is missing or malformed
 */
export async function buildDemoSite(o: DemoSiteOptions): Promise<DemoSite> {
  let folder: string;
  try {
    folder = await resolveCheckpoint(o.checkpoint);
  } catch (e) {
    throw new CheckpointError(`--checkpoint: ${(e as Error).message}`, {
      file: o.checkpoint,
      cause: e,
    });
  }
  const state = await readFlagJson<{ step?: number; config?: TrainConfig }>(
    `${folder}/state.json`,
    "--checkpoint",
  );
  if (!state.config || typeof state.config !== "object") {
    throw new CheckpointError(
      `--checkpoint: ${folder}/state.json has no "config" field`,
      { file: `${folder}/state.json` },
    );
  }
  const modelJson = await readFlagJson<{
    weightsManifest?: { paths: string[] }[];
  }>(`${folder}/G/model.json`, "--checkpoint");
  const shards = (modelJson.weightsManifest ?? []).flatMap((g) => g.paths);
  if (shards.length === 0) {
    throw new CheckpointError(
      `--checkpoint: ${folder}/G/model.json lists no weight files`,
      { file: `${folder}/G/model.json` },
    );
  }
  const files = new Map<string, SiteFile>();
  files.set("model/model.json", { file: `${folder}/G/model.json` });
  for (const shard of shards) {
    if (!/^[\w.-]+$/.test(shard)) {
      throw new CheckpointError(
        `--checkpoint: ${folder}/G/model.json: weight path "${shard}" is not a plain file name`,
        { file: `${folder}/G/model.json` },
      );
    }
    const file = `${folder}/G/${shard}`;
    const ok = await Deno.stat(file).then((s) => s.isFile, () => false);
    if (!ok) {
      throw new CheckpointError(`--checkpoint: ${file}: missing`, { file });
    }
    files.set(`model/${shard}`, { file });
  }
  for (const [path, data] of await bundleWebApp({ minify: o.minify })) {
    files.set(path, { data });
  }
  const config = state.config;
  const examples = await exampleInputs(config);
  for (const { name, rgb } of examples) {
    files.set(`examples/${name}.png`, {
      data: await encodePng(rgb, `example ${name}`),
    });
  }
  const info: DemoInfo = {
    title: config.name,
    model: "model/model.json",
    inputKind: !o.inputKind || o.inputKind === "auto"
      ? inferInputKind(config, examples)
      : o.inputKind,
    direction: config.direction,
    netG: config.netG,
    step: state.step ?? 0,
    examples: examples.map(({ name }) => `examples/${name}.png`),
  };
  files.set("demo.json", {
    data: new TextEncoder().encode(JSON.stringify(info, null, 2) + "\n"),
  });
  return { files, info, checkpoint: folder };
}

const CONTENT_TYPES: Record<string, string> = {
  html: "text/html; charset=utf-8",
  js: "text/javascript; charset=utf-8",
  css: "text/css; charset=utf-8",
  json: "application/json",
  wasm: "application/wasm",
  bin: "application/octet-stream",
  png: "image/png",
};

async function readSiteFile(f: SiteFile): Promise<Uint8Array<ArrayBuffer>> {
  return "data" in f ? f.data : await Deno.readFile(f.file);
}

/** Options of {@link serveDemoSite}. */
export interface ServeOptions {
  /** TCP port; 0 picks a free one (see the returned server's `addr`). */
  port: number;
  /** Called once listening, with the page's URL. */
  onListen?: (url: string) => void;
  /** Stops the server when aborted. */
  signal?: AbortSignal;
}

/**
 * Serves the site on 127.0.0.1 with `Deno.serve` (GET/HEAD only, `/` →
 * `index.html`, `application/wasm` for the backend binaries).
 */
export function serveDemoSite(
  site: DemoSite,
  opts: ServeOptions,
): Deno.HttpServer<Deno.NetAddr> {
  return Deno.serve({
    hostname: "127.0.0.1",
    port: opts.port,
    signal: opts.signal,
    onListen: ({ port }) => opts.onListen?.(`http://127.0.0.1:${port}/`),
  }, async (req) => {
    if (req.method !== "GET" && req.method !== "HEAD") {
      return new Response("method not allowed", { status: 405 });
    }
    const path = decodeURIComponent(new URL(req.url).pathname).slice(1) ||
      "index.html";
    const file = site.files.get(path);
    if (!file) return new Response("not found", { status: 404 });
    const ext = path.slice(path.lastIndexOf(".") + 1);
    const body = await readSiteFile(file);
    return new Response(req.method === "HEAD" ? null : body, {
      headers: {
        "content-type": CONTENT_TYPES[ext] ?? "application/octet-stream",
        "cache-control": "no-cache",
      },
    });
  });
}

/**
 * Writes the site into `outDir` (created if needed; files already there with
 * the same names are replaced).
 *
 * @returns the number of files and bytes written
 * @throws Pix2PixError naming `--out` when `outDir` is a file or not writable
 */
export async function writeDemoSite(
  site: DemoSite,
  outDir: string,
): Promise<{ files: number; bytes: number }> {
  let bytes = 0;
  try {
    for (const [path, f] of site.files) {
      const target = `${outDir}/${path}`;
      await Deno.mkdir(target.slice(0, target.lastIndexOf("/")), {
        recursive: true,
      });
      const data = await readSiteFile(f);
      await Deno.writeFile(target, data);
      bytes += data.byteLength;
    }
  } catch (e) {
    if (e instanceof Pix2PixError) throw e;
    throw new Pix2PixError(`--out: ${outDir}: ${(e as Error).message}`, {
      field: "out",
      file: outDir,
      cause: e,
    });
  }
  return { files: site.files.size, bytes };
}
