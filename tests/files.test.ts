import assert from "node:assert/strict";
import { readFailure, readJsonFile } from "../lib/util/files.ts";

const fail = (reason: string) => new Error(`file: ${reason}`);

Deno.test("readJsonFile parses JSON; missing, unreadable and bad JSON go through fail", async () => {
  const dir = await Deno.makeTempDir();
  await Deno.writeTextFile(`${dir}/ok.json`, '{"a": [1, 2]}');
  await Deno.writeTextFile(`${dir}/bad.json`, "{");
  assert.deepEqual(await readJsonFile(`${dir}/ok.json`, fail), { a: [1, 2] });
  await assert.rejects(
    readJsonFile(`${dir}/none.json`, fail),
    /^Error: file: missing$/,
  );
  await assert.rejects(
    readJsonFile(`${dir}/bad.json`, fail),
    /^Error: file: not valid JSON \(.+\)$/,
  );
  await assert.rejects(
    readJsonFile(dir, fail),
    (e: Error) => e.message.startsWith("file: ") && !/missing/.test(e.message),
  );
  await Deno.remove(dir, { recursive: true });
});

Deno.test("readFailure: 'missing' for NotFound, else the error's message", () => {
  assert.equal(readFailure(new Deno.errors.NotFound("x")), "missing");
  assert.equal(
    readFailure(new Error("permission denied")),
    "permission denied",
  );
});
