/**
 * The pix2pix generators: the U-Net and the same network without skips (the
 * encoder-decoder of the paper's Table 2).
 *
 * A generator with `numDowns` stride-2 convolutions takes NHWC images of
 * `inputSize` x `inputSize` (a multiple of 2^numDowns; `unet_256` has 8 downs,
 * so a 256x256 image reaches a 1x1 bottleneck) and returns images of the same
 * size in [-1, 1] (tanh). The layer list is the reference's
 * `UnetGenerator`: encoder C64-C128-C256-C512-C512-C512-C512-C512 (no norm on
 * the first and innermost convs), decoder CD512-CD1024-CD1024-C1024-C1024-
 * C512-C256-C128 (the widths count the concatenated skip), dropout on the
 * `numDowns - 5` decoder blocks next to the innermost one. As in the
 * reference, the skips carry the encoder's activations after LeakyReLU.
 *
 * @module
 */
import * as tfl from "@tensorflow/tfjs-layers";
import {
  type GeneratorArch,
  MIN_DOWNS,
  type Norm,
  parseNetG,
  type TrainConfig,
} from "./config.ts";
import {
  activation,
  conv,
  convBias,
  convTranspose,
  dropout,
  norm,
  SeedSequence,
  type Sym,
} from "./layers.ts";

/** Everything that defines a generator's architecture and initial weights. */
export interface GeneratorSpec {
  arch: GeneratorArch;
  /** Number of stride-2 downsamplings (8 for `unet_256`, 7 for `unet_128`). At least 5. */
  numDowns: number;
  /** Input height and width in pixels; a multiple of 2^numDowns. */
  inputSize: number;
  /** Filters of the first layer (64 in the paper). */
  ngf: number;
  norm: Norm;
  /** Dropout 0.5 in the decoder blocks next to the innermost one. */
  dropout: boolean;
  /** Input channels. */
  inputNc: number;
  /** Output channels. */
  outputNc: number;
  /** `tanh` for images (the paper), `linear` for logits (e.g. a segmenter). */
  finalActivation: "tanh" | "linear";
  /** Seed of the weight initialisation. */
  seed: number;
}

/** The generator a training config describes. */
export function generatorSpecFromConfig(cfg: TrainConfig): GeneratorSpec {
  return {
    ...parseNetG(cfg.netG),
    inputSize: cfg.cropSize,
    ngf: cfg.ngf,
    norm: cfg.norm,
    dropout: !cfg.noDropout,
    inputNc: cfg.inputNc,
    outputNc: cfg.outputNc,
    finalActivation: "tanh",
    seed: cfg.seed,
  };
}

/** Filters of encoder level i: ngf, 2ngf, 4ngf, then 8ngf for every deeper level. */
export function levelFilters(ngf: number, level: number): number {
  return ngf * Math.min(2 ** level, 8);
}

/** Whether decoder level `level` (0 = outermost) has dropout in a `numDowns` network. */
export function hasDropout(level: number, numDowns: number): boolean {
  return level >= MIN_DOWNS - 1 && level <= numDowns - 2;
}

/**
 * Builds the generator as a tfjs-layers functional model.
 * Input `[n, inputSize, inputSize, inputNc]`, output `[n, inputSize, inputSize, outputNc]`.
 */
export function buildGenerator(spec: GeneratorSpec): tfl.LayersModel {
  const { numDowns, inputSize } = spec;
  if (numDowns < MIN_DOWNS) {
    throw new Error(
      `a generator needs at least ${MIN_DOWNS} downsamplings, got ${numDowns}`,
    );
  }
  if (inputSize % 2 ** numDowns !== 0) {
    throw new Error(
      `input size ${inputSize} is not a multiple of 2^${numDowns} = ${
        2 ** numDowns
      }`,
    );
  }
  const seeds = new SeedSequence(spec.seed);
  const bias = convBias(spec.norm);
  const last = numDowns - 1;
  const input = tfl.input({
    shape: [inputSize, inputSize, spec.inputNc],
    name: "input",
  });

  // Encoder: level i is conv (stride 2) -> norm (not first, not innermost) -> LeakyReLU (not innermost).
  const skips: Sym[] = [];
  let x: Sym = input;
  for (let i = 0; i <= last; i++) {
    x = conv(x, {
      filters: levelFilters(spec.ngf, i),
      kernel: 4,
      stride: 2,
      padding: "same",
      bias,
      name: `down${i}_conv`,
      seeds,
    });
    if (i > 0 && i < last) x = norm(x, spec.norm, `down${i}_norm`, seeds);
    if (i < last) {
      x = activation(x, "leaky", `down${i}_leaky`);
      skips.push(x);
    }
  }

  // Decoder: level i is ReLU -> up-conv (stride 2) -> norm -> dropout, then concat with skip i-1.
  for (let i = last; i >= 0; i--) {
    x = activation(x, "relu", `up${i}_relu`);
    const outermost = i === 0;
    x = convTranspose(x, {
      filters: outermost ? spec.outputNc : levelFilters(spec.ngf, i - 1),
      kernel: 4,
      stride: 2,
      bias: outermost || bias,
      name: `up${i}_conv`,
      seeds,
    });
    if (outermost) break;
    x = norm(x, spec.norm, `up${i}_norm`, seeds);
    if (spec.dropout && hasDropout(i, numDowns)) {
      x = dropout(x, 0.5, i, `up${i}_dropout`);
    }
    if (spec.arch === "unet") {
      x = tfl.layers.concatenate({ axis: -1, name: `up${i}_skip` }).apply([
        skips[i - 1],
        x,
      ]) as Sym;
    }
  }
  if (spec.finalActivation === "tanh") x = activation(x, "tanh", "output_tanh");
  return tfl.model({
    inputs: input,
    outputs: x,
    name: `${spec.arch}_${inputSize}`,
  });
}
