/**
 * Headless execution of the notebooks in `notebooks/` (`deno task notebooks`).
 *
 * Jupyter's Python side does the work: `notebooks/execute.py` (nbclient,
 * with a fix for the Deno kernel's late outputs) executes each notebook with
 * the Deno kernel and writes the executed copy, and `nbconvert` renders
 * HTML (MathJax inlined by `mathjax.ts`, so maths render offline). This
 * module finds a Python that has them, installs the Deno kernel spec when
 * Jupyter does not know it, and runs both.
 *
 * @module
 */
import { ConfigError, EnvironmentError } from "../errors.ts";
import { exists } from "../util/files.ts";
import { inlineMathJax } from "./mathjax.ts";
import { NOTEBOOK_BACKEND_ENV } from "./backend.ts";
import type { BackendName } from "../config.ts";

/** What {@link runNotebooks} does. */
export interface NotebookRunOptions {
  /** Notebook files to execute, in order. */
  notebooks: string[];
  /** Folder for the executed notebooks (and HTML), created if missing. */
  outDir: string;
  /** Seconds one cell may run before it counts as failed. */
  cellTimeoutS: number;
  /** Small-size mode: sets `PIX2PIX_NB_SMALL` to 1 (true) or 0 for the kernels. */
  small: boolean;
  /** Also render each executed notebook to HTML in `outDir`. */
  html: boolean;
  /**
   * The backend every notebook uses (sets {@link NOTEBOOK_BACKEND_ENV} for
   * the kernels); unset: each notebook's own choice.
   */
  backend?: BackendName;
}

/** What {@link runNotebooks} did. */
export interface NotebookRunResult {
  /** Every notebook ran without a failing cell. */
  ok: boolean;
  /** Executed notebooks written (also those with a failing cell). */
  executed: string[];
  /** HTML files written (empty unless `html`). */
  html: string[];
}

/** The executor script, next to the notebooks. */
const EXECUTE_PY =
  new URL("../../notebooks/execute.py", import.meta.url).pathname;

/** The notebooks folder of this repository. */
export const NOTEBOOKS_DIR =
  new URL("../../notebooks", import.meta.url).pathname;

/** Runs a command quietly; true when it exits 0. */
async function succeeds(cmd: string, args: string[]): Promise<boolean> {
  try {
    const out = await new Deno.Command(cmd, {
      args,
      stdout: "null",
      stderr: "null",
    }).output();
    return out.success;
  } catch {
    return false;
  }
}

/**
 * A Python interpreter that can import nbclient and nbconvert:
 * `$PIX2PIX_PYTHON`, then `python3` on the PATH, then `/usr/bin/python3`
 * (Debian's Jupyter packages install there, which a pyenv or venv `python3`
 * on the PATH may hide).
 *
 * @throws EnvironmentError with an install hint when none has them
 */
export async function findPython(): Promise<string> {
  const env = Deno.env.get("PIX2PIX_PYTHON");
  const candidates = [...(env ? [env] : []), "python3", "/usr/bin/python3"];
  for (const py of candidates) {
    if (await succeeds(py, ["-c", "import nbclient, nbconvert, nbformat"])) {
      return py;
    }
  }
  throw new EnvironmentError(
    `no Python with nbclient and nbconvert found (tried ${
      candidates.join(", ")
    }); install them, e.g. apt-get install jupyter-nbconvert python3-nbclient python3-ipykernel, or set PIX2PIX_PYTHON`,
  );
}

/**
 * Installs Deno's Jupyter kernel spec (`deno jupyter --install`) unless
 * Jupyter, as seen from `python`, already has a kernel named `deno`.
 *
 * @returns true when it installed the kernel spec
 */
