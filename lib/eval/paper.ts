/**
 * The published figures of Isola et al. 2017 (pix2pix, CVPR; arXiv
 * 1611.07004), Tables 1-3, as typed data: FCN-scores of Cityscapes
 * labels → photo, 256x256, 200 epochs, batch size 1 (Table 2: batch 10).
 * Each score is in [0, 1]. Source: `../shared/reference/paper-tables.md`.
 *
 * Rows are keyed by a stable `id` that the ablation grid (`lib/ablation/run.ts`)
 * uses too, so our numbers and the paper's can be put side by side.
 *
 * @module
 */
import type { FcnScores } from "./metrics.ts";

/** One row of a paper table. */
export interface PaperRow extends FcnScores {
  /** Stable id of the variant, e.g. `l1+cgan`, `unet-l1`, `d70`. */
  id: string;
  /** Label as printed in the paper, e.g. `L1+cGAN`. */
  label: string;
}

/** One of the paper's ablation tables. */
export interface PaperTable {
  /** Which study it is (also the `--study` name of `deno task ablate`). */
  study: "objective" | "generator" | "discriminator";
  /** Table title, e.g. "Table 1: objective". */
  title: string;
  /** What the paper's set-up differs in, if anything (e.g. batch size). */
  note: string;
  /** Rows in the paper's order. */
  rows: readonly PaperRow[];
}

function row(
  id: string,
  label: string,
  per_pixel_acc: number,
  per_class_acc: number,
  class_iou: number,
): PaperRow {
  return { id, label, per_pixel_acc, per_class_acc, class_iou };
}

/** The paper's ground-truth row: the FCN on real Cityscapes photos (Table 1). */
export const PAPER_GROUND_TRUTH: Readonly<PaperRow> = Object.freeze(
  row("ground-truth", "ground truth", 0.80, 0.26, 0.21),
);

/** Table 1: FCN-scores for different losses (U-Net + 70x70 PatchGAN). */
export const PAPER_TABLE_1: Readonly<PaperTable> = Object.freeze({
  study: "objective",
  title: "Table 1: objective",
  note: "U-Net generator, 70x70 PatchGAN, batch size 1",
  rows: Object.freeze([
    row("l1", "L1", 0.42, 0.15, 0.11),
    row("gan", "GAN", 0.22, 0.05, 0.01),
    row("cgan", "cGAN", 0.57, 0.22, 0.16),
    row("l1+gan", "L1+GAN", 0.64, 0.20, 0.15),
    row("l1+cgan", "L1+cGAN", 0.66, 0.23, 0.17),
  ]),
});

/** Table 2: encoder-decoder vs U-Net (the paper trained these with batch size 10). */
export const PAPER_TABLE_2: Readonly<PaperTable> = Object.freeze({
  study: "generator",
  title: "Table 2: generator",
  note: "U-Net or encoder-decoder, 70x70 PatchGAN, batch size 10",
  rows: Object.freeze([
    row("encdec-l1", "encoder-decoder (L1)", 0.35, 0.12, 0.08),
    row("encdec-l1+cgan", "encoder-decoder (L1+cGAN)", 0.29, 0.09, 0.05),
    row("unet-l1", "U-Net (L1)", 0.48, 0.18, 0.13),
    row("unet-l1+cgan", "U-Net (L1+cGAN)", 0.55, 0.20, 0.14),
  ]),
});

/** Table 3: discriminator receptive field, all with L1+cGAN. */
export const PAPER_TABLE_3: Readonly<PaperTable> = Object.freeze({
  study: "discriminator",
  title: "Table 3: discriminator receptive field",
  note: "L1+cGAN, U-Net generator",
  rows: Object.freeze([
    row("d1", "1x1 (PixelGAN)", 0.39, 0.15, 0.10),
    row("d16", "16x16", 0.65, 0.21, 0.17),
    row("d70", "70x70", 0.66, 0.23, 0.17),
    row("d286", "286x286 (ImageGAN)", 0.42, 0.16, 0.11),
  ]),
});

/** Tables 1-3 in order. */
export const PAPER_TABLES: readonly PaperTable[] = Object.freeze([
  PAPER_TABLE_1,
  PAPER_TABLE_2,
  PAPER_TABLE_3,
]);

/** The paper's row `id` of table `study`, or undefined if it has none. */
export function paperRow(
  study: PaperTable["study"],
  id: string,
): PaperRow | undefined {
  return PAPER_TABLES.find((t) => t.study === study)?.rows.find((r) =>
    r.id === id
  );
}

/** A variant of a paper table: its study and row id. */
export interface PaperRowRef {
  study: PaperTable["study"];
  id: string;
}

/**
 * One ordering the paper reports: row `better` scores above row `worse`
 * (per-pixel accuracy in its tables; each holds strictly there).
 */
export interface PaperOrdering {
  /** Stable id, e.g. `cgan>gan`. */
  id: string;
  /** The finding in words. */
  claim: string;
  better: PaperRowRef;
  worse: PaperRowRef;
}

function ordering(
  study: PaperTable["study"],
  better: string,
  worse: string,
  claim: string,
): PaperOrdering {
  return {
    id: `${better}>${worse}`,
    claim,
    better: { study, id: better },
    worse: { study, id: worse },
  };
}

/**
 * The 11 orderings of Tables 1-3 that this project checks (notebooks 05 and
 * 06, the README's ablation summary, the grid's verdicts): five of the
 * objective, three of the generator, three of the patch size. Table 2's U-Net
 * (L1+cGAN) > U-Net (L1) is left out: in the grid it is the very same pair of
 * runs as Table 1's L1+cGAN > L1.
 */
export const PAPER_ORDERINGS: readonly PaperOrdering[] = Object.freeze([
  ordering("objective", "cgan", "gan", "conditioning helps: cGAN > GAN"),
  ordering("objective", "l1+cgan", "l1", "L1+cGAN > L1 alone"),
  ordering("objective", "l1+cgan", "l1+gan", "L1+cGAN > L1+GAN"),
  ordering("objective", "l1+gan", "l1", "a GAN term helps L1: L1+GAN > L1"),
  ordering("objective", "cgan", "l1", "cGAN alone > L1 alone"),
  ordering(
    "generator",
    "unet-l1",
    "encdec-l1",
    "U-Net > encoder-decoder, with L1",
  ),
  ordering(
    "generator",
    "unet-l1+cgan",
    "encdec-l1+cgan",
    "U-Net > encoder-decoder, with L1+cGAN",
  ),
  ordering(
    "generator",
    "encdec-l1",
    "encdec-l1+cgan",
    "the cGAN term does not help the encoder-decoder: L1 > L1+cGAN",
  ),
  ordering("discriminator", "d70", "d1", "70x70 PatchGAN > 1x1 PixelGAN"),
  ordering("discriminator", "d70", "d286", "70x70 PatchGAN > 286x286 ImageGAN"),
  ordering("discriminator", "d70", "d16", "70x70 PatchGAN > 16x16"),
]);
