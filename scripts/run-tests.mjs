#!/usr/bin/env node
// Runs every test/**/*.test.ts with Node's own test runner (through tsx, so TypeScript runs as is).
// Usage: node scripts/run-tests.mjs [filter...]   e.g. `node scripts/run-tests.mjs storage`
import { spawnSync } from "node:child_process";
import { readdirSync } from "node:fs";
import { join, relative } from "node:path";

function findTests(dir) {
  return readdirSync(dir, { withFileTypes: true }).flatMap((entry) => {
    const path = join(dir, entry.name);
    if (entry.isDirectory()) return findTests(path);
    return entry.name.endsWith(".test.ts") ? [path] : [];
  });
}

const filters = process.argv.slice(2);
const files = findTests("test")
  .map((file) => relative(".", file))
  .filter((file) => filters.length === 0 || filters.some((filter) => file.includes(filter)))
  .sort();
if (files.length === 0) {
  console.error(`no test files match ${filters.join(" ")}`);
  process.exit(1);
}
const result = spawnSync(
  process.execPath,
  ["--openssl-legacy-provider", "--import", "tsx", "--test", "--test-reporter=spec", ...files],
  { stdio: "inherit", env: { ...process.env, LIFEBOAT_TEST: "1" } },
);
process.exit(result.status ?? 1);
