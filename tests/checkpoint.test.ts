import assert from "node:assert/strict";
import * as tf from "@tensorflow/tfjs";
import * as tfl from "@tensorflow/tfjs-layers";
import "@tensorflow/tfjs-backend-cpu";
import { CheckpointError } from "../lib/errors.ts";
import {
  checkpointName,
  KEEP_CHECKPOINTS,
  linkCheckpoint,
  loadCheckpoint,
  loadGenerator,
  readGeneratorFiles,
  saveCheckpoint,
} from "../lib/checkpoint.ts";
import { Pix2Pix } from "../lib/train.ts";
import { randomPair, TINY } from "./train_fixtures.ts";

await tf.setBackend("cpu");

async function values(ts: tf.Tensor[]): Promise<Float32Array[]> {
  return await Promise.all(
    ts.map(async (t) => new Float32Array(await t.data())),
  );
}

async function optimizerValues(opt: tf.Optimizer): Promise<Float32Array[]> {
  return values((await opt.getWeights()).map((w) => w.tensor));
}

/** Asserts that two trainers' G and D weights are bit-identical. */
async function assertSameModels(actual: Pix2Pix, expected: Pix2Pix) {
  assert.deepEqual(
    await values(actual.G.getWeights()),
    await values(expected.G.getWeights()),
  );
  assert.deepEqual(
    await values(actual.D!.getWeights()),
    await values(expected.D!.getWeights()),
  );
}

async function train(model: Pix2Pix, from: number, steps: number) {
  for (let s = from; s < from + steps; s++) {
    const b = randomPair(s);
    await model.trainStep(b, s);
    tf.dispose([b.input, b.target]);
  }
}

async function save(dir: string, model: Pix2Pix, step: number) {
  return await saveCheckpoint(dir, {
    step,
    epoch: 0,
    batchInEpoch: step,
    lr: TINY.lr,
    rng: { dataSeed: 0, dropoutSeed: 0 },
    config: TINY,
    G: model.G,
    D: model.D,
    optimizerG: model.optimizerG,
    optimizerD: model.optimizerD,
  });
}

Deno.test("save → load restores weights, optimizer state and position exactly; resuming matches", async () => {
  const dir = await Deno.makeTempDir();
  const a = Pix2Pix.create(TINY);
  await train(a, 0, 3);
  await save(dir, a, 3);
  const ck = await loadCheckpoint(dir);
  assert.equal(ck.step, 3);
  assert.equal(ck.batchInEpoch, 3);
  assert.deepEqual(ck.config, TINY);
  const b = await Pix2Pix.fromCheckpoint(ck);
  await assertSameModels(b, a);
  assert.deepEqual(
    await optimizerValues(b.optimizerG),
    await optimizerValues(a.optimizerG),
  );
  assert.deepEqual(
    await optimizerValues(b.optimizerD!),
    await optimizerValues(a.optimizerD!),
  );

  // Adam's running powers beta^t are restored bit for bit, not recomputed.
  const powers = (o: tf.Optimizer) =>
    values(
      ["accBeta1", "accBeta2"].map((k) =>
        (o as unknown as Record<string, tf.Tensor>)[k]
      ),
    );
  assert.deepEqual(await powers(b.optimizerG), await powers(a.optimizerG));
  assert.deepEqual(await powers(b.optimizerD!), await powers(a.optimizerD!));

  // Two more steps on both: the same data and dropout seeds give bit-identical weights.
  await train(a, 3, 2);
  await train(b, 3, 2);
  await assertSameModels(b, a);
  a.dispose();
  b.dispose();
  await Deno.remove(dir, { recursive: true });
});

/** Paths of the files under `folder`, relative to it, sorted. */
function filesUnder(folder: string, sub = ""): string[] {
  return [...Deno.readDirSync(`${folder}/${sub}`)].flatMap((e) =>
    e.isDirectory ? filesUnder(folder, `${sub}${e.name}/`) : [sub + e.name]
  ).sort();
}

async function sha256Hex(data: Uint8Array<ArrayBuffer>): Promise<string> {
  const hash = new Uint8Array(await crypto.subtle.digest("SHA-256", data));
  return Array.from(hash, (b) => b.toString(16).padStart(2, "0")).join("");
}

Deno.test("the manifest lists every other file of the checkpoint with the size and SHA-256 of its bytes on disk", async () => {
  const dir = await Deno.makeTempDir();
  const m = Pix2Pix.create(TINY);
  const folder = await save(dir, m, 2);
  const manifest = JSON.parse(Deno.readTextFileSync(`${folder}/manifest.json`));
  const files = filesUnder(folder).filter((p) => p !== "manifest.json");
  assert.deepEqual(Object.keys(manifest), files);
  assert.ok(files.includes("G/model.json") && files.includes("state.json"));
  for (const path of files) {
    const data = Deno.readFileSync(`${folder}/${path}`);
    assert.deepEqual(manifest[path], {
      bytes: data.byteLength,
      sha256: await sha256Hex(data),
    }, path);
  }
  m.dispose();
  await Deno.remove(dir, { recursive: true });
});

