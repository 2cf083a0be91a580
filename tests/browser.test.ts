/**
 * The browser demo end to end: a tiny generator trained a few steps with
 * lib/train.ts and saved in the checkpoint format, `deno task demo`'s server on a random port, headless Chromium
 * (Debian's `/usr/bin/chromium`, or `$PIX2PIX_CHROMIUM`; skipped when
 * missing) driven by playwright-core. A facade label map is painted with
 * simulated mouse drags (rectangles in several classes, a brush stroke, an
 * undone rectangle), then a label map is loaded from an A|B file on the wasm
 * backend; each time the page's output must equal the same generator run in
 * Deno in inference mode (`training: false`, as `translate --eval`).
 *
 * Tolerance on the 8-bit output (0..255 per channel): max abs diff <= 2 and
 * mean abs diff <= 0.5. The screenshot goes to runs/test-browser/screenshot.png.
 */
import { cliMessage } from "../cli/common.ts";
import assert from "node:assert/strict";
import type { Page } from "playwright-core";
import * as tf from "@tensorflow/tfjs";
import type * as tfl from "@tensorflow/tfjs-layers";
import { saveCheckpoint } from "../lib/checkpoint.ts";
import {
  CHROMIUM_PATH,
  hasChromium,
  launchChromium,
} from "../lib/site/chromium.ts";
import { DEFAULT_CONFIG, type TrainConfig } from "../lib/config.ts";
import {
  buildDemoSite,
  EXPORT_MARKER,
  serveDemoSite,
  writeDemoSite,
} from "../lib/site/demo_site.ts";
import { npmTarget, WASM_FILES } from "../lib/site/web_bundle.ts";
import { inputRegion } from "../lib/site/input_region.ts";
import { FACADE_PALETTE } from "../lib/datasets/facades.ts";
import { hconcat, tensorToRgb, writePng } from "../lib/util/image.ts";
import { Pix2Pix } from "../lib/train.ts";
import { translate, translateImage } from "../lib/translate.ts";
import type { DemoHook as Hook } from "../web/app.ts";

const chromiumPresent = await hasChromium();
if (!chromiumPresent) {
  console.log(
    `browser test skipped: no Chromium at ${CHROMIUM_PATH} (apt-get install chromium)`,
  );
}

/** Allowed difference between browser and Deno outputs, 8-bit units. */
const MAX_ABS = 2;
const MEAN_ABS = 0.5;
/** Model input size and the page's paint size. */
const SIZE = 32;
const PAINT = 256;

const OUT_DIR = new URL("../runs/test-browser/", import.meta.url).pathname;

const CONFIG: TrainConfig = {
  ...DEFAULT_CONFIG,
  name: "browser-test",
  dataroot: "../shared/datasets/facades",
  direction: "BtoA",
  netG: "unet_32",
  cropSize: SIZE,
  loadSize: SIZE,
  ngf: 8,
  loss: "l1",
  lr: 0.02,
  seed: 3,
};

/** Training steps of the browser test's model. */
const TRAIN_STEPS = 6;

/**
 * The tiny pix2pix model (unet_32, ngf 8, L1 objective, no D) trained
 * `steps` steps with lib/train.ts on one fixed pair, at a learning rate of
 * 0.02 so that a few steps move the output (and the batch-norm moving
 * statistics that inference mode uses) well away from the initial ~0.
 */
async function trainTiny(steps: number): Promise<Pix2Pix> {
  const model = Pix2Pix.create(CONFIG);
  const input = tf.randomUniform(
    [1, SIZE, SIZE, 3],
    -1,
    1,
    "float32",
    1,
  ) as tf.Tensor4D;
  const target = tf.tidy(() =>
    tf.tanh(tf.mul(tf.reverse(input, 3), 2))
  ) as tf.Tensor4D;
  for (let step = 0; step < steps; step++) {
    await model.trainStep({ input, target }, step);
  }
  tf.dispose([input, target]);
  return model;
}

