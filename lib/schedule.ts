/**
 * The learning-rate schedule of pix2pix: `epochs` epochs at the initial rate,
 * then `epochsDecay` epochs of linear decay towards zero, updated once per
 * epoch (the reference implementation's `lambda_rule`).
 *
 * @module
 */

import type { TrainConfig } from "./config.ts";

/** The config fields the schedule reads. */
export type ScheduleConfig = Pick<TrainConfig, "lr" | "epochs" | "epochsDecay">;

/**
 * Multiplier of the initial learning rate during 0-based epoch `epoch`:
 * `1 - max(0, epoch + 1 - epochs) / (epochsDecay + 1)`, the reference's
 * `lambda_rule` with `epoch_count = 1` and the scheduler stepped at the end of
 * each epoch. It is 1 for the first `epochs` epochs, then falls by
 * `1 / (epochsDecay + 1)` per epoch, so the last epoch still has a small
 * positive rate.
 */
export function lrFactor(cfg: ScheduleConfig, epoch: number): number {
  return 1 - Math.max(0, epoch + 1 - cfg.epochs) / (cfg.epochsDecay + 1);
}

/** The learning rate used during 0-based epoch `epoch`. */
export function lrAt(cfg: ScheduleConfig, epoch: number): number {
  return cfg.lr * lrFactor(cfg, epoch);
}

/** Total epochs of the schedule (`epochs + epochsDecay`). */
export function totalEpochs(cfg: ScheduleConfig): number {
  return cfg.epochs + cfg.epochsDecay;
}
