/**
 * The embedded default dataset: procedurally generated facade-like pairs.
 *
 * Each pair is a label map of axis-aligned rectangles in the 12 facades
 * classes and colours (`lib/datasets/facades.ts`: facade, floors of windows with
 * sills, blinds and balconies, cornice and moldings, a door or a shop front,
 * pillars, deco) and a "photo" of it: per-class base colours varied per
 * image, brick or plaster texture, glass reflections, blind slats, wood
 * grain, soft shadows under projecting parts, global lighting and noise. The
 * photo is a function of the labels plus randomness, so a model can learn
 * labels -> photo.
 *
 * Stored like facades: `train/1.jpg ...`, `test/1.jpg ...`, every file the
 * photo (A) left and the labels (B) right, JPEG quality 95, so the direction
 * is `BtoA`. Everything is deterministic per seed.
 *
 * @module
 */
import { fileURLToPath } from "node:url";
import { classesToRgb } from "./facades.ts";
import { hconcat, type RgbImage, writeImage } from "../util/image.ts";
import { deriveSeed, Rng } from "../util/rng.ts";

/** Class ids (0-based, as `lib/datasets/facades.ts`). */
const C = {
  background: 0,
  facade: 1,
  window: 2,
  door: 3,
  cornice: 4,
  sill: 5,
  balcony: 6,
  blind: 7,
  deco: 8,
  molding: 9,
  pillar: 10,
  shop: 11,
} as const;

/** Bump when the rendering changes, so cached sets are regenerated. */
const SYNTH_VERSION = 1;

/** What to generate. */
export interface SynthOptions {
  /** Pairs in `train/` (the test split defaults to a quarter of it, at least 1). */
  count: number;
  /** Side of each (square) half, pixels; files are `2 * size` x `size`. */
  size: number;
  /** Seed; the same options always give the same files. */
  seed: number;
  /** Pairs per split, overriding the default `{ train: count, test: ceil(count / 4) }`. */
  splits?: Record<string, number>;
}

/** One generated pair. */
export interface SynthPair {
  /** The rendered "photo" (A side), `size` x `size`. */
  photo: RgbImage;
  /** The label map in facades colours (B side), `size` x `size`. */
  labels: RgbImage;
  /** Class id per pixel (0-based), `size * size`. */
  classes: Uint8Array;
}

/** The pairs per split that `opts` describes. */
export function synthSplits(opts: SynthOptions): Record<string, number> {
  return opts.splits ??
    { train: opts.count, test: Math.max(1, Math.ceil(opts.count / 4)) };
}

function checkOptions(opts: SynthOptions): void {
  for (const [key, min] of [["count", 1], ["size", 16]] as const) {
    const v = opts[key];
    if (!Number.isInteger(v) || v < min) {
      throw new RangeError(
        `synth: ${key} must be an integer >= ${min}, got ${v}`,
      );
    }
  }
  if (!Number.isInteger(opts.seed)) {
    throw new RangeError(`synth: seed must be an integer, got ${opts.seed}`);
  }
  for (const [split, n] of Object.entries(synthSplits(opts))) {
    if (!/^[A-Za-z0-9_-]+$/.test(split) || !Number.isInteger(n) || n < 0) {
      throw new RangeError(
        `synth: split "${split}" needs a plain name and a count >= 0, got ${n}`,
      );
    }
  }
}

/** Fill the rectangle [x0, x1) x [y0, y1) (clipped) of a `size`-square map. */
function fillRect(
  map: Uint8Array,
  size: number,
  x0: number,
  y0: number,
  x1: number,
  y1: number,
  value: number,
): void {
  const xa = Math.max(0, Math.round(x0)), xb = Math.min(size, Math.round(x1));
  const ya = Math.max(0, Math.round(y0)), yb = Math.min(size, Math.round(y1));
  for (let y = ya; y < yb; y++) map.fill(value, y * size + xa, y * size + xb);
}

