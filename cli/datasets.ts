/**
 * `deno task datasets <command>`: dataset tooling.
 *
 *   deno task datasets download facades [--dir datasets] [--url URL]
 *   deno task datasets combine --a DIR --b DIR --out DIR [--resize-b]
 *   deno task datasets check DIR [--json]
 *   deno task datasets synth --out DIR [--count 200] [--size 256] [--seed 0]
 *
 * `check` exits with status 1 when it finds errors; `combine` when a pair
 * failed or nothing was written.
 *
 * @module
 */
import type { ParseArgsOptionsConfig } from "node:util";
import {
  cliMessage,
  flagName,
  inFlagTerms,
  intFlag,
  parseFlags,
  runCli,
  UserError,
} from "./common.ts";
import { checkDataset, formatCheckReport } from "../lib/datasets/check.ts";
import { combineFolders } from "../lib/datasets/combine.ts";
import {
  DATASET_NAMES,
  downloadDataset,
  progressBar,
} from "../lib/datasets/download.ts";
import { writeSynthDataset } from "../lib/datasets/synth.ts";

/** Config fields that check's suggestion reasons name, written as flags. */
const SUGGESTION_TERMS = ["valFraction"];

const HELP = `usage: deno task datasets <command> [options]

commands:
download NAME (${DATASET_NAMES.join(" | ")})
  fetch a pix2pix dataset from the reference archive into DIR/NAME; an
  interrupted download resumes
  --dir DIR      parent folder of the dataset (default datasets)
  --url URL      archive to fetch instead (default: the reference's)
combine
  pair same-named images of two folders into aligned A|B images
  --a DIR        folder of the A images (required)
  --b DIR        folder of the B images (required)
  --out DIR      new folder for the A|B images (required)
  --resize-b     resize B images to their A's size (switch, default off:
                 differing sizes are errors)
check DIR
  decode every image of every split; exit 1 on errors
  --json         print the report as JSON (switch, default off)
synth
  write the procedural facade-like dataset (direction BtoA)
  --out DIR      new dataset folder (required)
  --count N      training pairs; test gets a quarter as many (default 200)
  --size N       side of each half in pixels, >= 16 (default 256)
  --seed N       drawing seed (default 0)`;

function required(value: string | undefined, flag: string): string {
  if (!value) throw new UserError(`${flag} is required (see --help)`);
  return value;
}

/** A command's flags and positionals (`--help` prints the usage). */
function parse<const O extends ParseArgsOptionsConfig>(
  args: string[],
  options: O,
) {
  return parseFlags("datasets", args, {
    options,
    help: HELP,
    positionals: true,
  });
}

await runCli(async () => {
  const [command, ...rest] = Deno.args;
  if (!command || command === "--help" || command === "-h") {
    console.log(HELP);
    return;
  }
  switch (command) {
    case "download": {
      const { values, positionals } = parse(rest, {
        dir: { type: "string", default: "datasets" },
        url: { type: "string" },
      });
      const name = required(positionals[0], "dataset NAME");
      const bar = progressBar();
      const summary = await downloadDataset(name, {
        dir: values.dir,
        url: values.url,
        onProgress: bar.update,
      }).finally(bar.stop);
      console.log(
        summary.downloaded
          ? `${name}: ${summary.bytes} bytes${
            summary.resumedFrom ? ` (resumed at ${summary.resumedFrom})` : ""
          }, unpacked into ${summary.root}`
          : `${summary.root} already exists; nothing downloaded`,
      );
      return;
    }
    case "combine": {
      const { values } = parse(rest, {
        a: { type: "string" },
        b: { type: "string" },
        out: { type: "string" },
        "resize-b": { type: "boolean", default: false },
      });
      const report = await combineFolders({
        a: required(values.a, "--a"),
        b: required(values.b, "--b"),
        out: required(values.out, "--out"),
        resizeB: values["resize-b"],
      }).catch((err) => {
        throw new UserError(cliMessage(err as Error));
      });
      for (const n of report.unmatchedA) console.log(`no B for A ${n}`);
      for (const n of report.unmatchedB) console.log(`no A for B ${n}`);
      for (const e of report.errors) {
        console.log(`error: ${e.file}: ${inFlagTerms(e.reason, ["resizeB"])}`);
      }
      console.log(
        `wrote ${report.written} pairs to ${values.out}; unmatched: ${report.unmatchedA.length} A, ${report.unmatchedB.length} B; ${report.errors.length} error(s)`,
      );
      if (report.errors.length || report.written === 0) Deno.exit(1);
      return;
    }
    case "check": {
      const { values, positionals } = parse(rest, {
        json: { type: "boolean", default: false },
      });
      const report = await checkDataset(required(positionals[0], "DIR"));
      const s = report.suggestion;
      const suggestion = s && {
        flags: Object.entries(s.settings).flatMap(([field, value]) => [
          `--${flagName(field)}`,
          String(value),
        ]),
        reasons: s.reasons.map((r) => inFlagTerms(r, SUGGESTION_TERMS)),
      };
      console.log(
        values.json ? JSON.stringify({ ...report, suggestion }, null, 2) : [
          formatCheckReport(report),
          ...(suggestion
            ? [
              "suggested:",
              `  deno task train --dataroot ${report.dir} ${
                suggestion.flags.join(" ")
              } --direction AtoB|BtoA`,
              ...suggestion.reasons.map((r) => `  - ${r}`),
            ]
            : []),
        ].join("\n"),
      );
      if (report.errors.length) Deno.exit(1);
      return;
    }
    case "synth": {
      const { values } = parse(rest, {
        out: { type: "string" },
        count: { type: "string" },
        size: { type: "string" },
        seed: { type: "string" },
      });
      const out = required(values.out, "--out");
      const splits = await writeSynthDataset(out, {
        count: intFlag("count", values.count, { min: 1, fallback: 200 }),
        size: intFlag("size", values.size, { min: 1, fallback: 256 }),
        seed: intFlag("seed", values.seed, { min: 0, fallback: 0 }),
      }).catch((err) => {
        throw new UserError(cliMessage(err as Error));
      });
      console.log(
        `wrote ${
          Object.entries(splits).map(([s, n]) => `${s}: ${n}`).join(", ")
        } pairs to ${out} (A = photo, B = labels: use --direction BtoA)`,
      );
      return;
    }
    default:
      throw new UserError(`unknown command "${command}"\n${HELP}`);
  }
});