Deno.test("only the newest checkpoints are kept; latest points at the newest", async () => {
  const dir = await Deno.makeTempDir();
  const m = Pix2Pix.create({ ...TINY, loss: "l1" });
  for (const step of [1, 2, 3, 4]) await save(dir, m, step);
  const names = [...Deno.readDirSync(dir)].map((e) => e.name).sort();
  assert.deepEqual(
    names,
    [
      "latest",
      ...[3, 4].map(checkpointName),
    ].sort(),
  );
  assert.equal(KEEP_CHECKPOINTS, 2);
  assert.equal(
    Deno.readTextFileSync(`${dir}/latest`).trim(),
    checkpointName(4),
  );
  const ck = await loadCheckpoint(dir);
  assert.equal(ck.step, 4);
  assert.equal(ck.D, null);
  ck.G.dispose();
  m.dispose();
  await Deno.remove(dir, { recursive: true });
});

Deno.test("linkCheckpoint hard-links a step folder's files into another checkpoints folder, with latest and pruning", async () => {
  const dir = await Deno.makeTempDir();
  const best = `${dir}/best`;
  const m = Pix2Pix.create(TINY);
  const folders = [];
  for (const step of [1, 2, 3]) {
    folders.push(await linkCheckpoint(await save(dir, m, step), best));
  }
  assert.deepEqual(
    folders,
    [1, 2, 3].map((s) => `${best}/${checkpointName(s)}`),
  );
  assert.deepEqual(
    [...Deno.readDirSync(best)].map((e) => e.name).sort(),
    ["latest", checkpointName(2), checkpointName(3)],
  );
  const files = filesUnder(folders[2]);
  assert.deepEqual(files, filesUnder(`${dir}/${checkpointName(3)}`));
  for (const path of files) {
    assert.equal(
      Deno.statSync(`${folders[2]}/${path}`).ino,
      Deno.statSync(`${dir}/${checkpointName(3)}/${path}`).ino,
      path,
    );
  }
  const ck = await loadCheckpoint(best);
  assert.equal(ck.step, 3);
  const b = await Pix2Pix.fromCheckpoint(ck);
  await assertSameModels(b, m);
  b.dispose();
  await assert.rejects(
    linkCheckpoint(dir, `${dir}/other`),
    (e: Error) =>
      e instanceof CheckpointError && e.message.includes(dir) &&
      /not a checkpoint folder/.test(e.message),
  );
  m.dispose();
  await Deno.remove(dir, { recursive: true });
});

Deno.test("a leftover half-written temp folder does not affect the last checkpoint", async () => {
  const dir = await Deno.makeTempDir();
  const m = Pix2Pix.create({ ...TINY, loss: "l1" });
  await save(dir, m, 1);
  // What a SIGKILL mid-save leaves behind: a partial temp folder.
  Deno.mkdirSync(`${dir}/.tmp-${checkpointName(2)}-99999/G`, {
    recursive: true,
  });
  Deno.writeTextFileSync(
    `${dir}/.tmp-${checkpointName(2)}-99999/G/model.json`,
    "{",
  );
  const ck = await loadCheckpoint(dir);
  assert.equal(ck.step, 1);
  // The next save cleans the leftover up.
  await save(dir, m, 2);
  assert.deepEqual([...Deno.readDirSync(dir)].map((e) => e.name).sort(), [
    "latest",
    checkpointName(1),
    checkpointName(2),
  ]);
  ck.G.dispose();
  m.dispose();
  await Deno.remove(dir, { recursive: true });
});

