/**
 * Building blocks shared by the generator and the discriminator.
 *
 * The paper's notation: `Ck` is Convolution-Norm-ReLU with k filters, `CDk`
 * adds 50% dropout; all convolutions are 4x4. Encoders use LeakyReLU 0.2,
 * decoders ReLU. Weights are drawn from N(0, 0.02), batch-norm scales from
 * N(1, 0.02), biases start at zero, and a convolution followed by batch norm
 * has no bias, exactly as in the reference PyTorch implementation.
 *
 * Everything here works on tfjs-layers symbolic tensors (NHWC), so the models
 * built from it are ordinary `LayersModel`s that `tf.loadLayersModel` can load
 * in a browser, once this module (which registers the custom layers) is
 * imported.
 *
 * @module
 */
import * as tf from "@tensorflow/tfjs";
import * as tfl from "@tensorflow/tfjs-layers";
import type { Norm } from "./config.ts";

/** A tfjs-layers symbolic tensor (a node of a functional model under construction). */
export type Sym = tfl.SymbolicTensor;

/** Base arguments of a tfjs-layers layer (name, trainable, ...). */
export type LayerArgs = NonNullable<
  ConstructorParameters<typeof tfl.layers.Layer>[0]
>;

/** Standard deviation of the N(0, 0.02) weight initialisation. */
export const INIT_STD = 0.02;

/**
 * Hands out one distinct initialiser seed per layer, so a whole network is
 * reproducible from a single integer seed.
 */
export class SeedSequence {
  #next: number;
  /** @param seed base seed of the network */
  constructor(seed: number) {
    this.#next = seed * 1000 + 1;
  }
  /** The next seed. */
  next(): number {
    return this.#next++;
  }
}

/**
 * Whether a convolution followed by `norm` carries a bias: batch norm's shift
 * makes a bias redundant, so it is dropped (reference: `use_bias`).
 */
export function convBias(norm: Norm): boolean {
  return norm !== "batch";
}

/** Options of one convolution. */
export interface ConvOptions {
  /** Output channels. */
  filters: number;
  /** Square kernel size (4 in the paper, 1 for PixelGAN). */
  kernel: number;
  /** Stride (1 or 2). */
  stride: number;
  /**
   * `same` (only used with power-of-two sizes, where it equals PyTorch's
   * padding 1 for 4x4 stride 2) or a number of zero pixels on every side.
   */
  padding: "same" | number;
  bias: boolean;
  /** Layer name prefix. */
  name: string;
  seeds: SeedSequence;
}

function kernelInit(
  seeds: SeedSequence,
): ReturnType<typeof tfl.initializers.randomNormal> {
  return tfl.initializers.randomNormal({
    mean: 0,
    stddev: INIT_STD,
    seed: seeds.next(),
  });
}

/** Applies an explicit zero padding when `padding` is a number > 0. */
function pad(x: Sym, padding: "same" | number, name: string): Sym {
  if (padding === "same" || padding === 0) return x;
  return tfl.layers.zeroPadding2d({ padding, name: `${name}_pad` }).apply(
    x,
  ) as Sym;
}

/** A 2-D convolution, NHWC, with N(0, 0.02) weights. */
export function conv(x: Sym, o: ConvOptions): Sym {
  const padded = pad(x, o.padding, o.name);
  return tfl.layers.conv2d({
    filters: o.filters,
    kernelSize: o.kernel,
    strides: o.stride,
    padding: o.padding === "same" ? "same" : "valid",
    useBias: o.bias,
    kernelInitializer: kernelInit(o.seeds),
    biasInitializer: "zeros",
    name: o.name,
  }).apply(padded) as Sym;
}

/**
 * A 2-D transposed convolution ("up-convolution"), NHWC. With kernel 4,
 * stride 2 and `same` padding it doubles height and width, like PyTorch's
 * `ConvTranspose2d(k=4, s=2, p=1)`.
 */
export function convTranspose(x: Sym, o: Omit<ConvOptions, "padding">): Sym {
  return tfl.layers.conv2dTranspose({
    filters: o.filters,
    kernelSize: o.kernel,
    strides: o.stride,
    padding: "same",
    useBias: o.bias,
    kernelInitializer: kernelInit(o.seeds),
    biasInitializer: "zeros",
    name: o.name,
  }).apply(x) as Sym;
}

/**
 * Instance normalisation without affine parameters (the reference's
 * `InstanceNorm2d(affine=False, track_running_stats=False)`): each sample and
 * channel is normalised over height and width, in training and at test time.
 */
export class InstanceNormalization extends tfl.layers.Layer {
  /** Name under which the layer is serialised in `model.json`. */
  static className = "Pix2PixInstanceNormalization";
  /** Added to the variance, as PyTorch's default. */
  readonly epsilon: number;

