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
import { parseArgs } from "node:util";
import { runCli, UserError } from "../lib/cli.ts";
import {
  buildDemoSite,
  parseInputKind,
  parsePort,
  serveDemoSite,
} from "../lib/demo_site.ts";

await runCli(async () => {
  const { values } = parseArgs({
    args: Deno.args,
    options: {
      checkpoint: { type: "string" },
      port: { type: "string", default: "8000" },
      "input-kind": { type: "string", default: "auto" },
    },
  });
  if (!values.checkpoint) throw new UserError("--checkpoint DIR is required");
  const port = parsePort(values.port);
  const site = await buildDemoSite({
    checkpoint: values.checkpoint,
    inputKind: parseInputKind(values["input-kind"]),
  });
  console.log(
    `checkpoint ${site.checkpoint} (${site.info.netG}, ${site.info.inputKind})`,
  );
  const server = serveDemoSite(site, {
    port,
    onListen: (url) => console.log(`demo at ${url} (Ctrl-C stops)`),
  });
  await server.finished;
});