/** Saves the model as a checkpoint in the run `checkpoints/` folder `dir`. */
async function saveRun(dir: string, model: Pix2Pix): Promise<string> {
  return await saveCheckpoint(dir, {
    config: CONFIG,
    G: model.G,
    D: null,
    optimizerG: model.optimizerG,
    optimizerD: null,
    step: TRAIN_STEPS,
    epoch: 0,
    batchInEpoch: TRAIN_STEPS,
    lr: CONFIG.lr,
    rng: { dataSeed: CONFIG.seed, dropoutSeed: CONFIG.seed },
  });
}

function hook(page: Page): Promise<Hook> {
  return page.evaluate(() =>
    (globalThis as unknown as { __pix2pix: Hook }).__pix2pix
  );
}

/** Waits until the page has translated more than `after` times and is idle. */
async function settled(page: Page, after: number): Promise<Hook> {
  await page.waitForFunction(
    (n) => {
      const h = (globalThis as unknown as { __pix2pix: Hook }).__pix2pix;
      return h.error !== null || (h.translations > n && h.settled);
    },
    after,
    { timeout: 30_000 },
  );
  const h = await hook(page);
  assert.equal(h.error, null, `page error: ${h.error}`);
  return h;
}

/** Drags on the paint canvas from paint pixel (x0, y0) to (x1, y1). */
async function drag(
  page: Page,
  x0: number,
  y0: number,
  x1: number,
  y1: number,
) {
  const box = (await page.locator("#paint").boundingBox())!;
  const at = (x: number, y: number) =>
    [
      box.x + (x * box.width) / PAINT,
      box.y + (y * box.height) / PAINT,
    ] as const;
  await page.mouse.move(...at(x0, y0));
  await page.mouse.down();
  await page.mouse.move(...at(x1, y1), { steps: 5 });
  await page.mouse.up();
}

/** The colour of class `c` in the palette. */
function colour(c: number): number[] {
  return Array.from(FACADE_PALETTE.subarray(3 * c, 3 * c + 3));
}

/** Pixel (x, y) of an RGB byte array of width SIZE. */
function pixel(rgb: number[], x: number, y: number): number[] {
  const i = (y * SIZE + x) * 3;
  return rgb.slice(i, i + 3);
}

/**
 * Max and mean abs difference of the page's output and G in Deno on the
 * page's input, run by lib/translate.ts in inference mode (`--eval`).
 */
async function compareWithDeno(G: tfl.LayersModel, h: Hook) {
  const y = tf.tidy(() => {
    const x = tf.sub(
      tf.div(tf.tensor3d(h.lastInput, [SIZE, SIZE, 3], "float32"), 127.5),
      1,
    );
    return translate(G, x as tf.Tensor3D, { eval: true });
  });
  const expected = await tensorToRgb(y);
  const values = Array.from(await y.data());
  y.dispose();
  const maxFloat = values.reduce(
    (m, v, i) => Math.max(m, Math.abs(v - h.lastOutputValues[i])),
    0,
  );
  assert.equal(h.lastOutput.length, expected.length);
  let max = 0, sum = 0;
  for (let i = 0; i < expected.length; i++) {
    const d = Math.abs(expected[i] - h.lastOutput[i]);
    max = Math.max(max, d);
    sum += d;
  }
  const mean = sum / expected.length;
  const avg = expected.reduce((a, b) => a + b, 0) / expected.length;
  const std = Math.sqrt(
    expected.reduce((a, b) => a + (b - avg) ** 2, 0) / expected.length,
  );
  return { max, mean, std, maxFloat };
}