export async function ensureDenoKernel(python: string): Promise<boolean> {
  const has = await succeeds(python, [
    "-c",
    "import sys; from jupyter_client.kernelspec import KernelSpecManager as K; sys.exit(0 if 'deno' in K().find_kernel_specs() else 1)",
  ]);
  if (has) return false;
  const out = await new Deno.Command(Deno.execPath(), {
    args: ["jupyter", "--install"],
    stdout: "inherit",
    stderr: "inherit",
  }).output();
  if (!out.success) {
    throw new Error("`deno jupyter --install` failed (see its output above)");
  }
  return true;
}

/** The exercises' solutions, one notebook per lesson (`01_solutions.ipynb`...). */
export const SOLUTIONS_DIR = `${NOTEBOOKS_DIR}/solutions`;

/**
 * The notebooks of `dir` (`*.ipynb`, sorted by name), then those of each of
 * `more` (e.g. {@link SOLUTIONS_DIR}), keeping those whose names contain one
 * of `only` (e.g. `["03", "ablation"]`).
 *
 * @throws ConfigError naming the filter when nothing matches
 */
export async function listNotebooks(
  dir: string,
  only: string[] = [],
  more: string[] = [],
): Promise<string[]> {
  const picked: string[] = [];
  for (const d of [dir, ...more]) {
    const names: string[] = [];
    for await (const e of Deno.readDir(d)) {
      if (e.isFile && e.name.endsWith(".ipynb")) names.push(e.name);
    }
    picked.push(
      ...names.sort().filter((n) =>
        only.length === 0 || only.some((o) => n.includes(o))
      ).map((n) => `${d}/${n}`),
    );
  }
  if (picked.length === 0) {
    const where = [dir, ...more].join(", ");
    throw new ConfigError(
      "only",
      only.length
        ? `only ${only.join(", ")}: no notebook in ${where} matches`
        : `no notebooks (*.ipynb) in ${where}`,
    );
  }
  return picked;
}

/** Runs `python args...` with inherited output; true when it exits 0. */
async function runPython(
  python: string,
  args: string[],
  env: Record<string, string> = {},
): Promise<boolean> {
  const out = await new Deno.Command(python, {
    args,
    env,
    stdout: "inherit",
    stderr: "inherit",
  }).output();
  return out.success;
}

/**
 * Executes the notebooks headlessly with the Deno kernel, writing the
 * executed copies (and, with `html`, HTML renderings) to `outDir`. A failing
 * or timed-out cell fails its notebook; the others still run.
 */
export async function runNotebooks(
  o: NotebookRunOptions,
): Promise<NotebookRunResult> {
  const python = await findPython();
  if (await ensureDenoKernel(python)) {
    console.log("installed the Deno Jupyter kernel");
  }
  await Deno.mkdir(o.outDir, { recursive: true });
  const ok = await runPython(python, [
    EXECUTE_PY,
    "--output-dir",
    o.outDir,
    "--timeout",
    String(o.cellTimeoutS),
    ...o.notebooks,
  ], {
    PIX2PIX_NB_SMALL: o.small ? "1" : "0",
    ...(o.backend ? { [NOTEBOOK_BACKEND_ENV]: o.backend } : {}),
  });
  const executed: string[] = [];
  for (const nb of o.notebooks) {
    const out = `${o.outDir}/${nb.slice(nb.lastIndexOf("/") + 1)}`;
    if (await exists(out)) executed.push(out);
  }
  const html: string[] = [];
  if (o.html && executed.length) {
    const rendered = await runPython(python, [
      "-m",
      "nbconvert",
      "--to",
      "html",
      "--log-level",
      "WARN",
      "--output-dir",
      o.outDir,
      ...executed,
    ]);
    if (!rendered) throw new Error("nbconvert --to html failed");
    html.push(...executed.map((p) => p.replace(/\.ipynb$/, ".html")));
    // Maths offline: MathJax inlined instead of nbconvert's CDN link.
    for (const page of html) {
      await Deno.writeTextFile(
        page,
        await inlineMathJax(await Deno.readTextFile(page)),
      );
    }
  }
  return { ok, executed, html };
}
