/**
 * Builds the browser demo's static assets from `web/` with esbuild, entirely
 * from the project's own dependencies (no CDN, works offline).
 *
 * `web/app.ts` imports tfjs the same way the rest of the project does
 * (`@tensorflow/tfjs`, plus the wasm and webgpu backends) and `lib/layers.ts`,
 * which registers the custom layers `model.json` refers to. esbuild resolves
 * the bare specifiers of the project's own files through `deno.json`'s
 * `imports` (into `node_modules/`, where Deno's `nodeModulesDir: "auto"` puts
 * the packages), while the packages' own imports resolve as in Node, so
 * `@tensorflow/tfjs-layers`' import of `@tensorflow/tfjs-core` still gets the
 * real core package (one instance, shared by every package).
 *
 * @module
 */
import * as esbuild from "esbuild";
import { readFailure } from "../util/files.ts";

/** Static files of the page, keyed by their path in the site (`app.js`, `wasm/...`). */
export type AssetMap = Map<string, Uint8Array<ArrayBuffer>>;

/** Options of {@link bundleWebApp}. */
export interface BundleOptions {
  /** Minify `app.js` (default true). */
  minify?: boolean;
}

/** Folder of the page sources (`index.html`, `style.css`, `app.ts`, ...). */
export const WEB_DIR: URL = new URL("../../web/", import.meta.url);

/** The repository root (where `deno.json` and `node_modules/` are). */
const ROOT: URL = new URL("../../", import.meta.url);

/** The wasm backend's binaries, served under `wasm/` (`setWasmPaths("wasm/")`). */
export const WASM_FILES: readonly string[] = [
  "tfjs-backend-wasm.wasm",
  "tfjs-backend-wasm-simd.wasm",
  "tfjs-backend-wasm-threaded-simd.wasm",
];

/** Page files copied verbatim from `web/`. */
const STATIC_FILES: readonly string[] = ["index.html", "style.css"];

/**
 * Maps a `deno.json` import target such as `npm:@tensorflow/tfjs@4.22.0` (or
 * `npm:pkg@1/sub`) to the Node package path `@tensorflow/tfjs` (`pkg/sub`);
 * null for targets that are not `npm:`.
 */
export function npmTarget(target: string): string | null {
  const m = /^npm:((?:@[^/@]+\/)?[^/@]+)(?:@[^/]*)?(\/.*)?$/.exec(target);
  return m ? m[1] + (m[2] ?? "") : null;
}

/**
 * An esbuild plugin resolving the bare imports of the project's own files
 * (any importer outside `node_modules/`) through `deno.json`'s `imports`.
 *
 * @param imports the `imports` object of `deno.json`
 * @param rootDir absolute path of the repository root
 */
export function denoImportsPlugin(
  imports: Record<string, string>,
  rootDir: string,
): esbuild.Plugin {
  const keys = Object.keys(imports).sort((a, b) => b.length - a.length);
  return {
    name: "deno-json-imports",
    setup(build) {
      build.onResolve({ filter: /^[^./]/ }, async (args) => {
        if (
          args.pluginData?.viaDenoJson ||
          args.importer.includes("/node_modules/")
        ) return undefined;
        const key = keys.find((k) =>
          args.path === k || args.path.startsWith(k + "/")
        );
        if (!key) return undefined;
        const pkg = npmTarget(imports[key]);
        if (!pkg) {
          return {
            errors: [{
              text: `deno.json: import "${key}" -> "${
                imports[key]
              }" is not an npm: package, cannot bundle it for the browser`,
            }],
          };
        }
        return await build.resolve(pkg + args.path.slice(key.length), {
          kind: args.kind,
          resolveDir: rootDir,
          pluginData: { viaDenoJson: true },
        });
      });
    },
  };
}

async function readRequired(
  url: URL,
  hint: string,
): Promise<Uint8Array<ArrayBuffer>> {
  try {
    return await Deno.readFile(url);
  } catch (e) {
    throw new Error(`${url.pathname}: ${readFailure(e)} (${hint})`);
  }
}

/**
 * Bundles `web/app.ts` (with tfjs, its backends and `lib/layers.ts`) into one
 * ES module, `app.js`, and collects `index.html`, `style.css` and the wasm
 * backend's `.wasm` files (from `node_modules/@tensorflow/tfjs-backend-wasm/dist`).
 * Stops esbuild's service afterwards, so no child process outlives the call.
 *
 * @returns the page's files keyed by site path
 * @throws Error naming the file when a source or a `.wasm` file is missing,
 *   or with esbuild's messages when the bundle fails
 */
export async function bundleWebApp(
  opts: BundleOptions = {},
): Promise<AssetMap> {
  const rootDir = decodeURIComponent(ROOT.pathname);
  const denoJson = JSON.parse(
    new TextDecoder().decode(
      await readRequired(new URL("deno.json", ROOT), "the project's config"),
    ),
  ) as { imports?: Record<string, string> };
  const assets: AssetMap = new Map();
  try {
    const result = await esbuild.build({
      entryPoints: [decodeURIComponent(new URL("app.ts", WEB_DIR).pathname)],
      bundle: true,
      format: "esm",
      platform: "browser",
      target: "es2022",
      minify: opts.minify ?? true,
      write: false,
      outfile: "app.js",
      absWorkingDir: rootDir,
      plugins: [denoImportsPlugin(denoJson.imports ?? {}, rootDir)],
      logLevel: "silent",
    });
    assets.set("app.js", result.outputFiles[0].contents.slice());
  } catch (e) {
    const errors = (e as esbuild.BuildFailure).errors;
    const detail = errors
      ? errors.slice(0, 5).map((m) =>
        `${m.location?.file ?? ""}:${m.location?.line ?? ""} ${m.text}`
      ).join("; ")
      : (e as Error).message;
    throw new Error(`bundling web/app.ts failed: ${detail}`);
  } finally {
    await esbuild.stop();
  }
  for (const name of STATIC_FILES) {
    assets.set(name, await readRequired(new URL(name, WEB_DIR), "page source"));
  }
  const wasmDir = new URL(
    "node_modules/@tensorflow/tfjs-backend-wasm/dist/",
    ROOT,
  );
  for (const name of WASM_FILES) {
    assets.set(
      `wasm/${name}`,
      await readRequired(new URL(name, wasmDir), "run `deno install`"),
    );
  }
  return assets;
}
