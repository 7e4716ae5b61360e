/**
 * Progress lines: backup, verify and restore-test print them on stderr at the interval the CLI is
 * given (LIFEBOAT_PROGRESS_SECONDS, set low here), none with --quiet, and never on stdout, so
 * --json stays one JSON object. The archive tap's table counts reach the total once the archive
 * went through.
 */
import assert from "node:assert/strict";
import { execFileSync } from "node:child_process";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, describe, test } from "node:test";
import { progressLine } from "../../src/commands/progress.js";
import { createArchiveTap } from "../../src/postgres/archive/index.js";
import { runCli } from "../helpers/cli.js";
import { createShop, SHOP_ROWS } from "../helpers/fixtures.js";
import { dumpArchive } from "../helpers/pg-archive.js";
import { startCluster, type Cluster } from "../helpers/postgres-cluster.js";

let cluster: Cluster;
let work: string;
let identityFile: string;
let recipient: string;

before(async () => {
  cluster = await startCluster();
  await createShop(cluster, "shop");
  // Enough data that each command runs for a while at a 10 ms interval.
  await cluster.sql(
    "shop",
    "CREATE TABLE public.bulk AS SELECT i, md5(i::text) AS v FROM generate_series(1, 200000) i",
  );
  work = mkdtempSync(join(tmpdir(), "lifeboat-progress-"));
  identityFile = join(work, "key.txt");
  execFileSync("age-keygen", ["-o", identityFile], { stdio: "pipe" });
  recipient = execFileSync("age-keygen", ["-y", identityFile], { encoding: "utf8" }).trim();
});

after(async () => {
  await cluster?.stop();
  if (work) rmSync(work, { recursive: true, force: true });
});

const env = (extra: NodeJS.ProcessEnv = {}): NodeJS.ProcessEnv => ({
  PATH: process.env.PATH,
  DATABASE_URL: cluster.url("shop"),
  LIFEBOAT_PROGRESS_SECONDS: "0.01",
  ...extra,
});

const SIZE = String.raw`[\d.]+ \S+`;
const BACKUP_LINE = new RegExp(
  String.raw`^backup: ${SIZE} read, ${SIZE} stored, ${SIZE}/s, (\d+ of \d+ tables, )?\d+s elapsed$`,
  "m",
);
const readLine = (what: string) =>
  new RegExp(
    String.raw`^${what}: ${SIZE} of ${SIZE} read \(\d+%\), ${SIZE}/s, \d+ tables, (.+, )?\d+s elapsed$`,
    "m",
  );

describe("progress lines", () => {
  let storage: string;

  test("backup --json: progress lines on stderr, one JSON object on stdout", async () => {
    storage = join(work, "store");
    const run = await runCli(["backup", "--storage", storage, "--recipient", recipient, "--json"], {
      env: env(),
    });
    assert.equal(run.code, 0, run.stderr);
    assert.match(run.stderr, BACKUP_LINE);
    const parsed = JSON.parse(run.stdout) as { ok: boolean; backupId: string };
    assert.equal(parsed.ok, true);
    assert.ok(!run.stdout.includes("elapsed"));
  });

  test("backup --quiet: no progress lines, the result still printed", async () => {
    const run = await runCli(
      ["backup", "--storage", join(work, "quiet"), "--recipient", recipient, "--quiet"],
      { env: env() },
    );
    assert.equal(run.code, 0, run.stderr);
    assert.doesNotMatch(run.stderr, /elapsed/);
    assert.doesNotMatch(run.stderr, /^Backing up/m);
    assert.match(run.stdout, /\S/);
  });

  test("verify (deep) and restore-test print read progress against the stored size", async () => {
    const verify = await runCli(["verify", "--storage", storage, "--identity-file", identityFile, "--json"], {
      env: env(),
    });
    assert.equal(verify.code, 0, verify.stderr);
    assert.equal(verify.json.verified, true);
    assert.match(verify.stderr, readLine("verify"));

    const restoreTest = await runCli(
      [
        "restore-test",
        "--storage",
        storage,
        "--identity-file",
        identityFile,
        "--scratch-database-url",
        cluster.url("postgres"),
        "--json",
      ],
      { env: env() },
    );
    assert.equal(restoreTest.code, 0, restoreTest.stderr);
    assert.equal(restoreTest.json.ok, true);
    assert.match(restoreTest.stderr, readLine("restore-test"));

    const quiet = await runCli(
      ["verify", "--storage", storage, "--identity-file", identityFile, "--json", "--quiet"],
      { env: env() },
    );
    assert.equal(quiet.code, 0, quiet.stderr);
    assert.doesNotMatch(quiet.stderr, /elapsed/);
    assert.equal((JSON.parse(quiet.stdout) as { verified: boolean }).verified, true);
  });

  test("the archive tap counts tables against the TOC as the archive passes", async () => {
    const archive = await dumpArchive(cluster, "shop");
    const tap = createArchiveTap();
    assert.deepEqual(tap.progress(), { tablesDone: 0, tablesTotal: 0 });
    const chunks: Buffer[] = [];
    tap.stream.on("data", (chunk: Buffer) => chunks.push(chunk));
    const seen: { tablesDone: number; tablesTotal: number }[] = [];
    for (let at = 0; at < archive.length; at += 4096) {
      tap.stream.write(archive.subarray(at, at + 4096));
      seen.push(tap.progress());
    }
    tap.stream.end();
    await tap.summary;
    const tables = Object.keys(SHOP_ROWS).length + 1;
    assert.deepEqual(tap.progress(), { tablesDone: tables, tablesTotal: tables });
    // Counted on the way, not only at the end: some sample saw part of the tables done.
    assert.ok(seen.some((sample) => sample.tablesTotal === tables && sample.tablesDone < tables));
  });

  test("a line names what is known and leaves out what is not", () => {
    assert.equal(
      progressLine("backup", { read: 2_500_000, stored: 500_000, tables: { done: 3, total: 7 } }, 2),
      "backup: 2.38 MiB read, 488.3 KiB stored, 1.19 MiB/s, 3 of 7 tables, 2s elapsed",
    );
    assert.equal(
      progressLine("restore-test", { read: 0, readTotal: 0, phase: "pg_restore -j2 running" }, 0),
      "restore-test: 0 B read, 0 B/s, pg_restore -j2 running, 0s elapsed",
    );
  });
});
