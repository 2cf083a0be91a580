/**
 * Packs what a bare Linux machine with a GPU (no Deno, no network) needs to
 * run the GPU bench (`entry.ts`): Deno's own binary, the bench bundled into
 * one file with esbuild (tfjs and every other dependency inside), facades
 * pairs decoded to raw bytes (the pack has no image decoder), the Vulkan
 * loader (`libvulkan.so.1`, Debian's `libvulkan1` as installed here) and
 * `run.sh`. The result is one `pix2pix-device.tar.xz`, checked to be under
 * 64 MiB.
 *
 *   deno run -A bench/device/pack.ts [--out runs/device] [--pairs 48]
 *     [--xz-level 6] [--dataroot /work/shared/datasets/facades]
 *
 * On the GPU machine: `tar -xJf pix2pix-device.tar.xz && pix2pix-device/run.sh
 * results` (see `README.md`).
 *
 * @module
 */
import * as esbuild from "esbuild";
import { parseArgs } from "node:util";
import { FACADES_DIR } from "../../lib/datasets/dataroot.ts";
import { readRgb } from "../../lib/util/image.ts";
import { denoImportsPlugin } from "../../lib/site/web_bundle.ts";
import type { PairsInfo } from "./entry.ts";

/** The pack's size limit. */
export const PACK_LIMIT_BYTES = 64 * 1024 * 1024;

const ROOT = new URL("../../", import.meta.url).pathname;

/** What {@link pack} produced. */
export interface PackResult {
  /** The `.tar.xz`. */
  archive: string;
  bytes: number;
  /** The unpacked folder it was made from. */
  dir: string;
}

/** Options of {@link pack}. */
export interface PackOptions {
  /** Output folder; the pack is `<out>/pix2pix-device.tar.xz`. */
  out: string;
  /** Facades train pairs to carry (default 48: ~18 MB raw). */
  pairs?: number;
  /** xz preset 0-9 (default 6; the tests use 0: fast, bigger). */
  xzLevel?: number;
  /** Facades root (default the shared copy). */
  dataroot?: string;
}

/**
 * An esbuild plugin replacing `sharp` (a native addon; the device run never
 * decodes images) with a module that throws if used.
 */
const noSharp: esbuild.Plugin = {
  name: "no-sharp",
  setup(build) {
    build.onResolve({ filter: /^sharp$/ }, () => ({
      path: "sharp",
      namespace: "stub",
    }));
    build.onLoad({ filter: /.*/, namespace: "stub" }, () => ({
      contents: "export default function sharp() { throw new Error(" +
        "'sharp is not in the device pack: images come as raw bytes'); }",
      loader: "js",
    }));
  },
};

/** Bundles `entry.ts` into one ES module for Deno. */
export async function bundleEntry(): Promise<Uint8Array> {
  const denoJson = JSON.parse(await Deno.readTextFile(`${ROOT}deno.json`));
  try {
    const result = await esbuild.build({
      entryPoints: [new URL("entry.ts", import.meta.url).pathname],
      bundle: true,
      format: "esm",
      // As Deno itself resolves the packages: their Node builds, Node's
      // built-in modules from Deno (CommonJS code requires them by name).
      platform: "node",
      target: "es2022",
      minify: true,
      write: false,
      outfile: "bench.js",
      absWorkingDir: ROOT,
      banner: {
        js: 'import { createRequire } from "node:module"; ' +
          "const require = createRequire(import.meta.url);",
      },
      plugins: [noSharp, denoImportsPlugin(denoJson.imports ?? {}, ROOT)],
      logLevel: "silent",
    });
    return result.outputFiles[0].contents;
  } catch (e) {
    const errors = (e as esbuild.BuildFailure).errors;
    throw new Error(
      "bundling bench/device/entry.ts failed: " +
        (errors
          ? errors.slice(0, 5).map((m) =>
            `${m.location?.file ?? ""}:${m.location?.line ?? ""} ${m.text}`
          ).join("; ")
          : (e as Error).message),
    );
  } finally {
    await esbuild.stop();
  }
}

/** The first `count` pairs of `<dataroot>/train` as raw RGB bytes. */
async function facadesPairs(dataroot: string, count: number) {
  const dir = `${dataroot}/train`;
  const names = [...Deno.readDirSync(dir)].map((e) => e.name)
    .filter((n) => /\.(jpe?g|png)$/i.test(n))
    .sort((a, b) => parseInt(a) - parseInt(b) || a.localeCompare(b))
    .slice(0, count);
  if (names.length === 0) throw new Error(`${dir}: no images`);
  const images = [];
  for (const n of names) images.push(await readRgb(`${dir}/${n}`));
  const { width, height } = images[0];
  const bad = images.findIndex((i) => i.width !== width || i.height !== height);
  if (bad >= 0) {
    throw new Error(
      `${dir}/${names[bad]}: not ${width}x${height} like the rest`,
    );
  }
  const bytes = new Uint8Array(images.length * width * height * 3);
  images.forEach((im, i) => bytes.set(im.data, i * width * height * 3));
  const info: PairsInfo = {
    count: images.length,
    width,
    height,
    direction: "BtoA",
    source: `facades train ${names[0]}..${names.at(-1)} (${dataroot})`,
  };
  return { bytes, info };
}