Deno.test("corrupt or missing checkpoints give errors naming the file", async () => {
  const dir = await Deno.makeTempDir();
  await assert.rejects(
    loadCheckpoint(dir),
    (e: Error) =>
      e instanceof CheckpointError &&
      e.message.includes(`no checkpoint in ${dir}`),
  );
  const m = Pix2Pix.create(TINY);
  const folder = await save(dir, m, 5);
  const shard = `${folder}/G/group1-shard1of1.bin`;
  const bytes = Deno.readFileSync(shard);
  Deno.writeFileSync(shard, bytes.subarray(0, 100));
  await assert.rejects(
    loadCheckpoint(dir),
    (e: Error) =>
      e instanceof CheckpointError && e.message.includes(shard) &&
      /truncated/.test(e.message) &&
      /no intact older checkpoint beside it: restore the file/.test(e.message),
  );
  Deno.writeFileSync(shard, bytes);
  Deno.writeTextFileSync(`${folder}/state.json`, "{not json");
  await assert.rejects(
    loadCheckpoint(dir),
    (e: Error) =>
      e.message.includes(`${folder}/state.json`) && /corrupt/.test(e.message),
  );
  // Without a manifest (a checkpoint older than manifests), the parse fails.
  Deno.removeSync(`${folder}/manifest.json`);
  await assert.rejects(
    loadCheckpoint(dir),
    (e: Error) =>
      e.message.includes(`${folder}/state.json`) &&
      /not valid JSON/.test(e.message),
  );
  Deno.writeTextFileSync(`${folder}/state.json`, JSON.stringify({ step: 5 }));
  await assert.rejects(loadCheckpoint(dir), /state\.json: field "epoch"/);
  Deno.removeSync(`${folder}/optimizer_D.bin`);
  await save(dir, m, 6);
  Deno.removeSync(`${dir}/${checkpointName(6)}/optimizer_D.bin`);
  await assert.rejects(
    loadCheckpoint(dir),
    (e: Error) =>
      e.message.includes("optimizer_D.bin") && /missing/.test(e.message),
  );
  Deno.writeTextFileSync(`${dir}/latest`, "../../etc");
  await assert.rejects(
    loadCheckpoint(dir),
    /latest: "\.\.\/\.\.\/etc" is not a checkpoint name/,
  );
  m.dispose();
  await Deno.remove(dir, { recursive: true });
});

Deno.test("model.json + shards load over HTTP with tf.loadLayersModel, as in a browser", async () => {
  const dir = await Deno.makeTempDir();
  // ngf 16: ~7 MB of weights, so more than one 4 MiB shard.
  const m = Pix2Pix.create({ ...TINY, ngf: 16 });
  const folder = await save(dir, m, 1);
  const json = JSON.parse(Deno.readTextFileSync(`${folder}/G/model.json`));
  assert.equal(json.format, "layers-model");
  const shards: string[] = json.weightsManifest[0].paths;
  assert.ok(shards.length > 1, `${shards.length} shard(s)`);
  assert.deepEqual(
    shards,
    shards.map((_, i) => `group1-shard${i + 1}of${shards.length}.bin`),
  );
  assert.ok(
    json.modelTopology.config.layers.some((l: { class_name: string }) =>
      l.class_name === "Pix2PixSeededDropout"
    ),
  );
  // Served over HTTP, it loads with tfjs's own browser loader (tf.io.http,
  // fetch) and computes the same as the original.
  const server = Deno.serve(
    { port: 0, hostname: "127.0.0.1", onListen: () => {} },
    async (req) => {
      const path = `${folder}${new URL(req.url).pathname}`;
      const body = await Deno.readFile(path).catch(() => null);
      return new Response(body, { status: body ? 200 : 404 });
    },
  );
  const loaded = await tfl.loadLayersModel(
    `http://127.0.0.1:${server.addr.port}/G/model.json`,
  );
  await server.shutdown();
  const x = tf.randomUniform([1, 64, 64, 3], -1, 1, "float32", 3);
  const [y1, y2] = [m.G, loaded].map((g) =>
    g.apply(x, { training: false }) as tf.Tensor
  );
  assert.deepEqual(await y2.data(), await y1.data());
  tf.dispose([x, y1, y2]);
  loaded.dispose();
  m.dispose();
  await Deno.remove(dir, { recursive: true });
});

Deno.test("a flipped byte fails the manifest's SHA-256, naming the file; the older checkpoint is offered or, with onFallback, loaded", async () => {
  const dir = await Deno.makeTempDir();
  const m = Pix2Pix.create(TINY);
  await save(dir, m, 5);
  const newest = await save(dir, m, 6);
  const manifest = JSON.parse(Deno.readTextFileSync(`${newest}/manifest.json`));
  assert.deepEqual(Object.keys(manifest).sort(), [
    "D/group1-shard1of1.bin",
    "D/model.json",
    "G/group1-shard1of1.bin",
    "G/model.json",
    "optimizer_D.bin",
    "optimizer_D.json",
    "optimizer_G.bin",
    "optimizer_G.json",
    "state.json",
  ]);
  const shard = `${newest}/D/group1-shard1of1.bin`;
  const bytes = Deno.readFileSync(shard);
  bytes[1000] ^= 0x40; // same size, one bit off
  Deno.writeFileSync(shard, bytes);
  const older = `${dir}/${checkpointName(5)}`;
  await assert.rejects(
    loadCheckpoint(dir),
    (e: Error) =>
      e instanceof CheckpointError && e.message.includes(shard) &&
      /SHA-256/.test(e.message) &&
      e.message.includes(`newest intact older checkpoint is ${older}`),
  );
  const warnings: string[] = [];
  const ck = await loadCheckpoint(dir, { onFallback: (w) => warnings.push(w) });
  assert.equal(ck.step, 5);
  assert.equal(warnings.length, 1);
  assert.ok(warnings[0].includes(shard) && warnings[0].includes(older));
  // G alone is intact in the newest: translation does not need D.
  const g = await loadGenerator(dir);
  assert.equal(g.step, 6);
  g.G.dispose();
  // Saving step 6 again (a resume that fell back) replaces the damaged folder.
  await save(dir, m, 6);
  const again = await loadCheckpoint(dir);
  assert.equal(again.step, 6);
  tf.dispose([again.G, again.D!].flatMap((x) => x.getWeights()));
  tf.dispose([ck.G, ck.D!].flatMap((x) => x.getWeights()));
  m.dispose();
  await Deno.remove(dir, { recursive: true });
});