/** Lay out a facade: a class id per pixel. */
function layout(rng: Rng, size: number): Uint8Array {
  const map = new Uint8Array(size * size); // background
  const s = size;
  const fx0 = rng.uniform(0, 0.08) * s, fx1 = s - rng.uniform(0, 0.08) * s;
  const fy0 = rng.uniform(0.03, 0.18) * s;
  fillRect(map, s, fx0, fy0, fx1, s, C.facade);
  const floors = 3 + rng.int(4);
  const cornice = Math.max(1, rng.uniform(0.02, 0.04) * s);
  fillRect(map, s, fx0, fy0, fx1, fy0 + cornice, C.cornice);
  const top = fy0 + cornice;
  const floorH = (s - top) / floors;
  const cols = 2 + rng.int(4);
  const pillars = rng.next() < 0.35;
  const pillarW = pillars ? rng.uniform(0.025, 0.05) * s : 0;
  if (pillars) {
    fillRect(map, s, fx0, top, fx0 + pillarW, s, C.pillar);
    fillRect(map, s, fx1 - pillarW, top, fx1, s, C.pillar);
  }
  const innerX0 = fx0 + pillarW, innerX1 = fx1 - pillarW;
  const colW = (innerX1 - innerX0) / cols;
  const winW = colW * rng.uniform(0.4, 0.62);
  const winH = floorH * rng.uniform(0.45, 0.62);
  const blinds = rng.next() < 0.4;
  const deco = rng.next() < 0.3;
  for (let f = 0; f < floors; f++) {
    const fy = top + f * floorH;
    const ground = f === floors - 1;
    if (f > 0 && rng.next() < 0.5) {
      fillRect(
        map,
        s,
        fx0,
        fy,
        fx1,
        fy + Math.max(1, 0.04 * floorH),
        C.molding,
      );
    }
    if (ground) {
      if (rng.next() < 0.5) {
        fillRect(map, s, innerX0, fy + floorH * 0.25, innerX1, s, C.shop);
      } else {
        const dw = colW * rng.uniform(0.5, 0.8);
        const dx = innerX0 + colW * (rng.int(cols) + 0.5) - dw / 2;
        fillRect(map, s, dx, fy + floorH * 0.2, dx + dw, s, C.door);
      }
      continue;
    }
    const balcony = rng.next() < 0.25;
    const wy = fy + (floorH - winH) * 0.55;
    for (let c = 0; c < cols; c++) {
      const wx = innerX0 + colW * (c + 0.5) - winW / 2;
      fillRect(map, s, wx, wy, wx + winW, wy + winH, C.window);
      if (blinds && rng.next() < 0.5) {
        const bh = winH * rng.uniform(0.2, 0.7);
        fillRect(map, s, wx, wy, wx + winW, wy + bh, C.blind);
      }
      if (deco) {
        const dh = Math.max(1, 0.06 * floorH);
        fillRect(map, s, wx - 1, wy - 2 * dh, wx + winW + 1, wy - dh, C.deco);
      }
      const sillH = Math.max(1, 0.05 * floorH);
      const y1 = wy + winH;
      if (balcony) {
        fillRect(
          map,
          s,
          wx - colW * 0.15,
          y1 - winH * 0.3,
          wx + winW + colW * 0.15,
          y1 + sillH,
          C.balcony,
        );
      } else {
        fillRect(map, s, wx - 1, y1, wx + winW + 1, y1 + sillH, C.sill);
      }
    }
  }
  return map;
}

/** Per-image base colours (0..255 floats), one RGB triple per class. */
function palette(rng: Rng): Float32Array {
  const jitter = (rgb: number[], amount: number) =>
    rgb.map((v) => v + rng.uniform(-amount, amount));
  const wall = [
    [170, 120, 90],
    [200, 180, 150],
    [150, 150, 145],
    [210, 200, 180],
    [180, 90, 70],
  ][rng.int(5)];
  const base = [
    jitter([140, 175, 215], 25), // background: sky
    jitter(wall, 20), // facade
    jitter([45, 60, 75], 12), // window glass
    jitter([90, 55, 35], 15), // door: wood
    jitter(wall.map((v) => v + 35), 10), // cornice
    jitter([195, 195, 190], 10), // sill
    jitter([50, 50, 55], 10), // balcony: metal
    jitter([215, 210, 195], 15), // blind
    jitter(wall.map((v) => v * 0.6), 10), // deco: darker ornament
    jitter(wall.map((v) => v + 20), 10), // molding
    jitter(wall.map((v) => v * 0.8 + 40), 10), // pillar: lighter stone
    jitter([35, 40, 50], 10), // shop: dark glass
  ];
  return Float32Array.from(base.flat());
}

/** Texture term (added brightness) of class `c` at pixel (x, y). */
function texture(
  c: number,
  x: number,
  y: number,
  size: number,
  brick: number,
): number {
  switch (c) {
    case C.facade:
      if (brick > 0) {
        const row = Math.floor(y / brick);
        const offset = row % 2 ? brick : 0;
        const mortar = y % brick === 0 || (x + offset) % (2 * brick) === 0;
        return mortar ? -35 : 0;
      }
      return 0;
    case C.window:
    case C.shop:
      // Sky reflection: brighter towards the top, a diagonal glint.
      return 40 * (1 - y / size) + ((x + y) % 23 < 3 ? 30 : 0);
    case C.blind:
      return y % 3 === 0 ? -30 : 0;
    case C.door:
      return x % 5 === 0 ? -18 : 0;
    case C.deco:
      return (x + y) % 4 < 2 ? 25 : 0;
    case C.pillar:
      return y % 8 === 0 ? -25 : 0;
    case C.balcony:
      return x % 4 === 0 ? 50 : 0;
    case C.background:
      return 50 * (y / size);
    default:
      return 0;
  }
}

/** Classes that cast a shadow on what lies just below them. */
const PROJECTING = new Set<number>([
  C.cornice,
  C.sill,
  C.balcony,
  C.molding,
  C.deco,
]);