Deno.test({
  name:
    "browser demo: painted labels translate in Chromium as in Deno (eval mode)",
  ignore: !chromiumPresent,
  sanitizeResources: false,
  sanitizeOps: false,
  async fn() {
    const t0 = performance.now();
    const times: string[] = [];
    const lap = (what: string) =>
      times.push(`${what} ${((performance.now() - t0) / 1000).toFixed(1)} s`);
    await tf.setBackend("cpu");
    await Deno.mkdir(OUT_DIR, { recursive: true });
    const ckptDir = await Deno.makeTempDir({ prefix: "pix2pix-browser-" });
    const model = await trainTiny(TRAIN_STEPS);
    lap("trained");
    const G = model.G;
    await saveRun(ckptDir, model);
    const site = await buildDemoSite({ checkpoint: ckptDir });
    lap("bundled");
    assert.equal(site.info.inputKind, "facade-labels");
    const abort = new AbortController();
    let url = "";
    const server = serveDemoSite(site, {
      port: 0,
      signal: abort.signal,
      onListen: (u) => url = u,
    });
    const browser = await launchChromium();
    // WebGPU on SwiftShader's CPU Vulkan: tests the page's WebGPU path.
    const gpuBrowser = await launchChromium([
      "--enable-unsafe-webgpu",
      "--use-webgpu-adapter=swiftshader",
    ]);
    const logs: string[] = [];
    try {
      const page = await browser.newPage({
        viewport: { width: 900, height: 760 },
      });
      page.on("console", (m) => logs.push(`${m.type()}: ${m.text()}`));
      page.on("pageerror", (e) => logs.push(`pageerror: ${e.message}`));
      page.on("requestfailed", (r) => logs.push(`requestfailed: ${r.url()}`));
      lap("browsers up");
      await page.goto(url);
      await page.waitForFunction(
        () => (globalThis as unknown as { __pix2pix: Hook }).__pix2pix.ready,
        undefined,
        { timeout: 30_000 },
      );
      let h = await settled(page, 0);
      assert.equal(h.inputSize, SIZE);
      assert.equal(h.evalMode, true, "the demo defaults to inference mode");

      // Paint: clear, rectangles in four classes, a brush stroke, an undone rectangle.
      await page.click("#clear");
      await page.click('[data-tool="rect"]');
      const rects: [number, number, number, number, number][] = [
        [1, 32, 16, 224, 256], // facade
        [2, 56, 48, 104, 112], // window
        [2, 152, 48, 200, 112], // window
        [3, 104, 176, 152, 256], // door
        [6, 48, 128, 208, 148], // balcony
      ];
      for (const [cls, x0, y0, x1, y1] of rects) {
        await page.click(`#palette [data-class="${cls}"]`);
        await drag(page, x0, y0, x1, y1);
      }
      await page.click('[data-tool="brush"]');
      await page.click('#palette [data-class="9"]'); // molding
      await drag(page, 40, 160, 216, 160);
      await page.click('[data-tool="rect"]');
      await page.click('#palette [data-class="10"]'); // pillar, undone below
      await drag(page, 0, 0, 24, 256);
      await page.click("#undo");
      h = await settled(page, h.translations);

      // The model input is the painted map at 32x32 (paint pixel = 8 * model pixel + 4).
      const checks: [number, number, number][] = [
        [1, 16, 3], // facade
        [2, 10, 10], // window
        [3, 16, 27], // door
        [6, 8, 17], // balcony
        [9, 5, 20], // molding, brush
        [0, 1, 16], // background where the pillar was undone
      ];
      for (const [cls, x, y] of checks) {
        assert.deepEqual(
          pixel(h.lastInput, x, y),
          colour(cls),
          `class ${cls} at (${x}, ${y})`,
        );
      }
      const painted = await compareWithDeno(G, h);
      lap("painted");
      const screenshot = `${OUT_DIR}screenshot.png`;
      await page.screenshot({ path: screenshot });
      console.log(
        `painted, ${h.backend}: ${h.translations} translations, last ${
          h.lastMs.toFixed(1)
        } ms; vs Deno max abs ${painted.max}, mean abs ${
          painted.mean.toFixed(3)
        } (of 255), max abs float ${
          painted.maxFloat.toExponential(2)
        }, output std ${painted.std.toFixed(1)}; screenshot ${screenshot}`,
      );
      assert.ok(painted.std > 5, `output nearly constant (std ${painted.std})`);
      assert.ok(
        painted.max <= MAX_ABS,
        `max abs diff ${painted.max} > ${MAX_ABS}`,
      );
      assert.ok(
        painted.mean <= MEAN_ABS,
        `mean abs diff ${painted.mean} > ${MEAN_ABS}`,
      );

      // An example label map from an A|B file (labels on the right), on wasm.
      lap("webgl checked");
      await page.goto(`${url}?backend=wasm`);
      h = await settled(page, 0);
      assert.equal(h.backend, "wasm");
      const grid = new Uint8Array(PAINT * PAINT * 3);
      const blockClass = (x: number, y: number) =>
        (Math.floor(y / 64) * 5 + Math.floor(x / 64)) % 12;
      for (let y = 0; y < PAINT; y++) {
        for (let x = 0; x < PAINT; x++) {
          grid.set(colour(blockClass(x, y)), (y * PAINT + x) * 3);
        }
      }
      const photo = new Uint8Array(PAINT * PAINT * 3).fill(90);
      const example = `${OUT_DIR}example_AB.png`;
      await writePng(
        example,
        hconcat(
          { data: photo, width: PAINT, height: PAINT },
          { data: grid, width: PAINT, height: PAINT },
        ),
      );
      await page.setInputFiles("#example", example);
      h = await settled(page, h.translations);
      for (let y = 0; y < SIZE; y++) {
        for (let x = 0; x < SIZE; x++) {
          assert.deepEqual(
            pixel(h.lastInput, x, y),
            colour(blockClass(8 * x + 4, 8 * y + 4)),
            `example label map at (${x}, ${y})`,
          );
        }
      }
      const loaded = await compareWithDeno(G, h);
      console.log(
        `example, ${h.backend}: last ${
          h.lastMs.toFixed(1)
        } ms; vs Deno max abs ${loaded.max}, mean abs ${
          loaded.mean.toFixed(3)
        }, max abs float ${loaded.maxFloat.toExponential(2)}`,
      );
      assert.ok(
        loaded.max <= MAX_ABS,
        `max abs diff ${loaded.max} > ${MAX_ABS}`,
      );
      assert.ok(
        loaded.mean <= MEAN_ABS,
        `mean abs diff ${loaded.mean} > ${MEAN_ABS}`,
      );

      // Upload at the image's own size: 70x48 is no multiple of 32, so the
      // page pads and crops back; the output has the input's size and equals
      // Deno's translateImage on the same pixels.
      await page.click('[data-mode="upload"]');
      // The upload tab opens on the run's first test example, when the site
      // has examples (the run's dataset is on this machine).
      if (site.info.examples.length) h = await settled(page, h.translations);
      await page.check("#keep-size");
      assert.equal(
        await page.evaluate(() =>
          (globalThis as unknown as { __pix2pix: Hook }).__pix2pix.keepSize
        ),
        true,
        "the hook follows the option before any upload",
      );
      const odd = new Uint8Array(70 * 48 * 3).map((_, i) => (i * 37) % 251);
      const oddFile = `${OUT_DIR}odd_70x48.png`;
      await writePng(oddFile, { data: odd, width: 70, height: 48 });
      await page.setInputFiles("#upload", oddFile);
      await page.waitForFunction(
        () => {
          const h = (globalThis as unknown as { __pix2pix: Hook }).__pix2pix;
          return h.error !== null || (h.lastWidth === 70 && h.settled);
        },
        undefined,
        { timeout: 30_000 },
      );
      h = await settled(page, 0);
      assert.deepEqual([h.lastWidth, h.lastHeight], [70, 48]);
      assert.equal(h.lastOutput.length, 70 * 48 * 3);
      assert.match(h.modeText, /inference mode.*--eval/);
      const oddInput = tf.tidy(() =>
        tf.sub(
          tf.div(tf.tensor3d(h.lastInput, [48, 70, 3], "float32"), 127.5),
          1,
        ) as tf.Tensor3D
      );
      const oddImage = await translateImage(G, oddInput, { eval: true });
      const oddExpected = await tensorToRgb(oddImage);
      tf.dispose([oddInput, oddImage]);
      const oddMax = oddExpected.reduce(
        (m, v, i) => Math.max(m, Math.abs(v - h.lastOutput[i])),
        0,
      );
      console.log(`upload 70x48 kept, wasm: vs Deno max abs ${oddMax}`);
      assert.ok(oddMax <= MAX_ABS, `70x48 max abs diff ${oddMax}`);

      // The starter label map on WebGPU, where the browser offers an adapter.
      const gpuPage = await gpuBrowser.newPage();
      gpuPage.on(
        "console",
        (m) => logs.push(`webgpu ${m.type()}: ${m.text()}`),
      );
      lap("wasm checked");
      await gpuPage.goto(`${url}?backend=webgpu`);
      await gpuPage.waitForFunction(
        () => {
          const h = (globalThis as unknown as { __pix2pix: Hook }).__pix2pix;
          return h.error !== null || (h.translations > 0 && h.settled);
        },
        undefined,
        { timeout: 45_000 },
      );
      h = await hook(gpuPage);
      if (h.error !== null) {
        console.log(`webgpu part skipped: ${h.error}`);
      } else {
        assert.equal(h.backend, "webgpu");
        const gpu = await compareWithDeno(model.G, h);
        console.log(
          `starter map, webgpu: last ${
            h.lastMs.toFixed(1)
          } ms; vs Deno max abs ${gpu.max}, mean abs ${
            gpu.mean.toFixed(3)
          }, max abs float ${gpu.maxFloat.toExponential(2)}`,
        );
        assert.ok(gpu.max <= MAX_ABS, `webgpu max abs diff ${gpu.max}`);
        assert.ok(gpu.mean <= MEAN_ABS, `webgpu mean abs diff ${gpu.mean}`);
      }
      lap("done");
      console.log(`timeline: ${times.join(", ")}`);
    } catch (e) {
      console.log(`page log:\n${logs.join("\n")}`);
      throw e;
    } finally {
      await browser.close();
      await gpuBrowser.close();
      abort.abort();
      await server.finished;
      model.dispose();
      await Deno.remove(ckptDir, { recursive: true });
    }
  },
});

