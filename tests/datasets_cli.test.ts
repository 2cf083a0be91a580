/**
 * Tests of `deno task datasets` (cli/datasets.ts) and lib/datasets/*:
 * download from a local server (with an interrupted, resumed transfer),
 * combine, check, synth.
 */
import assert from "node:assert/strict";
import { runTask } from "./cli_fixtures.ts";
import * as tar from "tar";
import { combineFolders } from "../lib/datasets/combine.ts";
import { suggestTraining } from "../lib/datasets/check.ts";
import { DEFAULT_CONFIG } from "../lib/config.ts";
import { downloadDataset } from "../lib/datasets/download.ts";
import { DownloadError } from "../lib/errors.ts";
import { cropRgb, readRgb } from "../lib/util/image.ts";
import {
  assertSamePixels,
  facadesRoot,
  jpegBytes,
  pattern,
  pngBytes,
  writeBadCorpus,
} from "./data_fixtures.ts";

/** Run `deno task datasets ...` in the repository; returns exit code and output. */
function cli(...args: string[]) {
  return runTask("datasets", args);
}

/** A tar.gz holding `toy/train/{1,2,3}.png` and `toy/test/1.png`. */
async function toyArchive(dir: string): Promise<Uint8Array<ArrayBuffer>> {
  for (const [split, n] of [["train", 3], ["test", 1]] as const) {
    await Deno.mkdir(`${dir}/src/toy/${split}`, { recursive: true });
    for (let i = 1; i <= n; i++) {
      await Deno.writeFile(
        `${dir}/src/toy/${split}/${i}.png`,
        await pngBytes(pattern(128, 64, i * 13)),
      );
    }
  }
  await tar.c({ gzip: true, file: `${dir}/toy.tar.gz`, cwd: `${dir}/src` }, [
    "toy",
  ]);
  return await Deno.readFile(`${dir}/toy.tar.gz`);
}

/**
 * Serve `bytes` at /toy.tar.gz with HTTP Range support. With `cutAt`, the
 * first full (range-less) request announces every byte but ends after `cutAt`.
 */
function serve(bytes: Uint8Array<ArrayBuffer>, cutAt?: number) {
  const ranges: (string | null)[] = [];
  let cut = cutAt;
  const server = Deno.serve(
    { port: 0, hostname: "127.0.0.1", onListen() {} },
    (req) => {
      if (!req.url.endsWith("/toy.tar.gz")) {
        return new Response("nope", { status: 404 });
      }
      const range = req.headers.get("range");
      ranges.push(range);
      const total = bytes.length;
      if (range) {
        const start = Number(range.match(/^bytes=(\d+)-$/)?.[1]);
        if (!(start < total)) {
          return new Response(null, {
            status: 416,
            headers: { "content-range": `bytes */${total}` },
          });
        }
        return new Response(bytes.slice(start), {
          status: 206,
          headers: {
            "content-range": `bytes ${start}-${total - 1}/${total}`,
          },
        });
      }
      if (cut !== undefined) {
        const n = cut;
        cut = undefined;
        const body = new ReadableStream<Uint8Array>({
          start(controller) {
            controller.enqueue(bytes.slice(0, n));
            setTimeout(() => controller.close(), 100);
          },
        });
        return new Response(body, {
          headers: { "content-length": String(total) },
        });
      }
      return new Response(bytes);
    },
  );
  return {
    url: `http://127.0.0.1:${server.addr.port}/toy.tar.gz`,
    ranges,
    close: () => server.shutdown(),
  };
}