Deno.test("loadGenerator and readGeneratorFiles need only state.json and G/", async () => {
  const dir = await Deno.makeTempDir();
  const m = Pix2Pix.create(TINY);
  const folder = await save(dir, m, 3);
  for (const f of ["optimizer_G.bin", "optimizer_D.json", "D"]) {
    Deno.removeSync(`${folder}/${f}`, { recursive: true });
  }
  await assert.rejects(
    loadCheckpoint(dir),
    /D\/group1-shard1of1\.bin: missing/,
  );
  const g = await loadGenerator(dir);
  assert.equal(g.config.ngf, TINY.ngf);
  g.G.dispose();
  const { files, state } = await readGeneratorFiles(dir);
  assert.deepEqual([...files.keys()].sort(), [
    "group1-shard1of1.bin",
    "model.json",
  ]);
  assert.equal(state.step, 3);
  // A shard cut short is named, as translate does.
  const shard = `${folder}/G/group1-shard1of1.bin`;
  Deno.truncateSync(shard, 10);
  await assert.rejects(
    readGeneratorFiles(dir),
    (e: Error) => e.message.includes(shard) && /truncated/.test(e.message),
  );
  m.dispose();
  await Deno.remove(dir, { recursive: true });
});

Deno.test("a config that disagrees with the saved model is refused, naming the file and the field", async () => {
  const dir = await Deno.makeTempDir();
  const m = Pix2Pix.create(TINY);
  const folder = await save(dir, m, 1);
  // Hand-edited (and the manifest deleted, so the hash check cannot catch it).
  const state = JSON.parse(Deno.readTextFileSync(`${folder}/state.json`));
  state.config.ngf = 8;
  Deno.writeTextFileSync(`${folder}/state.json`, JSON.stringify(state));
  await assert.rejects(
    loadCheckpoint(dir),
    (e: Error) =>
      e.message.includes(`${folder}/state.json`) && /corrupt/.test(e.message),
  );
  Deno.removeSync(`${folder}/manifest.json`);
  await assert.rejects(
    loadGenerator(dir),
    (e: Error) =>
      e.message.includes(`${folder}/G/model.json`) &&
      /4 filters.*ngf 8/.test(e.message),
  );
  m.dispose();
  await Deno.remove(dir, { recursive: true });
});

Deno.test("a save that fails on a full disk removes its temp folder and says so", async () => {
  const dir = await Deno.makeTempDir();
  const m = Pix2Pix.create({ ...TINY, loss: "l1" });
  await save(dir, m, 1);
  const full = {
    save: async (handler: tf.io.IOHandler) => {
      await handler.save!({ modelTopology: {}, weightSpecs: [] });
      throw new Error("No space left on device (os error 28)");
    },
  } as unknown as tfl.LayersModel;
  await assert.rejects(
    saveCheckpoint(dir, {
      step: 2,
      epoch: 0,
      batchInEpoch: 2,
      lr: TINY.lr,
      rng: { dataSeed: 0, dropoutSeed: 0 },
      config: TINY,
      G: full,
      D: null,
      optimizerG: m.optimizerG,
      optimizerD: null,
    }),
    (e: Error) =>
      e instanceof CheckpointError &&
      e.message.includes(`${dir}/${checkpointName(2)}`) &&
      /no space left on the device; free some space/.test(e.message),
  );
  assert.deepEqual([...Deno.readDirSync(dir)].map((e) => e.name).sort(), [
    "latest",
    checkpointName(1),
  ]);
  assert.equal((await loadCheckpoint(dir)).step, 1);
  m.dispose();
  await Deno.remove(dir, { recursive: true });
});
