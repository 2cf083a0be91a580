/**
 * Atomic checkpoints of a pix2pix run.
 *
 * Layout of `<runDir>/checkpoints/`:
 *
 * ```
 * latest                  text file: the name of the newest checkpoint folder
 * step_00000400/
 *   G/model.json          tfjs LayersModel format (loadable by tf.loadLayersModel
 *   G/group1-shard*.bin    in a browser once lib/layers.ts is imported)
 *   D/model.json, D/...   (absent for the `l1` objective)
 *   optimizer_G.json/.bin Adam iterations and moments (optimizer.getWeights())
 *   optimizer_D.json/.bin
 *   state.json            step, epoch, position in the epoch, lr, config
 *   manifest.json         size and SHA-256 of every other file
 * ```
 *
 * A checkpoint is written into a hidden temporary folder and renamed into
 * place; then `latest` is replaced by writing `latest.tmp` and renaming it.
 * Renames are atomic on POSIX file systems, so a process killed at any moment
 * (mid-save included) leaves the previous checkpoint and pointer intact; a
 * save that fails (a full disk) removes its temporary folder at once.
 *
 * {@link linkCheckpoint} makes a saved step folder a checkpoint of another
 * folder too (a run's `checkpoints/best`) by hard-linking its files.
 *
 * Loading checks every file against `manifest.json` and names the first that
 * differs; {@link loadCheckpoint} can then fall back to the newest intact
 * older checkpoint. Translation and export need only `state.json` and `G/`
 * ({@link loadGenerator}, {@link readGeneratorFiles}).
 *
 * @module
 */

import * as tf from "@tensorflow/tfjs";
import * as tfl from "@tensorflow/tfjs-layers";
import "./layers.ts"; // registers the custom layers that model.json refers to
import type { Adam, NamedTensor } from "./adam.ts";
import type { TrainConfig } from "./config.ts";
import { CheckpointError } from "./errors.ts";
import { discriminatorSpecFromConfig } from "./patchgan.ts";
import { exists, isNoSpace, readFailure, writeFailure } from "./util/files.ts";

/** Bytes per weight shard file, as the tfjs converter's default (4 MiB). */
const SHARD_BYTES = 4 * 1024 * 1024;

export type { NamedTensor } from "./adam.ts";

/** Step checkpoints kept on disk; older ones are deleted after a save. */
export const KEEP_CHECKPOINTS = 2;

/** Where training stands, stored in `state.json`. */
export interface TrainingPosition {
  /** Training steps (iterations) done so far, over all epochs. */
  step: number;
  /** 0-based epoch the next step belongs to. */
  epoch: number;
  /** Batches of `epoch` already consumed (the next step uses the batch after them). */
  batchInEpoch: number;
  /** Learning rate in effect for `epoch`. */
  lr: number;
  /**
   * Seeds of the random streams. Data order and jitter are derived from
   * `(dataSeed, epoch, item)` and dropout masks from `(dropoutSeed, step)`,
   * so these plus the position above fully restore the random state.
   */
  rng: { dataSeed: number; dropoutSeed: number };
}

/** Everything a run needs to continue. */
export interface Checkpoint extends TrainingPosition {
  /** The run's resolved config. */
  config: TrainConfig;
  /** Generator (NHWC in, tanh out). */
  G: tfl.LayersModel;
  /** Discriminator, or null for objectives without GAN. */
  D: tfl.LayersModel | null;
  /** Adam state of G (iterations, m and v per variable, running beta powers); see {@link restoreOptimizer}. */
  optimizerG: NamedTensor[];
  /** Adam state of D, or null. */
  optimizerD: NamedTensor[] | null;
}

/** What `saveCheckpoint` writes. */
export interface CheckpointState extends TrainingPosition {
  config: TrainConfig;
  G: tfl.LayersModel;
  D: tfl.LayersModel | null;
  optimizerG: Adam;
  optimizerD: Adam | null;
}

