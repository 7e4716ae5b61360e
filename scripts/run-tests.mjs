#!/usr/bin/env node
// Runs every test/**/*.test.ts with Node's own test runner (through tsx, so TypeScript runs as is).
// Usage: node scripts/run-tests.mjs [filter...]   e.g. `node scripts/run-tests.mjs storage`
// The tests run on the project's Node (the `node` devDependency, Node 24), also when this script is
// started by an older `node` from the PATH, and they refuse to run on a Node the code cannot use.
import { spawnSync } from "node:child_process";
import { existsSync, readdirSync } from "node:fs";
import { delimiter, dirname, join, relative, resolve } from "node:path";

const MINIMUM = [22, 15];
const tooOld = (version) => {
  const [major, minor] = version.replace(/^v/, "").split(".").map(Number);
  return major < MINIMUM[0] || (major === MINIMUM[0] && minor < MINIMUM[1]) || (major === 23 && minor < 8);
};
const projectNode = resolve("node_modules/node/bin/node");
const runtime = tooOld(process.version) && existsSync(projectNode) ? projectNode : process.execPath;
const version = spawnSync(runtime, ["--version"], { encoding: "utf8" }).stdout.trim();
if (tooOld(version)) {
  console.error(
    `the tests need Node.js ${MINIMUM.join(".")} or later and found ${version} at ${runtime}: run npm ci (it installs Node 24 as a devDependency)`,
  );
  process.exit(2);
}
console.error(`tests run on Node.js ${version} (${runtime})`);

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
  runtime,
  ["--openssl-legacy-provider", "--import", "tsx", "--test", "--test-reporter=spec", ...files],
  // Child processes that start `node` by name get the same Node as the tests.
  {
    stdio: "inherit",
    env: {
      ...process.env,
      PATH: `${dirname(runtime)}${delimiter}${process.env.PATH ?? ""}`,
      LIFEBOAT_TEST: "1",
    },
  },
);
process.exit(result.status ?? 1);
