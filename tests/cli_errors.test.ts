/**
 * Library errors name config fields; the CLI (`runCli` via `cliMessage`)
 * prints them with its flag spellings.
 */
import assert from "node:assert/strict";
import { runTask } from "./cli_fixtures.ts";
import { cliMessage, flagName, UserError } from "../cli/common.ts";
import { parsePort } from "../cli/site_flags.ts";
import { DEFAULT_CONFIG, validateConfig } from "../lib/config.ts";
import {
  ConfigError,
  DatasetError,
  DownloadError,
  Pix2PixError,
} from "../lib/errors.ts";

Deno.test("flagName: camelCase field to kebab-case flag", () => {
  assert.equal(flagName("lambdaL1"), "lambda-l1");
  assert.equal(flagName("netG"), "net-g");
  assert.equal(flagName("cropSize"), "crop-size");
  assert.equal(flagName("lr"), "lr");
});

Deno.test("cliMessage: fields named in a field error become flags; values, paths and other errors stay", () => {
  const e = new ConfigError(
    "cropSize",
    "cropSize 256 is larger than loadSize 128 with preprocess crop",
  );
  assert.equal(
    cliMessage(e),
    "--crop-size 256 is larger than --load-size 128 with --preprocess crop",
  );
  // Quoted values, paths and longer words are not fields.
  const d = new DatasetError(
    `dataroot runs/name/lr: run "lr" needs backends`,
    { field: "dataroot" },
  );
  assert.equal(
    cliMessage(d),
    `--dataroot runs/name/lr: run "lr" needs backends`,
  );
  // Errors without a field, and other errors, print as they are.
  assert.equal(cliMessage(new Pix2PixError("lr is odd")), "lr is odd");
  assert.equal(cliMessage(new Error("cropSize")), "cropSize");
});

Deno.test("a library ConfigError names the field; the same error printed by a CLI names the flag", async () => {
  const cfg = { ...DEFAULT_CONFIG, cropSize: 256, loadSize: 128 };
  assert.throws(
    () => validateConfig(cfg),
    (e: unknown) =>
      e instanceof ConfigError && e.field === "cropSize" &&
      e.message === "cropSize 256 is larger than loadSize 128" &&
      !e.message.includes("--"),
  );
  const out = await runTask("train", [
    "--crop-size",
    "256",
    "--load-size",
    "128",
  ]);
  const stderr = out.stderr;
  assert.equal(out.code, 1, stderr);
  assert.match(
    stderr,
    /^error: --crop-size 256 is larger than --load-size 128$/m,
  );
  assert.doesNotMatch(stderr, /cropSize|loadSize/);
});

Deno.test("a DownloadError names its option as a field; the CLI prints the flag", async () => {
  const { downloadDataset } = await import("../lib/datasets/download.ts");
  await assert.rejects(
    downloadDataset("nope", { dir: "/nonexistent" }),
    (e: unknown) =>
      e instanceof DownloadError && e.field === "url" &&
      /unknown dataset "nope"; .* \(or pass url\)$/.test(e.message) &&
      cliMessage(e).endsWith("(or pass --url)"),
  );
});

Deno.test("parsePort: an integer in [0, 65535], else an error naming --port", () => {
  assert.equal(parsePort("0"), 0);
  assert.equal(parsePort("8000"), 8000);
  for (const bad of ["65536", "-1", "80.5", "x", ""]) {
    assert.throws(
      () => parsePort(bad),
      (e: Error) =>
        e instanceof UserError &&
        e.message === `--port: expected an integer in [0, 65535], got "${bad}"`,
    );
  }
});

Deno.test("eval checks --jitter and the segmenter's integer flags with the shared parsers", async () => {
  const dir = await Deno.makeTempDir();
  for (
    const [flags, message] of [
      [["--jitter", "maybe"], `--jitter: "maybe" is not one of on, off`],
      [["--num-downs", "4"], `--num-downs: expected an integer >= 5, got "4"`],
      [["--epochs", "0"], `--epochs: expected an integer >= 1, got "0"`],
    ]
  ) {
    const out = await runTask("eval", [
      "--train-segmenter",
      "--dataroot",
      dir,
      "--backend",
      "cpu",
      ...flags,
    ]);
    assert.equal(out.code, 1, out.stderr);
    assert.ok(out.stderr.includes(`error: ${message}\n`), out.stderr);
  }
  await Deno.remove(dir);
});