/** Folder name of the checkpoint taken after `step` steps. */
export function checkpointName(step: number): string {
  return `step_${String(step).padStart(8, "0")}`;
}

/** A {@link CheckpointError} naming the checkpoint file `path`. */
function fileError(path: string): (reason: string) => CheckpointError {
  return (reason) =>
    new CheckpointError(`checkpoint file ${path}: ${reason}`, { file: path });
}

/**
 * The files of one folder, read by path relative to it (`G/model.json`):
 * from disk, or from bytes already read and verified. Errors name
 * `${path}/${name}`.
 */
interface FolderReader {
  /** The folder, for messages. */
  path: string;
  read(name: string): Promise<Uint8Array<ArrayBuffer>>;
}

/** Reads the files of `folder` from disk. */
function diskReader(folder: string): FolderReader {
  return {
    path: folder,
    async read(name) {
      try {
        return await Deno.readFile(`${folder}/${name}`);
      } catch (e) {
        throw fileError(`${folder}/${name}`)(readFailure(e));
      }
    },
  };
}

/** Reads the files of `folder` from `files` (as {@link verifiedFiles} returned them). */
function bytesReader(
  folder: string,
  files: Map<string, Uint8Array<ArrayBuffer>>,
): FolderReader {
  return {
    path: folder,
    read(name) {
      const data = files.get(name);
      if (!data) throw fileError(`${folder}/${name}`)("missing");
      return Promise.resolve(data);
    },
  };
}

/** Writes files into a folder by path relative to it, creating subfolders. */
interface FolderWriter {
  write(name: string, data: string | Uint8Array<ArrayBuffer>): Promise<void>;
}

/**
 * Writes files into `folder`; with `manifest`, records each file's size and
 * SHA-256 there, hashed from the bytes written (not read back).
 */
function diskWriter(folder: string, manifest?: Manifest): FolderWriter {
  return {
    async write(name, data) {
      const bytes = typeof data === "string"
        ? new TextEncoder().encode(data)
        : data;
      const path = `${folder}/${name}`;
      await Deno.mkdir(path.slice(0, path.lastIndexOf("/")), {
        recursive: true,
      });
      await Deno.writeFile(path, bytes);
      if (manifest) {
        manifest[name] = {
          bytes: bytes.byteLength,
          sha256: await sha256(bytes),
        };
      }
    },
  };
}

/** Reads and parses the JSON file `name` of `from`. */
async function readJson<T>(from: FolderReader, name: string): Promise<T> {
  const text = new TextDecoder().decode(await from.read(name));
  try {
    return JSON.parse(text) as T;
  } catch (e) {
    throw fileError(`${from.path}/${name}`)(
      `not valid JSON (${(e as Error).message})`,
    );
  }
}

/** The file `name` of `from` as an ArrayBuffer, checked to hold `bytes` bytes. */
async function readBinary(
  from: FolderReader,
  name: string,
  bytes: number,
): Promise<ArrayBuffer> {
  const data = await from.read(name);
  if (data.byteLength !== bytes) {
    throw fileError(`${from.path}/${name}`)(
      `${data.byteLength} bytes, expected ${bytes} (truncated or corrupt)`,
    );
  }
  return data.buffer.slice(
    data.byteOffset,
    data.byteOffset + data.byteLength,
  ) as ArrayBuffer;
}

/** Bytes a list of weight specs occupies (float32/int32: 4 bytes per value). */
function specBytes(specs: tf.io.WeightsManifestEntry[]): number {
  return specs.reduce(
    (sum, s) => sum + 4 * s.shape.reduce((a, b) => a * b, 1),
    0,
  );
}

/**
 * A tfjs `IOHandler` that saves a LayersModel to `dir/model.json` plus 4 MiB
 * `group1-shard{i}of{n}.bin` files (the layout `tf.loadLayersModel` reads over
 * HTTP), and loads it back, with Deno file APIs.
 */
