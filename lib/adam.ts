/**
 * Adam (Kingma & Ba, 2015), the pix2pix optimizer, updating one variable at
 * a time.
 *
 * The arithmetic is `tf.train.adam`'s, op for op, so results are bit-identical
 * to it. The difference is memory: tfjs 4.22 wraps the update of *all*
 * variables in one `tidy`, so every intermediate of every variable (about ten
 * full-size tensors each) stays alive until the last variable is done: for the
 * 54 M-parameter U-Net that is ~2 GB of transient memory per step on top of
 * the weights and moments (and the wasm heap never shrinks). Here each
 * variable's intermediates are freed before the next variable is updated, so
 * the transient peak is that of the largest single variable. On the wasm
 * backends the update is one fused pass per variable
 * (`lib/runtime/fused/`), bit-identical to the ops.
 *
 * The saved state has tfjs Adam's format (`getWeights()`: the iteration
 * count, then every `<variable>/m`, then every `<variable>/v`), so checkpoints
 * written with either load into the other.
 *
 * @module
 */

import * as tf from "@tensorflow/tfjs";
import {
  type AdamScalars,
  fusedAdam,
  hasFusedAdam,
} from "./runtime/fused/mod.ts";

/** A named tensor, as `getWeights()` returns and `setWeights()` takes. */
export interface NamedTensor {
  name: string;
  tensor: tf.Tensor;
}

/** First or second moment of one variable, named `<variable>/m` or `/v`. */
interface Moment {
  originalName: string;
  variable: tf.Variable;
}

/** Adam with per-variable updates; see the module documentation. */
export class Adam extends tf.Optimizer {
  /** Step size; the trainer changes it for the linear decay. */
  learningRate: number;
  /** Decay of the first moment (pix2pix: 0.5). */
  readonly beta1: number;
  /** Decay of the second moment (0.999). */
  readonly beta2: number;
  /** Added to sqrt(v) in the denominator. */
  readonly epsilon: number;
  /**
   * beta1^(t+1) and beta2^(t+1) as running products (as tfjs keeps them);
   * checkpoints store them so that a resumed run is bit-identical.
   */
  readonly accBeta1: tf.Variable;
  readonly accBeta2: tf.Variable;
  private first: Moment[] = [];
  private second: Moment[] = [];

  constructor(
    learningRate: number,
    beta1: number,
    beta2: number,
    epsilon: number,
  ) {
    super();
    this.learningRate = learningRate;
    this.beta1 = beta1;
    this.beta2 = beta2;
    this.epsilon = epsilon;
    this.accBeta1 = tf.tidy(() => tf.scalar(beta1).variable());
    this.accBeta2 = tf.tidy(() => tf.scalar(beta2).variable());
  }

  /** Updates each named variable from its gradient (same order every call). */
  override applyGradients(
    variableGradients: tf.NamedTensorMap | NamedTensor[],
  ): void {
    const names = Array.isArray(variableGradients)
      ? variableGradients.map((v) => v.name)
      : Object.keys(variableGradients);
    const [oneMinusAcc1, oneMinusAcc2] = tf.tidy(() => [
      tf.sub(1, this.accBeta1),
      tf.sub(1, this.accBeta2),
    ]);
    // Scalars read back only where the fused kernel runs (wasm: no GPU sync).
    const scalars: AdamScalars | null = hasFusedAdam()
      ? {
        beta1: this.beta1,
        beta2: this.beta2,
        oneMinusAcc1: oneMinusAcc1.dataSync()[0],
        oneMinusAcc2: oneMinusAcc2.dataSync()[0],
        epsilon: this.epsilon,
        learningRate: this.learningRate,
      }
      : null;
    const zerosOf = (value: tf.Variable) =>
      tf.tidy(() => tf.zerosLike(value).variable(false));
    names.forEach((name, i) => {
      const value = tf.engine().registeredVariables[name];
      this.first[i] ??= { originalName: `${name}/m`, variable: zerosOf(value) };
      this.second[i] ??= {
        originalName: `${name}/v`,
        variable: zerosOf(value),
      };
      const gradient = Array.isArray(variableGradients)
        ? variableGradients[i].tensor
        : variableGradients[name];
      if (gradient == null) return;
      const m = this.first[i].variable;
      const v = this.second[i].variable;
      if (scalars && fusedAdam(value, gradient, m, v, scalars)) return;
      // Inner tidies and early disposes free each intermediate once used,
      // so at most 4 tensors of this variable's size are alive at once.
      tf.tidy(() => {
        const newM = tf.tidy(() =>
          tf.add(tf.mul(m, this.beta1), tf.mul(gradient, 1 - this.beta1))
        );
        m.assign(newM);
        newM.dispose();
        const newV = tf.tidy(() =>
          tf.add(
            tf.mul(v, this.beta2),
            tf.mul(tf.square(gradient), 1 - this.beta2),
          )
        );
        v.assign(newV);
        newV.dispose();
        const denominator = tf.tidy(() =>
          tf.add(tf.sqrt(tf.div(v, oneMinusAcc2)), this.epsilon)
        );
        const step = tf.tidy(() =>
          tf.mul(
            tf.div(tf.div(m, oneMinusAcc1), denominator),
            -this.learningRate,
          )
        );
        denominator.dispose();
        const newValue = tf.add(step, value);
        step.dispose();
        value.assign(newValue);
      });
    });
    tf.dispose([oneMinusAcc1, oneMinusAcc2]);
    tf.tidy(() => {
      this.accBeta1.assign(tf.mul(this.accBeta1, this.beta1));
      this.accBeta2.assign(tf.mul(this.accBeta2, this.beta2));
    });
    this.incrementIterations();
  }

  /** The iteration count, then every first moment, then every second moment. */
  override async getWeights(): Promise<NamedTensor[]> {
    return [
      await this.saveIterations(),
      ...[...this.first, ...this.second].map((m) => ({
        name: m.originalName,
        tensor: m.variable,
      })),
    ];
  }

  /**
   * Restores what {@link getWeights} (or tfjs Adam's) returned; the running
   * powers are recomputed as beta^(t+1) (restore the saved ones afterwards
   * for a bit-identical resume).
   */
  override async setWeights(weights: NamedTensor[]): Promise<void> {
    const moments = await this.extractIterations(weights);
    tf.tidy(() => {
      this.accBeta1.assign(tf.pow(this.beta1, this.iterations + 1));
      this.accBeta2.assign(tf.pow(this.beta2, this.iterations + 1));
    });
    tf.dispose([...this.first, ...this.second].map((m) => m.variable));
    const n = moments.length / 2;
    const toMoment = (w: NamedTensor): Moment => ({
      originalName: w.name,
      variable: w.tensor.variable(false),
    });
    this.first = moments.slice(0, n).map(toMoment);
    this.second = moments.slice(n).map(toMoment);
  }

  /** The constructor's arguments. */
  override getConfig(): tf.serialization.ConfigDict {
    return {
      learningRate: this.learningRate,
      beta1: this.beta1,
      beta2: this.beta2,
      epsilon: this.epsilon,
    };
  }

  /** Frees the moments and running powers. */
  override dispose(): void {
    super.dispose();
    tf.dispose([
      this.accBeta1,
      this.accBeta2,
      ...[...this.first, ...this.second].map((m) => m.variable),
    ]);
  }
}
