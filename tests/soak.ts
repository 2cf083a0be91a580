/**
 * `deno task soak [--kills N] [--corruptions N] [--no-full-disk] [--seed S]`:
 * the reliability soak test (issue 15), not part of `deno task test`.
 *
 * On a small run (`--preset smoke`, ngf/ndf 4, `--save-every 1`) it tries
 * three kinds of damage and prints a table of cases tried / survived /
 * what was lost:
 *
 * - **kill**: training killed with SIGKILL at a random moment (start-up,
 *   mid-step, mid-save), then the run must load (manifest checked) and
 *   resume; lost = logged steps after the last checkpoint (redone).
 * - **corrupt**: a random file of a random checkpoint flipped, cut short or
 *   deleted; `--resume` must continue (falling back to an older checkpoint
 *   with a warning) or stop naming the file, and `translate` likewise.
 * - **full disk** (where a tmpfs can be mounted, i.e. as root on Linux):
 *   training on a 10 MiB tmpfs until it fills; it must stop with a message
 *   about space, leave no temporary folder, refuse `--resume` while full
 *   with the same message, and resume once space is freed.
 *
 * @module
 */
import { parseFlags, runCli } from "../cli/common.ts";
import { loadCheckpoint } from "../lib/checkpoint.ts";
import { readLossLog } from "../lib/report/run_page.ts";
import { exists } from "../lib/util/files.ts";
import { Rng } from "../lib/util/rng.ts";

const HELP =
  `Usage: deno task soak [--kills N] [--corruptions N] [--no-full-disk] [--seed S]

  --kills N        random SIGKILLs during training (default 8)
  --corruptions N  random damaged checkpoint files (default 6)
  --no-full-disk   skip the full-disk case (it needs to mount a tmpfs)
  --seed S         seed of the random choices (default 1)`;

const ROOT = new URL("..", import.meta.url).pathname;
const RUN_FLAGS = [
  "--preset=smoke",
  "--name=soak",
  "--synth-count=8",
  "--ngf=4",
  "--ndf=4",
  "--save-every=1",
  "--sample-every=4",
  "--epochs=1000", // never ends by itself
];

/** One row of the table. */
interface Row {
  case: string;
  tried: number;
  survived: number;
  /** Damage stopped with a message naming the file (not survived, not silent). */
  named: number;
  lost: string[];
}

function newRow(name: string, tried: number): Row {
  return { case: name, tried, survived: 0, named: 0, lost: [] };
}

async function deno(
  script: string,
  args: string[],
  killAfterMs?: number,
): Promise<{ code: number; killed: boolean; out: string }> {
  const child = new Deno.Command(Deno.execPath(), {
    args: ["run", "-A", `${ROOT}${script}`, ...args],
    cwd: ROOT,
    stdout: "piped",
    stderr: "piped",
  }).spawn();
  const timer = killAfterMs === undefined
    ? undefined
    : setTimeout(() => child.kill("SIGKILL"), killAfterMs);
  const r = await child.output();
  clearTimeout(timer);
  const text = new TextDecoder();
  return {
    code: r.code,
    killed: r.signal === "SIGKILL",
    out: text.decode(r.stdout) + text.decode(r.stderr),
  };
}

const train = (dir: string, ...extra: string[]) =>
  deno("cli/train.ts", [...RUN_FLAGS, `--checkpoints-dir=${dir}`, ...extra]);

/** The step of the run's newest loadable checkpoint (manifest checked), or -1. */
async function checkpointStep(run: string): Promise<number> {
  if (!(await exists(`${run}/checkpoints/latest`))) return -1;
  const ck = await loadCheckpoint(run);
  ck.G.dispose();
  ck.D?.dispose();
  return ck.step;
}

async function kills(n: number, rng: Rng, dir: string): Promise<Row> {
  const row = newRow("kill -9", n);
  const run = `${dir}/soak`;
  for (let i = 0; i < n; i++) {
    // Killed before its first checkpoint, a run can only start over.
    const resume = await exists(`${run}/checkpoints/latest`);
    const ms = 1000 + Math.floor(rng.next() * 11000);
    const r = await deno("cli/train.ts", [
      ...RUN_FLAGS,
      `--checkpoints-dir=${dir}`,
      "--max-steps=100000",
      resume ? "--resume" : "--overwrite",
    ], ms);
    if (!r.killed && r.code !== 0) {
      console.log(`kill ${i}: run failed before the kill:\n${r.out}`);
      continue;
    }
    try {
      const step = await checkpointStep(run);
      const logged = (await readLossLog(run)).at(-1)?.step ?? 0;
      row.survived++;
      row.lost.push(`${Math.max(0, logged - Math.max(step, 0))}`);
      console.log(
        `kill ${i} after ${ms} ms: checkpoint ${step}, log ${logged}`,
      );
    } catch (e) {
      console.log(`kill ${i} after ${ms} ms: NOT LOADABLE: ${e}`);
    }
  }
  // The proof: a real resume after the last kill, and a gapless log.
  const step = await checkpointStep(run);
  const r = await train(dir, "--resume", `--max-steps=${step + 2}`);
  const steps = (await readLossLog(run)).map((x) => x.step);
  const gapless = steps.every((s, i) => s === i + 1);
  if (r.code !== 0 || !gapless) {
    console.log(`final resume failed (gapless log: ${gapless}):\n${r.out}`);
    row.survived = 0;
  }
  return row;
}