export function fileHandler(dir: string): tf.io.IOHandler {
  return {
    save: (artifacts) => saveArtifacts(diskWriter(dir), "", artifacts),
    load: () => loadArtifacts(diskReader(dir), ""),
  };
}

/**
 * Writes a LayersModel's artifacts into `to` as `<prefix>model.json` plus
 * `<prefix>group1-shard{i}of{n}.bin` files of at most 4 MiB.
 */
async function saveArtifacts(
  to: FolderWriter,
  prefix: string,
  artifacts: tf.io.ModelArtifacts,
): Promise<tf.io.SaveResult> {
  const data = new Uint8Array(
    tf.io.CompositeArrayBuffer.join(artifacts.weightData ?? []),
  );
  const n = Math.max(1, Math.ceil(data.byteLength / SHARD_BYTES));
  const paths = Array.from(
    { length: n },
    (_, i) => `group1-shard${i + 1}of${n}.bin`,
  );
  for (let i = 0; i < n; i++) {
    await to.write(
      `${prefix}${paths[i]}`,
      data.subarray(i * SHARD_BYTES, (i + 1) * SHARD_BYTES),
    );
  }
  const modelJson: tf.io.ModelJSON = {
    modelTopology: artifacts.modelTopology!,
    format: "layers-model",
    generatedBy: artifacts.generatedBy,
    convertedBy: null,
    weightsManifest: [{ paths, weights: artifacts.weightSpecs ?? [] }],
  };
  await to.write(`${prefix}model.json`, JSON.stringify(modelJson));
  return {
    modelArtifactsInfo: tf.io.getModelArtifactsInfoForJSON(artifacts),
  };
}

/**
 * Reads a LayersModel saved by {@link fileHandler} from the files
 * `<prefix>model.json` and its shards of `from`, each shard checked against
 * the sizes `model.json` declares.
 */
async function loadArtifacts(
  from: FolderReader,
  prefix: string,
): Promise<tf.io.ModelArtifacts> {
  const json = await readJson<tf.io.ModelJSON>(from, `${prefix}model.json`);
  if (!json.modelTopology || !Array.isArray(json.weightsManifest)) {
    throw new CheckpointError(
      `checkpoint file ${from.path}/${prefix}model.json: no modelTopology or weightsManifest`,
    );
  }
  const specs = json.weightsManifest.flatMap((g) => g.weights);
  const paths = json.weightsManifest.flatMap((g) => g.paths);
  const total = specBytes(specs);
  const buffers: ArrayBuffer[] = [];
  let left = total;
  for (const p of paths) {
    const size = Math.min(SHARD_BYTES, left);
    buffers.push(await readBinary(from, `${prefix}${p}`, size));
    left -= size;
  }
  if (left !== 0) {
    throw new CheckpointError(
      `checkpoint file ${from.path}/${prefix}model.json: shards hold ${
        total - left
      } bytes, the weights need ${total}`,
    );
  }
  return {
    modelTopology: json.modelTopology,
    weightSpecs: specs,
    weightData: tf.io.CompositeArrayBuffer.join(buffers),
    format: json.format,
    generatedBy: json.generatedBy,
  };
}

/**
 * Adam's running powers beta1^t and beta2^t. `setWeights()` recomputes them
 * with `pow()`, which can differ from the running product in the last bit;
 * stored and restored, they make a resumed run bit-identical to an
 * uninterrupted one.
 */
function adamPowers(opt: Adam): { name: string; tensor: tf.Variable }[] {
  return [
    { name: "__accBeta1", tensor: opt.accBeta1 },
    { name: "__accBeta2", tensor: opt.accBeta2 },
  ];
}

/**
 * Restores an optimizer from the tensors {@link loadCheckpoint} returned
 * (`getWeights()` order, plus Adam's running powers), then disposes them.
 */
