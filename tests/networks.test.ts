import assert from "node:assert/strict";
import * as tf from "@tensorflow/tfjs";
import "@tensorflow/tfjs-backend-cpu";
import { buildGenerator, type GeneratorSpec } from "../lib/unet.ts";
import { parseNetG } from "../lib/config.ts";
import {
  buildDiscriminator,
  discriminatorOutputSize,
  type DiscriminatorSpec,
  receptiveField,
} from "../lib/patchgan.ts";
import { trainableParams } from "../lib/report/summary.ts";

await tf.setBackend("cpu");

function gSpec(over: Partial<GeneratorSpec> = {}): GeneratorSpec {
  return {
    ...parseNetG("unet_256"),
    inputSize: 256,
    ngf: 64,
    norm: "batch",
    dropout: true,
    inputNc: 3,
    outputNc: 3,
    finalActivation: "tanh",
    seed: 0,
    ...over,
  };
}

function dSpec(over: Partial<DiscriminatorSpec> = {}): DiscriminatorSpec {
  return {
    arch: "n_layers",
    nLayers: 3,
    ndf: 64,
    norm: "batch",
    inputNc: 6,
    seed: 1,
    ...over,
  };
}

Deno.test("U-Net parameter counts equal the reference (paper-tables.md)", () => {
  const g256 = buildGenerator(gSpec());
  assert.equal(trainableParams(g256), 54_413_955);
  assert.deepEqual(g256.outputs[0].shape, [null, 256, 256, 3]);
  const g128 = buildGenerator(
    gSpec({ ...parseNetG("unet_128"), inputSize: 128 }),
  );
  assert.equal(trainableParams(g128), 41_828_995);
  tf.dispose([
    ...g256.weights.map((w) => w.read()),
    ...g128.weights.map((w) => w.read()),
  ]);
});

Deno.test("discriminator parameter counts, output maps and receptive fields match the paper", () => {
  const cases: [DiscriminatorSpec, number, number, number][] = [
    [dSpec({ arch: "pixel" }), 9_024, 256, 1],
    [dSpec({ nLayers: 1 }), 139_585, 126, 16],
    [dSpec({ nLayers: 3 }), 2_768_705, 30, 70],
    [dSpec({ nLayers: 5 }), 11_159_361, 6, 286],
  ];
  for (const [spec, params, out, rf] of cases) {
    const d = buildDiscriminator(spec, 256);
    assert.equal(trainableParams(d), params, `${spec.arch} n=${spec.nLayers}`);
    assert.deepEqual(d.outputs[0].shape, [null, out, out, 1]);
    assert.equal(discriminatorOutputSize(spec, 256), out);
    assert.equal(receptiveField(spec), rf);
  }
});

Deno.test("receptive field follows RF_in = (RF_out - 1) * stride + kernel for any depth", () => {
  // max(n, 1) stride-2 4x4 layers, then two stride-1 4x4 layers, walked back by hand.
  for (let n = 0; n <= 6; n++) {
    let rf = 1;
    for (let i = 0; i < 2; i++) rf = (rf - 1) * 1 + 4;
    for (let i = 0; i < Math.max(n, 1); i++) rf = (rf - 1) * 2 + 4;
    assert.equal(receptiveField(dSpec({ nLayers: n })), rf);
  }
});

Deno.test("small U-Net and encoder-decoder keep the image size; skips cost parameters", () => {
  const spec = gSpec({ numDowns: 5, inputSize: 32, ngf: 8 });
  const unet = buildGenerator(spec);
  const encdec = buildGenerator({ ...spec, arch: "encoder_decoder" });
  const x = tf.randomUniform([2, 32, 32, 3], -1, 1, "float32", 3);
  const y = unet.apply(x, { training: false }) as tf.Tensor;
  assert.deepEqual(y.shape, [2, 32, 32, 3]);
  const v = y.dataSync();
  assert.ok(v.every((a) => a >= -1 && a <= 1), "tanh output lies in [-1, 1]");
  assert.ok(trainableParams(unet) > trainableParams(encdec));
  assert.deepEqual((encdec.apply(x) as tf.Tensor).shape, [2, 32, 32, 3]);
  assert.ok(!encdec.layers.some((l) => l.getClassName() === "Concatenate"));
  assert.equal(
    unet.layers.filter((l) => l.getClassName() === "Concatenate").length,
    4,
  );
});