Deno.test("download: interrupted transfer resumes with Range, then unpacks", async () => {
  const dir = await Deno.makeTempDir();
  const bytes = await toyArchive(dir);
  const half = bytes.length >> 1;
  const srv = serve(bytes, half);
  try {
    const dest = `${dir}/datasets`;
    await assert.rejects(
      downloadDataset("toy", { dir: dest, url: srv.url }),
      (e: unknown) =>
        e instanceof DownloadError &&
        /interrupted after \d+ of \d+ bytes.*run the same command again to resume/
          .test(e.message),
    );
    const partSize = (await Deno.stat(`${dest}/toy.tar.gz.part`)).size;
    assert.ok(partSize > 0 && partSize < bytes.length, `part ${partSize}`);
    const progress: number[] = [];
    const summary = await downloadDataset("toy", {
      dir: dest,
      url: srv.url,
      onProgress: (done) => progress.push(done),
    });
    assert.equal(srv.ranges.at(-1), `bytes=${partSize}-`);
    assert.deepEqual(
      {
        downloaded: summary.downloaded,
        bytes: summary.bytes,
        from: summary.resumedFrom,
      },
      { downloaded: true, bytes: bytes.length, from: partSize },
    );
    assert.equal(progress[0], partSize);
    assert.equal(progress.at(-1), bytes.length);
    const files = [];
    for await (const e of Deno.readDir(`${dest}/toy/train`)) files.push(e.name);
    assert.deepEqual(files.sort(), ["1.png", "2.png", "3.png"]);
    const extracted = await readRgb(`${dest}/toy/train/2.png`);
    assertSamePixels(extracted.data, pattern(128, 64, 26).data);
    for (const leftover of ["toy.tar.gz", "toy.tar.gz.part"]) {
      assert.equal(
        await Deno.stat(`${dest}/${leftover}`).catch(() => null),
        null,
      );
    }
    const again = await downloadDataset("toy", { dir: dest, url: srv.url });
    assert.equal(again.downloaded, false);
  } finally {
    await srv.close();
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("download: CLI end to end, and clear errors offline / 404 / unknown name", async () => {
  const dir = await Deno.makeTempDir();
  const bytes = await toyArchive(dir);
  const srv = serve(bytes);
  try {
    const ok = await cli(
      "download",
      "toy",
      "--dir",
      `${dir}/d`,
      "--url",
      srv.url,
    );
    assert.equal(ok.code, 0, ok.stderr);
    assert.match(
      ok.stdout,
      new RegExp(`toy: ${bytes.length} bytes, unpacked into`),
    );
    const checked = await cli("check", `${dir}/d/toy`, "--json");
    assert.equal(checked.code, 0, checked.stdout);
    assert.deepEqual(JSON.parse(checked.stdout).splits, { test: 1, train: 3 });

    const offline = await cli(
      "download",
      "toy",
      "--dir",
      `${dir}/e`,
      "--url",
      "http://127.0.0.1:9/toy.tar.gz",
    );
    assert.equal(offline.code, 1);
    assert.match(
      offline.stderr,
      /^error: cannot reach http:\/\/127\.0\.0\.1:9\/toy\.tar\.gz .*offline/,
    );
    assert.doesNotMatch(offline.stderr, /\n\s+at /);
    const missing = await cli(
      "download",
      "toy",
      "--dir",
      `${dir}/e`,
      "--url",
      srv.url.replace("toy.tar", "x.tar"),
    );
    assert.equal(missing.code, 1);
    assert.match(missing.stderr, /HTTP 404/);
    const unknown = await cli("download", "faces", "--dir", `${dir}/e`);
    assert.equal(unknown.code, 1);
    assert.match(
      unknown.stderr,
      /unknown dataset "faces"; choose one of facades, cityscapes/,
    );
    const badFlag = await cli("check", dir, "--jsn");
    assert.equal(badFlag.code, 1);
    assert.match(badFlag.stderr, /--jsn/);
  } finally {
    await srv.close();
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("check: facades has 400/106 pairs and no errors", async () => {
  const root = await facadesRoot();
  if (!root) return;
  const out = await cli("check", root, "--json");
  assert.equal(out.code, 0, out.stderr);
  const report = JSON.parse(out.stdout);
  assert.deepEqual(report.splits, { test: 106, train: 400 });
  assert.deepEqual(report.sizes, { "512x256": 506 });
  assert.deepEqual(report.errors, []);
});

Deno.test("suggestTraining: epochs for the pairs trained on, valFraction held out without val/", () => {
  const report = {
    dir: "d",
    splits: { train: 400, test: 106 } as Record<string, number>,
    sizes: { "512x256": 506 },
    errors: [],
    warnings: [],
    ignored: [],
    grayscale: 0,
    alpha: 0,
  };
  const held = Math.floor(DEFAULT_CONFIG.valFraction * 400);
  const s = suggestTraining(report)!;
  const each = Math.round(8000 / (400 - held) / 2);
  assert.deepEqual(s.settings, {
    preset: "cpu64",
    epochs: each,
    epochsDecay: each,
  });
  assert.ok(s.reasons.includes(
    `no val/ split: ${
      100 * DEFAULT_CONFIG.valFraction
    }% of train is held out for validation (valFraction)`,
  ));
  // With a val/ split every train pair is trained on.
  const withVal = suggestTraining({
    ...report,
    splits: { ...report.splits, val: 100 },
  })!;
  assert.equal(withVal.settings.epochs, Math.round(8000 / 400 / 2));
});

Deno.test("check: bad corpus lists every bad file and exits 1", async () => {
  const dir = await Deno.makeTempDir();
  try {
    const corpus = await writeBadCorpus(dir);
    await Deno.mkdir(`${dir}/test`);
    const out = await cli("check", dir, "--json");
    assert.equal(out.code, 1);
    const report = JSON.parse(out.stdout);
    const names = (l: { file: string }[]) =>
      l.map((e) => e.file.slice(e.file.lastIndexOf("/") + 1)).sort();
    assert.deepEqual(names(report.errors), [...corpus.bad, "test"].sort());
    assert.deepEqual(report.splits, { test: 0, train: corpus.good.length });
    assert.ok(
      corpus.converted.every((n) => names(report.warnings).includes(n)),
    );
    const text = await cli("check", dir);
    assert.match(text.stdout, /error: .*truncated\.jpg: not a readable image/);
    const none = await cli("check", `${dir}/missing`);
    assert.equal(none.code, 1);
    assert.match(none.stdout, /folder not found/);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("combine: pairs same-named files, reports unmatched and size mismatches", async () => {
  const dir = await Deno.makeTempDir();
  try {
    for (const side of ["A", "B"]) {
      await Deno.mkdir(`${dir}/${side}/train`, { recursive: true });
    }
    const a = pattern(32, 24, 1), b = pattern(32, 24, 2);
    await Deno.writeFile(`${dir}/A/train/x.png`, await pngBytes(a));
    await Deno.writeFile(`${dir}/A/train/y.png`, await pngBytes(a));
    await Deno.writeFile(`${dir}/A/train/z.png`, await pngBytes(a));
    await Deno.writeFile(`${dir}/B/train/x.png`, await pngBytes(b));
    await Deno.writeFile(
      `${dir}/B/train/y.jpg`,
      await jpegBytes(pattern(16, 12)),
    );
    await Deno.writeFile(`${dir}/B/train/w.png`, await pngBytes(b));
    const strict = await combineFolders({
      a: `${dir}/A`,
      b: `${dir}/B`,
      out: `${dir}/AB`,
      resizeB: false,
    });
    assert.equal(strict.written, 1);
    assert.deepEqual(strict.unmatchedA, ["train/z.png"]);
    assert.deepEqual(strict.unmatchedB, ["train/w.png"]);
    assert.equal(strict.errors.length, 1);
    assert.match(
      strict.errors[0].reason,
      /size 16x12 differs from A's 32x24 \(resizeB resizes it\)$/,
    );
    const pair = await readRgb(`${dir}/AB/train/x.png`);
    assert.deepEqual([pair.width, pair.height], [64, 24]);
    assertSamePixels(cropRgb(pair, 0, 0, 32, 24).data, a.data, "A");
    assertSamePixels(cropRgb(pair, 32, 0, 32, 24).data, b.data, "B");

    const combineCli = (out: string, ...more: string[]) =>
      cli(
        "combine",
        "--a",
        `${dir}/A`,
        "--b",
        `${dir}/B`,
        "--out",
        out,
        ...more,
      );
    // The CLI names the flag where the library names the option.
    const strictCli = await combineCli(`${dir}/AB3`);
    assert.equal(strictCli.code, 1, strictCli.stdout + strictCli.stderr);
    assert.match(
      strictCli.stdout,
      /error: .*y\.jpg: size 16x12 differs from A's 32x24 \(--resize-b resizes it\)$/m,
    );
    const viaCli = await combineCli(`${dir}/AB2`, "--resize-b");
    assert.equal(viaCli.code, 0, viaCli.stdout + viaCli.stderr);
    assert.match(viaCli.stdout, /wrote 2 pairs .*unmatched: 1 A, 1 B; 0 error/);
    assert.match(viaCli.stdout, /no B for A train\/z\.png/);
    const resized = await readRgb(`${dir}/AB2/train/y.png`);
    assert.deepEqual([resized.width, resized.height], [64, 24]);
    const missing = await cli(
      "combine",
      "--a",
      `${dir}/nope`,
      "--b",
      `${dir}/B`,
      "--out",
      `${dir}/o`,
    );
    assert.equal(missing.code, 1);
    assert.match(missing.stderr, /^error: .*nope: folder not found/);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("combine: never writes over an input; image-named folders and same-stem files are handled aloud", async () => {
  const dir = await Deno.makeTempDir();
  try {
    const a = pattern(8, 8, 1), b = pattern(8, 8, 2);
    for (const side of ["A", "B"]) {
      await Deno.mkdir(`${dir}/${side}/x.png`, { recursive: true });
      for (const name of ["1.png", "1.jpg", "2.png"]) {
        const img = side === "A" ? a : b;
        await Deno.writeFile(
          `${dir}/${side}/${name}`,
          name.endsWith(".png") ? await pngBytes(img) : await jpegBytes(img),
        );
      }
    }
    const before = await Deno.readFile(`${dir}/A/1.png`);
    for (const out of [`${dir}/A`, `${dir}/B/sub`, dir]) {
      await assert.rejects(
        combineFolders({ a: `${dir}/A`, b: `${dir}/B`, out, resizeB: false }),
        (e: Error) =>
          e.message.startsWith(`out ${out} is the `) &&
          /would write over the input/.test(e.message),
      );
    }
    assert.deepEqual(await Deno.readFile(`${dir}/A/1.png`), before);
    assert.ok(!(await Deno.stat(`${dir}/B/sub`).catch(() => null)));
    const r = await combineFolders({
      a: `${dir}/A`,
      b: `${dir}/B`,
      out: `${dir}/AB`,
      resizeB: false,
    });
    assert.equal(r.written, 3);
    assert.deepEqual(r.unmatchedA, []);
    assert.deepEqual(r.errors.map((e) => e.file).sort(), [
      `${dir}/A/x.png`,
      `${dir}/B/x.png`,
    ]);
    assert.match(r.errors[0].reason, /folder named like an image/);
    const names = [...Deno.readDirSync(`${dir}/AB`)].map((e) => e.name);
    assert.deepEqual(names.sort(), ["1_jpg.jpg", "1_png.png", "2.png"]);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("synth CLI writes a dataset that check accepts", async () => {
  const dir = await Deno.makeTempDir();
  try {
    const out = await cli(
      "synth",
      "--out",
      `${dir}/s`,
      "--count",
      "4",
      "--size",
      "32",
      "--seed",
      "2",
    );
    assert.equal(out.code, 0, out.stderr);
    assert.match(out.stdout, /train: 4, test: 1 pairs .*BtoA/);
    const checked = await cli("check", `${dir}/s`, "--json");
    assert.equal(checked.code, 0);
    assert.deepEqual(JSON.parse(checked.stdout).sizes, { "64x32": 5 });
    const bad = await cli("synth", "--out", `${dir}/t`, "--count", "many");
    assert.equal(bad.code, 1);
    assert.match(bad.stderr, /--count: expected an integer >= 1, got "many"/);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});