export async function restoreOptimizer(
  opt: Adam,
  weights: NamedTensor[],
): Promise<void> {
  await opt.setWeights(weights.filter((w) => !w.name.startsWith("__")));
  for (const power of adamPowers(opt)) {
    const saved = weights.find((w) => w.name === power.name);
    if (saved) power.tensor.assign(saved.tensor);
  }
  tf.dispose(weights.map((w) => w.tensor));
}

/** Writes an optimizer's state as `<base>.json` (specs) + `<base>.bin` (values). */
async function saveOptimizer(
  to: FolderWriter,
  base: string,
  opt: Adam,
): Promise<void> {
  const weights = [...await opt.getWeights(), ...adamPowers(opt)];
  const { data, specs } = await tf.io.encodeWeights(weights);
  await to.write(
    `${base}.bin`,
    new Uint8Array(tf.io.CompositeArrayBuffer.join(data)),
  );
  await to.write(`${base}.json`, JSON.stringify(specs));
}

async function loadOptimizer(
  from: FolderReader,
  base: string,
): Promise<NamedTensor[]> {
  const specs = await readJson<tf.io.WeightsManifestEntry[]>(
    from,
    `${base}.json`,
  );
  const data = await readBinary(from, `${base}.bin`, specBytes(specs));
  const map = tf.io.decodeWeights(data, specs);
  return specs.map((s) => ({ name: s.name, tensor: map[s.name] }));
}

/**
 * Saves a checkpoint atomically into `dir` (the run's `checkpoints/` folder),
 * points `latest` at it and deletes all but the newest {@link KEEP_CHECKPOINTS}.
 * Returns the checkpoint's folder.
 */
export async function saveCheckpoint(
  dir: string,
  state: CheckpointState,
): Promise<string> {
  return await commitCheckpoint(
    dir,
    state.step,
    (tmp) => writeCheckpointFiles(tmp, state),
  );
}

/**
 * Makes the checkpoint folder `from` (a `step_*` folder that
 * {@link saveCheckpoint} wrote) a checkpoint of `dir` as well, e.g. a run's
 * `checkpoints/best`, without serialising the models again: its files are
 * hard-linked (copied where the file system cannot link), atomically and
 * with `latest` and pruning as {@link saveCheckpoint}. Checkpoint files are
 * never changed in place, so the two folders stay independent. Returns the
 * new folder.
 *
 * @example
 * ```ts
 * const folder = await saveCheckpoint("runs/x/checkpoints", state);
 * await linkCheckpoint(folder, "runs/x/checkpoints/best");
 * ```
 */
export async function linkCheckpoint(
  from: string,
  dir: string,
): Promise<string> {
  const name = from.slice(from.lastIndexOf("/") + 1);
  if (!/^step_\d+$/.test(name)) {
    throw new CheckpointError(
      `${from}: not a checkpoint folder (expected a step_<number> folder)`,
      { file: from },
    );
  }
  return await commitCheckpoint(dir, Number(name.slice(5)), async (tmp) => {
    await Deno.mkdir(tmp);
    for (const path of await listFiles(from)) {
      const target = `${tmp}/${path}`;
      await Deno.mkdir(target.slice(0, target.lastIndexOf("/")), {
        recursive: true,
      });
      await Deno.link(`${from}/${path}`, target)
        .catch(() => Deno.copyFile(`${from}/${path}`, target));
    }
  });
}

/**
 * Creates the checkpoint of `step` in `dir`: `fill` writes its files into a
 * temporary folder, which is then renamed into place; points `latest` at it
 * and prunes older ones. An intact checkpoint of the same step is kept as it
 * is; a damaged one is replaced.
 */