/** Render the "photo" of a label layout. */
function render(rng: Rng, map: Uint8Array, size: number): Uint8Array {
  const base = palette(rng);
  const brick = rng.next() < 0.5 ? Math.max(2, Math.round(size / 40)) : 0;
  const light = rng.uniform(0.1, 0.3); // strength of the top-left lighting
  const noise = rng.uniform(4, 10);
  const shadow = Math.max(1, Math.round(size / 64));
  const out = new Uint8Array(size * size * 3);
  for (let y = 0; y < size; y++) {
    for (let x = 0; x < size; x++) {
      const i = y * size + x;
      const c = map[i];
      let shade = 1 + light * (0.5 - (x + y) / (2 * size));
      // Soft shadow under projecting parts and inside window recesses.
      for (let d = 1; d <= shadow * 2 && y - d >= 0; d++) {
        const above = map[i - d * size];
        if (
          above !== c &&
          (PROJECTING.has(above) || (c === C.window && above === C.facade))
        ) {
          shade *= 0.7 + 0.3 * (d / (shadow * 2 + 1));
          break;
        }
      }
      const t = texture(c, x, y, size, brick);
      const n = noise * (rng.next() + rng.next() - 1);
      for (let k = 0; k < 3; k++) {
        const v = (base[c * 3 + k] + t) * shade + n;
        out[i * 3 + k] = v < 0 ? 0 : v > 255 ? 255 : v;
      }
    }
  }
  return out;
}

/**
 * Generate one pair, deterministically from `seed`.
 *
 * @param size side of each square half, pixels (>= 16)
 * @param seed any integer
 */
export function renderSynthPair(size: number, seed: number): SynthPair {
  const rng = new Rng(seed);
  const classes = layout(rng, size);
  return {
    photo: { data: render(rng, classes, size), width: size, height: size },
    labels: { data: classesToRgb(classes), width: size, height: size },
    classes,
  };
}

/**
 * Write a synthetic aligned dataset: `dir/<split>/1.jpg ...`, each file the
 * photo (A) left and the labels (B) right (use direction `BtoA`), plus
 * `dir/synth.json` with the options.
 *
 * @param dir output folder (created; its split folders must not hold files yet)
 * @param opts what to generate
 * @returns pairs written per split
 * @throws Error naming the folder when a split folder already holds files
 */
export async function writeSynthDataset(
  dir: string,
  opts: SynthOptions,
): Promise<Record<string, number>> {
  checkOptions(opts);
  const splits = synthSplits(opts);
  const splitNames = Object.keys(splits);
  for (const [s, split] of splitNames.entries()) {
    const splitDir = `${dir}/${split}`;
    await Deno.mkdir(splitDir, { recursive: true });
    for await (const _ of Deno.readDir(splitDir)) {
      throw new Error(
        `${splitDir} is not empty: write a synthetic dataset into a new folder`,
      );
    }
    const n = splits[split];
    const batch = 8; // encodes in flight (sharp runs them in libvips threads)
    for (let start = 0; start < n; start += batch) {
      const writes: Promise<void>[] = [];
      for (let i = start; i < Math.min(n, start + batch); i++) {
        const pair = renderSynthPair(opts.size, deriveSeed(opts.seed, s, i));
        writes.push(
          writeImage(
            `${splitDir}/${i + 1}.jpg`,
            hconcat(pair.photo, pair.labels),
          ),
        );
      }
      await Promise.all(writes);
    }
  }
  await Deno.writeTextFile(
    `${dir}/synth.json`,
    JSON.stringify({ version: SYNTH_VERSION, ...opts, splits }, null, 2) + "\n",
  );
  return splits;
}

/** Options of {@link ensureSynthDataset}. */
export interface EnsureSynthOptions extends SynthOptions {
  /** Cache folder (default: `.cache/` at the repository root). */
  cacheDir?: string;
}

/**
 * The folder of the synthetic dataset for `opts`, generated on first use
 * under `<cacheDir>/synth-n<count>-s<size>-seed<seed>-<hash>/` and reused
 * afterwards. Generation goes to a temporary folder renamed into place, so
 * concurrent callers and interrupted runs never see half a dataset.
 *
 * @returns the dataset root (with `train/` and `test/`)
 */
export async function ensureSynthDataset(
  opts: EnsureSynthOptions,
): Promise<string> {
  const { cacheDir, ...synth } = opts;
  checkOptions(synth);
  const root = cacheDir ??
    fileURLToPath(new URL("../../.cache", import.meta.url));
  const key = JSON.stringify({
    v: SYNTH_VERSION,
    ...synth,
    splits: synthSplits(synth),
  });
  const hash = deriveSeed(...[...key].map((ch) => ch.charCodeAt(0)))
    .toString(16).padStart(8, "0");
  const dir =
    `${root}/synth-n${synth.count}-s${synth.size}-seed${synth.seed}-${hash}`;
  const done = await Deno.stat(`${dir}/synth.json`).catch(() => null);
  if (done) return dir;
  await Deno.remove(dir, { recursive: true }).catch(() => {});
  const tmp = `${dir}.tmp-${crypto.randomUUID()}`;
  try {
    await writeSynthDataset(tmp, synth);
    await Deno.rename(tmp, dir);
  } catch (err) {
    await Deno.remove(tmp, { recursive: true }).catch(() => {});
    // Another process may have finished the same set first.
    if (await Deno.stat(`${dir}/synth.json`).catch(() => null)) return dir;
    throw err;
  }
  return dir;
}
