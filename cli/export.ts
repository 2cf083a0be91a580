/**
 * `deno task export`: writes the browser demo for a checkpoint's generator
 * as a self-contained static folder (page, bundle, wasm files, model) that
 * any static host can serve.
 *
 *   deno task export --checkpoint DIR --out DIR [--input-kind auto|facade-labels|image]
 * @module
 */
import { parseArgs } from "node:util";
import { runCli, UserError } from "../lib/cli.ts";
import {
  buildDemoSite,
  parseInputKind,
  writeDemoSite,
} from "../lib/demo_site.ts";

await runCli(async () => {
  const { values } = parseArgs({
    args: Deno.args,
    options: {
      checkpoint: { type: "string" },
      out: { type: "string" },
      "input-kind": { type: "string", default: "auto" },
    },
  });
  if (!values.checkpoint) throw new UserError("--checkpoint DIR is required");
  if (!values.out) throw new UserError("--out DIR is required");
  const site = await buildDemoSite({
    checkpoint: values.checkpoint,
    inputKind: parseInputKind(values["input-kind"]),
  });
  const { files, bytes } = await writeDemoSite(site, values.out);
  console.log(
    `wrote ${files} files (${
      (bytes / 2 ** 20).toFixed(1)
    } MiB) to ${values.out}; serve it with e.g. \`npx serve ${values.out}\``,
  );
});
