/**
 * The library's errors: a problem with what the caller gave it (a config
 * field, a file, a dataset, a checkpoint), as opposed to a bug. Each names
 * what is wrong in its message and carries it as data (`field`, `file`), so
 * that a front end can point at its own spelling of it: the CLI
 * (`cli/common.ts`) prints any of them as one `error: ...` line, without a
 * stack trace, and maps config fields to its flags.
 *
 * @example
 * ```ts
 * import { ConfigError, Pix2PixError } from "./errors.ts";
 *
 * try {
 *   throw new ConfigError("lr", "must be > 0, got -1");
 * } catch (e) {
 *   if (e instanceof Pix2PixError) console.log(e.field, e.message);
 * }
 * ```
 *
 * @module
 */

/** What an error is about: a config field, a file, or both. */
export interface ErrorSubject {
  /** The `TrainConfig` (or options) field at fault, e.g. `cropSize`. */
  field?: string;
  /** The file or folder at fault. */
  file?: string;
  /** The underlying error, if any. */
  cause?: unknown;
}

/** Base of the library's errors: the input is wrong, not the code. */
export class Pix2PixError extends Error {
  /** The config field at fault, if one is. */
  readonly field?: string;
  /** The file or folder at fault, if one is. */
  readonly file?: string;

  /**
   * @param message what is wrong, naming the field or file
   * @param subject the field and/or file, as data
   */
  constructor(message: string, subject: ErrorSubject = {}) {
    super(message, subject.cause === undefined ? {} : { cause: subject.cause });
    this.name = new.target.name;
    if (subject.field !== undefined) this.field = subject.field;
    if (subject.file !== undefined) this.file = subject.file;
  }
}

/** A config value (or a combination of values) the library cannot use. */
export class ConfigError extends Pix2PixError {
  /**
   * @param field the field at fault, e.g. `cropSize`
   * @param message what is wrong with it
   */
  constructor(field: string, message: string) {
    super(message, { field });
  }
}

/** Dataset setup failed (bad folder, split or option); the message names it. */
export class DatasetError extends Pix2PixError {}

/** A checkpoint (or other saved run) is missing, unreadable or malformed; the message names the file. */
export class CheckpointError extends Pix2PixError {}

/** An image file that could not be read, decoded or written; `message` names it. */
export class ImageError extends Pix2PixError {
  /** The path (or name) of the offending file. */
  declare readonly file: string;
  /** Why, without the file name, e.g. `"empty file (0 bytes)"`. */
  readonly reason: string;

  /**
   * @param file path or name of the file
   * @param reason short explanation, shown after the file name
   */
  constructor(file: string, reason: string) {
    super(`${file}: ${reason}`, { file });
    this.reason = reason;
  }
}

/**
 * A dataset download or extraction failed; the message names the URL or
 * archive and says what to do (`field`: `url` where another URL would help).
 */
export class DownloadError extends Pix2PixError {}

/** Something the host lacks: a program (Chromium, Python), a library, a device. */
export class EnvironmentError extends Pix2PixError {}

/**
 * Training produced a loss or weight that is not a finite number (NaN or
 * infinite). Nothing was saved after it, so the run's `checkpoints/latest`
 * is the last good state; the message names the step, the loss and that
 * checkpoint (`file`: the run folder).
 */
export class TrainingDivergedError extends Pix2PixError {}
