/**
 * The flags `deno task demo` and `deno task export` share (`--checkpoint`,
 * `--input-kind`) and `--port`, parsed into {@link buildDemoSite}'s options.
 *
 * @module
 */
import { enumFlag, intFlag, UserError } from "./common.ts";
import {
  buildDemoSite,
  type DemoSite,
  INPUT_KINDS,
  type InputKind,
} from "../lib/site/demo_site.ts";

/**
 * Parses `--input-kind`: `auto`, `facade-labels` or `image`.
 *
 * @throws UserError naming the flag for other values
 */
export function parseInputKind(value: string | undefined): InputKind | "auto" {
  return enumFlag("input-kind", value ?? "auto", ["auto", ...INPUT_KINDS])!;
}

/**
 * Parses `--port`: an integer in [0, 65535] (0 = any free port).
 *
 * @throws UserError naming the flag otherwise
 */
export function parsePort(value: string): number {
  return intFlag("port", value, { min: 0, max: 65535 })!;
}

/**
 * The flags `deno task demo` and `deno task export` share, as node:util
 * `parseArgs` options: `--checkpoint DIR` and `--input-kind`.
 */
export const SITE_FLAGS = {
  checkpoint: { type: "string" },
  "input-kind": { type: "string", default: "auto" },
} as const;

/** The `--help` lines of {@link SITE_FLAGS}. */
export const SITE_FLAGS_HELP =
  `  --checkpoint DIR   checkpoint folder, a run's checkpoints/ folder or a run
                     folder (required)
  --input-kind KIND  auto | facade-labels | image (default auto: facade labels
                     when the run's test inputs are label maps in the facades
                     colours, e.g. facades or the embedded set trained BtoA)`;

/**
 * {@link buildDemoSite} from the parsed {@link SITE_FLAGS}.
 *
 * @throws UserError when `--checkpoint` is missing or `--input-kind` is bad
 */
export async function buildSiteFromFlags(
  flags: { checkpoint?: string; "input-kind": string },
): Promise<DemoSite> {
  if (!flags.checkpoint) throw new UserError("--checkpoint DIR is required");
  return await buildDemoSite({
    checkpoint: flags.checkpoint,
    inputKind: parseInputKind(flags["input-kind"]),
  });
}