async function commitCheckpoint(
  dir: string,
  step: number,
  fill: (tmp: string) => Promise<void>,
): Promise<string> {
  await Deno.mkdir(dir, { recursive: true });
  const name = checkpointName(step);
  const final = `${dir}/${name}`;
  if (await exists(final)) {
    // Same step, same state: never replace an intact checkpoint in place.
    // A damaged one (a resume fell back past it) is written anew.
    if (await isIntact(final)) {
      await pointLatest(dir, name);
      return final;
    }
    await Deno.remove(final, { recursive: true });
  }
  const tmp = `${dir}/.tmp-${name}-${Deno.pid}`;
  try {
    await Deno.remove(tmp, { recursive: true }).catch(() => {});
    await fill(tmp);
    await Deno.rename(tmp, final);
  } catch (e) {
    await Deno.remove(tmp, { recursive: true }).catch(() => {});
    if (!isNoSpace(e)) throw e;
    throw new CheckpointError(
      `${writeFailure(final, e)} (saving the step ${step} checkpoint)`,
    );
  }
  await pointLatest(dir, name);
  await pruneCheckpoints(dir, name);
  return final;
}

/** Writes every file of a checkpoint into the new folder `tmp`, the manifest last. */
async function writeCheckpointFiles(
  tmp: string,
  state: CheckpointState,
): Promise<void> {
  await Deno.mkdir(tmp);
  const manifest: Manifest = {};
  const to = diskWriter(tmp, manifest);
  const model = (prefix: string): tf.io.IOHandler => ({
    save: (artifacts) => saveArtifacts(to, prefix, artifacts),
  });
  await state.G.save(model("G/"));
  await saveOptimizer(to, "optimizer_G", state.optimizerG);
  if (state.D && state.optimizerD) {
    await state.D.save(model("D/"));
    await saveOptimizer(to, "optimizer_D", state.optimizerD);
  }
  const position: TrainingPosition & { config: TrainConfig } = {
    step: state.step,
    epoch: state.epoch,
    batchInEpoch: state.batchInEpoch,
    lr: state.lr,
    rng: state.rng,
    config: state.config,
  };
  await to.write("state.json", JSON.stringify(position, null, 2));
  const sorted = Object.keys(manifest).sort().map((k) => [k, manifest[k]]);
  await Deno.writeTextFile(
    `${tmp}/${MANIFEST}`,
    JSON.stringify(Object.fromEntries(sorted), null, 1),
  );
}

/** `manifest.json`: every file of a checkpoint (path relative to it) → size and SHA-256. */
type Manifest = Record<string, { bytes: number; sha256: string }>;

const MANIFEST = "manifest.json";

async function sha256(data: Uint8Array<ArrayBuffer>): Promise<string> {
  const hash = new Uint8Array(await crypto.subtle.digest("SHA-256", data));
  return Array.from(hash, (b) => b.toString(16).padStart(2, "0")).join("");
}

/** Paths of the files under `folder`, relative to it, sorted. */
async function listFiles(folder: string, sub = ""): Promise<string[]> {
  const out: string[] = [];
  for await (const e of Deno.readDir(`${folder}/${sub}`)) {
    const path = sub + e.name;
    if (e.isDirectory) out.push(...await listFiles(folder, `${path}/`));
    else out.push(path);
  }
  return out.sort();
}

/** Do the files of `folder` that `want` accepts match its manifest? */
async function isIntact(
  folder: string,
  want?: (path: string) => boolean,
): Promise<boolean> {
  return await verifiedFiles(folder, want).then(() => true, () => false);
}

/**
 * Checks the files of checkpoint `folder` whose paths `want` accepts against
 * its `manifest.json` and returns their bytes. A checkpoint written before
 * manifests existed (none) is read unchecked.
 *
 * @throws CheckpointError naming the first missing, cut or changed file
 */
