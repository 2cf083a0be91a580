import assert from "node:assert/strict";
import { cliMessage } from "../cli/common.ts";
import {
  parseTrainArgs,
  PRESETS,
  trainHelp,
  wantsHelp,
} from "../cli/train_flags.ts";
import {
  CONFIG_FIELD_HELP,
  DEFAULT_CONFIG,
  validateConfig,
} from "../lib/config.ts";

/** {@link parseTrainArgs} as the CLI reports it: its error's message as `runCli` prints it. */
function parseAsCli(argv: string[]) {
  try {
    return parseTrainArgs(argv);
  } catch (e) {
    throw e instanceof Error ? new Error(cliMessage(e)) : e;
  }
}

Deno.test("kebab-case flags set every kind of field", () => {
  const c = parseTrainArgs([
    "--net-g",
    "unet_128",
    "--n-layers-d",
    "1",
    "--lambda-l1",
    "10",
    "--epochs",
    "3",
    "--epochs-decay",
    "4",
    "--batch-size",
    "2",
    "--load-size",
    "143",
    "--crop-size",
    "128",
    "--gan-mode",
    "lsgan",
    "--no-flip",
    "--direction",
    "BtoA",
    "--loss",
    "l1",
    "--seed",
    "7",
    "--sample-every",
    "0",
    "--resume",
    "--max-steps",
    "9",
  ]);
  assert.equal(c.netG, "unet_128");
  assert.equal(c.nLayersD, 1);
  assert.equal(c.lambdaL1, 10);
  assert.equal(c.epochs, 3);
  assert.equal(c.epochsDecay, 4);
  assert.equal(c.batchSize, 2);
  assert.equal(c.loadSize, 143);
  assert.equal(c.cropSize, 128);
  assert.equal(c.ganMode, "lsgan");
  assert.equal(c.noFlip, true);
  assert.equal(c.direction, "BtoA");
  assert.equal(c.loss, "l1");
  assert.equal(c.seed, 7);
  assert.equal(c.sampleEvery, 0);
  assert.equal(c.resume, true);
  assert.equal(c.maxSteps, 9);
  assert.equal(c.lr, DEFAULT_CONFIG.lr);
});

Deno.test("the reference's spellings work (facades command from its docs)", () => {
  const c = parseTrainArgs([
    "--dataroot",
    "./datasets/facades",
    "--name",
    "facades_pix2pix",
    "--model",
    "pix2pix",
    "--direction",
    "BtoA",
    "--netG",
    "unet_256",
    "--netD",
    "n_layers",
    "--n_layers_D",
    "5",
    "--lambda_L1",
    "50",
    "--n_epochs",
    "2",
    "--n_epochs_decay",
    "1",
    "--batch_size",
    "4",
    "--load_size",
    "300",
    "--crop_size",
    "256",
    "--gan_mode",
    "lsgan",
    "--no_flip",
    "--checkpoints_dir",
    "ck",
    "--lr",
    "0.001",
    "--beta1",
    "0.9",
    "--norm",
    "instance",
    "--ngf",
    "32",
    "--ndf",
    "48",
    "--preprocess",
    "crop",
    "--no_dropout",
  ]);
  assert.equal(c.dataroot, "./datasets/facades");
  assert.equal(c.name, "facades_pix2pix");
  assert.equal(c.netD, "n_layers");
  assert.equal(c.nLayersD, 5);
  assert.equal(c.lambdaL1, 50);
  assert.equal(c.epochs, 2);
  assert.equal(c.epochsDecay, 1);
  assert.equal(c.batchSize, 4);
  assert.equal(c.loadSize, 300);
  assert.equal(c.ganMode, "lsgan");
  assert.equal(c.noFlip, true);
  assert.equal(c.checkpointsDir, "ck");
  assert.equal(c.lr, 0.001);
  assert.equal(c.beta1, 0.9);
  assert.equal(c.norm, "instance");
  assert.equal(c.ngf, 32);
  assert.equal(c.ndf, 48);
  assert.equal(c.preprocess, "crop");
  assert.equal(c.noDropout, true);
});

