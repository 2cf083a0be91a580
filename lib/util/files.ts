/**
 * Reading files for errors that name the file: a short reason for a failed
 * read, and JSON files read and parsed with one failure path.
 *
 * @module
 */

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