async function verifiedFiles(
  folder: string,
  want: (path: string) => boolean = () => true,
): Promise<Map<string, Uint8Array<ArrayBuffer>>> {
  const path = `${folder}/${MANIFEST}`;
  const legacy = !(await exists(path));
  const manifest: Record<string, Manifest[string] | null> = legacy
    ? Object.fromEntries((await listFiles(folder)).map((p) => [p, null]))
    : await readJson<Manifest>(diskReader(folder), MANIFEST);
  const out = new Map<string, Uint8Array<ArrayBuffer>>();
  const disk = diskReader(folder);
  for (const [file, entry] of Object.entries(manifest)) {
    if (!want(file)) continue;
    const full = `${folder}/${file}`;
    const data = await disk.read(file);
    if (entry && data.byteLength !== entry.bytes) {
      throw fileError(full)(
        `${data.byteLength} bytes, the manifest says ${entry.bytes} (truncated or corrupt)`,
      );
    }
    if (entry && await sha256(data) !== entry.sha256) {
      throw fileError(full)("SHA-256 differs from the manifest's (corrupt)");
    }
    out.set(file, data);
  }
  return out;
}

/** Points `dir/latest` at checkpoint `name` with an atomic rename. */
async function pointLatest(dir: string, name: string): Promise<void> {
  await Deno.writeTextFile(`${dir}/latest.tmp`, name + "\n");
  await Deno.rename(`${dir}/latest.tmp`, `${dir}/latest`);
}

/**
 * Deletes step folders older than the newest KEEP_CHECKPOINTS (never `keep`)
 * and temporary folders that killed processes left behind.
 */
async function pruneCheckpoints(dir: string, keep: string): Promise<void> {
  const names: string[] = [];
  for await (const e of Deno.readDir(dir)) {
    if (e.isDirectory && /^step_\d+$/.test(e.name)) names.push(e.name);
    if (e.isDirectory && e.name.startsWith(".tmp-")) {
      await Deno.remove(`${dir}/${e.name}`, { recursive: true });
    }
  }
  names.sort();
  for (const old of names.slice(0, -KEEP_CHECKPOINTS)) {
    if (old !== keep) await Deno.remove(`${dir}/${old}`, { recursive: true });
  }
}

/**
 * Resolves a checkpoint folder: `dir` itself if it holds `state.json`,
 * otherwise the folder named by `dir/latest` (a run's `checkpoints/` folder),
 * otherwise `dir/checkpoints/latest` (a run folder).
 */
export async function resolveCheckpoint(dir: string): Promise<string> {
  const isFile = (p: string) =>
    Deno.stat(p).then((s) => s.isFile).catch(() => false);
  if (await isFile(`${dir}/state.json`)) return dir;
  for (const base of [dir, `${dir}/checkpoints`]) {
    if (await isFile(`${base}/latest`)) {
      const name = new TextDecoder().decode(
        await diskReader(base).read("latest"),
      ).trim();
      if (!/^step_\d+$/.test(name)) {
        throw new CheckpointError(
          `checkpoint file ${base}/latest: "${name}" is not a checkpoint name`,
        );
      }
      return `${base}/${name}`;
    }
  }
  throw new CheckpointError(
    `no checkpoint in ${dir}: expected ${dir}/state.json, ${dir}/latest or ${dir}/checkpoints/latest`,
  );
}

/**
 * The config a checkpoint was trained with (from its `state.json`), without
 * loading any weights. `dir` as for {@link resolveCheckpoint}.
 *
 * @throws CheckpointError naming the folder or file
 */
export async function readCheckpointConfig(dir: string): Promise<TrainConfig> {
  return (await readState(diskReader(await resolveCheckpoint(dir)))).config;
}

/** What `state.json` holds. */
type SavedState = TrainingPosition & { config: TrainConfig };

/** Reads and checks the `state.json` of `from`. */
async function readState(from: FolderReader): Promise<SavedState> {
  const folder = from.path;
  const state = await readJson<SavedState>(from, "state.json");
  for (const key of ["step", "epoch", "batchInEpoch", "lr"] as const) {
    if (typeof state[key] !== "number") {
      throw new CheckpointError(
        `checkpoint file ${folder}/state.json: field "${key}" missing or not a number`,
      );
    }
  }
  if (typeof state.config !== "object" || state.config === null) {
    throw new CheckpointError(
      `checkpoint file ${folder}/state.json: field "config" missing`,
    );
  }
  return state;
}

