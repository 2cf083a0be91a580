/**
 * Shared behaviour of the `deno task` entry points: a user error (bad flag,
 * missing file) is printed as one clear line, never as a stack trace, and the
 * process exits with status 1. Set `PIX2PIX_DEBUG=1` to see the stack.
 *
 * @module
 */

/** An error caused by the user's input (flags, files): printed without a stack trace. */
export class UserError extends Error {
  /** @param message what is wrong, naming the flag or file */
  constructor(message: string) {
    super(message);
    this.name = "UserError";
  }
}

/** Runs a CLI main function, turning thrown errors into `error: ...` and exit code 1. */
export async function runCli(main: () => Promise<void> | void): Promise<void> {
  try {
    await main();
  } catch (e) {
    const err = e instanceof Error ? e : new Error(String(e));
    console.error(`error: ${err.message}`);
    if (Deno.env.get("PIX2PIX_DEBUG")) console.error(err.stack);
    Deno.exit(1);
  }
}
