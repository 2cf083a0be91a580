/**
 * The layout rules of docs/ARCHITECTURE.md, checked on the source: the
 * paper's files at the top of `lib/`, tfjs internals only in `lib/runtime/`,
 * no import cycle in `lib/`, `lib/` never imports a CLI, notebooks import
 * only `lib/mod.ts`.
 */
import assert from "node:assert/strict";
import { dirname, join, relative, resolve } from "node:path";

const ROOT = resolve(new URL("..", import.meta.url).pathname);
const LIB = join(ROOT, "lib");

/** Every `.ts` file under `dir`, absolute paths. */
function tsFiles(dir: string): string[] {
  const out: string[] = [];
  for (const e of Deno.readDirSync(dir)) {
    const path = join(dir, e.name);
    if (e.isDirectory) out.push(...tsFiles(path));
    else if (e.name.endsWith(".ts")) out.push(path);
  }
  return out.sort();
}

/** Comments removed (JSDoc mentions file names and examples). */
function code(text: string): string {
  return text.replace(/\/\*[\s\S]*?\*\//g, "").replace(/^\s*\/\/.*$/gm, "");
}

/**
 * The module specifiers a file imports or re-exports (static and dynamic;
 * not worker entry URLs, which start a separate module graph).
 */
function specifiers(text: string): string[] {
  const re = /(?:\bfrom\s*|\bimport\s*\(\s*|^\s*import\s+)"([^"]+)"/gm;
  return [...code(text).matchAll(re)].map((m) => m[1]);
}

const libFiles = tsFiles(LIB);
const sources = new Map(libFiles.map((f) => [f, Deno.readTextFileSync(f)]));

/** Relative imports of a lib file, resolved to absolute paths. */
function localImports(file: string): string[] {
  return specifiers(sources.get(file)!).filter((s) => s.startsWith("."))
    .map((s) => resolve(dirname(file), s));
}

Deno.test("architecture: the paper's files, training and inference at the top of lib/", () => {
  const top = [...Deno.readDirSync(LIB)].filter((e) => e.isFile).map((e) =>
    e.name
  ).sort();
  for (
    const f of ["layers.ts", "unet.ts", "patchgan.ts", "losses.ts", "data.ts"]
  ) {
    assert.ok(top.includes(f), `lib/${f} is missing`);
  }
  const allowed = [
    "layers.ts",
    "unet.ts",
    "patchgan.ts",
    "losses.ts",
    "data.ts",
    "train.ts",
    "adam.ts",
    "schedule.ts",
    "checkpoint.ts",
    "translate.ts",
    "tiling.ts", // inference at any size (translate, demo)
    "validation.ts", // the training run's validation split and scores
    "config.ts",
    "errors.ts",
    "mod.ts",
  ];
  const extra = top.filter((f) => !allowed.includes(f));
  assert.deepEqual(extra, [], `files at the top of lib/ outside the layout`);
});

Deno.test("architecture: only lib/runtime/ touches tfjs internals or backend packages", () => {
  const internal =
    /^(npm:)?@tensorflow\/(tfjs-core|tfjs-backend-[a-z]+|tfjs-node(-gpu)?)(\/|$)/;
  const offenders: string[] = [];
  for (const [file, text] of sources) {
    if (file.startsWith(join(LIB, "runtime") + "/")) continue;
    const rel = relative(ROOT, file);
    for (const s of specifiers(text)) {
      if (internal.test(s)) offenders.push(`${rel} imports ${s}`);
    }
    const body = code(text);
    if (/tf\.engine\(\)\s+as\b/.test(body)) {
      offenders.push(`${rel} casts tf.engine()`);
    }
    if (/tf\.env\(\)\.set\(/.test(body)) {
      offenders.push(`${rel} sets tf.env() flags`);
    }
  }
  assert.deepEqual(offenders, []);
  // The checker itself must see an internal import when there is one.
  assert.ok(internal.test("@tensorflow/tfjs-backend-wasm"));
  assert.ok(
    specifiers('import x from "@tensorflow/tfjs-core/dist/x";').some((s) =>
      internal.test(s)
    ),
  );
});

Deno.test("architecture: lib/ imports nothing outside lib/ (no CLI, bench, tests, web)", () => {
  const offenders: string[] = [];
  for (const file of libFiles) {
    for (const target of localImports(file)) {
      if (!target.startsWith(LIB + "/")) {
        offenders.push(
          `${relative(ROOT, file)} imports ${relative(ROOT, target)}`,
        );
      }
    }
  }
  assert.deepEqual(offenders, []);
});

/** The first import cycle found in `graph`, as a path, or null. */
function findCycle(graph: Map<string, string[]>): string[] | null {
  const state = new Map<string, "open" | "done">();
  const stack: string[] = [];
  const visit = (node: string): string[] | null => {
    state.set(node, "open");
    stack.push(node);
    for (const next of graph.get(node) ?? []) {
      if (state.get(next) === "open") {
        return [...stack.slice(stack.indexOf(next)), next];
      }
      if (!state.has(next)) {
        const found = visit(next);
        if (found) return found;
      }
    }
    stack.pop();
    state.set(node, "done");
    return null;
  };
  for (const node of graph.keys()) {
    if (!state.has(node)) {
      const found = visit(node);
      if (found) return found;
    }
  }
  return null;
}

Deno.test("architecture: no import cycle among lib/ modules", () => {
  const graph = new Map(libFiles.map((f) => [f, localImports(f)]));
  const cycle = findCycle(graph);
  assert.equal(
    cycle && cycle.map((f) => relative(ROOT, f)).join(" -> "),
    null,
  );
  // The search finds a planted cycle.
  assert.deepEqual(
    findCycle(new Map([["a", ["b"]], ["b", ["c"]], ["c", ["a"]]])),
    ["a", "b", "c", "a"],
  );
});

Deno.test("architecture: notebooks import the library only through lib/mod.ts", () => {
  const dir = join(ROOT, "notebooks");
  const notebooks = [...Deno.readDirSync(dir)].filter((e) =>
    e.name.endsWith(".ipynb")
  );
  assert.ok(notebooks.length > 0);
  for (const nb of notebooks) {
    const json = JSON.parse(Deno.readTextFileSync(join(dir, nb.name)));
    const source = (json.cells as { cell_type: string; source: string[] }[])
      .filter((c) => c.cell_type === "code")
      .map((c) => [c.source].flat().join("")).join("\n");
    const local = specifiers(source).filter((s) => s.startsWith("."));
    assert.ok(local.length > 0, `${nb.name} imports nothing from lib/`);
    assert.deepEqual(
      [...new Set(local)],
      ["../lib/mod.ts"],
      `${nb.name} imports more than ../lib/mod.ts`,
    );
  }
});