/** Is this checkpoint file needed to run the generator? */
const isGeneratorFile = (path: string) =>
  path === "state.json" || path.startsWith("G/");

/** The step folders of a `checkpoints/` folder older than `below` (all when null), newest first. */
async function olderCheckpoints(
  base: string,
  below: string | null,
): Promise<string[]> {
  const names: string[] = [];
  try {
    for await (const e of Deno.readDir(base)) {
      if (e.isDirectory && /^step_\d+$/.test(e.name)) names.push(e.name);
    }
  } catch {
    return []; // no such folder: nothing older
  }
  const limit = below?.slice(below.lastIndexOf("/") + 1);
  return names.filter((n) => !limit || n < limit).sort().reverse().map((n) =>
    `${base}/${n}`
  );
}

/**
 * Runs `load` on the checkpoint `dir` resolves to. When that fails with a
 * {@link CheckpointError} and an older checkpoint beside it is intact (its
 * files that `want` accepts match its manifest): with `onFallback`, loads
 * that one and reports the failure to `onFallback`; without, adds the
 * older checkpoint's path to the error, for the user to pass instead.
 */
async function withFallback<T>(
  dir: string,
  want: (path: string) => boolean,
  load: (folder: string) => Promise<T>,
  onFallback?: (warning: string) => void,
): Promise<T> {
  let folder: string | null = null;
  try {
    folder = await resolveCheckpoint(dir);
    return await load(folder);
  } catch (e) {
    if (!(e instanceof CheckpointError)) throw e;
    const base = folder
      ? folder.slice(0, folder.lastIndexOf("/"))
      : (await Deno.stat(`${dir}/checkpoints`).catch(() => null))
      ? `${dir}/checkpoints`
      : dir;
    for (const older of await olderCheckpoints(base, folder)) {
      if (onFallback) {
        try {
          const out = await load(older);
          onFallback(
            `${e.message}; loaded the newest intact older checkpoint, ${older}, instead`,
          );
          return out;
        } catch (e2) {
          if (!(e2 instanceof CheckpointError)) throw e2;
        }
      } else if (
        await isIntact(older, want)
      ) {
        throw new CheckpointError(
          `${e.message}; the newest intact older checkpoint is ${older}`,
          { file: e.file, cause: e },
        );
      }
    }
    if (folder === null) throw e; // nothing resolved: nothing damaged
    throw new CheckpointError(
      `${e.message}; no intact older checkpoint beside it: restore the file, or train again`,
      { file: e.file, cause: e },
    );
  }
}

/** Options of {@link loadCheckpoint}. */
export interface LoadOptions {
  /**
   * Called when the checkpoint is damaged and the newest intact older one
   * was loaded instead, with what was wrong (without it, a damaged
   * checkpoint is an error that names the older one).
   */
  onFallback?: (warning: string) => void;
}

/**
 * Loads a checkpoint from a checkpoint folder, a `checkpoints/` folder or a
 * run folder (see {@link resolveCheckpoint}), every file checked against
 * its manifest. Throws `CheckpointError` naming the file when one is
 * missing, cut short, changed or malformed, or when the config disagrees
 * with the models.
 */
export async function loadCheckpoint(
  dir: string,
  opts: LoadOptions = {},
): Promise<Checkpoint> {
  return await withFallback(dir, () => true, async (folder) => {
    const files = await verifiedFiles(folder);
    const from = bytesReader(folder, files);
    const state = await readState(from);
    const hasD = [...files.keys()].some((p) => p.startsWith("D/"));
    const G = await loadModel(from, "G/");
    const D = hasD ? await loadModel(from, "D/") : null;
    checkModels(folder, state.config, G, D);
    return {
      ...state,
      G,
      D,
      optimizerG: await loadOptimizer(from, "optimizer_G"),
      optimizerD: hasD ? await loadOptimizer(from, "optimizer_D") : null,
    };
  }, opts.onFallback);
}