/** The Vulkan loader's files as installed (Debian's libvulkan1). */
function vulkanLoader(): string[] {
  for (const dir of ["/usr/lib/x86_64-linux-gnu", "/usr/lib64", "/usr/lib"]) {
    try {
      const files = [...Deno.readDirSync(dir)].map((e) => e.name)
        .filter((n) => /^libvulkan\.so\.1(\.|$)/.test(n));
      if (files.length > 0) return files.map((n) => `${dir}/${n}`);
    } catch {
      // no such folder
    }
  }
  throw new Error(
    "no Vulkan loader (libvulkan.so.1) here: apt-get install libvulkan1",
  );
}

const RUN_SH = `#!/bin/sh
# pix2pix GPU bench: ./run.sh [OUT_DIR] [bench.js flags], e.g.
#   ./run.sh results                       (256 px bench, kernels, 2-min training)
#   ./run.sh results --size 32 --ngf 8 --steps 1 --train-seconds 3 --no-kernels
set -eu
here=$(cd "$(dirname "$0")" && pwd)
out=\${1:-$here/results}
[ $# -gt 0 ] && shift
mkdir -p "$out"
# The packed Vulkan loader, unless the system has one.
export LD_LIBRARY_PATH="\${LD_LIBRARY_PATH:+$LD_LIBRARY_PATH:}$here/vulkan"
# NVIDIA containers often lack the driver's Vulkan ICD file: make one.
if [ -z "\${VK_ICD_FILENAMES:-}" ] && ! ls /usr/share/vulkan/icd.d/nvidia* /etc/vulkan/icd.d/nvidia* >/dev/null 2>&1; then
  if ldconfig -p 2>/dev/null | grep -q libGLX_nvidia.so.0; then
    mkdir -p "$here/icd.d"
    printf '{"file_format_version":"1.0.0","ICD":{"library_path":"libGLX_nvidia.so.0","api_version":"1.3"}}\\n' >"$here/icd.d/nvidia_icd.json"
    export VK_ICD_FILENAMES="$here/icd.d/nvidia_icd.json"
  fi
fi
export XDG_RUNTIME_DIR="\${XDG_RUNTIME_DIR:-$(mktemp -d)}"
export DENO_DIR="$here/.deno" DENO_NO_UPDATE_CHECK=1 NO_COLOR=1
"$here/deno" run -A --no-config "$here/bench.js" --out "$out" --data "$here" "$@" 2>&1 | tee "$out/run.log"
`;

/** Builds the pack; see the module documentation. */
export async function pack(o: PackOptions): Promise<PackResult> {
  const dir = `${o.out}/pix2pix-device`;
  await Deno.remove(dir, { recursive: true }).catch(() => {});
  await Deno.mkdir(`${dir}/vulkan`, { recursive: true });
  await Deno.writeFile(`${dir}/bench.js`, await bundleEntry());
  await Deno.copyFile(Deno.execPath(), `${dir}/deno`);
  await Deno.chmod(`${dir}/deno`, 0o755);
  const { bytes, info } = await facadesPairs(
    o.dataroot ?? FACADES_DIR,
    o.pairs ?? 48,
  );
  await Deno.writeFile(`${dir}/pairs.u8`, bytes);
  await Deno.writeTextFile(`${dir}/pairs.json`, JSON.stringify(info) + "\n");
  for (const f of vulkanLoader()) {
    await Deno.copyFile(f, `${dir}/vulkan/${f.replace(/.*\//, "")}`);
  }
  await Deno.writeTextFile(`${dir}/run.sh`, RUN_SH);
  await Deno.chmod(`${dir}/run.sh`, 0o755);
  await Deno.copyFile(
    new URL("README.md", import.meta.url).pathname,
    `${dir}/README.md`,
  );
  const archive = `${o.out}/pix2pix-device.tar.xz`;
  const tar = await new Deno.Command("tar", {
    args: ["-cJf", archive, "-C", o.out, "pix2pix-device"],
    env: { XZ_OPT: `-${o.xzLevel ?? 6} -T0` },
    stderr: "piped",
  }).output();
  if (!tar.success) {
    throw new Error(
      `tar -cJf ${archive} failed: ${new TextDecoder().decode(tar.stderr)}`,
    );
  }
  const size = (await Deno.stat(archive)).size;
  return { archive, bytes: size, dir };
}

if (import.meta.main) {
  const { values } = parseArgs({
    args: Deno.args,
    options: {
      out: { type: "string", default: "runs/device" },
      pairs: { type: "string", default: "48" },
      "xz-level": { type: "string", default: "6" },
      dataroot: { type: "string" },
    },
  });
  const r = await pack({
    out: values.out,
    pairs: Number(values.pairs),
    xzLevel: Number(values["xz-level"]),
    dataroot: values.dataroot,
  });
  const mib = (r.bytes / 2 ** 20).toFixed(1);
  console.log(`${r.archive}: ${mib} MiB (limit 64 MiB)`);
  if (r.bytes > PACK_LIMIT_BYTES) {
    console.error("error: the pack is over 64 MiB");
    Deno.exit(1);
  }
}
