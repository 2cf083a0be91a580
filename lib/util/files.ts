/**
 * Reading files for errors that name the file: a short reason for a failed
 * read, and JSON files read and parsed with one failure path; and JSON
 * records made portable (no machine's absolute paths) before they are
 * committed.
 *
 * @module
 */

import { isAbsolute, relative } from "node:path";

/** Why reading a file failed, in a few words: `missing`, else the error's message. */
export function readFailure(e: unknown): string {
  return e instanceof Deno.errors.NotFound ? "missing" : (e as Error).message;
}

/**
 * Reads and parses the JSON file `path`. On failure throws `fail(reason)`,
 * the reason being `missing`, the read error's message, or
 * `not valid JSON (...)`; `fail` adds the file and the error class.
 */
export async function readJsonFile<T>(
  path: string,
  fail: (reason: string) => Error,
): Promise<T> {
  let text: string;
  try {
    text = await Deno.readTextFile(path);
  } catch (e) {
    throw fail(readFailure(e));
  }
  try {
    return JSON.parse(text) as T;
  } catch (e) {
    throw fail(`not valid JSON (${(e as Error).message})`);
  }
}

/**
 * A copy of the JSON value `value` in which every string that is an
 * absolute path is rewritten relative to `cwd` (default: the working
 * directory), so a record committed from one machine names no machine path.
 *
 * @example
 * ```ts
 * portablePaths({ dataroot: "/work/shared/datasets/facades" }, "/work/main");
 * // → { dataroot: "../shared/datasets/facades" }
 * ```
 */
export function portablePaths<T>(value: T, cwd: string = Deno.cwd()): T {
  const walk = (v: unknown): unknown => {
    if (typeof v === "string") {
      return isAbsolute(v) ? relative(cwd, v) || "." : v;
    }
    if (Array.isArray(v)) return v.map(walk);
    if (v !== null && typeof v === "object") {
      return Object.fromEntries(
        Object.entries(v).map(([k, x]) => [k, walk(x)]),
      );
    }
    return v;
  };
  return walk(value) as T;
}
