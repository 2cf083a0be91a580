/**
 * Layer-by-layer summaries of models (name, kind, output shape, parameters),
 * as printed by `deno task summary` and used in the notebooks.
 *
 * @module
 */
import type * as tfl from "@tensorflow/tfjs-layers";

/** One row of a model summary. */
export interface LayerRow {
  name: string;
  /** tfjs-layers class name, e.g. `Conv2D`. */
  kind: string;
  /** Output shape without the batch dimension, NHWC: `[h, w, c]`. */
  outputShape: number[];
  /** Trainable parameters. */
  params: number;
}

/** Counts the elements of a list of weight shapes. */
function countOf(weights: { shape: (number | null)[] }[]): number {
  return weights.reduce(
    (sum, w) => sum + w.shape.reduce((a: number, b) => a * (b ?? 1), 1),
    0,
  );
}

/** Trainable parameters of a model (batch-norm moving statistics excluded, as PyTorch counts). */
export function trainableParams(model: tfl.LayersModel): number {
  return countOf(model.trainableWeights);
}

/** The summary rows of a model, input layer excluded. */
export function summarize(model: tfl.LayersModel): LayerRow[] {
  return model.layers
    .filter((l) => l.getClassName() !== "InputLayer")
    .map((l) => {
      const shape = l.outputShape as (number | null)[];
      return {
        name: l.name,
        kind: l.getClassName(),
        outputShape: shape.slice(1) as number[],
        params: countOf(l.trainableWeights),
      };
    });
}

/** Renders rows as a fixed-width text table with a total line. */
export function formatSummary(title: string, rows: LayerRow[]): string {
  const cells = rows.map((
    r,
  ) => [
    r.name,
    r.kind,
    r.outputShape.join("x"),
    r.params.toLocaleString("en-US"),
  ]);
  const head = ["layer", "kind", "output (HxWxC)", "params"];
  const widths = head.map((h, i) =>
    Math.max(h.length, ...cells.map((c) => c[i].length))
  );
  const line = (c: string[]) =>
    c.map((s, i) => (i === 3 ? s.padStart(widths[i]) : s.padEnd(widths[i])))
      .join("  ");
  const total = rows.reduce((s, r) => s + r.params, 0);
  const rule = "-".repeat(widths.reduce((a, b) => a + b + 2, -2));
  return [
    title,
    rule,
    line(head),
    rule,
    ...cells.map(line),
    rule,
    `trainable parameters: ${total.toLocaleString("en-US")}`,
  ].join("\n");
}
