/**
 * The README's "your own data" guide, command by command: two folders of
 * grayscale images (A and B) → `datasets combine` → `datasets check` (which
 * suggests the train flags, 1 channel in and out) → `train` with those flags
 * → `translate`, whose images are 1-channel PNGs.
 */
import assert from "node:assert/strict";
import { runTask } from "./cli_fixtures.ts";
import sharp from "sharp";

async function task(cli: string, ...args: string[]) {
  const out = await runTask(cli, args);
  const text = out.stdout + out.stderr;
  assert.equal(out.code, 0, `${cli} ${args.join(" ")}:\n${text}`);
  return out.stdout;
}

/** A 40x40 grayscale PNG: stripes whose phase depends on `seed`. */
async function grayPng(path: string, seed: number, invert: boolean) {
  const data = new Uint8Array(40 * 40).map((_, i) => {
    const v = ((i % 40) + seed * 7 + Math.floor(i / 40)) % 16 < 8 ? 40 : 210;
    return invert ? 255 - v : v;
  });
  await sharp(data, { raw: { width: 40, height: 40, channels: 1 } })
    .toColourspace("b-w").png().toFile(path);
}

Deno.test("own data: combine, check (suggests flags), train, translate; grayscale end to end", async () => {
  const dir = await Deno.makeTempDir();
  for (const [split, n] of [["train", 10], ["test", 2]] as const) {
    for (const side of ["A", "B"]) {
      await Deno.mkdir(`${dir}/${side}/${split}`, { recursive: true });
      for (let i = 0; i < n; i++) {
        await grayPng(`${dir}/${side}/${split}/${i}.png`, i, side === "B");
      }
    }
  }
  const combined = await task(
    "datasets",
    "combine",
    "--a",
    `${dir}/A`,
    "--b",
    `${dir}/B`,
    "--out",
    `${dir}/AB`,
  );
  assert.match(combined, /wrote 12 pairs/);
  const report = JSON.parse(
    await task("datasets", "check", `${dir}/AB`, "--json"),
  );
  assert.deepEqual(report.splits, { test: 2, train: 10 });
  assert.equal(report.grayscale, 12);
  const flags: string[] = report.suggestion.flags;
  assert.deepEqual(flags.slice(0, 2), ["--preset", "cpu64"]);
  for (const f of ["--input-nc", "--output-nc"]) {
    assert.equal(flags[flags.indexOf(f) + 1], "1", f);
  }
  assert.equal(flags[flags.indexOf("--crop-size") + 1], "32", "40 px halves");
  const text = await task("datasets", "check", `${dir}/AB`);
  assert.match(
    text,
    /suggested:\n {2}deno task train --dataroot .* --preset cpu64/,
  );
  // The reasons name flags, not config fields.
  assert.match(text, /held out for validation \(--val-fraction\)/);
  // Train with the suggested flags (made tiny: 3 steps, few filters).
  await task(
    "train",
    "--dataroot",
    `${dir}/AB`,
    ...flags,
    "--max-steps",
    "3",
    "--ngf",
    "4",
    "--ndf",
    "4",
    "--backend",
    "cpu",
    "--checkpoints-dir",
    dir,
    "--name",
    "gray",
  );
  const card = JSON.parse(
    await Deno.readTextFile(`${dir}/gray/model_card.json`),
  );
  assert.deepEqual([card.model.inputNc, card.model.outputNc], [1, 1]);
  await task(
    "translate",
    "--checkpoint",
    `${dir}/gray`,
    "--out",
    `${dir}/res`,
    "--eval",
    "--backend",
    "cpu",
  );
  for (const kind of ["real_A", "fake_B", "real_B"]) {
    const meta = await sharp(`${dir}/res/images/0_${kind}.png`).metadata();
    assert.equal(meta.channels, 1, `${kind} has ${meta.channels} channels`);
    assert.deepEqual([meta.width, meta.height], [32, 32]);
  }
  await Deno.remove(dir, { recursive: true });
});
