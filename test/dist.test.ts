/**
 * The committed bundles and action.yml files are what the sources build to: a fresh build into a
 * temporary directory must match them byte for byte, with no file missing or extra.
 */
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { mkdtempSync, readdirSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { test } from "node:test";
import { renderAllActionYmls } from "../src/settings/action-yml.js";
import { COMMANDS } from "../src/settings/spec.js";
import { LIFEBOAT_VERSION } from "../src/version.js";

function files(dir: string): string[] {
  return readdirSync(dir, { recursive: true, withFileTypes: true })
    .filter((entry) => entry.isFile())
    .map((entry) => join(entry.parentPath, entry.name).slice(dir.length + 1))
    .sort();
}

test("action.yml files are generated from the option table", () => {
  for (const [path, content] of renderAllActionYmls(COMMANDS)) {
    assert.equal(readFileSync(path, "utf8"), content, `${path} is stale: run npm run build`);
  }
});

test("dist/ matches a fresh build of the sources (run npm run build and commit dist/)", () => {
  const out = mkdtempSync(join(tmpdir(), "lifeboat-dist-"));
  try {
    const build = spawnSync(process.execPath, ["scripts/build.mjs", "--out", out], { encoding: "utf8" });
    assert.equal(build.status, 0, build.stderr);
    const fresh = files(join(out, "dist"));
    assert.deepEqual(files("dist"), fresh, "the same files");
    for (const file of fresh) {
      assert.ok(
        readFileSync(join("dist", file)).equals(readFileSync(join(out, "dist", file))),
        `dist/${file} differs`,
      );
    }
  } finally {
    rmSync(out, { recursive: true, force: true });
  }
});

test("the version in manifests is package.json's", () => {
  assert.equal(LIFEBOAT_VERSION, JSON.parse(readFileSync("package.json", "utf8")).version);
});
