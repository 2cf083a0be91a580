/**
 * `deno task quickstart [train flags] [--port N]`: the first ten minutes in
 * one command. Trains (on the embedded synthetic set with the `smoke` preset
 * unless train flags say otherwise), then runs the commands `deno task train`
 * prints for the run (`cli/next_steps.ts`): translate the test split, score
 * it (labels → photo runs; trains the segmenter on first use), and serves
 * the demo, ending with its URL. Each step prints its command first, so the
 * user can rerun any of them alone.
 *
 *   deno task quickstart
 *   deno task quickstart --dataroot datasets/facades --preset cpu64
 *
 * @module
 */
import { exists } from "../lib/util/files.ts";
import { parseTrainArgs, wantsHelp } from "./train_flags.ts";
import { runCli, UserError } from "./common.ts";
import { buildDemoSite, serveDemoSite } from "../lib/site/demo_site.ts";
import { parsePort } from "./site_flags.ts";
import { formatCommand, nextCommands, type TaskCommand } from "./next_steps.ts";

const HELP = `Usage: deno task quickstart [train flags] [--port N]

Runs, one after the other, each printed before it starts:
  deno task train [train flags]        (default: the embedded set, smoke preset)
  deno task translate --checkpoint RUN --out RUN/results
  deno task eval --results RUN/results (labels -> photo runs; the first
                                        time it trains the segmenter)
  deno task demo --checkpoint RUN      (serves the page; Ctrl-C stops)
where RUN is the run folder, runs/<name>.

  --port N    the demo's port (default 8000; 0 = any free port)
  --help      this text; train flags: deno task train --help

On real data (facades layout, labels -> photo):
  deno task quickstart --dataroot datasets/facades --preset cpu64`;

/** Splits `--port N` / `--port=N` off the train flags. */
function takePort(args: string[]): { port: string; rest: string[] } {
  const rest: string[] = [];
  let port = "8000";
  for (let i = 0; i < args.length; i++) {
    if (args[i] === "--port") {
      if (i + 1 >= args.length) throw new UserError("--port needs a value");
      port = args[++i];
    } else if (args[i].startsWith("--port=")) port = args[i].slice(7);
    else rest.push(args[i]);
  }
  return { port, rest };
}

/** Runs `deno task <task> <args>` (its script `cli/<task>.ts`) with the same Deno, output shown. */
async function runTask(c: TaskCommand, step: string): Promise<number> {
  console.log(`\n[${step}] ${formatCommand(c)}`);
  const t0 = performance.now();
  const script = new URL(`./${c.task}.ts`, import.meta.url).pathname;
  const { code } = await new Deno.Command(Deno.execPath(), {
    args: ["run", "-A", script, ...c.args],
    stdin: "null",
    stdout: "inherit",
    stderr: "inherit",
  }).output();
  if (code !== 0) {
    throw new UserError(
      `quickstart stopped: \`${
        formatCommand(c)
      }\` failed (exit status ${code}); fix what it says and rerun it, then the steps after it`,
    );
  }
  return (performance.now() - t0) / 1000;
}

await runCli(async () => {
  if (wantsHelp(Deno.args)) return console.log(HELP);
  const { port: rawPort, rest } = takePort(Deno.args);
  const port = parsePort(rawPort);
  let cfg;
  try {
    cfg = parseTrainArgs(rest, { syntheticPreset: "smoke" });
  } catch (e) {
    throw new UserError(
      `${(e as Error).message}; quickstart takes the train flags and --port`,
    );
  }
  const runDir = `${cfg.checkpointsDir}/${cfg.name}`;
  const t0 = performance.now();
  const times: string[] = [];
  const run = async (c: TaskCommand, step: number) =>
    times.push(`${c.task} ${(await runTask(c, `${step}/4`)).toFixed(0)} s`);
  // A second quickstart continues the run the first one trained (train
  // refuses to replace it unasked); a finished run trains no more steps.
  const again = !cfg.resume && !cfg.overwrite &&
    await exists(`${runDir}/checkpoints/latest`);
  if (again) {
    console.log(
      `${runDir} exists: continuing it with --resume (--overwrite starts over, another --name starts a new run)`,
    );
  }
  const trainArgs = again ? [...rest, "--resume"] : rest;
  await run({ task: "train", args: trainArgs, what: "" }, 1);
  // Built now (it holds the model in memory): its input kind says whether
  // FCN-scores apply, from the test examples it read once.
  const site = await buildDemoSite({ checkpoint: runDir });
  const scores = site.info.inputKind === "facade-labels";
  const [translate, ...more] = nextCommands(runDir, { scores });
  await run(translate, 2);
  if (scores) await run(more[0], 3);
  else {
    console.log(
      `\n[3/4] no FCN-scores: the inputs of ${runDir} are not label maps in the facades colours`,
    );
  }
  const demo = more.at(-1)!;
  console.log(`\n[4/4] ${formatCommand(demo)}`);
  const seconds = (performance.now() - t0) / 1000;
  console.log(
    `quickstart: ${seconds.toFixed(0)} s to the demo (${times.join(", ")})`,
  );
  const server = serveDemoSite(site, {
    port,
    onListen: (url) =>
      console.log(
        `demo at ${url} (${
          site.info.inputKind === "facade-labels" ? "paint labels; " : ""
        }Ctrl-C stops)`,
      ),
  });
  await server.finished;
});
