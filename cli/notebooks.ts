/**
 * `deno task notebooks`: execute the notebooks in `notebooks/` and the
 * exercises' solutions in `notebooks/solutions/` headlessly with the Deno
 * Jupyter kernel (installed on first use) and exit non-zero when any cell
 * fails.
 *
 *   deno task notebooks [--html] [--full] [--only 03 --only 05]
 *     [--no-solutions] [--backend webgpu] [--out-dir runs/notebooks]
 *     [--timeout 900]
 *
 * `--html` also renders each executed notebook to HTML; `--full` turns the
 * small-size mode off (PIX2PIX_NB_SMALL=0: paper-sized, slow on a CPU);
 * `--backend` runs every notebook on that backend (PIX2PIX_NB_BACKEND).
 * @module
 */
import { enumFlag, intFlag, parseFlags, runCli } from "./common.ts";
import { BACKENDS } from "../lib/config.ts";
import {
  listNotebooks,
  NOTEBOOKS_DIR,
  runNotebooks,
  SOLUTIONS_DIR,
} from "../lib/notebook/runner.ts";

const HELP = `usage: deno task notebooks [options]

Executes notebooks/*.ipynb, then the exercises' solutions in
notebooks/solutions/, with the Deno Jupyter kernel into --out-dir.

  --html            also render each executed notebook to HTML (switch,
                    default off)
  --full            full-size experiments (PIX2PIX_NB_SMALL=0; slow on a CPU;
                    switch, default off: small ones)
  --only TEXT       only notebooks whose file name contains TEXT (repeatable;
                    default: all; --only 03 runs 03_... and its solutions
                    03_solutions)
  --no-solutions    skip notebooks/solutions/ (switch, default off)
  --backend NAME    every notebook on this tfjs backend: ${BACKENDS.join(" | ")}
                    (default: each notebook's own choice)
  --out-dir DIR     where executed notebooks go (default runs/notebooks)
  --timeout SEC     seconds one cell may run (default 900)
  -h, --help        this text`;

await runCli(async () => {
  const { values } = parseFlags("notebooks", Deno.args, {
    help: HELP,
    options: {
      html: { type: "boolean", default: false },
      full: { type: "boolean", default: false },
      only: { type: "string", multiple: true, default: [] },
      "no-solutions": { type: "boolean", default: false },
      backend: { type: "string" },
      "out-dir": { type: "string", default: "runs/notebooks" },
      timeout: { type: "string", default: "900" },
    },
  });
  const timeout = intFlag("timeout", values.timeout, { min: 1, fallback: 900 });
  const notebooks = await listNotebooks(
    NOTEBOOKS_DIR,
    values.only,
    values["no-solutions"] ? [] : [SOLUTIONS_DIR],
  );
  const t0 = performance.now();
  const result = await runNotebooks({
    notebooks,
    outDir: values["out-dir"],
    cellTimeoutS: timeout,
    small: !values.full,
    html: values.html,
    backend: enumFlag("backend", values.backend, BACKENDS),
  });
  const seconds = ((performance.now() - t0) / 1000).toFixed(0);
  for (const f of [...result.executed, ...result.html]) {
    console.log(`wrote ${f}`);
  }
  if (!result.ok) {
    throw new Error(`notebooks: a cell failed (see above); ${seconds} s`);
  }
  console.log(`notebooks: all ${notebooks.length} ran in ${seconds} s`);
});
