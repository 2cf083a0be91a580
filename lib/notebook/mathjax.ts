/**
 * Offline maths in exported notebooks: nbconvert's HTML loads MathJax 2 from
 * a CDN, so without a network the equations stay raw TeX. This replaces that
 * block with MathJax 3's self-contained TeX-to-SVG build (the npm package
 * `mathjax`, ~2.2 MB, no fonts or further files to fetch) inlined into the
 * page, configured for the notebooks' `$...$` and `$$...$$`.
 *
 * @example
 * ```ts
 * import { inlineMathJax } from "./mathjax.ts";
 * const page = await Deno.readTextFile("out/01_cgan_objective.html");
 * await Deno.writeTextFile("out/01_cgan_objective.html", await inlineMathJax(page));
 * ```
 *
 * @module
 */
import { EnvironmentError } from "../errors.ts";

/** MathJax 3's single-file TeX input + SVG output build. */
export const MATHJAX_SOURCE = new URL(
  "../../node_modules/mathjax/es5/tex-svg-full.js",
  import.meta.url,
);

/** The block nbconvert's `base/mathjax.html.j2` template writes. */
const NBCONVERT_BLOCK =
  /<!-- Load mathjax -->[\s\S]*?<!-- End of mathjax configuration -->/;

const CONFIG = `window.MathJax = {
  tex: {
    inlineMath: [["$", "$"], ["\\\\(", "\\\\)"]],
    displayMath: [["$$", "$$"], ["\\\\[", "\\\\]"]],
    processEscapes: true,
    tags: "ams",
  },
  svg: { fontCache: "global" },
};`;

let cached: string | undefined;

/**
 * `html` with nbconvert's CDN MathJax block replaced by MathJax 3 inlined
 * (the page then renders maths offline). A page without that block gets
 * the script before `</head>`; a page that already has it is returned as is.
 */
export async function inlineMathJax(html: string): Promise<string> {
  if (html.includes("data-pix2pix-mathjax")) return html;
  if (cached === undefined) {
    try {
      cached = await Deno.readTextFile(MATHJAX_SOURCE);
    } catch (e) {
      throw new EnvironmentError(
        `cannot read ${MATHJAX_SOURCE.pathname} (${
          (e as Error).message
        }): the npm package mathjax is missing; install the project's dependencies`,
        { file: MATHJAX_SOURCE.pathname },
      );
    }
  }
  const scripts = `<script>${CONFIG}</script>\n<script data-pix2pix-mathjax>${
    cached.replaceAll("</script", "<\\/script")
  }</script>`;
  if (NBCONVERT_BLOCK.test(html)) {
    return html.replace(NBCONVERT_BLOCK, () => scripts);
  }
  return html.replace("</head>", () => `${scripts}\n</head>`);
}
