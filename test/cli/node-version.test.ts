import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { test } from "node:test";
import { nodeTooOld } from "../../src/cli/node-version.js";

test("Node versions without zlib zstd are refused, the ones with it are accepted", () => {
  for (const version of ["18.20.4", "20.20.2", "22.14.0", "23.7.0"]) {
    assert.equal(
      nodeTooOld(version),
      `Node.js 22.15.0 or later is required, and this is Node.js ${version}`,
      version,
    );
  }
  for (const version of ["22.15.0", "22.21.1", "23.8.0", "24.0.0", "24.21.0", "26.10.0"]) {
    assert.equal(nodeTooOld(version), undefined, version);
  }
});

test("the tests themselves run on a Node that the CLI accepts", () => {
  assert.equal(nodeTooOld(process.versions.node), undefined);
});

// The Debian machine's own node is 20: the CLI run on it must stop at the first line, before main.
const oldNode = "/usr/bin/node";
const oldVersion = spawnSync(oldNode, ["-p", "process.versions.node"], { encoding: "utf8" });
const oldEnough = oldVersion.status === 0 && nodeTooOld(oldVersion.stdout.trim()) !== undefined;

test(
  "the CLI on an older Node prints one line and exits 2",
  { skip: oldEnough ? false : `no Node older than 22.15 at ${oldNode} on this machine` },
  () => {
    const run = spawnSync(oldNode, ["--import", "tsx", "src/cli/index.ts", "backup", "--help"], {
      encoding: "utf8",
    });
    assert.equal(run.status, 2);
    assert.equal(run.stdout, "");
    assert.equal(
      run.stderr,
      `lifeboat: error: Node.js 22.15.0 or later is required, and this is Node.js ${oldVersion.stdout.trim()}\n`,
    );
  },
);
