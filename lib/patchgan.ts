/**
 * The pix2pix discriminators and their receptive fields.
 *
 * A discriminator maps an NHWC image (conditional: input and output
 * concatenated, 6 channels; unconditional: the output alone, 3 channels) to a
 * map of logits `[n, h', w', 1]`, one "real or fake?" judgement per patch.
 *
 * - `pixel` (PixelGAN, 1x1): three 1x1 convolutions, one judgement per pixel.
 * - `n_layers` with n stride-2 4x4 convolutions, then two stride-1 4x4 ones,
 *   all padded by 1 pixel (the reference's `NLayerDiscriminator`):
 *   n = 1 sees 16x16 patches, n = 3 (`basic`) 70x70, n = 5 286x286 (ImageGAN
 *   on 256x256 inputs).
 *
 * The model and the receptive-field arithmetic are both derived from one
 * layer list, {@link discriminatorLayers}, so they cannot disagree.
 *
 * @module
 */
import * as tfl from "@tensorflow/tfjs-layers";
import type { Norm, TrainConfig } from "./config.ts";
import { ConfigError } from "./errors.ts";
import { objectiveParts } from "./losses.ts";
import {
  activation,
  conv,
  convBias,
  norm,
  SeedSequence,
  type Sym,
} from "./layers.ts";

/** Everything that defines a discriminator's architecture and initial weights. */
export interface DiscriminatorSpec {
  arch: "pixel" | "n_layers";
  /** Stride-2 layers of `n_layers` (ignored for `pixel`). */
  nLayers: number;
  /** Filters of the first layer (64 in the paper). */
  ndf: number;
  norm: Norm;
  /** Input channels: 6 for a conditional D (input ‖ output), 3 for an unconditional one. */
  inputNc: number;
  /** Seed of the weight initialisation. */
  seed: number;
}

/** One convolution of a discriminator, with what follows it. */
export interface ConvLayerSpec {
  filters: number;
  kernel: number;
  stride: number;
  /** Zero padding on every side, pixels. */
  padding: number;
  bias: boolean;
  /** Normalisation after the convolution (only on inner layers). */
  norm: boolean;
  /** LeakyReLU 0.2 after it (all but the last layer). */
  leaky: boolean;
}

/** The discriminator a training config describes (conditional unless the objective says `gan`). */
export function discriminatorSpecFromConfig(
  cfg: TrainConfig,
): DiscriminatorSpec {
  const conditional = objectiveParts(cfg.loss).conditional;
  return {
    arch: cfg.netD === "pixel" ? "pixel" : "n_layers",
    nLayers: cfg.netD === "basic" ? 3 : cfg.nLayersD,
    ndf: cfg.ndf,
    norm: cfg.norm,
    inputNc: conditional ? cfg.inputNc + cfg.outputNc : cfg.outputNc,
    seed: cfg.seed + 1,
  };
}

/** The discriminator's layers in order, as the reference builds them. */
export function discriminatorLayers(spec: DiscriminatorSpec): ConvLayerSpec[] {
  const bias = convBias(spec.norm);
  if (spec.arch === "pixel") {
    return [
      {
        filters: spec.ndf,
        kernel: 1,
        stride: 1,
        padding: 0,
        bias: true,
        norm: false,
        leaky: true,
      },
      {
        filters: spec.ndf * 2,
        kernel: 1,
        stride: 1,
        padding: 0,
        bias,
        norm: true,
        leaky: true,
      },
      {
        filters: 1,
        kernel: 1,
        stride: 1,
        padding: 0,
        bias,
        norm: false,
        leaky: false,
      },
    ];
  }
  if (!Number.isInteger(spec.nLayers) || spec.nLayers < 0) {
    throw new ConfigError(
      "nLayersD",
      `nLayersD must be a non-negative integer, got ${spec.nLayers}`,
    );
  }
  const width = (n: number) => spec.ndf * Math.min(2 ** n, 8);
  const layers: ConvLayerSpec[] = [
    {
      filters: spec.ndf,
      kernel: 4,
      stride: 2,
      padding: 1,
      bias: true,
      norm: false,
      leaky: true,
    },
  ];
  for (let n = 1; n < spec.nLayers; n++) {
    layers.push({
      filters: width(n),
      kernel: 4,
      stride: 2,
      padding: 1,
      bias,
      norm: true,
      leaky: true,
    });
  }
  layers.push(
    {
      filters: width(spec.nLayers),
      kernel: 4,
      stride: 1,
      padding: 1,
      bias,
      norm: true,
      leaky: true,
    },
    {
      filters: 1,
      kernel: 4,
      stride: 1,
      padding: 1,
      bias: true,
      norm: false,
      leaky: false,
    },
  );
  return layers;
}

/**
 * Receptive field of one output unit in input pixels, walked back from the
 * last layer: RF_in = (RF_out - 1) * stride + kernel, starting from 1.
 */
export function receptiveField(spec: DiscriminatorSpec): number {
  return discriminatorLayers(spec).reduceRight(
    (rf, l) => (rf - 1) * l.stride + l.kernel,
    1,
  );
}

/**
 * Height (= width) of the output map for a square input of `size` pixels:
 * out = floor((in + 2 * padding - kernel) / stride) + 1 per layer.
 * E.g. 30 for `basic` on 256x256. Throws if the input is too small.
 */
export function discriminatorOutputSize(
  spec: DiscriminatorSpec,
  size: number,
): number {
  const out = discriminatorLayers(spec).reduce(
    (n, l) => Math.floor((n + 2 * l.padding - l.kernel) / l.stride) + 1,
    size,
  );
  if (out < 1) {
    throw new Error(
      `a ${size}x${size} input is too small for this discriminator (receptive field ${
        receptiveField(spec)
      })`,
    );
  }
  return out;
}

/**
 * Builds the discriminator as a tfjs-layers functional model:
 * input `[n, size, size, inputNc]` → logits `[n, out, out, 1]`
 * (no sigmoid: the loss works on logits).
 */
export function buildDiscriminator(
  spec: DiscriminatorSpec,
  size: number,
): tfl.LayersModel {
  discriminatorOutputSize(spec, size);
  const seeds = new SeedSequence(spec.seed);
  const input = tfl.input({ shape: [size, size, spec.inputNc], name: "input" });
  let x: Sym = input;
  discriminatorLayers(spec).forEach((l, i) => {
    x = conv(x, { ...l, name: `d${i}_conv`, seeds });
    if (l.norm) x = norm(x, spec.norm, `d${i}_norm`, seeds);
    if (l.leaky) x = activation(x, "leaky", `d${i}_leaky`);
  });
  const name = spec.arch === "pixel"
    ? "pixelgan"
    : `patchgan_${receptiveField(spec)}`;
  return tfl.model({ inputs: input, outputs: x, name });
}
