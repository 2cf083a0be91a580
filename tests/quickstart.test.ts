/**
 * The newcomer's path end to end at a tiny size: `deno task quickstart`
 * (cli/quickstart.ts) as a subprocess trains a few steps on a small embedded
 * synthetic set, translates its test split, scores it (training the small
 * segmenter of that set on first use), and serves the demo. The test reads
 * the URL from its output and opens the page in headless Chromium (skipped
 * without one): with no user action the page must show an example label map
 * from the run's test split, translated into a non-blank photo. Then
 * `deno task eval --checkpoint RUN` with a segmenter not cached yet trains
 * it and scores the run's own test split.
 */
import assert from "node:assert/strict";
import { hasChromium, launchChromium } from "../lib/site/chromium.ts";
import { DEFAULT_CONFIG } from "../lib/config.ts";
import { inferInputKind } from "../lib/site/demo_site.ts";
import { looksLikeLabelMap } from "../lib/datasets/facades.ts";
import { renderSynthPair } from "../lib/datasets/synth.ts";
import type { DemoHook as Hook } from "../web/app.ts";
import {
  commandsAfter,
  formatCommand,
  formatCommands,
  nextCommands,
} from "../cli/next_steps.ts";

const chromiumPresent = await hasChromium();

/** Reads lines of a byte stream into `lines`, resolving `waitFor` matches. */
function lineReader(stream: ReadableStream<Uint8Array>, lines: string[]) {
  const waiters: { re: RegExp; resolve: (m: RegExpMatchArray) => void }[] = [];
  const done = (async () => {
    const decoder = new TextDecoder();
    let buf = "";
    for await (const chunk of stream) {
      buf += decoder.decode(chunk, { stream: true });
      const parts = buf.split(/\r?\n|\r/);
      buf = parts.pop()!;
      for (const line of parts) {
        lines.push(line);
        for (const w of waiters.splice(0)) {
          const m = line.match(w.re);
          if (m) w.resolve(m);
          else waiters.push(w);
        }
      }
    }
  })();
  return {
    done,
    waitFor(re: RegExp, ms: number): Promise<RegExpMatchArray> {
      const seen = lines.map((l) => l.match(re)).find((m) => m);
      if (seen) return Promise.resolve(seen);
      return new Promise((resolve, reject) => {
        const timer = setTimeout(
          () => reject(new Error(`no line matching ${re} within ${ms} ms`)),
          ms,
        );
        waiters.push({
          re,
          resolve: (m) => {
            clearTimeout(timer);
            resolve(m);
          },
        });
      });
    },
  };
}

