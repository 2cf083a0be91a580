/**
 * A training run never loses what a user has: an existing run is not
 * replaced unasked, resume survives damaged files and refuses changed
 * settings, and two processes cannot share a run (issue 15).
 */
import { cliMessage } from "../cli/common.ts";
import assert from "node:assert/strict";
import * as tf from "@tensorflow/tfjs";
import "@tensorflow/tfjs-backend-cpu";
import { checkpointName } from "../lib/checkpoint.ts";
import type { TrainConfig } from "../lib/config.ts";
import { acquireLock } from "../lib/util/files.ts";
import { readLossLog } from "../lib/report/run_page.ts";
import { train } from "../lib/train.ts";
import { pattern, pngBytes } from "./data_fixtures.ts";
import { TINY } from "./train_fixtures.ts";

await tf.setBackend("cpu");

/** 32px, 5 synthetic pairs: 5 steps per epoch, 10 in all. */
const SMALL: TrainConfig = {
  ...TINY,
  netG: "unet_32",
  cropSize: 32,
  loadSize: 36,
  synthCount: 5,
  epochs: 1,
  epochsDecay: 1,
  sampleEvery: 0,
  saveEvery: 2,
  name: "run",
};

const quiet = { quiet: true };

function listing(dir: string): string[] {
  return [...Deno.readDirSync(dir)].map((e) => e.name).sort();
}

Deno.test("a fresh run over an existing one is refused; --overwrite deletes only after every check passed", async () => {
  const dir = await Deno.makeTempDir();
  const cfg = { ...SMALL, checkpointsDir: dir, maxSteps: 2 };
  await train(cfg, quiet);
  const run = `${dir}/run`;
  const before = Deno.readTextFileSync(`${run}/loss_log.jsonl`);
  await assert.rejects(
    train(cfg, quiet),
    (e: Error) =>
      e.message.includes(`${run} already holds a run`) &&
      /pass resume to continue it/.test(e.message) &&
      /overwrite replaces it/.test(e.message),
  );
  // --overwrite with a dataroot that does not exist: fails, old run intact.
  await assert.rejects(
    train({ ...cfg, overwrite: true, dataroot: `${dir}/nowhere` }, quiet),
    new RegExp(`${dir}/nowhere`),
  );
  assert.equal(Deno.readTextFileSync(`${run}/loss_log.jsonl`), before);
  assert.ok(
    Deno.statSync(`${run}/checkpoints/${checkpointName(2)}`).isDirectory,
  );
  assert.ok(!listing(run).includes("lock"), "lock released after a failure");
  // --overwrite that works replaces it.
  const s = await train({ ...cfg, overwrite: true, maxSteps: 1 }, quiet);
  assert.equal(s.steps, 1);
  assert.deepEqual(listing(`${run}/checkpoints`), [
    "latest",
    checkpointName(1),
  ]);
  // Killed before its first checkpoint: nothing to resume, says so.
  Deno.mkdirSync(`${dir}/early`);
  Deno.writeTextFileSync(`${dir}/early/loss_log.jsonl`, '{"step": 1}\n');
  await assert.rejects(
    train({ ...cfg, name: "early" }, quiet),
    /\(loss_log\.jsonl\); it stopped before its first checkpoint, so there is nothing to continue/,
  );
  await assert.rejects(
    train({ ...cfg, resume: true, overwrite: true }, quiet),
    /resume continues a run and overwrite replaces it/,
  );
  await Deno.remove(dir, { recursive: true });
});

Deno.test("--resume refuses changed model/data flags with the list, accepts and logs safe ones", async () => {
  const dir = await Deno.makeTempDir();
  const cfg = { ...SMALL, checkpointsDir: dir, maxSteps: 2 };
  await train(cfg, quiet);
  const resume = { ...cfg, resume: true, maxSteps: 3 };
  await assert.rejects(
    train({ ...resume, ngf: 8, batchSize: 2, dataroot: "/x" }, quiet),
    (e: Error) =>
      e.message.includes("ngf 8 (the run has 4)") &&
      e.message.includes("batchSize 2 (the run has 1)") &&
      e.message.includes("dataroot /x (the run has null)") &&
      // The CLI prints the fields as its flags.
      cliMessage(e).includes("--batch-size 2 (the run has 1)") &&
      cliMessage(e).includes("another --name"),
  );
  // Only the flags the user gave count: ngf differs but was not given.
  const s = await train({ ...resume, ngf: 8, lr: 1e-4 }, {
    ...quiet,
    given: ["lr", "maxSteps", "resume"],
  });
  assert.equal(s.steps, 3);
  const config = JSON.parse(Deno.readTextFileSync(`${dir}/run/config.json`));
  assert.equal(config.ngf, 4);
  assert.equal(config.lr, 1e-4);
  const logged = JSON.parse(Deno.readTextFileSync(`${dir}/run/resumes.jsonl`));
  assert.deepEqual(logged.changed, { lr: [SMALL.lr, 1e-4] });
  assert.equal(logged.step, 2);
  await Deno.remove(dir, { recursive: true });
});