async function corruptions(n: number, rng: Rng, dir: string): Promise<Row> {
  const row = newRow("corrupt file", n);
  const base = `${dir}/soak`;
  for (let i = 0; i < n; i++) {
    const run = `${dir}/c${i}/soak`;
    await Deno.mkdir(`${dir}/c${i}`);
    const cp = await new Deno.Command("cp", { args: ["-r", base, run] })
      .output();
    if (!cp.success) throw new Error(`cp -r ${base} ${run} failed`);
    const steps = [...Deno.readDirSync(`${run}/checkpoints`)]
      .filter((e) => e.name.startsWith("step_")).map((e) => e.name).sort();
    const folder = `${run}/checkpoints/${
      steps[Math.floor(rng.next() * steps.length)]
    }`;
    const files = Object.keys(
      JSON.parse(await Deno.readTextFile(`${folder}/manifest.json`)),
    ).concat("manifest.json");
    const file = `${folder}/${files[Math.floor(rng.next() * files.length)]}`;
    const data = await Deno.readFile(file);
    const how = ["flip", "cut", "delete"][Math.floor(rng.next() * 3)];
    if (how === "delete") await Deno.remove(file);
    else if (how === "cut") {
      await Deno.writeFile(
        file,
        data.subarray(0, Math.floor(rng.next() * data.length)),
      );
    } else {
      data[Math.floor(rng.next() * data.length)] ^= 1 <<
        Math.floor(rng.next() * 8);
      await Deno.writeFile(file, data);
    }
    // Resume to the damaged step at most: it is then saved again.
    const before = Number(steps.at(-1)!.slice(5));
    const r = await deno("cli/train.ts", [
      ...RUN_FLAGS,
      `--checkpoints-dir=${dir}/c${i}`,
      "--resume",
      `--max-steps=${before}`,
    ]);
    const t = await deno("cli/translate.ts", [
      `--checkpoint=${run}`,
      `--out=${dir}/c${i}/results`,
      "--num-test=1",
    ]);
    const short = file.slice(run.length + 1);
    const out = r.out + t.out;
    const named = out.includes(short);
    const ok = r.code === 0 && t.code === 0;
    if (ok) row.survived++;
    else if (named) row.named++;
    const fellBack = /older checkpoint/.test(r.out);
    row.lost.push(fellBack ? "1" : ok ? "0" : "-");
    console.log(
      `corrupt ${i}: ${how} ${short}: resume exit ${r.code}${
        fellBack ? " (fell back, warned)" : ""
      }, translate exit ${t.code}, file named: ${named}`,
    );
    if (!ok) {
      console.log(out.split("\n").filter((l) => /error/.test(l)).join("\n"));
    }
  }
  return row;
}

async function fullDisk(dir: string): Promise<Row | null> {
  const mnt = `${dir}/tmpfs`;
  await Deno.mkdir(mnt);
  const mount = (...o: string[]) =>
    new Deno.Command("mount", { args: [...o, "-t", "tmpfs", "tmpfs", mnt] })
      .output();
  if (!(await mount("-o", "size=10m")).success) {
    console.log(
      "full disk: skipped (cannot mount a tmpfs; run as root on Linux)",
    );
    return null;
  }
  const row = newRow("full disk", 1);
  try {
    const r = await train(mnt, "--max-steps=100000", "--sample-every=1");
    const run = `${mnt}/soak`;
    const leftovers = [...Deno.readDirSync(`${run}/checkpoints`)]
      .filter((e) => e.name.startsWith(".tmp-")).length;
    const space = /no space left on the device/.test(r.out);
    const step = await checkpointStep(run);
    const again = await train(mnt, "--resume", "--max-steps=100000");
    const spaceAgain = /no space left on the device/.test(again.out);
    await mount("-o", "remount,size=64m");
    const logged = (await readLossLog(run)).at(-1)?.step ?? 0;
    const resumed = await train(mnt, "--resume", `--max-steps=${step + 2}`);
    console.log(
      `full disk: exit ${r.code}, space message ${space}, temp folders left ${leftovers}, ` +
        `checkpoint ${step}, resume while full: exit ${again.code}, space message ${spaceAgain}; ` +
        `after freeing space: exit ${resumed.code}`,
    );
    if (!space || !spaceAgain) console.log(r.out + again.out);
    if (
      r.code === 1 && space && leftovers === 0 && spaceAgain &&
      resumed.code === 0
    ) {
      row.survived++;
    }
    row.lost.push(`${Math.max(0, logged - step)}`);
  } finally {
    await new Deno.Command("umount", { args: [mnt] }).output();
  }
  return row;
}

await runCli(async () => {
  const { values } = parseFlags("soak", Deno.args, {
    help: HELP,
    options: {
      kills: { type: "string", default: "8" },
      corruptions: { type: "string", default: "6" },
      "no-full-disk": { type: "boolean", default: false },
      seed: { type: "string", default: "1" },
    },
  });
  const rng = new Rng(Number(values.seed));
  const dir = await Deno.makeTempDir({ prefix: "pix2pix-soak-" });
  try {
    const rows = [await kills(Number(values.kills), rng, dir)];
    rows.push(await corruptions(Number(values.corruptions), rng, dir));
    const disk = values["no-full-disk"] ? null : await fullDisk(dir);
    if (disk) rows.push(disk);
    console.log(
      "\n| case | tried | survived | stopped naming the file | steps redone (each case) |",
    );
    console.log("| --- | --- | --- | --- | --- |");
    for (const r of rows) {
      console.log(
        `| ${r.case} | ${r.tried} | ${r.survived} | ${r.named} | ${
          r.lost.join(", ")
        } |`,
      );
    }
    const silent = rows.some((r) => r.survived + r.named < r.tried);
    if (silent) throw new Error("some damage was neither survived nor named");
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});
