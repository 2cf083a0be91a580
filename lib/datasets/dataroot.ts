/**
 * Where a config's training data lives: its `dataroot`, or the embedded
 * synthetic dataset (generated on first use under `.cache/`). Shared by the
 * trainer and `translate`, so both see the same data for `dataroot: null`;
 * and where the real facades set is found.
 *
 * @module
 */

import { fileURLToPath } from "node:url";
import type { TrainConfig } from "../config.ts";
import { ensureSynthDataset } from "./synth.ts";

/**
 * The real facades set beside the repository, `<repo>/../shared/datasets/facades`
 * (default `--dataroot` of `deno task eval` and `ablate`, data of the notebooks
 * and tests; it may be missing on a user's machine).
 */
export const FACADES_DIR: string = fileURLToPath(
  new URL("../../../shared/datasets/facades", import.meta.url),
);

/**
 * The dataset root of a config: `cfg.dataroot`, or the synthetic set with
 * `cfg.synthCount` training pairs of `cfg.loadSize` pixels from `cfg.seed`.
 */
export async function resolveDataroot(cfg: TrainConfig): Promise<string> {
  return cfg.dataroot ??
    await ensureSynthDataset({
      count: cfg.synthCount,
      size: cfg.loadSize,
      seed: cfg.seed,
    });
}
