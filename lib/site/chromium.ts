/**
 * Headless Chromium through `playwright-core` (no downloaded browser): the
 * system's Chromium (Debian's `/usr/bin/chromium`, or `$PIX2PIX_CHROMIUM`),
 * software rendering, no network. Used by the browser test and to render
 * plotly charts to SVG (`lib/ablation/publish.ts`).
 *
 * @module
 */

import { type Browser, chromium } from "playwright-core";
import { EnvironmentError } from "../errors.ts";

/** Path of the Chromium executable: `$PIX2PIX_CHROMIUM` or `/usr/bin/chromium`. */
export const CHROMIUM_PATH: string = Deno.env.get("PIX2PIX_CHROMIUM") ??
  "/usr/bin/chromium";

/** Launch flags: headless, software rendering, no sandbox, no network chatter. */
export const CHROMIUM_ARGS: readonly string[] = [
  "--headless",
  "--no-sandbox",
  "--disable-gpu",
  "--disable-quic",
  "--no-first-run",
  "--disable-background-networking",
  "--disable-component-update",
  "--disable-sync",
];

/** Whether {@link CHROMIUM_PATH} is an existing file. */
export async function hasChromium(): Promise<boolean> {
  return await Deno.stat(CHROMIUM_PATH).then((s) => s.isFile, () => false);
}

/**
 * Launches headless Chromium with {@link CHROMIUM_ARGS} plus `extraArgs`.
 *
 * @throws EnvironmentError naming the path and the package to install when there is
 *   no Chromium.
 */
export async function launchChromium(
  extraArgs: readonly string[] = [],
): Promise<Browser> {
  if (!(await hasChromium())) {
    throw new EnvironmentError(
      `no Chromium at ${CHROMIUM_PATH}: apt-get install chromium, or set PIX2PIX_CHROMIUM`,
    );
  }
  return await chromium.launch({
    executablePath: CHROMIUM_PATH,
    args: [...CHROMIUM_ARGS, ...extraArgs],
  });
}
