/**
 * Files and folders, with errors that name the file: whether a path exists,
 * file names in natural order, a short reason for a failed read or write (a
 * full disk said plainly), JSON files read and parsed with one failure path,
 * atomic writes, overlap of folders, and JSON records made portable (no
 * machine's absolute paths) before they are committed.
 *
 * @module
 */
import { isAbsolute, relative, resolve, sep } from "node:path";

/** Does `path` exist (file, folder or anything else)? */
export async function exists(path: string): Promise<boolean> {
  return await Deno.stat(path).then(() => true, () => false);
}

/** Compare file names so that `2.jpg` sorts before `10.jpg`. */
export function naturalCompare(a: string, b: string): number {
  return a.localeCompare(b, "en", { numeric: true });
}

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

/** Does this error mean the disk (or quota) is full? */
export function isNoSpace(e: unknown): boolean {
  return /ENOSPC|EDQUOT|No space left|os error (28|122)/i.test(
    `${(e as { code?: string }).code ?? ""} ${(e as Error)?.message ?? e}`,
  );
}

/**
 * The message for a write of `path` that failed with `e`: on a full disk
 * `"<path>: no space left on the device; free some space and run again"`,
 * else `"<path>: <message>"`.
 */
export function writeFailure(path: string, e: unknown): string {
  return isNoSpace(e)
    ? `${path}: no space left on the device; free some space and run again`
    : `${path}: ${(e as Error).message}`;
}

/**
 * Writes `data` to `path` atomically: into `path.tmp-<pid>`, then renamed
 * over `path`, so a kill or a full disk at any byte leaves either the old
 * file or the new one, never half of one. The temporary file is removed
 * when the write fails.
 *
 * @example
 * ```ts
 * await writeFileAtomic("runs/x/config.json", JSON.stringify({ a: 1 }));
 * ```
 */
export async function writeFileAtomic(
  path: string,
  data: string | Uint8Array,
): Promise<void> {
  const tmp = `${path}.tmp-${Deno.pid}`;
  try {
    if (typeof data === "string") await Deno.writeTextFile(tmp, data);
    else await Deno.writeFile(tmp, data);
    await Deno.rename(tmp, path);
  } catch (e) {
    await Deno.remove(tmp).catch(() => {});
    throw e;
  }
}

/**
 * Are folders `a` and `b` the same, or is one inside the other? Compares
 * real paths (symbolic links resolved) where the folders exist.
 */
export async function foldersOverlap(a: string, b: string): Promise<boolean> {
  const real = async (p: string) =>
    resolve(await Deno.realPath(p).catch(() => p)) + sep;
  const [x, y] = [await real(a), await real(b)];
  return x.startsWith(y) || y.startsWith(x);
}

/** Who holds a lock file: written into it as JSON. */
export interface LockOwner {
  pid: number;
  host: string;
  /** ISO time the lock was taken. */
  since: string;
}

/** Is process `pid` alive on this machine? */
function processAlive(pid: number): boolean {
  try {
    Deno.kill(pid, "SIGCONT"); // harmless to a running process
    return true;
  } catch (e) {
    return !(e instanceof Deno.errors.NotFound) &&
      !/ESRCH|No such process/.test((e as Error).message);
  }
}

/**
 * Takes the lock file `path` (linked into place whole, holding this
 * process's pid and host). A lock left by a dead process of this host is
 * taken over, with `warn` told; a live owner, or one on another host, makes
 * it throw an error naming the file and the owner. Call `release()` when
 * done.
 */
export async function acquireLock(
  path: string,
  warn: (message: string) => void,
): Promise<{ release: () => Promise<void> }> {
  const me: LockOwner = {
    pid: Deno.pid,
    host: Deno.hostname(),
    since: new Date().toISOString(),
  };
  const tmp = `${path}.tmp-${Deno.pid}`;
  await writeFileAtomic(tmp, JSON.stringify(me) + "\n");
  for (let attempt = 0;; attempt++) {
    try {
      await Deno.link(tmp, path); // fails if the lock exists
      await Deno.remove(tmp);
      return { release: () => Deno.remove(path).catch(() => {}) };
    } catch (e) {
      if (!(e instanceof Deno.errors.AlreadyExists) || attempt > 0) {
        await Deno.remove(tmp).catch(() => {});
        throw e;
      }
    }
    const owner: Partial<LockOwner> = await Deno.readTextFile(path)
      .then((text) => JSON.parse(text)).catch(() => ({}));
    const stale = owner.host === me.host && typeof owner.pid === "number" &&
      !processAlive(owner.pid);
    if (!stale && owner.pid !== undefined) {
      await Deno.remove(tmp);
      throw new Error(
        `${path}: held by process ${owner.pid} on ${owner.host} since ${owner.since}; wait for it to finish, or delete the file if that process is gone`,
      );
    }
    warn(
      owner.pid === undefined
        ? `${path}: unreadable lock file (cut short?), taking it over`
        : `${path}: stale lock of process ${owner.pid} (no longer running), taking it over`,
    );
    await Deno.remove(path);
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

/**
 * `value` as two-space-indented JSON text ending in a newline, with every
 * array of numbers, strings, booleans or nulls on one line: how the grid's
 * records (`done.json`, `results.json`) are written, whose per-image scores
 * would otherwise take one line per number.
 *
 * @example
 * ```ts
 * jsonText({ a: [1, 2], b: { c: "x" } });
 * // '{\n  "a": [1, 2],\n  "b": {\n    "c": "x"\n  }\n}\n'
 * ```
 */
export function jsonText(value: unknown): string {
  return JSON.stringify(value, null, 2).replace(
    /\[\n\s+([^[\]{}]*?)\n\s*\]/g,
    (_, items: string) => `[${items.split(/,\n\s+/).join(", ")}]`,
  ) + "\n";
}
