/**
 * Shared behaviour of the `deno task` entry points: a user error (bad flag,
 * missing file) is printed as one clear line, never as a stack trace, and the
 * process exits with status 1. Set `PIX2PIX_DEBUG=1` to see the stack.
 * {@link parseFlags} parses a task's flags the same way everywhere.
 *
 * @module
 */
import {
  parseArgs,
  type ParseArgsConfig,
  type ParseArgsOptionsConfig,
} from "node:util";
import { Pix2PixError } from "../lib/errors.ts";
import { DEFAULT_CONFIG } from "../lib/config.ts";

/** An error caused by the user's input (flags, files): printed without a stack trace. */
export class UserError extends Error {
  /** @param message what is wrong, naming the flag or file */
  constructor(message: string) {
    super(message);
    this.name = "UserError";
  }
}

/** Thrown by {@link parseFlags} on `--help`: {@link runCli} prints the text. */
class HelpRequested extends Error {
  /** @param help the task's usage text */
  constructor(readonly help: string) {
    super("--help");
  }
}

/** What {@link parseFlags} is told about a task's flags. */
export interface FlagSpec<O extends ParseArgsOptionsConfig> {
  /** The flags, as node:util `parseArgs` options (`--help`/`-h` is added). */
  options: O;
  /** The usage text `--help` prints. */
  help: string;
  /** Accept positional arguments (default false). */
  positionals?: boolean;
}

/** The parsed flags of {@link parseFlags}: `values` typed by the options, and positionals. */
export type Flags<O extends ParseArgsOptionsConfig> = {
  values: ReturnType<
    typeof parseArgs<
      { args: string[]; options: O; strict: true; allowPositionals: true }
    >
  >["values"];
  positionals: string[];
};

/**
 * Parses the flags of `deno task <task>` with node:util `parseArgs` (strict).
 * A bad flag throws a {@link UserError} of parseArgs' whole message (its
 * hints included, e.g. `--lr=-1` for a negative value) plus
 * "(see deno task <task> --help)"; `--help` or `-h` stops the CLI, and
 * {@link runCli} prints `spec.help` (exit status 0).
 */
export function parseFlags<const O extends ParseArgsOptionsConfig>(
  task: string,
  args: string[],
  spec: FlagSpec<O>,
): Flags<O> {
  const config: ParseArgsConfig = {
    args,
    strict: true,
    allowPositionals: spec.positionals ?? false,
    options: { ...spec.options, help: { type: "boolean", short: "h" } },
  };
  let parsed;
  try {
    parsed = parseArgs(config);
  } catch (e) {
    throw new UserError(
      `${(e as Error).message} (see deno task ${task} --help)`,
    );
  }
  if (parsed.values.help) throw new HelpRequested(spec.help);
  return parsed as Flags<O>;
}

/** Runs a CLI main function, turning thrown errors into `error: ...` and exit code 1. */
export async function runCli(main: () => Promise<void> | void): Promise<void> {
  try {
    await main();
  } catch (e) {
    if (e instanceof HelpRequested) return console.log(e.help);
    const err = e instanceof Error ? e : new Error(String(e));
    console.error(`error: ${cliMessage(err)}`);
    if (Deno.env.get("PIX2PIX_DEBUG")) console.error(err.stack);
    Deno.exit(1);
  }
}

/** The flag of a config field, without `--`: `lambdaL1` → `lambda-l1`, `netG` → `net-g`. */
export function flagName(field: string): string {
  return field.replace(/[A-Z]/g, (c) => "-" + c.toLowerCase());
}

/**
 * The fields whose names the CLI rewrites to flags in library messages: the
 * `TrainConfig` fields and the other tasks' options that library messages
 * name beside the error's own field.
 */
const FLAG_FIELDS: readonly string[] = [
  ...Object.keys(DEFAULT_CONFIG),
  "force",
];

/**
 * An error's message in the CLI's terms. The library names config fields
 * (`cropSize 300 is larger than loadSize 286`); for a {@link Pix2PixError}
 * that carries a `field`, every config field named in its message (and the
 * error's own field) becomes its flag (`--crop-size 300 is larger than
 * --load-size 286`). Other errors are unchanged.
 */
export function cliMessage(err: Error): string {
  if (!(err instanceof Pix2PixError) || err.field === undefined) {
    return err.message;
  }
  return inFlagTerms(err.message, [err.field, ...FLAG_FIELDS]);
}

/**
 * `text` with every word that is one of `fields` written as its flag
 * (`resizeB` → `--resize-b`); quoted words, paths and values stay.
 *
 * @example
 * ```ts
 * inFlagTerms("size differs (resizeB resizes it)", ["resizeB"]);
 * // → "size differs (--resize-b resizes it)"
 * ```
 */
export function inFlagTerms(text: string, fields: Iterable<string>): string {
  const names = new Set(fields);
  return text.replace(
    /(?<![\w./'"`-])([A-Za-z][A-Za-z0-9]*)(?![\w/'"`-])/g,
    (word) => names.has(word) ? `--${flagName(word)}` : word,
  );
}

/**
 * Parses an integer flag value: a whole number in `[min, max]`.
 * `undefined` (flag absent) gives `fallback`.
 *
 * @throws UserError `--flag: expected an integer >= min, got "raw"`
 */
export function intFlag(
  flag: string,
  raw: string | undefined,
  opts: { min?: number; max?: number; fallback: number },
): number;
export function intFlag(
  flag: string,
  raw: string | undefined,
  opts?: { min?: number; max?: number },
): number | undefined;
export function intFlag(
  flag: string,
  raw: string | undefined,
  opts: { min?: number; max?: number; fallback?: number } = {},
): number | undefined {
  if (raw === undefined) return opts.fallback;
  const n = Number(raw);
  const { min, max } = opts;
  if (
    raw.trim() === "" || !Number.isInteger(n) ||
    (min !== undefined && n < min) || (max !== undefined && n > max)
  ) {
    const range = min !== undefined && max !== undefined
      ? ` in [${min}, ${max}]`
      : min !== undefined
      ? ` >= ${min}`
      : max !== undefined
      ? ` <= ${max}`
      : "";
    throw new UserError(`--${flag}: expected an integer${range}, got "${raw}"`);
  }
  return n;
}

/**
 * Parses an enum flag value: one of `allowed` (an `as const` array of
 * `lib/config.ts`, e.g. `BACKENDS`). `undefined` (flag absent) gives
 * `undefined`.
 *
 * @throws UserError `--flag: "raw" is not one of a, b, c`
 */
export function enumFlag<const T extends readonly string[]>(
  flag: string,
  raw: string | undefined,
  allowed: T,
): T[number] | undefined {
  if (raw === undefined) return undefined;
  if (!allowed.includes(raw)) {
    throw new UserError(
      `--${flag}: "${raw}" is not one of ${allowed.join(", ")}`,
    );
  }
  return raw as T[number];
}