/** A checkpoint's generator with its config: what translation needs. */
export interface SavedGenerator {
  /** The checkpoint folder. */
  folder: string;
  /** Training steps of the checkpoint. */
  step: number;
  config: TrainConfig;
  G: tfl.LayersModel;
}

/**
 * Loads only the generator of a checkpoint (any folder
 * {@link resolveCheckpoint} accepts), checking `state.json` and `G/`
 * against the manifest; optimizer state and D may be absent.
 */
export async function loadGenerator(dir: string): Promise<SavedGenerator> {
  return await withFallback(dir, isGeneratorFile, async (folder) => {
    const from = bytesReader(
      folder,
      await verifiedFiles(folder, isGeneratorFile),
    );
    const { step, config } = await readState(from);
    const G = await loadModel(from, "G/");
    checkModels(folder, config, G, null);
    return { folder, step, config, G };
  });
}

/**
 * The verified bytes of a checkpoint's `G/` files (keyed `model.json`,
 * `group1-shard1of1.bin`...) and its state, for copying the generator
 * elsewhere (`deno task export`, `deno task demo`). The shards are checked
 * against the manifest and against the sizes `model.json` declares.
 */
export async function readGeneratorFiles(
  dir: string,
): Promise<
  {
    folder: string;
    state: SavedState;
    files: Map<string, Uint8Array<ArrayBuffer>>;
  }
> {
  return await withFallback(dir, isGeneratorFile, async (folder) => {
    const verified = await verifiedFiles(folder, isGeneratorFile);
    const from = bytesReader(folder, verified);
    const state = await readState(from);
    await loadArtifacts(from, "G/");
    const files = new Map<string, Uint8Array<ArrayBuffer>>();
    for (const [path, data] of verified) {
      if (path.startsWith("G/")) files.set(path.slice(2), data);
    }
    return { folder, state, files };
  });
}

/**
 * Checks that the models are the ones the config describes: the first
 * layer's input channels and filters, and G's output channels.
 *
 * @throws CheckpointError naming the model file and the config fields
 */
function checkModels(
  folder: string,
  cfg: TrainConfig,
  G: tfl.LayersModel,
  D: tfl.LayersModel | null,
): void {
  const d = discriminatorSpecFromConfig(cfg);
  const checks: [string, tfl.LayersModel | null, number, number, string][] = [
    ["G", G, cfg.inputNc, cfg.ngf, "ngf"],
    ["D", D, d.inputNc, d.ndf, "ndf"],
  ];
  for (const [part, model, channels, filters, field] of checks) {
    const shape = model?.getWeights()[0]?.shape;
    if (!model || (shape?.[2] === channels && shape?.[3] === filters)) continue;
    throw new CheckpointError(
      `checkpoint file ${folder}/${part}/model.json: its first layer takes ${
        shape?.[2]
      } channels to ${
        shape?.[3]
      } filters, but state.json's config says ${channels} and ${field} ${filters}`,
    );
  }
  const out = G.outputs[0].shape[3];
  if (out !== cfg.outputNc) {
    throw new CheckpointError(
      `checkpoint file ${folder}/G/model.json: ${out} output channels, but state.json's config says outputNc ${cfg.outputNc}`,
    );
  }
}

/** Builds the model saved as `<prefix>model.json` and its shards of `from`. */
async function loadModel(
  from: FolderReader,
  prefix: string,
): Promise<tfl.LayersModel> {
  try {
    return await tfl.loadLayersModel({
      load: () => loadArtifacts(from, prefix),
    });
  } catch (e) {
    if (e instanceof CheckpointError) throw e;
    throw new CheckpointError(
      `checkpoint file ${from.path}/${prefix}model.json: cannot build the model (${
        (e as Error).message
      })`,
    );
  }
}
