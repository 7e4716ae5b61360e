/**
 * prune's bad input: a one-line error that names the input, exit 2, and nothing deleted.
 */
import assert from "node:assert/strict";
import { existsSync, mkdtempSync, readdirSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, describe, test } from "node:test";
import { seedLocalFolders } from "../helpers/backup-folders.js";
import { runCli } from "../helpers/cli.js";

const D = 24 * 3_600_000;
let work: string;
let storage: string;
let seeded: string[];

function files(dir: string): string[] {
  if (!existsSync(dir)) return [];
  return readdirSync(dir, { recursive: true, withFileTypes: true })
    .filter((entry) => entry.isFile())
    .map((entry) => join(entry.parentPath, entry.name))
    .sort();
}

before(() => {
  work = mkdtempSync(join(tmpdir(), "lifeboat-prune-bad-"));
  storage = join(work, "backups");
  const now = Date.now();
  // Old backups, and a folder without a manifest far older than any safe age: a prune that ran
  // would delete some of them.
  seedLocalFolders(storage, "shop", [
    ...[40, 30, 20, 10, 1].map((days) => ({ time: new Date(now - days * D) })),
    { time: new Date(now - 50 * D), committed: false },
  ]);
  seeded = files(storage);
});

after(() => {
  if (work) rmSync(work, { recursive: true, force: true });
});

async function expectBadInput(argv: string[], message: RegExp): Promise<void> {
  const run = await runCli(["prune", "--storage", storage, "--label", "shop", ...argv]);
  assert.equal(run.code, 2, `expected exit 2, got ${run.code}: ${run.stderr}`);
  const lines = run.stderr.trim().split("\n");
  assert.equal(lines.length, 1, `expected one line, got:\n${run.stderr}`);
  assert.match(lines[0]!, /^lifeboat: error: /);
  assert.match(lines[0]!, message);
  assert.equal(run.stdout, "");
  assert.deepEqual(files(storage), seeded, "nothing may be deleted");
}

describe("prune refuses bad input with exit 2 and deletes nothing", () => {
  test("keep-* that is not a whole number >= 0", async () => {
    await expectBadInput(
      ["--keep-daily", "x"],
      /^lifeboat: error: --keep-daily "x": expected a whole number >= 0$/,
    );
    await expectBadInput(["--keep-last=-1"], /--keep-last "-1": expected a whole number >= 0$/);
    await expectBadInput(["--keep-weekly", "1.5"], /--keep-weekly "1\.5": expected a whole number >= 0$/);
    await expectBadInput(["--keep-monthly", "1e3"], /--keep-monthly "1e3": expected a whole number >= 0$/);
    await expectBadInput(
      ["--keep-yearly", "99999999999999999999"],
      /--keep-yearly "99999999999999999999": expected a whole number >= 0$/,
    );
    await expectBadInput(
      ["--keep-hourly", "3", "--min-verified", "one"],
      /--min-verified "one": expected a whole number >= 0$/,
    );
  });

  test("keep-within or safe-age that is not a duration", async () => {
    await expectBadInput(
      ["--keep-within", "7 days"],
      /^lifeboat: error: --keep-within "7 days": expected a duration such as 36h, 7d, 2w, 1d12h or 90m \(units w, d, h, m, s\)$/,
    );
    await expectBadInput(["--keep-within", "1y"], /--keep-within "1y": expected a duration/);
    await expectBadInput(
      ["--keep-last", "1", "--safe-age", "soon"],
      /--safe-age "soon": expected a duration/,
    );
  });

  test("a safe age under an hour", async () => {
    await expectBadInput(
      ["--keep-last", "1", "--safe-age", "5m"],
      /--safe-age "5m": expected at least 1h, so that a backup in flight is never removed$/,
    );
  });

  test("a policy with no keep rule is not delete everything", async () => {
    const noRule =
      /^lifeboat: error: no keep rule: expected at least one of --keep-last, .* prune never reads an empty policy as delete everything$/;
    await expectBadInput([], noRule);
    await expectBadInput(["--dry-run"], noRule);
    await expectBadInput(["--keep-last", "0", "--keep-daily", "0", "--min-verified", "0"], noRule);
    await expectBadInput(["--keep-within", "0s"], noRule);
  });

  test("an unknown option, with a suggestion", async () => {
    await expectBadInput(
      ["--keep-dialy", "7"],
      /unknown option --keep-dialy \(did you mean --keep-daily\?\)/,
    );
  });
});