Deno.test("inputRegion: the direction's half of an A|B pair, else the whole image", () => {
  assert.deepEqual(inputRegion(512, 256, "AtoB"), { x: 0, width: 256 });
  assert.deepEqual(inputRegion(513, 256, "BtoA"), { x: 256, width: 256 });
  assert.deepEqual(inputRegion(383, 256, "BtoA"), { x: 0, width: 383 });
  assert.deepEqual(inputRegion(384, 256, "AtoB"), { x: 0, width: 192 });
});

Deno.test("web bundle: deno.json npm: targets map to package paths", () => {
  assert.equal(npmTarget("npm:@tensorflow/tfjs@4.22.0"), "@tensorflow/tfjs");
  assert.equal(npmTarget("npm:esbuild@0.28.2"), "esbuild");
  assert.equal(npmTarget("npm:pkg@1.0.0/sub/x.js"), "pkg/sub/x.js");
  assert.equal(npmTarget("npm:@scope/pkg"), "@scope/pkg");
  assert.equal(npmTarget("jsr:@std/assert@1"), null);
  assert.equal(npmTarget("./lib/x.ts"), null);
});

Deno.test({
  name:
    "export: a self-contained static folder, never over a user's files; the server holds the model; missing files are named",
  sanitizeResources: false,
  sanitizeOps: false,
  async fn() {
    await tf.setBackend("cpu");
    const tmp = await Deno.makeTempDir({ prefix: "pix2pix-export-" });
    const model = await trainTiny(0);
    try {
      const folder = await saveRun(`${tmp}/run/checkpoints`, model);
      const site = await buildDemoSite({
        checkpoint: `${tmp}/run`,
        inputKind: "image",
      });
      assert.equal(site.checkpoint, folder);
      const out = `${tmp}/site`;
      const { files } = await writeDemoSite(site, out);
      const shards = JSON.parse(
        await Deno.readTextFile(`${folder}/G/model.json`),
      ).weightsManifest[0].paths as string[];
      // The run's first test pairs, when its dataset is on this machine.
      const facades = await Deno.stat(`${CONFIG.dataroot}/test`).then(
        () => true,
        () => false,
      );
      assert.deepEqual(
        site.info.examples,
        facades ? [1, 2, 3, 4].map((i) => `examples/${i}.png`) : [],
      );
      const expected = [
        EXPORT_MARKER,
        "app.js",
        "demo.json",
        "index.html",
        "style.css",
        "model/model.json",
        ...shards.map((p) => `model/${p}`),
        ...WASM_FILES.map((w) => `wasm/${w}`),
        ...site.info.examples,
      ].sort();
      const written: string[] = [];
      const dirs = ["", "model/", "wasm/"];
      if (facades) dirs.push("examples/");
      for (const dir of dirs) {
        for await (const e of Deno.readDir(`${out}/${dir}`)) {
          if (e.isFile) written.push(dir + e.name);
        }
      }
      assert.deepEqual(written.sort(), expected);
      assert.equal(files, expected.length - 1); // site files, not the marker
      assert.deepEqual(
        await Deno.readFile(`${out}/model/${shards[0]}`),
        await Deno.readFile(`${folder}/G/${shards[0]}`),
      );
      const info = JSON.parse(await Deno.readTextFile(`${out}/demo.json`));
      assert.equal(info.inputKind, "image");
      assert.equal(info.model, "model/model.json");
      const html = await Deno.readTextFile(`${out}/index.html`);
      assert.match(html, /<script type="module" src="app\.js">/);
      assert.doesNotMatch(html, /(src|href)="(https?:)?\/\//);

      await Deno.writeTextFile(`${tmp}/file`, "");
      await assert.rejects(writeDemoSite(site, `${tmp}/file`), /Error: out: /);
      // An earlier export is rewritten; any other non-empty folder only with force.
      assert.ok((await Deno.stat(`${out}/${EXPORT_MARKER}`)).isFile);
      await writeDemoSite(site, out);
      const mine = `${tmp}/mine`;
      await Deno.mkdir(mine);
      await Deno.writeTextFile(`${mine}/index.html`, "my page");
      await assert.rejects(
        writeDemoSite(site, mine),
        (e: Error) =>
          e.message.startsWith(`out: ${mine} is not empty`) &&
          e.message.includes("pass force") &&
          // The CLI (deno task export) names its flags.
          cliMessage(e).startsWith(`--out: ${mine} is not empty`) &&
          cliMessage(e).includes("pass --force"),
      );
      assert.equal(await Deno.readTextFile(`${mine}/index.html`), "my page");
      await writeDemoSite(site, mine, { force: true });
      assert.match(await Deno.readTextFile(`${mine}/index.html`), /app\.js/);

      // The server holds the model in memory: it keeps serving it after the
      // checkpoint is pruned; malformed requests get 4xx.
      const shard0 = await Deno.readFile(`${folder}/G/${shards[0]}`);
      await Deno.remove(`${folder}/G/${shards[0]}`);
      await assert.rejects(
        buildDemoSite({ checkpoint: folder }),
        new RegExp(`checkpoint: .*${shards[0]}: missing`),
      );
      await Deno.remove(folder, { recursive: true });
      const ac = new AbortController();
      let url = "";
      const server = serveDemoSite(site, {
        port: 0,
        signal: ac.signal,
        onListen: (u) => url = u,
      });
      const get = async (path: string, init?: RequestInit) => {
        const r = await fetch(url + path, init);
        return {
          status: r.status,
          body: new Uint8Array(await r.arrayBuffer()),
        };
      };
      assert.deepEqual(await get(`model/${shards[0]}`), {
        status: 200,
        body: shard0,
      });
      assert.equal((await get("%E0%A4%A")).status, 400);
      assert.equal((await get("%")).status, 400);
      assert.equal((await get("nothing.js")).status, 404);
      assert.equal((await get("", { method: "POST" })).status, 405);
      assert.equal((await get("")).status, 200);
      ac.abort();
      await server.finished;
      await assert.rejects(
        buildDemoSite({ checkpoint: `${tmp}/nothing` }),
        /CheckpointError: checkpoint: no checkpoint in/,
      );
    } finally {
      model.dispose();
      await Deno.remove(tmp, { recursive: true });
    }
  },
});
