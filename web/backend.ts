/// <reference lib="dom" />
/**
 * Picks the tfjs backend of the page: WebGPU where the browser has it, else
 * WebGL, else wasm (binaries served under `wasm/`, see `lib/site/web_bundle.ts`),
 * else the plain JS cpu backend. `?backend=NAME` in the page URL forces one.
 *
 * @module
 */
import * as tf from "@tensorflow/tfjs";
import "@tensorflow/tfjs-backend-webgpu";
import { setWasmPaths } from "@tensorflow/tfjs-backend-wasm";

/** Backends in order of preference. */
export const BACKEND_ORDER: readonly string[] = [
  "webgpu",
  "webgl",
  "wasm",
  "cpu",
];

/** The backend in use and why. */
export interface BackendChoice {
  /** tfjs backend name, e.g. `webgl`. */
  name: string;
  /** Backends tried first that failed to start, with the reason. */
  skipped: string[];
}

/**
 * Starts the first backend of {@link BACKEND_ORDER} (or `requested` alone)
 * that initialises in this browser.
 *
 * @param requested a backend name from the URL, or null for automatic
 * @throws Error when no backend (or not the requested one) starts
 */
export async function chooseBackend(
  requested: string | null,
): Promise<BackendChoice> {
  setWasmPaths(new URL("wasm/", location.href).href);
  if (requested && !BACKEND_ORDER.includes(requested)) {
    throw new Error(
      `?backend=${requested}: unknown backend; use one of ${
        BACKEND_ORDER.join(", ")
      }`,
    );
  }
  const skipped: string[] = [];
  for (const name of requested ? [requested] : BACKEND_ORDER) {
    if (name === "webgpu" && !("gpu" in navigator)) {
      skipped.push("webgpu: navigator.gpu missing");
      continue;
    }
    try {
      if (await tf.setBackend(name)) {
        await tf.ready();
        return { name, skipped };
      }
      skipped.push(`${name}: failed to initialise`);
    } catch (e) {
      skipped.push(`${name}: ${(e as Error).message}`);
    }
  }
  throw new Error(`no tfjs backend started (${skipped.join("; ")})`);
}
