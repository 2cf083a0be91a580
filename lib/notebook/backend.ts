/**
 * The compute backend of the notebooks. Each notebook starts
 * `initBackend(notebookBackend("auto"))` (or its own default instead of
 * `auto`), and passes the same name to `train()` and the ablation grid, so
 * `deno task notebooks --backend webgpu` (which sets
 * {@link NOTEBOOK_BACKEND_ENV} for the kernels) runs every notebook on one
 * backend. A kernel started by hand honours the variable too.
 *
 * @example
 * ```ts
 * console.log(await initBackend(notebookBackend("auto")));
 * const cfg = { ...DEFAULT_CONFIG, backend: notebookBackend("wasm") };
 * ```
 *
 * @module
 */
import { type BackendName, BACKENDS } from "../config.ts";
import { ConfigError } from "../errors.ts";

/** Environment variable naming the backend every notebook uses. */
export const NOTEBOOK_BACKEND_ENV = "PIX2PIX_NB_BACKEND";

/**
 * `$PIX2PIX_NB_BACKEND` when set, else the notebook's own `fallback`.
 *
 * @throws ConfigError (field `backend`) when the variable names no backend
 */
export function notebookBackend(fallback: BackendName): BackendName {
  let asked: string | undefined;
  try {
    asked = Deno.env.get(NOTEBOOK_BACKEND_ENV);
  } catch {
    return fallback; // no env permission: the notebook's own choice
  }
  if (!asked) return fallback;
  if (!(BACKENDS as readonly string[]).includes(asked)) {
    throw new ConfigError(
      "backend",
      `backend: ${NOTEBOOK_BACKEND_ENV}="${asked}" is not one of ${
        BACKENDS.join(", ")
      }`,
    );
  }
  return asked as BackendName;
}