Deno.test("resume survives a loss log cut at any byte and a corrupt newest checkpoint (with a warning)", async () => {
  const dir = await Deno.makeTempDir();
  const cfg = { ...SMALL, checkpointsDir: dir, maxSteps: 4 };
  await train(cfg, quiet);
  const run = `${dir}/run`;
  const log = Deno.readFileSync(`${run}/loss_log.jsonl`);
  const lastStart = log.lastIndexOf(10, log.length - 2) + 1;
  for (let cut = lastStart; cut <= log.length; cut++) {
    Deno.writeFileSync(`${run}/loss_log.jsonl`, log.subarray(0, cut));
    const records = await readLossLog(run);
    assert.deepEqual(
      records.map((r) => r.step),
      cut === log.length ? [1, 2, 3, 4] : [1, 2, 3],
      `cut at byte ${cut}`,
    );
  }
  // A line in the middle that is not a record is named, not skipped.
  Deno.writeTextFileSync(
    `${run}/loss_log.jsonl`,
    '{"step": 1}\n{"st\n{"step": 3}\n',
  );
  await assert.rejects(
    readLossLog(run),
    new RegExp(`${run}/loss_log.jsonl line 2 is not a step record`),
  );
  // Cut mid-record (a kill during an append), and the newest checkpoint corrupt.
  Deno.writeFileSync(`${run}/loss_log.jsonl`, log.subarray(0, log.length - 7));
  const shard = `${run}/checkpoints/${
    checkpointName(4)
  }/G/group1-shard1of1.bin`;
  const bytes = Deno.readFileSync(shard);
  bytes[7] ^= 1;
  Deno.writeFileSync(shard, bytes);
  const warnings: string[] = [];
  const s = await train({ ...cfg, resume: true, maxSteps: 5 }, {
    ...quiet,
    onWarning: (w) => warnings.push(w),
  });
  assert.equal(s.stepsThisRun, 3, "resumed from step 2");
  assert.equal(warnings.length, 1);
  assert.ok(warnings[0].includes(shard) && /SHA-256/.test(warnings[0]));
  assert.deepEqual((await readLossLog(run)).map((r) => r.step), [
    1,
    2,
    3,
    4,
    5,
  ]);
  await Deno.remove(dir, { recursive: true });
});

Deno.test("a second process on one run stops with the owner's pid and host; a stale lock is taken over", async () => {
  const dir = await Deno.makeTempDir();
  const cfg = { ...SMALL, checkpointsDir: dir, maxSteps: 1 };
  Deno.mkdirSync(`${dir}/run`);
  const held = await acquireLock(`${dir}/run/lock`, () => {});
  await assert.rejects(
    train(cfg, quiet),
    (e: Error) =>
      e.message.includes(
        `${dir}/run/lock: held by process ${Deno.pid} on ${Deno.hostname()}`,
      ),
  );
  assert.ok(
    !Deno.statSync(`${dir}/run`).isFile &&
      !listing(`${dir}/run`).includes("checkpoints"),
  );
  await held.release();
  // A lock left by a process that died (kill -9).
  const child = new Deno.Command("true").spawn();
  const { pid } = child;
  await child.status;
  Deno.writeTextFileSync(
    `${dir}/run/lock`,
    JSON.stringify({ pid, host: Deno.hostname(), since: "earlier" }),
  );
  const warnings: string[] = [];
  const s = await train(cfg, { ...quiet, onWarning: (w) => warnings.push(w) });
  assert.equal(s.steps, 1);
  assert.equal(warnings.length, 1);
  assert.match(warnings[0], new RegExp(`stale lock of process ${pid}`));
  assert.ok(!listing(`${dir}/run`).includes("lock"));
  await Deno.remove(dir, { recursive: true });
});

Deno.test("--preprocess none: sides that are not a multiple of 2^depth, mixed sizes, batch 1: rounded, warned, trained", async () => {
  const dir = await Deno.makeTempDir();
  await Deno.mkdir(`${dir}/data/train`, { recursive: true });
  // A|B files: halves 40x36, 48x70, 32x32; unet_32 needs multiples of 32.
  for (const [name, w, h] of [["1", 80, 36], ["2", 96, 70], ["3", 64, 32]]) {
    await Deno.writeFile(
      `${dir}/data/train/${name}.png`,
      await pngBytes(pattern(w as number, h as number, Number(name))),
    );
  }
  const warnings: string[] = [];
  const warn = console.warn;
  console.warn = (m: string) => warnings.push(m);
  try {
    const s = await train({
      ...SMALL,
      checkpointsDir: dir,
      dataroot: `${dir}/data`,
      preprocess: "none",
      maxSteps: 3,
      sampleEvery: 1,
    });
    assert.equal(s.steps, 3);
  } finally {
    console.warn = warn;
  }
  assert.ok(
    warnings.some((w) => /40x36 resized to 32x32 \(a multiple of 32\)/.test(w)),
    warnings.join("\n"),
  );
  assert.ok(Deno.statSync(`${dir}/run/samples/step_000003.png`).isFile);
  await Deno.remove(dir, { recursive: true });
});
