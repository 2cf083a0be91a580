import assert from "node:assert/strict";
import { parseFlags, runCli, UserError } from "../cli/common.ts";

const SPEC = {
  help: "Usage: deno task demo-task [--n N]",
  options: {
    n: { type: "string", default: "3" },
    flag: { type: "boolean", default: false },
  },
} as const;

Deno.test("parseFlags: values with defaults; bad flags name the task's --help", () => {
  const { values } = parseFlags("demo-task", ["--flag"], SPEC);
  assert.deepEqual({ ...values }, { n: "3", flag: true });
  assert.equal(parseFlags("demo-task", ["--n", "7"], SPEC).values.n, "7");
  for (const args of [["--bogus"], ["extra"], ["--n"]]) {
    assert.throws(
      () => parseFlags("demo-task", args, SPEC),
      (e: Error) =>
        e instanceof UserError &&
        e.message.endsWith("(see deno task demo-task --help)"),
      args.join(" "),
    );
  }
  // The whole parse error: Node's hint for a negative number after a space.
  assert.throws(
    () => parseFlags("demo-task", ["--n", "-1"], SPEC),
    /ambiguous\.\n.*\n.*'--n=-XYZ'\. \(see deno task demo-task --help\)$/,
  );
  const p = parseFlags("demo-task", ["a", "--flag", "b"], {
    ...SPEC,
    positionals: true,
  });
  assert.deepEqual(p.positionals, ["a", "b"]);
});

Deno.test("parseFlags: --help and -h stop the CLI; runCli prints the usage", async () => {
  for (const flag of ["--help", "-h"]) {
    const printed: unknown[] = [];
    const log = console.log;
    console.log = (...a: unknown[]) => printed.push(...a);
    let ran = false;
    try {
      await runCli(() => {
        parseFlags("demo-task", ["--n", "1", flag], SPEC);
        ran = true;
      });
    } finally {
      console.log = log;
    }
    assert.equal(ran, false, flag);
    assert.deepEqual(printed, [SPEC.help], flag);
  }
});
