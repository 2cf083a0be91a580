/**
 * A small seeded pseudo-random number generator (sfc32) with serialisable
 * state.
 *
 * Used for data order and jitter (`lib/data.ts`), the procedural dataset
 * (`lib/datasets/synth.ts`) and, by the trainer, for the RNG state stored in a
 * checkpoint. The same seed always gives the same sequence on every platform
 * (pure 32-bit integer arithmetic, no `Math.random`).
 *
 * @module
 */

/** Number of 32-bit words in an {@link Rng} state. */
const STATE_WORDS = 4;

/**
 * Mix any number of integers (seed, epoch, index, ...) into one 32-bit seed.
 *
 * Deterministic and order-sensitive: `deriveSeed(1, 2) !== deriveSeed(2, 1)`.
 * Used to give every epoch (and every item of an epoch) its own stream, so
 * results do not depend on how many numbers an earlier stream consumed.
 *
 * @param parts integers; non-integers are truncated, negatives wrap mod 2^32
 * @returns an unsigned 32-bit integer
 */
export function deriveSeed(...parts: number[]): number {
  let h = 0x811c9dc5;
  for (const part of parts) {
    const whole = Math.trunc(part);
    // Low and high 32-bit words, so integers up to 2^53 are fully mixed.
    for (let word of [whole >>> 0, Math.floor(whole / 0x100000000) >>> 0]) {
      for (let i = 0; i < 4; i++) {
        h ^= word & 0xff;
        h = Math.imul(h, 0x01000193);
        word >>>= 8;
      }
    }
  }
  // Final avalanche (murmur3 fmix32).
  h ^= h >>> 16;
  h = Math.imul(h, 0x85ebca6b);
  h ^= h >>> 13;
  h = Math.imul(h, 0xc2b2ae35);
  h ^= h >>> 16;
  return h >>> 0;
}

/**
 * Seeded sfc32 generator. Create with `new Rng(seed)` or restore with
 * {@link Rng.fromState}; `state()` returns four 32-bit words that
 * `fromState` accepts, so a checkpoint can store and resume the stream.
 */
export class Rng {
  #a: number;
  #b: number;
  #c: number;
  #d: number;

  /**
   * @param seed any integer (mixed with {@link deriveSeed}); the same seed
   *   gives the same sequence
   */
  constructor(seed: number) {
    this.#a = 0x9e3779b9;
    this.#b = 0x243f6a88;
    this.#c = 0xb7e15162;
    this.#d = deriveSeed(seed);
    // Warm up so that nearby seeds diverge.
    for (let i = 0; i < 12; i++) this.#nextU32();
  }

  /**
   * Restore a generator from {@link Rng.state}.
   *
   * @param state four unsigned 32-bit integers
   * @throws Error when `state` is not four integers in [0, 2^32)
   */
  static fromState(state: readonly number[]): Rng {
    if (
      !Array.isArray(state) || state.length !== STATE_WORDS ||
      !state.every((w) => Number.isInteger(w) && w >= 0 && w < 0x100000000)
    ) {
      throw new Error(
        `Rng.fromState: expected ${STATE_WORDS} unsigned 32-bit integers, got ${
          JSON.stringify(state)
        }`,
      );
    }
    const rng = new Rng(0);
    [rng.#a, rng.#b, rng.#c, rng.#d] = state;
    return rng;
  }

  /** The current state: four unsigned 32-bit integers (JSON-safe). */
  state(): number[] {
    return [this.#a >>> 0, this.#b >>> 0, this.#c >>> 0, this.#d >>> 0];
  }

  #nextU32(): number {
    const t = (((this.#a + this.#b) | 0) + this.#d) | 0;
    this.#d = (this.#d + 1) | 0;
    this.#a = this.#b ^ (this.#b >>> 9);
    this.#b = (this.#c + (this.#c << 3)) | 0;
    this.#c = (this.#c << 21) | (this.#c >>> 11);
    this.#c = (this.#c + t) | 0;
    return t >>> 0;
  }

  /** A uniform float in [0, 1) with 32 bits of randomness. */
  next(): number {
    return this.#nextU32() / 0x100000000;
  }

  /** A uniform float in [lo, hi). */
  uniform(lo: number, hi: number): number {
    return lo + (hi - lo) * this.next();
  }

  /**
   * A uniform integer in [0, n).
   *
   * @param n positive integer
   * @throws RangeError when `n` is not a positive integer
   */
  int(n: number): number {
    if (!Number.isInteger(n) || n <= 0) {
      throw new RangeError(`Rng.int: n must be a positive integer, got ${n}`);
    }
    return Math.floor(this.next() * n);
  }

  /** A standard normal sample (Box-Muller). */
  normal(): number {
    const u = 1 - this.next();
    const v = this.next();
    return Math.sqrt(-2 * Math.log(u)) * Math.cos(2 * Math.PI * v);
  }

  /**
   * Shuffle `array` in place (Fisher-Yates) and return it.
   *
   * @param array any array; it is modified
   */
  shuffle<T>(array: T[]): T[] {
    for (let i = array.length - 1; i > 0; i--) {
      const j = this.int(i + 1);
      const tmp = array[i];
      array[i] = array[j];
      array[j] = tmp;
    }
    return array;
  }
}