Deno.test("presets layer under flags; the synthetic preset applies only without data", () => {
  const smoke = parseTrainArgs(["--preset", "smoke", "--ngf", "8"]);
  assert.equal(smoke.cropSize, PRESETS.smoke.cropSize);
  assert.equal(smoke.ngf, 8);
  const cpu = parseTrainArgs(["--preset", "cpu64"]);
  assert.equal(cpu.netG, PRESETS.cpu64.netG);
  assert.equal(cpu.cropSize, 64);
  // cpu256: the paper's resolution and jitter at half width, one BLAS thread;
  // the backend flag still wins over the preset.
  const c256 = parseTrainArgs(["--preset", "cpu256", "--backend", "wasm"]);
  assert.deepEqual(
    [c256.cropSize, c256.loadSize, c256.netG, c256.ngf, c256.threads],
    [256, 286, "unet_256", 32, 1],
  );
  assert.equal(c256.backend, "wasm");
  // The old name, shared with ablate's 128 px grid, is refused naming the new one.
  assert.throws(
    () => parseTrainArgs(["--preset", "cpu"]),
    /--preset cpu is now --preset cpu64 .*ablate's 128 px grid is its --preset cpu128/,
  );
  assert.deepEqual(parseTrainArgs(["--preset", "paper"]), DEFAULT_CONFIG);
  assert.deepEqual(parseTrainArgs([]), DEFAULT_CONFIG);
  const bare = parseTrainArgs([], { syntheticPreset: "smoke" });
  assert.equal(bare.netG, PRESETS.smoke.netG);
  const withData = parseTrainArgs(["--dataroot", "d"], {
    syntheticPreset: "smoke",
  });
  assert.equal(withData.netG, DEFAULT_CONFIG.netG);
});

Deno.test("--config file is loaded and flags override it", async () => {
  const dir = await Deno.makeTempDir();
  const file = `${dir}/c.json`;
  await Deno.writeTextFile(
    file,
    JSON.stringify({ ngf: 8, lambdaL1: 5, dataroot: null }),
  );
  const c = parseTrainArgs(["--config", file, "--lambda-l1", "7"]);
  assert.equal(c.ngf, 8);
  assert.equal(c.lambdaL1, 7);
  await Deno.writeTextFile(file, JSON.stringify({ bogus: 1 }));
  assert.throws(
    () => parseTrainArgs(["--config", file]),
    /c\.json: unknown field "bogus"/,
  );
  await Deno.writeTextFile(file, "{ nope");
  assert.throws(
    () => parseTrainArgs(["--config", file]),
    /c\.json: not valid JSON/,
  );
  await Deno.writeTextFile(file, JSON.stringify({ ngf: "many" }));
  assert.throws(
    () => parseTrainArgs(["--config", file]),
    /c\.json: ngf: expected a number/,
  );
  assert.throws(
    () => parseTrainArgs(["--config", `${dir}/none.json`]),
    /none\.json: cannot read/,
  );
  await Deno.remove(dir, { recursive: true });
});

Deno.test("--preprocess crop crops at the image's own size: a load size below the crop size is valid", () => {
  const c = parseTrainArgs([
    "--preprocess",
    "crop",
    "--load-size",
    "128",
    "--crop-size",
    "256",
  ]);
  assert.equal(c.cropSize, 256);
  assert.throws(
    () =>
      parseAsCli([
        "--preprocess",
        "scale_width_and_crop",
        "--load-size",
        "128",
        "--crop-size",
        "256",
      ]),
    /--crop-size 256 is larger than --load-size 128/,
  );
});

