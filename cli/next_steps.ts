/**
 * What comes after `deno task train` for a run: translate its test split
 * into `<run>/results`, score that (labels → photo runs), open the demo.
 * `deno task train` prints these commands and `deno task quickstart` runs
 * them, so the two always agree.
 *
 * @example
 * ```ts
 * formatCommand(nextCommands("runs/smoke", { scores: true })[0]);
 * // "deno task translate --checkpoint runs/smoke --out runs/smoke/results"
 * ```
 * @module
 */
import { exampleInputs, inferInputKind } from "../lib/site/demo_site.ts";
import type { TrainConfig } from "../lib/config.ts";

/** One `deno task` command line and what it gives the user. */
export interface TaskCommand {
  /** The task (`cli/<task>.ts`). */
  task: "train" | "translate" | "eval" | "demo";
  args: string[];
  /** A few words on what it does, printed beside it. */
  what: string;
}

/** Options of {@link nextCommands}. */
export interface NextOptions {
  /** Include the FCN-score step (meaningful for labels → photo runs only). */
  scores: boolean;
  /** The results folder (default `<runDir>/results`). */
  results?: string;
}

/** The commands after training the run in `runDir`: translate, eval, demo. */
export function nextCommands(runDir: string, o: NextOptions): TaskCommand[] {
  const results = o.results ?? `${runDir}/results`;
  const commands: TaskCommand[] = [{
    task: "translate",
    args: ["--checkpoint", runDir, "--out", results],
    what: "the test split as a results page",
  }];
  if (o.scores) {
    commands.push({
      task: "eval",
      args: ["--results", results],
      what: "FCN-scores (trains the segmenter on first use)",
    });
  }
  commands.push({
    task: "demo",
    args: ["--checkpoint", runDir],
    what: "the model in your browser, starting from a test example",
  });
  return commands;
}

/**
 * Whether a run is labels → photo in the 12 facades colours (so FCN-scores
 * mean something): its test inputs are label maps, as the demo decides.
 */
export async function scoresApply(config: TrainConfig): Promise<boolean> {
  return inferInputKind(config, await exampleInputs(config)) ===
    "facade-labels";
}

/** `deno task <task> <args>`, arguments quoted for a POSIX shell where needed. */
export function formatCommand(c: TaskCommand): string {
  const quote = (a: string) =>
    /^[\w@%+=:,./-]+$/.test(a) ? a : `'${a.replaceAll("'", `'\\''`)}'`;
  return ["deno", "task", c.task, ...c.args].map(quote).join(" ");
}

/** The commands that come after `task` in `commands`. */
export function commandsAfter(
  task: TaskCommand["task"],
  commands: TaskCommand[],
): TaskCommand[] {
  return commands.slice(commands.findIndex((c) => c.task === task) + 1);
}

/** "next:" and the commands as aligned lines, for the end of a task's output. */
export function nextLines(title: string, commands: TaskCommand[]): string {
  return [title, ...formatCommands(commands)].join("\n");
}

/** The commands as aligned lines with `# what` comments. */
export function formatCommands(commands: TaskCommand[]): string[] {
  const lines = commands.map(formatCommand);
  const width = Math.max(...lines.map((l) => l.length));
  return lines.map((l, i) => `  ${l.padEnd(width)}  # ${commands[i].what}`);
}
