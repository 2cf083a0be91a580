/**
 * `deno task export`: writes the browser demo for a checkpoint's generator
 * as a self-contained static folder (page, bundle, wasm files, model) that
 * any static host can serve.
 *
 *   deno task export --checkpoint DIR --out DIR [--input-kind auto|facade-labels|image] [--force]
 * @module
 */
import { parseFlags, runCli, UserError } from "./common.ts";
import { writeDemoSite } from "../lib/site/demo_site.ts";
import {
  buildSiteFromFlags,
  SITE_FLAGS,
  SITE_FLAGS_HELP,
} from "./site_flags.ts";

const HELP =
  `Usage: deno task export --checkpoint DIR --out DIR [--input-kind KIND]

Writes the browser demo for the checkpoint's generator as a static folder
(page, bundle, wasm files, model) that any static host can serve.

${SITE_FLAGS_HELP}
  --out DIR          output folder: new, empty, or an earlier export (required)
  --force            write into a non-empty folder that is not an export
                     (files of the same names are replaced; switch, default off)
  --help             this text`;

await runCli(async () => {
  const { values } = parseFlags("export", Deno.args, {
    help: HELP,
    options: {
      ...SITE_FLAGS,
      out: { type: "string" },
      force: { type: "boolean" },
    },
  });
  if (!values.out) throw new UserError("--out DIR is required");
  const site = await buildSiteFromFlags(values);
  const { files, bytes } = await writeDemoSite(site, values.out, {
    force: values.force,
  });
  console.log(
    `wrote ${files} files (${
      (bytes / 2 ** 20).toFixed(1)
    } MiB) to ${values.out}; serve it with e.g. \`npx serve ${values.out}\``,
  );
});
