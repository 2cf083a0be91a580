/**
 * Code beside the maths: a notebook output that shows an equation, the
 * library function that implements it (its source text, read from `lib/`
 * at display time, so it cannot drift from the code), a link to the file and
 * line, and the paper's section.
 *
 * @module
 */
import type { Displayable } from "./display.ts";
import { display } from "./display.ts";

/** The repository's `lib/` folder. */
const LIB_DIR = new URL("..", import.meta.url);

/** The paper: Isola, Zhu, Zhou, Efros, CVPR 2017 (arXiv 1611.07004). */
export const PAPER_URL = "https://arxiv.org/abs/1611.07004";

/** A declaration's source text and where it starts. */
export interface SourceExcerpt {
  /** Path relative to the repository root, e.g. `lib/losses.ts`. */
  file: string;
  /** 1-based line of the first line shown (its doc comment, if any). */
  line: number;
  /** The declaration with its doc comment. */
  text: string;
}

/**
 * The source text of `name` in `lib/<file>`: a top-level function, class,
 * const or interface, or a method (`trainStep`) of a class, with the doc
 * comment above it, up to the closing brace at its own indentation.
 *
 * @throws Error naming the file when `name` is not declared there
 */
export async function sourceOf(
  file: string,
  name: string,
): Promise<SourceExcerpt> {
  const path = new URL(file, LIB_DIR);
  const lines = (await Deno.readTextFile(path)).split("\n");
  const decl = new RegExp(
    `^(\\s*)(export\\s+)?(async\\s+)?(function\\s+|const\\s+|class\\s+|interface\\s+|static\\s+)?${name}\\b\\s*[(<:={]`,
  );
  const start = lines.findIndex((l) => decl.test(l));
  if (start < 0) throw new Error(`lib/${file}: no declaration of ${name}`);
  const indent = decl.exec(lines[start])![1];
  let end = start;
  while (
    end < lines.length - 1 &&
    !new RegExp(`^${indent}\\}[;,]?\\s*$`).test(lines[end])
  ) end++;
  let first = start;
  if (/^\s*\/\*\*.*\*\/\s*$/.test(lines[start - 1] ?? "")) {
    first--; // a one-line doc comment
  } else if (/^\s*\*\/\s*$/.test(lines[start - 1] ?? "")) {
    while (first > 0 && !/^\s*\/\*\*/.test(lines[first - 1])) first--;
    first--;
  }
  const text = lines.slice(first, end + 1).map((l) => l.slice(indent.length))
    .join("\n");
  return { file: `lib/${file}`, line: first + 1, text };
}

/** What {@link codeBeside} shows. */
export interface CodeBesideOptions {
  /** The equation, LaTeX between `$$ ... $$` (or any Markdown). */
  equation: string;
  /** File under `lib/`, e.g. `losses.ts`. */
  file: string;
  /** The function (or method) implementing the equation. */
  name: string;
  /** Where the paper states it, e.g. `§3.1, Eq. (4)`. */
  paper: string;
  /** Link prefix from the notebook to the repository root (default `..`, for `notebooks/`). */
  root?: string;
}

/**
 * The equation, then the library code that implements it, with links to
 * the source file (at its line) and the paper. A Markdown output: Jupyter
 * renders the LaTeX and highlights the TypeScript.
 *
 * @example
 * ```ts
 * await codeBeside({ equation: "$$\\mathcal{L}_G = ...$$", file: "losses.ts", name: "generatorLoss", paper: "§3.1, Eq. (4)" });
 * ```
 */
export async function codeBeside(o: CodeBesideOptions): Promise<Displayable> {
  const src = await sourceOf(o.file, o.name);
  const root = o.root ?? "..";
  const md = `${o.equation}

\`${o.name}\` in [\`${src.file}\`](${root}/${src.file}) (line ${src.line}) · paper: [${o.paper}](${PAPER_URL})

\`\`\`ts
${src.text}
\`\`\``;
  return display({ "text/markdown": md, "text/plain": md });
}