Deno.test("bad flags give errors naming the flag", () => {
  const cases: [string[], RegExp][] = [
    [["--bogus"], /bogus/],
    [["--ngf", "abc"], /--ngf: expected a number/],
    [["--ngf", "1.5"], /--ngf: expected an integer/],
    [["--epochs=-1"], /--epochs: expected an integer >= 0/],
    [["--epochs", "-1"], /--epochs/],
    // Node's hint for a negative number after a space is kept.
    [["--lr", "-1"], /argument is ambiguous\.\n.*\n.*use '--lr=-XYZ'/],
    [["--gan-mode", "wgan"], /--gan-mode: "wgan" is not one of vanilla, lsgan/],
    [["--netD", "huge"], /--netD: "huge" is not one of/],
    [
      ["--crop-size", "256", "--load-size", "128"],
      /--crop-size 256 is larger than --load-size 128/,
    ],
    [
      ["--net-g", "unet_100", "--crop-size", "100", "--load-size", "100"],
      /unet_100/,
    ],
    [
      ["--net-g", "unet_64", "--crop-size", "96", "--load-size", "96"],
      /--crop-size 96 is not a multiple of 64/,
    ],
    [["--preset", "huge"], /--preset "huge"/],
    [["--model", "cycle_gan"], /--model cycle_gan/],
    [["--lr", "0"], /--lr must be > 0/],
    [["--beta1", "1"], /--beta1 must be in/],
  ];
  for (const [argv, re] of cases) {
    assert.throws(() => parseAsCli(argv), re, argv.join(" "));
  }
});

Deno.test("help: every field's flag with a description, its allowed values and its default", () => {
  const help = trainHelp();
  for (const [field, text] of Object.entries(CONFIG_FIELD_HELP)) {
    const at = help.indexOf(text);
    assert.ok(at > 0, `no description of ${field}`);
    const end = help.lastIndexOf("\n", at);
    const flagLine = help.slice(help.lastIndexOf("\n", end - 1) + 1, end);
    assert.match(flagLine, /\(default |\(switch, default off\)/, field);
  }
  assert.match(
    help,
    /--net-d, --netD \{basic\|n_layers\|pixel\} \(default "basic"\)/,
  );
});

Deno.test("help lists both spellings and validateConfig accepts the defaults", () => {
  assert.ok(wantsHelp(["--ngf", "3", "--help"]));
  assert.ok(!wantsHelp(["--ngf", "3"]));
  const help = trainHelp();
  for (
    const flag of [
      "--lambda-l1",
      "--lambda_L1",
      "--net-g",
      "--netG",
      "--no-flip",
      "--no_flip",
    ]
  ) {
    assert.ok(help.includes(flag), flag);
  }
  assert.deepEqual(validateConfig({ ...DEFAULT_CONFIG }), DEFAULT_CONFIG);
});

Deno.test("--threads: wasm threads, an integer >= 1, only with native, wasm or auto", () => {
  assert.equal(DEFAULT_CONFIG.threads, 1);
  assert.equal(parseTrainArgs([]).threads, 1);
  assert.equal(parseTrainArgs(["--threads", "2"]).threads, 2);
  assert.equal(
    parseTrainArgs(["--threads", "2", "--backend", "wasm"]).threads,
    2,
  );
  assert.equal(
    parseTrainArgs(["--threads", "1", "--backend", "cpu"]).backend,
    "cpu",
  );
  const cases: [string[], RegExp][] = [
    [["--threads", "0"], /--threads: expected an integer >= 1, got "0"/],
    [["--threads", "1.5"], /--threads: expected an integer >= 1/],
    [["--threads", "two"], /--threads: expected a number, got "two"/],
    [
      ["--threads", "2", "--backend", "cpu"],
      /--threads 2 needs --backend native, wasm or auto .*got --backend cpu/,
    ],
  ];
  for (const [argv, re] of cases) {
    assert.throws(() => parseAsCli(argv), re, argv.join(" "));
  }
  assert.match(trainHelp(), /--threads \(default 1\)/);
});
