/**
 * Every CLI's `--help`: each flag has a one-line description and its default
 * (or says it is required), and every flag the CLI accepts is listed.
 */
import assert from "node:assert/strict";
import { REPO, runTask } from "./cli_fixtures.ts";

/** The CLIs with `--help`, and the extra source files whose flags they accept. */
const CLIS: Record<string, string[]> = {
  train: [],
  summary: [],
  translate: [],
  eval: [],
  ablate: [],
  bench: [],
  datasets: [],
  notebooks: [],
  demo: ["cli/site_flags.ts"],
  export: ["cli/site_flags.ts"],
  quickstart: [],
};

/** One flag entry of a help text: its first line and continuation lines. */
interface Entry {
  flags: string[];
  text: string;
}

/**
 * The flag entries of `help`: a line starting (after 2 to 4 spaces) with `-`,
 * plus the more indented lines under it.
 */
export function helpEntries(help: string): Entry[] {
  const entries: Entry[] = [];
  let current: Entry | undefined;
  let indent = 0;
  for (const line of help.split("\n")) {
    const m = /^( {2,4})(-{1,2}[a-z][\w-]*.*)$/.exec(line);
    if (m) {
      indent = m[1].length;
      const flags = [...m[2].matchAll(/(?:^|, )(-{1,2}[a-z][\w-]*)/g)].map(
        (f) => f[1],
      );
      current = { flags, text: m[2] };
      entries.push(current);
    } else if (current && line.search(/\S/) > indent) {
      current.text += " " + line.trim();
    } else {
      current = undefined;
    }
  }
  return entries;
}

/** The flag names a CLI's source passes to parseArgs (`name: { type: ... }`). */
function acceptedFlags(files: string[]): string[] {
  const names = new Set<string>();
  for (const f of files) {
    const src = Deno.readTextFileSync(`${REPO}/${f}`);
    for (const m of src.matchAll(/^\s+"?([\w-]+)"?: \{ type: "/gm)) {
      names.add(m[1]);
    }
  }
  return [...names];
}

async function help(cli: string): Promise<string> {
  const out = await runTask(cli, ["--help"]);
  assert.equal(out.code, 0, out.stderr);
  return out.stdout;
}

Deno.test("helpEntries: flags, aliases and continuation lines", () => {
  const entries = helpEntries(
    "Usage: x\n\n  --a-b N, --a_b N   what (default 1)\n                     more\n  --c   d\ntext",
  );
  assert.deepEqual(entries.map((e) => e.flags), [["--a-b", "--a_b"], ["--c"]]);
  assert.match(entries[0].text, /what \(default 1\) more$/);
});

for (const [cli, extra] of Object.entries(CLIS)) {
  Deno.test(`${cli} --help: every flag described, with its default, and every accepted flag listed`, async () => {
    const text = await help(cli);
    const entries = helpEntries(text);
    assert.ok(entries.length > 0, `${cli}: no flag lines`);
    for (const e of entries) {
      if (e.flags.includes("--help")) continue;
      // A description: words beyond the flags and their metavariables.
      const described = e.text.replace(
        /^(?:-{1,2}[\w-]+(?: [A-Z][A-Z_]*| \{[^}]*\})?(?:, )?)+/,
        "",
      ).replace(/\((?:switch, )?default[^)]*\)/g, "");
      assert.match(described, /[a-z]{3,}/, `${cli}: ${e.text}: no description`);
      assert.match(
        e.text,
        /default|required/i,
        `${cli}: ${e.text}: no default`,
      );
    }
    const listed = new Set(entries.flatMap((e) => e.flags));
    for (const flag of acceptedFlags([`cli/${cli}.ts`, ...extra])) {
      assert.ok(listed.has(`--${flag}`), `${cli}: --${flag} is not in --help`);
    }
  });
}