Deno.test({
  name:
    "quickstart: train -> translate -> eval -> demo; the page opens with a translated test example",
  ignore: !chromiumPresent,
  sanitizeResources: false,
  sanitizeOps: false,
  async fn() {
    const tmp = await Deno.makeTempDir({ prefix: "pix2pix-quickstart-" });
    const runDir = `${tmp}/qs-test`;
    const child = new Deno.Command(Deno.execPath(), {
      args: [
        "run",
        "-A",
        new URL("../cli/quickstart.ts", import.meta.url).pathname,
        "--checkpoints-dir",
        tmp,
        "--name",
        "qs-test",
        "--synth-count",
        "8",
        "--max-steps",
        "24",
        // A few steps move the output well away from flat grey at this rate.
        "--loss",
        "l1",
        "--lr",
        "0.003",
        "--sample-every",
        "0",
        "--backend",
        "wasm",
        "--port",
        "0",
      ],
      stdin: "null",
      stdout: "piped",
      stderr: "piped",
    }).spawn();
    const lines: string[] = [];
    const out = lineReader(child.stdout, lines);
    const err = lineReader(child.stderr, lines);
    const segmenterDirs: string[] = [];
    const browser = await launchChromium();
    try {
      const [, url] = await out.waitFor(
        /^demo at (http:\/\/127\.0\.0\.1:\d+\/)/,
        300_000,
      );
      const text = lines.join("\n");
      segmenterDirs.push(
        ...text.matchAll(/once, cached in (\S+)\)/g).map((m) => m[1]),
      );
      // Each step announced with the command a user would type, in order.
      const steps = [
        "[1/4] deno task train --checkpoints-dir",
        ...nextCommands(runDir, { scores: true }).map((c, i) =>
          `[${i + 2}/4] ${formatCommand(c)}`
        ),
      ];
      let at = -1;
      for (const step of steps) {
        const next = text.indexOf(step, at + 1);
        assert.ok(next > at, `missing or out of order: ${step}\n${text}`);
        at = next;
      }
      // train ended with the same next commands; eval printed scores.
      const trainPart = text.slice(
        text.indexOf("next, for this run:"),
        text.indexOf("[2/4]"),
      );
      const [translate, evaluate, demo] = nextCommands(runDir, {
        scores: true,
      });
      for (const c of [translate, evaluate, demo]) {
        assert.ok(trainPart.includes(formatCommand(c)), formatCommand(c));
      }
      // ... and each later step prints the commands after it.
      const part = (from: string, to: string) =>
        text.slice(text.indexOf(from), text.indexOf(to));
      const translatePart = part("[2/4]", "[3/4]");
      assert.ok(translatePart.includes(formatCommand(evaluate)));
      assert.ok(translatePart.includes(formatCommand(demo)));
      assert.ok(part("[3/4]", "[4/4]").includes(formatCommand(demo)));
      assert.match(text, /\| generated photos \| 0\.\d{3} \|/);
      assert.match(text, /training the segmenter of .*synth-n8-/);
      assert.match(text, /quickstart: \d+ s to the demo/);

      const page = await browser.newPage();
      await page.goto(url);
      await page.waitForFunction(
        () => {
          const h = (globalThis as unknown as { __pix2pix: Hook }).__pix2pix;
          return h.error !== null || (h.translations > 0 && h.settled);
        },
        undefined,
        { timeout: 60_000 },
      );
      const h = await page.evaluate(() =>
        (globalThis as unknown as { __pix2pix: Hook }).__pix2pix
      );
      assert.equal(h.error, null);
      assert.equal(h.mode, "paint", "labels -> photo opens in paint mode");
      assert.equal(h.example, "examples/1.png");
      const n = h.inputSize * h.inputSize;
      assert.equal(h.lastInput.length, 3 * n);
      assert.ok(
        looksLikeLabelMap(Uint8Array.from(h.lastInput), n),
        "the example input is a facades label map",
      );
      // The output canvas shows a photo: not blank, not one flat colour.
      const canvas = await page.evaluate(() => {
        const c = document.getElementById("paint-output") as HTMLCanvasElement;
        const data = c.getContext("2d")!.getImageData(0, 0, c.width, c.height)
          .data;
        return { width: c.width, data: Array.from(data) };
      });
      assert.equal(canvas.width, h.inputSize);
      const rgb = canvas.data.filter((_, i) => i % 4 !== 3);
      const mean = rgb.reduce((a, b) => a + b, 0) / rgb.length;
      const std = Math.sqrt(
        rgb.reduce((a, b) => a + (b - mean) ** 2, 0) / rgb.length,
      );
      assert.ok(canvas.data.some((v, i) => i % 4 === 3 && v === 255));
      // Measured: mean 49.6, std 52.9 (blank would be 0 or one flat grey).
      assert.ok(std > 10, `output nearly flat (std ${std.toFixed(2)})`);
      assert.ok(mean > 2 && mean < 253, `output mean ${mean.toFixed(1)}`);
      assert.deepEqual(rgb, h.lastOutput, "the canvas shows the last output");

      // eval --checkpoint: the run's dataset, a segmenter trained on the spot.
      const evalRun = await new Deno.Command(Deno.execPath(), {
        args: [
          "run",
          "-A",
          new URL("../cli/eval.ts", import.meta.url).pathname,
          "--checkpoint",
          runDir,
          "--epochs",
          "1",
          "--json",
          "--backend",
          "wasm",
        ],
        stdout: "piped",
        stderr: "piped",
      }).output();
      const evalErr = new TextDecoder().decode(evalRun.stderr);
      segmenterDirs.push(
        ...evalErr.matchAll(/once, cached in (\S+)\)/g).map((m) => m[1]),
      );
      assert.equal(evalRun.code, 0, evalErr);
      assert.match(evalErr, /training the segmenter of .*synth-n8-.*1 epochs/);
      const scored = JSON.parse(new TextDecoder().decode(evalRun.stdout));
      assert.equal(scored.n_images, 2, "the 2 test pairs of 8 synthetic ones");
      assert.ok(scored.per_pixel_acc >= 0 && scored.per_pixel_acc <= 1);
      console.log(
        `quickstart test: ${
          text.match(/quickstart: .*$/m)![0]
        }; page ${h.backend}, output mean ${mean.toFixed(1)}, std ${
          std.toFixed(1)
        }`,
      );
    } catch (e) {
      console.log(lines.join("\n"));
      throw e;
    } finally {
      await browser.close();
      child.kill("SIGTERM");
      await child.status;
      await Promise.all([out.done, err.done]).catch(() => {});
      await Deno.remove(tmp, { recursive: true });
      for (const dir of segmenterDirs) {
        await Deno.remove(dir, { recursive: true });
      }
    }
  },
});

Deno.test("next steps: translate, eval (label maps only), demo; shell-quoted", () => {
  const lines = nextCommands("runs/my run", { scores: false }).map(
    formatCommand,
  );
  assert.deepEqual(lines, [
    "deno task translate --checkpoint 'runs/my run' --out 'runs/my run/results'",
    "deno task demo --checkpoint 'runs/my run'",
  ]);
  const all = nextCommands("runs/smoke", { scores: true });
  assert.deepEqual(all.map((c) => c.task), ["translate", "eval", "demo"]);
  assert.deepEqual(all[1].args, ["--results", "runs/smoke/results"]);
  const printed = formatCommands(all);
  assert.equal(new Set(printed.map((l) => l.indexOf("#"))).size, 1);
  const elsewhere = nextCommands("r", { scores: true, results: "out" });
  assert.deepEqual(
    commandsAfter("translate", elsewhere).map(formatCommand),
    ["deno task eval --results out", "deno task demo --checkpoint r"],
  );
  assert.deepEqual(commandsAfter("demo", elsewhere), []);
});

Deno.test("label maps are recognised by their colours; the demo's input kind follows", () => {
  const { photo, labels } = renderSynthPair(64, 7);
  const n = 64 * 64;
  assert.equal(looksLikeLabelMap(labels.data, n), true);
  assert.equal(looksLikeLabelMap(photo.data, n), false);
  const cfg = { ...DEFAULT_CONFIG, direction: "BtoA" as const };
  assert.equal(
    inferInputKind(cfg, [{ name: "1", rgb: labels }]),
    "facade-labels",
  );
  assert.equal(inferInputKind(cfg, [{ name: "1", rgb: photo }]), "image");
  // Without examples (dataset not here): the config decides.
  assert.equal(inferInputKind({ ...cfg, dataroot: null }), "facade-labels");
  assert.equal(
    inferInputKind({ ...cfg, dataroot: "d/facades" }),
    "facade-labels",
  );
  assert.equal(inferInputKind({ ...cfg, dataroot: "d/maps" }), "image");
  assert.equal(inferInputKind({ ...cfg, direction: "AtoB" }), "image");
});
