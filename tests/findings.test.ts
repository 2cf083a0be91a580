import assert from "node:assert/strict";
import { fcnVerdict, intervalVerdict } from "../lib/notebook/findings.ts";
import { bootstrapPairedDifference } from "../lib/eval/bootstrap.ts";

const row = (px: number, cls: number, iou: number) => ({
  per_pixel_acc: px,
  per_class_acc: cls,
  class_iou: iou,
});

Deno.test("fcnVerdict: all three scores must agree and the gap exceed the noise", () => {
  // Table 3 of the cpu grid: 70x70 vs 16x16.
  const t = fcnVerdict(
    row(0.557, 0.290, 0.201),
    row(0.553, 0.291, 0.202),
    0.003,
  );
  assert.equal(t.verdict, "tie");
  assert.match(t.why, /disagree/);
  assert.equal(
    fcnVerdict(row(0.6, 0.3, 0.2), row(0.5, 0.2, 0.1), 0.003).verdict,
    "agrees",
  );
  assert.equal(
    fcnVerdict(row(0.502, 0.3, 0.2), row(0.5, 0.2, 0.1), 0.003).verdict,
    "tie",
  );
  assert.equal(
    fcnVerdict(row(0.4, 0.1, 0.1), row(0.5, 0.2, 0.2), 0.003).verdict,
    "disagrees",
  );
  assert.equal(
    fcnVerdict(undefined, row(0.5, 0.2, 0.2), 0.003).verdict,
    "not measured",
  );
});

Deno.test("intervalVerdict: an interval containing 0 is a tie", () => {
  assert.equal(
    intervalVerdict(bootstrapPairedDifference([2, 3, 4], [1, 1, 1])).verdict,
    "agrees",
  );
  assert.equal(
    intervalVerdict(bootstrapPairedDifference([1, 1, 1], [2, 3, 4])).verdict,
    "disagrees",
  );
  assert.equal(
    intervalVerdict(bootstrapPairedDifference([1, 0, 1, 0], [0, 1, 0, 1]))
      .verdict,
    "tie",
  );
});
