/**
 * `deno task demo`: serves the browser demo for a checkpoint's generator on
 * 127.0.0.1.
 *
 *   deno task demo --checkpoint DIR [--port 8000] [--input-kind auto|facade-labels|image]
 *
 * `DIR` is a checkpoint folder, a run's `checkpoints/` folder or a run
 * folder. The page translates in the browser (WebGPU, else WebGL, else wasm);
 * see "Browser demo" in README.md.
 * @module
 */
import { parseFlags, runCli } from "./common.ts";
import { serveDemoSite } from "../lib/site/demo_site.ts";
import {
  buildSiteFromFlags,
  parsePort,
  SITE_FLAGS,
  SITE_FLAGS_HELP,
} from "./site_flags.ts";

const HELP =
  `Usage: deno task demo --checkpoint DIR [--port 8000] [--input-kind KIND]

Serves the browser demo for the checkpoint's generator on 127.0.0.1.

${SITE_FLAGS_HELP}
  --port N           port (default 8000; 0 = any free port)
  --help             this text`;

await runCli(async () => {
  const { values } = parseFlags("demo", Deno.args, {
    help: HELP,
    options: { ...SITE_FLAGS, port: { type: "string", default: "8000" } },
  });
  const port = parsePort(values.port);
  const site = await buildSiteFromFlags(values);
  console.log(
    `checkpoint ${site.checkpoint} (${site.info.netG}, ${site.info.inputKind})`,
  );
  const server = serveDemoSite(site, {
    port,
    onListen: (url) => console.log(`demo at ${url} (Ctrl-C stops)`),
  });
  await server.finished;
});
