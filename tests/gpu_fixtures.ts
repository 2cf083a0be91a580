/**
 * Shared by the WebGPU tests: whether WebGPU may legitimately be missing.
 *
 * @module
 */

/**
 * Why WebGPU may legitimately be missing here (no Mesa lavapipe driver on
 * Linux), or null if it should work.
 */
export function webgpuMissingReason(): string | null {
  if (Deno.build.os !== "linux") return null;
  const icd = "/usr/share/vulkan/icd.d";
  try {
    for (const e of Deno.readDirSync(icd)) {
      if (e.name.startsWith("lvp_icd")) return null;
    }
  } catch {
    // no ICD folder at all
  }
  return `no Mesa Vulkan (lavapipe) driver in ${icd}; ` +
    "apt-get install mesa-vulkan-drivers";
}
