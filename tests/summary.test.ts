import assert from "node:assert/strict";
import { runTask } from "./cli_fixtures.ts";

const summary = (...args: string[]) => runTask("summary", args);

Deno.test("summary --json reports parameters, output map and receptive field", async () => {
  const r = await summary(
    "--netG",
    "unet_128",
    "--netD",
    "n_layers",
    "--n_layers_D",
    "1",
    "--size",
    "128",
    "--json",
  );
  assert.equal(r.code, 0, r.stderr);
  const s = JSON.parse(r.stdout.trim().split("\n").at(-1)!);
  assert.equal(s.g_params, 41_828_995);
  assert.equal(s.d_params, 139_585);
  assert.deepEqual(s.d_output, [62, 62]);
  assert.equal(s.receptive_field, 16);
  assert.ok(s.g_layers.length > 10 && s.d_layers.length > 3);
});

Deno.test("summary prints layer tables with the 70x70 PatchGAN by default", async () => {
  const r = await summary(
    "--net-g",
    "unet_256",
    "--net-d",
    "basic",
    "--ngf",
    "8",
    "--ndf",
    "8",
  );
  assert.equal(r.code, 0, r.stderr);
  assert.match(r.stdout, /D output map: 30x30, receptive field 70x70 pixels/);
  assert.match(r.stdout, /up0_conv\s+Conv2DTranspose\s+256x256x3/);
});

Deno.test("summary names a bad flag value", async () => {
  const r = await summary("--net-g", "resnet_9blocks");
  assert.equal(r.code, 1);
  assert.match(r.stderr, /--net-g/);
  assert.doesNotMatch(r.stderr, /at .*\.js:\d+/, "no stack trace");
});
