/**
 * The prune action bundle run the way the runner runs it (dist/prune/index.js): outputs, the job
 * summary with the kept set, and bad input.
 */
import assert from "node:assert/strict";
import { existsSync, mkdtempSync, readdirSync, rmSync, statSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, describe, test } from "node:test";
import { runAction } from "../helpers/action.js";
import { seedLocalFolders, type SeededFolder } from "../helpers/backup-folders.js";

const D = 24 * 3_600_000;
let work: string;

before(() => {
  work = mkdtempSync(join(tmpdir(), "lifeboat-prune-action-"));
});

after(() => {
  if (work) rmSync(work, { recursive: true, force: true });
});

function files(dir: string): string[] {
  if (!existsSync(dir)) return [];
  return readdirSync(dir, { recursive: true, withFileTypes: true })
    .filter((entry) => entry.isFile())
    .map((entry) => join(entry.parentPath, entry.name).slice(dir.length + 1))
    .sort();
}

function seed(dir: string): SeededFolder[] {
  const now = Date.now();
  return seedLocalFolders(
    join(work, dir),
    "shop",
    [6, 5, 4, 3, 2, 1].map((days) => ({
      time: new Date(now - days * D),
      dumpBytes: 2048,
      checks: days === 5 ? [{ kind: "verify-deep", passed: true }] : [],
    })),
  ).reverse();
}

describe("the prune action bundle", () => {
  test("prunes, sets kept, deleted and freed-bytes, and writes the kept set to the job summary", () => {
    assert.ok(existsSync("dist/prune/index.js"), "dist/prune/index.js is built (npm run build)");
    const folders = seed("backups");
    const freed = [folders[2]!, folders[3]!, folders[5]!]
      .flatMap((folder) => folder.keys)
      .reduce((sum, key) => sum + statSync(join(work, "backups", key)).size, 0);
    const run = runAction("prune", { storage: "backups", label: "shop", "keep-daily": "2" }, { cwd: work });
    assert.equal(run.status, 0, run.stdout + run.stderr);
    assert.deepEqual(run.outputs, { kept: "3", deleted: "3", "freed-bytes": String(freed) }, run.stdout);
    assert.match(run.summary, /<h2>Lifeboat prune: shop<\/h2>/);
    assert.match(run.summary, /kept 3 backups; deleted 3 backups/);
    assert.match(run.summary, /<h3>Kept \(3\)<\/h3>/);
    for (const folder of [folders[0]!, folders[1]!, folders[4]!])
      assert.ok(run.summary.includes(folder.backupId));
    assert.match(run.summary, /min-verified: kept so that 1 verified backup remains/);
    assert.match(run.stdout, /keep-daily \d{4}-\d{2}-\d{2} \(1 of 2\)/, "the decisions are in the log");
    const left = files(join(work, "backups"));
    assert.deepEqual(
      left.filter((key) => !key.includes("/_audit/")),
      [folders[0]!, folders[1]!, folders[4]!].flatMap((folder) => folder.keys).sort(),
    );
    // The prune itself is on record in the label's audit trail (docs/evidence.md).
    assert.equal(left.filter((key) => /^shop\/_audit\/\d{8}T\d{9}Z-prune\.json$/.test(key)).length, 1);
  });

  test("dry-run deletes nothing and says what it would do", () => {
    seed("dry");
    const before = files(join(work, "dry"));
    const run = runAction(
      "prune",
      { storage: "dry", label: "shop", "keep-last": "1", "min-verified": "0", "dry-run": "true" },
      { cwd: work },
    );
    assert.equal(run.status, 0, run.stdout + run.stderr);
    assert.equal(run.outputs.deleted, "5");
    assert.match(run.summary, /Lifeboat prune: shop \(dry run\)/);
    assert.match(run.summary, /<h3>Would delete \(5\)<\/h3>/);
    assert.deepEqual(files(join(work, "dry")), before);
  });

  test("bad input fails the step with one line naming the input, and deletes nothing", () => {
    seed("bad");
    const before = files(join(work, "bad"));
    const run = runAction("prune", { storage: "bad", label: "shop", "keep-within": "a week" }, { cwd: work });
    assert.equal(run.status, 1);
    const errors = run.stdout.split("\n").filter((line) => line.startsWith("::error::"));
    assert.deepEqual(errors, [
      '::error::bad input: keep-within "a week": expected a duration such as 36h, 7d, 2w, 1d12h or 90m (units w, d, h, m, s)',
    ]);
    const none = runAction("prune", { storage: "bad", label: "shop" }, { cwd: work });
    assert.equal(none.status, 1);
    assert.match(none.stdout, /^::error::bad input: no keep rule: /m);
    assert.deepEqual(files(join(work, "bad")), before);
  });
});