  /** @param args layer arguments plus `epsilon` (default 1e-5) */
  constructor(args: LayerArgs & { epsilon?: number } = {}) {
    super(args);
    this.epsilon = args.epsilon ?? 1e-5;
  }

  override call(inputs: tf.Tensor | tf.Tensor[]): tf.Tensor {
    return tf.tidy(() => {
      const x = Array.isArray(inputs) ? inputs[0] : inputs;
      const { mean, variance } = tf.moments(x, [1, 2], true);
      return tf.div(tf.sub(x, mean), tf.sqrt(tf.add(variance, this.epsilon)));
    });
  }

  override getConfig(): tf.serialization.ConfigDict {
    return { ...super.getConfig(), epsilon: this.epsilon };
  }
}
tf.serialization.registerClass(InstanceNormalization);

/**
 * The keyword arguments of a model call (`model.apply(x, args)`): tfjs
 * passes them to every layer. `dropoutSeed` fixes the masks of the
 * {@link SeededDropout} layers for that call: with the same seed, the same
 * masks. The trainer passes one seed per step, so a resumed run draws the
 * same masks as an uninterrupted one; absent or `null`, fresh random masks.
 *
 * @example
 * ```ts
 * const y = G.apply(x, { training: true, dropoutSeed: 7 } satisfies ApplyArgs);
 * ```
 */
export interface ApplyArgs {
  /** Training-mode layers: batch statistics and active dropout. */
  training?: boolean;
  /** Seed of the dropout masks of this call. */
  dropoutSeed?: number | null;
}

/**
 * Dropout whose masks come from the call's `dropoutSeed` ({@link ApplyArgs},
 * salted per layer), so they are reproducible. Active only when the model is
 * applied with `{ training: true }`, which is both training and the paper's
 * test-time behaviour ("noise" from dropout at inference); `--eval` applies
 * models with `training: false`.
 */
export class SeededDropout extends tfl.layers.Layer {
  /** Name under which the layer is serialised in `model.json`. */
  static className = "Pix2PixSeededDropout";
  /** Fraction of units dropped. */
  readonly rate: number;
  /** Distinguishes the masks of different dropout layers under one seed. */
  readonly salt: number;

  /** @param args layer arguments plus `rate` and `salt` */
  constructor(args: LayerArgs & { rate: number; salt: number }) {
    super(args);
    this.rate = args.rate;
    this.salt = args.salt;
  }

  override call(
    inputs: tf.Tensor | tf.Tensor[],
    kwargs: ApplyArgs,
  ): tf.Tensor {
    const x = Array.isArray(inputs) ? inputs[0] : inputs;
    if (!kwargs.training || this.rate === 0) return tf.clone(x);
    const seed = kwargs.dropoutSeed == null
      ? undefined
      : kwargs.dropoutSeed * 7919 + this.salt;
    return tf.dropout(x, this.rate, undefined, seed);
  }

  override getConfig(): tf.serialization.ConfigDict {
    return { ...super.getConfig(), rate: this.rate, salt: this.salt };
  }
}
tf.serialization.registerClass(SeededDropout);

/**
 * A normalisation layer: batch norm (PyTorch's momentum 0.1 and eps 1e-5,
 * scale from N(1, 0.02)), instance norm, or nothing.
 */
export function norm(
  x: Sym,
  kind: Norm,
  name: string,
  seeds: SeedSequence,
): Sym {
  switch (kind) {
    case "batch":
      return tfl.layers.batchNormalization({
        axis: -1,
        momentum: 0.9,
        epsilon: 1e-5,
        gammaInitializer: tfl.initializers.randomNormal({
          mean: 1,
          stddev: INIT_STD,
          seed: seeds.next(),
        }),
        betaInitializer: "zeros",
        name,
      }).apply(x) as Sym;
    case "instance":
      return new InstanceNormalization({ name }).apply(x) as Sym;
    case "none":
      return x;
  }
}

/** Activation after a block: LeakyReLU 0.2 (encoders), ReLU (decoders), tanh (output). */
export type Activation = "leaky" | "relu" | "tanh";

/** Applies an activation layer. */
export function activation(x: Sym, kind: Activation, name: string): Sym {
  const layer = kind === "leaky"
    ? tfl.layers.leakyReLU({ alpha: 0.2, name })
    : tfl.layers.activation({ activation: kind, name });
  return layer.apply(x) as Sym;
}

/** Adds 50% (or `rate`) seeded dropout, the "D" of the paper's CDk. */
export function dropout(x: Sym, rate: number, salt: number, name: string): Sym {
  return new SeededDropout({ rate, salt, name }).apply(x) as Sym;
}
