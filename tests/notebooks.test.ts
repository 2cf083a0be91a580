/**
 * Cheap checks of the notebooks and their helpers. Executing the notebooks
 * is `deno task notebooks` (run by CI), not part of this suite.
 */
import assert from "node:assert/strict";
import * as tf from "@tensorflow/tfjs";
import sharp from "sharp";
import {
  html,
  imageRow,
  JUPYTER_DISPLAY,
  mapImage,
  plot,
  table,
} from "../lib/notebook/display.ts";
import { listNotebooks, NOTEBOOKS_DIR } from "../lib/notebook/runner.ts";

interface Cell {
  cell_type: string;
  source: string[] | string;
  outputs?: unknown[];
  execution_count?: number | null;
}

const notebooks = await listNotebooks(NOTEBOOKS_DIR);

Deno.test("notebooks: six, committed without outputs, Deno kernel, importing lib/", async () => {
  assert.equal(notebooks.length, 6);
  for (const path of notebooks) {
    const nb = JSON.parse(await Deno.readTextFile(path));
    assert.equal(nb.metadata.kernelspec.name, "deno", path);
    const code = (nb.cells as Cell[]).filter((c) => c.cell_type === "code");
    for (const c of code) {
      assert.deepEqual(c.outputs, [], `${path}: a cell has outputs`);
      assert.equal(c.execution_count, null, path);
    }
    const source = code.map((c) => [c.source].flat().join("")).join("\n");
    assert.match(source, /from "\.\.\/lib\/mod\.ts"/, path);
    // Notebooks that train have a small-size switch; 05 and 06 read a grid.
    assert.match(
      source,
      /PIX2PIX_NB_SMALL|ablationResults\(/,
      `${path}: no small-size switch`,
    );
  }
});

Deno.test("listNotebooks: --only filters by name and names a filter that matches nothing", async () => {
  const only = await listNotebooks(NOTEBOOKS_DIR, ["03"]);
  assert.equal(only.length, 1);
  assert.match(only[0], /03_patchgan_receptive_field\.ipynb$/);
  await assert.rejects(
    () => listNotebooks(NOTEBOOKS_DIR, ["nope"]),
    /ConfigError: only nope: no notebook/,
  );
});

Deno.test("display helpers: MIME bundles, escaping, plotly title objects", () => {
  const h = html("<b>x</b>")[JUPYTER_DISPLAY]();
  assert.equal(h["text/html"], "<b>x</b>");
  const t = table(["a<b"], [["<i>", 1.23456], ["z", 7]], 2)[JUPYTER_DISPLAY]();
  assert.match(t["text/html"], /a&lt;b/);
  assert.match(t["text/html"], /&lt;i&gt;/);
  assert.match(t["text/html"], />1\.23</);
  const p = plot([{ y: [1, 2] }], { title: "T", yaxis2: { title: "Y2" } })
    [JUPYTER_DISPLAY]()["text/html"];
  assert.match(p, /"title":\{"text":"T"\}/);
  assert.match(p, /"yaxis2":\{"title":\{"text":"Y2"\}\}/);
});

Deno.test("mapImage: low values dark purple, high values yellow; imageRow embeds a decodable PNG", async () => {
  const map = tf.tensor2d([[0, 1], [0.5, 1]]);
  const img = mapImage(map);
  map.dispose();
  assert.deepEqual([...img.data.slice(0, 3)], [68, 1, 84]);
  assert.deepEqual([...img.data.slice(3, 6)], [253, 231, 37]);
  const row = (await imageRow([{ label: "m", image: img }]))[JUPYTER_DISPLAY]();
  const b64 = /data:image\/png;base64,([A-Za-z0-9+/=]+)/.exec(row["text/html"]);
  assert.ok(b64, "no PNG data URL");
  const meta = await sharp(
    Uint8Array.from(atob(b64[1]), (c) => c.charCodeAt(0)),
  )
    .metadata();
  assert.equal(meta.format, "png");
  assert.equal(meta.width, 2);
});
