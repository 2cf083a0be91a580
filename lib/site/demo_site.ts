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
 * .pix2pix-export                 marks the folder as an export (`deno task export`)
 * ```
 *
 * @module
 */
import { readGeneratorFiles } from "../checkpoint.ts";
import { CheckpointError, Pix2PixError } from "../errors.ts";
import { writeFailure } from "../util/files.ts";
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
import { inputRegion } from "./input_region.ts";
import { bundleWebApp } from "./web_bundle.ts";

/**
 * What the generator takes: a facades label map (painting mode offered,
 * palette of `lib/datasets/facades.ts`) or any image (upload mode only).
 */
export const INPUT_KINDS = ["facade-labels", "image"] as const;
/** One of {@link INPUT_KINDS}. */
export type InputKind = typeof INPUT_KINDS[number];

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

/**
 * A demo site: file contents keyed by site path (`index.html`,
 * `model/model.json`, ...), all in memory, so a server keeps serving the
 * model it started with while training goes on and prunes checkpoints.
 */
export interface DemoSite {
  files: Map<string, Uint8Array<ArrayBuffer>>;
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
 * The inputs ({@link inputRegion}: by `config.direction`, the input half of
 * an A|B pair, as the page takes uploads) of the first `count` readable
 * images of the run's `test` split (else `val`), in file-name order; none
 * when the dataset is not on this machine. A `dataroot` of `null` is the
 * embedded synthetic set, regenerated if its cache was removed.
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
      const region = inputRegion(ab.width, ab.height, config.direction);
      const rgb = region.width === ab.width
        ? ab
        : cropRgb(ab, region.x, 0, region.width, ab.height);
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

/**
 * Collects the site for a checkpoint: bundles the page, reads the
 * checkpoint's `G/model.json` and weight shards into `model/` (checked
 * against its manifest and model.json, as `translate` checks them), and
 * writes `demo.json` from the checkpoint's `state.json`.
 *
 * @throws CheckpointError naming `--checkpoint` and the file when the checkpoint,
 *   its `state.json`, `G/model.json` or a weight shard is missing, corrupt
 *   or malformed
 */
export async function buildDemoSite(o: DemoSiteOptions): Promise<DemoSite> {
  let generator;
  try {
    generator = await readGeneratorFiles(o.checkpoint);
  } catch (e) {
    throw new CheckpointError(`checkpoint: ${(e as Error).message}`, {
      field: "checkpoint",
      file: o.checkpoint,
      cause: e,
    });
  }
  const { folder, state } = generator;
  const files = new Map<string, Uint8Array<ArrayBuffer>>();
  for (const [name, data] of generator.files) {
    files.set(`model/${name}`, data);
  }
  for (const [path, data] of await bundleWebApp({ minify: o.minify })) {
    files.set(path, data);
  }
  const config = state.config;
  const examples = await exampleInputs(config);
  for (const { name, rgb } of examples) {
    files.set(`examples/${name}.png`, await encodePng(rgb, `example ${name}`));
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
  files.set(
    "demo.json",
    new TextEncoder().encode(JSON.stringify(info, null, 2) + "\n"),
  );
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
 * `index.html`, `application/wasm` for the backend binaries; 405 for other
 * methods, 400 for a path that does not decode, 404 for unknown files).
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
  }, (req) => {
    if (req.method !== "GET" && req.method !== "HEAD") {
      return new Response("method not allowed", { status: 405 });
    }
    let path: string;
    try {
      path = decodeURIComponent(new URL(req.url).pathname).slice(1);
    } catch {
      return new Response("bad request: malformed path", { status: 400 });
    }
    const body = site.files.get(path || "index.html");
    if (!body) return new Response("not found", { status: 404 });
    const ext = (path || "index.html").replace(/^.*\./, "");
    return new Response(req.method === "HEAD" ? null : body, {
      headers: {
        "content-type": CONTENT_TYPES[ext] ?? "application/octet-stream",
        "cache-control": "no-cache",
      },
    });
  });
}

/** The file that marks a folder as written by {@link writeDemoSite}. */
export const EXPORT_MARKER = ".pix2pix-export";

/**
 * Writes the site into `outDir` (created if needed) and marks it with
 * {@link EXPORT_MARKER}. A folder that holds anything else is refused
 * unless it is an earlier export (has the marker) or `force` is set, so
 * nothing a user has is replaced unasked.
 *
 * @returns the number of files and bytes written
 * @throws Pix2PixError naming `--out` when `outDir` is a file, not writable,
 *   or not empty and not an export (naming `--force`)
 */
export async function writeDemoSite(
  site: DemoSite,
  outDir: string,
  opts: { force?: boolean } = {},
): Promise<{ files: number; bytes: number }> {
  let bytes = 0;
  try {
    const info = await Deno.stat(outDir).catch(() => null);
    const entries = info?.isDirectory
      ? await Array.fromAsync(Deno.readDir(outDir), (e) => e.name)
      : [];
    if (
      entries.length > 0 && !entries.includes(EXPORT_MARKER) && !opts.force
    ) {
      throw new Pix2PixError(
        `out: ${outDir} is not empty and not an earlier export (no ${EXPORT_MARKER}); choose an empty folder, or pass force to write into it (files of the same names are replaced)`,
        { field: "out", file: outDir },
      );
    }
    await Deno.mkdir(outDir, { recursive: true });
    await Deno.writeTextFile(`${outDir}/${EXPORT_MARKER}`, "");
    for (const [path, data] of site.files) {
      const target = `${outDir}/${path}`;
      await Deno.mkdir(target.slice(0, target.lastIndexOf("/")), {
        recursive: true,
      });
      await Deno.writeFile(target, data);
      bytes += data.byteLength;
    }
  } catch (e) {
    if (e instanceof Pix2PixError) throw e;
    throw new Pix2PixError(`out: ${writeFailure(outDir, e)}`, {
      field: "out",
      file: outDir,
      cause: e,
    });
  }
  return { files: site.files.size, bytes };
}
