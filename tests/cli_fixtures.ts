/**
 * Runs one of the repository's CLIs (`cli/<task>.ts`, what `deno task <task>`
 * runs) in a child process from the repository root, for the tests that
 * check what a user sees.
 *
 * @module
 */

/** The repository root. */
export const REPO = new URL("..", import.meta.url).pathname;

/** A finished child: exit code and decoded output. */
export interface TaskResult {
  code: number;
  stdout: string;
  stderr: string;
}

/**
 * `deno run -A cli/<task>.ts ...args` in {@link REPO}, with `env` added to
 * the environment.
 *
 * @example
 * ```ts
 * const r = await runTask("summary", ["--json"]);
 * // r.code === 0, JSON.parse(r.stdout).g_params > 0
 * ```
 */
export async function runTask(
  task: string,
  args: readonly string[] = [],
  env: Record<string, string> = {},
): Promise<TaskResult> {
  const out = await new Deno.Command(Deno.execPath(), {
    args: ["run", "-A", `cli/${task}.ts`, ...args],
    cwd: REPO,
    env,
    stdout: "piped",
    stderr: "piped",
  }).output();
  const dec = new TextDecoder();
  return {
    code: out.code,
    stdout: dec.decode(out.stdout),
    stderr: dec.decode(out.stderr),
  };
}