Deno.test("dropout sits on the numDowns - 5 decoder blocks next to the innermost and follows its seed", () => {
  const g = buildGenerator(gSpec({ numDowns: 7, inputSize: 128, ngf: 4 }));
  const drops = g.layers.filter((l) =>
    l.getClassName() === "Pix2PixSeededDropout"
  ).map((l) => l.name);
  assert.deepEqual(drops.sort(), ["up4_dropout", "up5_dropout"]);
  const x = tf.randomUniform([1, 128, 128, 3], -1, 1, "float32", 5);
  const run = (seed: number | null, training: boolean) => {
    return (g.apply(x, { training, dropoutSeed: seed }) as tf.Tensor)
      .dataSync();
  };
  assert.deepEqual(run(7, true), run(7, true), "same seed, same masks");
  assert.notDeepEqual(run(7, true), run(8, true), "another seed, other masks");
  assert.deepEqual(
    run(null, false),
    run(null, false),
    "inference mode is deterministic",
  );
});

Deno.test("initial weights are N(0, 0.02), batch-norm scales N(1, 0.02), biases zero", () => {
  const d = buildDiscriminator(dSpec({ nLayers: 3 }), 64);
  const stat = (name: string) => {
    const w = d.trainableWeights.find((v) => v.name.includes(name))!.read();
    const { mean, variance } = tf.moments(w);
    return [mean.dataSync()[0], Math.sqrt(variance.dataSync()[0])];
  };
  const [m, s] = stat("d3_conv/kernel");
  assert.ok(
    Math.abs(m) < 0.002 && Math.abs(s - 0.02) < 0.002,
    `kernel mean ${m} std ${s}`,
  );
  const [gm, gs] = stat("d1_norm/gamma");
  assert.ok(
    Math.abs(gm - 1) < 0.01 && Math.abs(gs - 0.02) < 0.01,
    `gamma mean ${gm} std ${gs}`,
  );
  const bias = d.trainableWeights.find((v) => v.name.includes("d0_conv/bias"))!
    .read();
  assert.equal(tf.max(tf.abs(bias)).dataSync()[0], 0);
  assert.ok(
    !d.trainableWeights.some((v) => v.name.includes("d1_conv/bias")),
    "no bias before batch norm",
  );
});

Deno.test("same seed gives the same network, another seed another", () => {
  const first = (seed: number) =>
    buildGenerator(gSpec({ numDowns: 5, inputSize: 32, ngf: 4, seed }))
      .trainableWeights[0].read().dataSync();
  assert.deepEqual(first(1), first(1));
  assert.notDeepEqual(first(1), first(2));
});

Deno.test("instance norm networks normalise per sample and keep their biases", () => {
  const g = buildGenerator(
    gSpec({ numDowns: 5, inputSize: 32, ngf: 4, norm: "instance" }),
  );
  assert.ok(
    g.layers.some((l) => l.getClassName() === "Pix2PixInstanceNormalization"),
  );
  assert.ok(g.trainableWeights.some((v) => v.name.includes("down1_conv/bias")));
  const norm = g.layers.find((l) => l.name === "down1_norm")!;
  const x = tf.randomNormal([2, 8, 8, 3], 5, 3, "float32", 9);
  const y = norm.apply(x) as tf.Tensor;
  const { mean, variance } = tf.moments(y, [1, 2]);
  assert.ok(tf.max(tf.abs(mean)).dataSync()[0] < 1e-4);
  assert.ok(tf.max(tf.abs(tf.sub(variance, 1))).dataSync()[0] < 1e-3);
});

Deno.test("bad generator names and too-small inputs give clear errors", () => {
  assert.throws(() => parseNetG("resnet_9blocks"), /netG: 'resnet_9blocks'/);
  assert.throws(() => parseNetG("unet_100"), /power of two/);
  assert.throws(
    () => buildGenerator(gSpec({ inputSize: 200 })),
    /multiple of 2\^8/,
  );
  assert.throws(
    () => discriminatorOutputSize(dSpec({ nLayers: 5 }), 32),
    /too small/,
  );
});
