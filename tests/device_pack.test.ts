/**
 * The GPU device pack (`bench/device/`): packed here, unpacked into a temp
 * folder and run from there with a bare environment (no Deno on the PATH,
 * no project) on the WebGPU adapter present (lavapipe in CI), smallest case.
 *
 * @module
 */
import assert from "node:assert/strict";
import { FACADES_DIR } from "../lib/datasets/dataroot.ts";
import { pack, PACK_LIMIT_BYTES } from "../bench/device/pack.ts";
import { webgpuMissingReason } from "./gpu_fixtures.ts";

const skip = !(await Deno.stat(FACADES_DIR).catch(() => null))
  ? `${FACADES_DIR} not found`
  : webgpuMissingReason();

Deno.test({
  name: "device pack: < 64 MiB, unpacks and runs the smallest bench + training",
  ignore: skip != null,
  fn: async () => {
    const tmp = await Deno.makeTempDir({ prefix: "pix2pix-pack-" });
    try {
      // xz -0: fast here; the real pack uses -6 (smaller).
      const r = await pack({ out: `${tmp}/pack`, pairs: 2, xzLevel: 0 });
      assert.ok(r.bytes < PACK_LIMIT_BYTES, `${r.bytes} bytes`);
      await Deno.mkdir(`${tmp}/gpu`);
      const untar = await new Deno.Command("tar", {
        args: ["-xJf", r.archive, "-C", `${tmp}/gpu`],
      }).output();
      assert.ok(untar.success, "tar -xJf failed");
      await Deno.remove(`${tmp}/pack`, { recursive: true });
      const out = `${tmp}/results`;
      const run = await new Deno.Command(`${tmp}/gpu/pix2pix-device/run.sh`, {
        args: [out, "--size", "32", "--ngf", "8", "--steps", "1"]
          .concat(["--train-seconds", "2", "--no-kernels"]),
        clearEnv: true,
        env: {
          PATH: "/usr/bin:/bin",
          HOME: tmp,
          XDG_RUNTIME_DIR: await Deno.makeTempDir(),
        },
        stdout: "piped",
        stderr: "piped",
      }).output();
      const log = new TextDecoder().decode(run.stdout) +
        new TextDecoder().decode(run.stderr);
      assert.ok(run.success, log);
      const bench = JSON.parse(await Deno.readTextFile(`${out}/bench.json`));
      assert.equal(bench.backend, "webgpu");
      assert.equal(bench.results[0].size, 32);
      assert.ok(bench.results[0].step_ms > 0, log);
      const train = JSON.parse(await Deno.readTextFile(`${out}/train.json`));
      assert.ok(train.steps >= 1 && train.curve.length === train.steps, log);
      for (const k of ["G_GAN", "G_L1", "D_real", "D_fake"]) {
        assert.ok(Number.isFinite(train.curve[0][k]), `${k}: ${log}`);
      }
      assert.match(train.source, /facades train/);
    } finally {
      await Deno.remove(tmp, { recursive: true });
    }
  },
});
