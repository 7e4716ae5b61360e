/**
 * restore-test's richer checks on real backups made by the CLI: per-table drift against the
 * previous backup (fail and warn), the recovery-time budget with the label's trend, sequences
 * behind their columns, per-table content digests recomputed from the restored copy (equal across
 * many types; a changed digest in the manifest fails), and --junit for verify and restore-test
 * validated against the JUnit schema CI reporters read.
 */
import assert from "node:assert/strict";
import { execFileSync } from "node:child_process";
import { cpSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, describe, test } from "node:test";
import { runCli } from "../helpers/cli.js";
import { createShop } from "../helpers/fixtures.js";
import { startCluster, type Cluster } from "../helpers/postgres-cluster.js";
import { validateJUnit, type ValidatedSuite } from "./junit-schema.js";

let cluster: Cluster;
let work: string;
let storage: string;
let identityFile: string;
let recipient: string;

const sleep = (ms: number) => new Promise((done) => setTimeout(done, ms));

async function backup(label: string, database: string): Promise<string> {
  const run = await runCli(
    ["backup", "--storage", storage, "--label", label, "--recipient", recipient, "--json"],
    {
      env: { PATH: process.env.PATH, DATABASE_URL: cluster.url(database) },
    },
  );
  assert.equal(run.code, 0, run.stderr);
  await sleep(1100); // backup ids have whole seconds
  return run.json.backupId as string;
}

async function restoreTest(label: string, extra: string[] = []) {
  return runCli(
    [
      "restore-test",
      ...["--storage", storage, "--label", label, "--identity-file", identityFile],
      ...["--scratch-database-url", cluster.url("postgres"), ...extra, "--json"],
    ],
    { env: { PATH: process.env.PATH } },
  );
}

interface Checks {
  tables: string[];
  drift: { previousBackupId: string | null; drifted: { table: string }[] };
  budget: { maxSeconds: number | null; seconds: number; exceeded: boolean; trend: { backupId: string }[] };
  sequences: {
    checked: number;
    behind: { sequence: string; next: string; max: string }[];
    error: string | null;
  };
  digests: {
    compared: number;
    mismatched: { table: string }[];
    skipped: { table: string; reason: string }[];
  };
}

function junitOf(file: string): ValidatedSuite {
  const xml = readFileSync(file, "utf8");
  assert.ok(!xml.includes(cluster.password), "no scratch password in the JUnit file");
  const suites = validateJUnit(xml);
  assert.equal(suites.length, 1);
  return suites[0]!;
}

const outcome = (suite: ValidatedSuite, name: string) => suite.cases.find((c) => c.name === name)?.outcome;

before(async () => {
  cluster = await startCluster();
  work = mkdtempSync(join(tmpdir(), "lifeboat-checks-"));
  storage = join(work, "store");
  identityFile = join(work, "key.txt");
  execFileSync("age-keygen", ["-o", identityFile], { stdio: "pipe" });
  recipient = execFileSync("age-keygen", ["-y", identityFile], { encoding: "utf8" }).trim();
});

after(async () => {
  await cluster?.stop();
  if (work) rmSync(work, { recursive: true, force: true });
});

describe("restore-test checks", () => {
  test("an intact backup: digests recomputed where exact, sequences in step, JUnit valid", async () => {
    await createShop(cluster, "shop");
    await backup("shop", "shop");
    const junit = join(work, "shop.xml");
    const run = await restoreTest("shop", [
      "--junit",
      junit,
      "--max-table-drift",
      "50%",
      "--max-restore-seconds",
      "600",
    ]);
    assert.equal(run.code, 0, run.stderr);
    const checks = run.json.checks as Checks;
    assert.deepEqual(checks.digests.mismatched, []);
    // Every table with a digest: orders (numeric, enum, text[], date), the odd name, the empty and
    // the unlogged table, and those with timestamptz columns (pg_dump ran in UTC, recorded).
    assert.deepEqual(checks.digests.skipped, []);
    assert.ok(checks.tables.includes("shop.customers"));
    assert.equal(checks.digests.compared, checks.tables.length);
    assert.ok(checks.sequences.checked >= 2);
    assert.deepEqual(checks.sequences.behind, []);
    assert.equal(checks.drift.previousBackupId, null);

    const suite = junitOf(junit);
    assert.equal(outcome(suite, "restore"), "passed");
    assert.equal(outcome(suite, "table shop.orders"), "passed");
    assert.equal(outcome(suite, 'table Mixed Case.Odd "Name"'), "passed");
    assert.equal(outcome(suite, "row-count drift against the previous backup"), "skipped");
    assert.equal(outcome(suite, "recovery-time budget"), "passed");
    assert.equal(outcome(suite, "sequences are not behind their columns"), "passed");
    assert.ok(suite.cases.every((c) => c.outcome !== "failure"));
    assert.equal(suite.cases.filter((c) => c.name.startsWith("table ")).length, checks.tables.length);
  });

  test("digests are equal across types: escapes, NULLs, bytea, floats, arrays, generated and dropped columns", async () => {
    await cluster.createDatabase("types");
    await cluster.sql(
      "types",
      `CREATE TYPE mood AS ENUM ('sad', 'ok');
       CREATE TYPE pair AS (a int, b text);
       CREATE TABLE kinds (
         id int PRIMARY KEY, gone int, t text, b bytea, j jsonb, f8 float8, f4 float4, n numeric,
         i interval, d date, tm time, ts timestamp, u uuid, arr int[], p pair, m mood, ip inet, ok bool,
         doubled int GENERATED ALWAYS AS (id * 2) STORED
       );
       ALTER TABLE kinds DROP COLUMN gone;
       INSERT INTO kinds (id, t, b, j, f8, f4, n, i, d, tm, ts, u, arr, p, m, ip, ok) VALUES
         (1, E'tab\\there\\nnew line \\\\ back', '\\x00ff10', '{"a": [1, 2.5, "x"]}', 0.1, 1.1, 12345.6789,
          '1 day 02:03:04', '2026-02-03', '04:05:06.789', '2026-11-28 12:34:56.123456',
          'a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a11', '{1,NULL,3}', ROW(1, 'x y'), 'ok', '10.0.0.1/8', true),
         (2, NULL, NULL, NULL, 'NaN', '-Infinity', NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL),
         (3, 'ünïcødé ☃', '', 'null', 1e300, 3.4e38, -0.0001, '-1 mon', 'infinity', '23:59:59', 'epoch',
          '00000000-0000-0000-0000-000000000000', '{}', ROW(NULL, NULL), 'sad', '::1', false);`,
    );
    await cluster.sql(
      "types",
      `CREATE TYPE stamped AS (n int, at timestamptz);
       CREATE TABLE nested (id int, s stamped[]);
       INSERT INTO nested VALUES (1, ARRAY[ROW(1, '2026-11-28 12:00:00+00')::stamped]);`,
    );
    await backup("types", "types");
    const run = await restoreTest("types");
    assert.equal(run.code, 0, run.stderr);
    const checks = run.json.checks as Checks;
    assert.deepEqual(checks.digests, { compared: 2, mismatched: [], skipped: [] });

    // A backup made before the dump's zone was recorded: its timestamptz text is in an unknown
    // zone, and a timestamptz inside a composite inside an array is found too.
    const id = run.json.backupId as string;
    const older = join(storage, "types-older", id);
    cpSync(join(storage, "types", id), older, { recursive: true });
    rmSync(join(older, "checks"), { recursive: true, force: true });
    const manifest = JSON.parse(readFileSync(join(older, "manifest.json"), "utf8")) as {
      label: string;
      dump: { timeZone?: string };
    };
    manifest.label = "types-older";
    delete manifest.dump.timeZone;
    writeFileSync(join(older, "manifest.json"), JSON.stringify(manifest, null, 2));
    const olderRun = await restoreTest("types-older");
    assert.equal(olderRun.code, 0, olderRun.stderr);
    assert.deepEqual((olderRun.json.checks as Checks).digests, {
      compared: 1,
      mismatched: [],
      skipped: [
        {
          table: "public.nested",
          reason: "a timestamptz column prints by session settings the dump did not record",
        },
      ],
    });
  });

  test("a digest in the manifest that the restored rows do not produce fails the test", async () => {
    const id = await backup("tampered", "shop");
    const file = join(storage, "tampered", id, "manifest.json");
    const manifest = JSON.parse(readFileSync(file, "utf8")) as {
      tables: { schema: string; table: string; sha256?: string }[];
    };
    const orders = manifest.tables.find((t) => t.schema === "shop" && t.table === "orders")!;
    orders.sha256 = "0".repeat(64);
    writeFileSync(file, JSON.stringify(manifest, null, 2));
    const junit = join(work, "tampered.xml");
    const run = await restoreTest("tampered", ["--junit", junit]);
    assert.equal(run.code, 1, run.stderr);
    assert.match(
      run.stderr,
      /shop\.orders: the restored rows' sha256 [0-9a-f]{12}\.\.\. differs from the archive's 000000000000\.\.\./,
    );
    const suite = junitOf(junit);
    assert.equal(outcome(suite, "table shop.orders"), "failure");
    assert.equal(outcome(suite, "table public.scratch"), "passed");
  });

  test("drift: a table that lost 80% of its rows fails with 50%, or warns with --drift-action warn", async () => {
    await createShop(cluster, "drifting");
    await backup("drift", "drifting");
    await cluster.sql("drifting", "DELETE FROM shop.orders WHERE id % 5 <> 0");
    const second = await backup("drift", "drifting");
    const junit = join(work, "drift.xml");
    const failed = await restoreTest("drift", ["--max-table-drift", "50%", "--junit", junit]);
    assert.equal(failed.code, 1, failed.stderr);
    assert.match(
      failed.stderr,
      /shop\.orders: 4000 -> 800 rows \(-80%\) against the previous backup \S+, more than max-table-drift 50%/,
    );
    const checks = failed.json.checks as Checks;
    assert.deepEqual(
      checks.drift.drifted.map((t) => t.table),
      ["shop.orders"],
    );
    assert.equal(failed.json.backupId, second);
    const suite = junitOf(junit);
    assert.equal(outcome(suite, "table shop.orders"), "failure");
    assert.equal(outcome(suite, "table shop.customers"), "passed");
    assert.equal(outcome(suite, "row-count drift against the previous backup"), "passed");

    const warned = await restoreTest("drift", ["--max-table-drift", "50%", "--drift-action", "warn"]);
    assert.equal(warned.code, 0, warned.stderr);
    assert.match(warned.stderr, /warning: shop\.orders: 4000 -> 800 rows \(-80%\)/);

    const loose = await restoreTest("drift", ["--max-table-drift", "90%"]);
    assert.equal(loose.code, 0, loose.stderr);
  });

  test("a sequence behind its column's maximum fails the test", async () => {
    await cluster.createDatabase("seq");
    await cluster.sql(
      "seq",
      `CREATE TABLE items (id serial PRIMARY KEY, v text);
       INSERT INTO items (v) VALUES ('a'), ('b'), ('c');
       INSERT INTO items (id, v) VALUES (100, 'imported with its own id');
       CREATE TABLE fine (id bigint GENERATED ALWAYS AS IDENTITY, v text);
       INSERT INTO fine (v) VALUES ('x');`,
    );
    await backup("seq", "seq");
    const junit = join(work, "seq.xml");
    const run = await restoreTest("seq", ["--junit", junit]);
    assert.equal(run.code, 1, run.stderr);
    assert.match(
      run.stderr,
      /sequence items_id_seq is behind public\.items\.id: its next value 4 is not above the column's maximum 100/,
    );
    const checks = run.json.checks as Checks;
    assert.equal(checks.sequences.checked, 2);
    assert.equal(checks.sequences.behind.length, 1);
    assert.equal(outcome(junitOf(junit), "sequences are not behind their columns"), "failure");
  });

  test("the recovery-time budget: a restore over --max-restore-seconds fails, with the label's trend", async () => {
    await cluster.createDatabase("slow");
    await cluster.sql(
      "slow",
      `CREATE FUNCTION slow_ok(int) RETURNS boolean LANGUAGE sql AS $$ SELECT pg_sleep(0.7) IS NOT NULL $$;
       CREATE TABLE slow (id int CHECK (public.slow_ok(id)));
       INSERT INTO slow VALUES (1), (2);`,
    );
    const older = await backup("slow", "slow");
    const newer = await backup("slow", "slow");
    const first = await restoreTest("slow", ["--backup", older]);
    assert.equal(first.code, 0, first.stderr);
    const junit = join(work, "slow.xml");
    const run = await restoreTest("slow", ["--max-restore-seconds", "1", "--junit", junit]);
    assert.equal(run.code, 1, run.stderr);
    assert.match(
      run.stderr,
      /the restore took \d+(\.\d+)?s, over the recovery-time budget max-restore-seconds 1/,
    );
    const budget = (run.json.checks as Checks).budget;
    assert.ok(budget.seconds > 1);
    assert.deepEqual(
      budget.trend.map((point) => point.backupId),
      [older, newer],
      "the older backup's passing restore-test, then this one",
    );
    assert.equal(outcome(junitOf(junit), "recovery-time budget"), "failure");
  });

  test("verify --junit: a case per check and per table; a damaged dump fails its case", async () => {
    const id = await backup("verify", "shop");
    const good = join(work, "verify.xml");
    const deep = await runCli([
      "verify",
      "--storage",
      storage,
      "--label",
      "verify",
      "--identity-file",
      identityFile,
      "--max-age",
      "1h",
      "--junit",
      good,
    ]);
    assert.equal(deep.code, 0, deep.stderr);
    const suite = junitOf(good);
    assert.equal(outcome(suite, "backup decrypts and matches its manifest (sizes, sha256)"), "passed");
    assert.equal(outcome(suite, "gate max-age"), "passed");
    assert.equal(outcome(suite, "gate min-size"), "skipped");
    assert.equal(outcome(suite, "table shop.orders: data in the archive"), "passed");

    const dump = join(storage, "verify", id, "dump.age");
    const data = readFileSync(dump);
    data[data.length >> 1] ^= 0x01;
    writeFileSync(dump, data);
    const bad = join(work, "verify-bad.xml");
    const shallow = await runCli(["verify", "--storage", storage, "--label", "verify", "--junit", bad]);
    assert.equal(shallow.code, 1);
    const failed = junitOf(bad);
    assert.equal(outcome(failed, "stored object matches its manifest (size, sha256)"), "failure");
    assert.equal(outcome(failed, "table shop.orders: data in the archive"), "skipped");
  });

  test("the validator refuses what reporters refuse", () => {
    const ok = `<?xml version="1.0" encoding="UTF-8"?>\n<testsuites tests="1" failures="0"><testsuite name="s" tests="1" failures="0" errors="0" skipped="0" time="0.000" timestamp="2026-11-28T12:00:00" hostname="h"><testcase classname="c" name="n" time="0.000"/></testsuite></testsuites>\n`;
    assert.equal(validateJUnit(ok).length, 1);
    for (const broken of [
      ok.replace(
        '<testcase classname="c" name="n" time="0.000"/>',
        '<testcase classname="c" name="n" time="0.000">',
      ),
      ok.replace('tests="1" failures="0" errors', 'tests="2" failures="0" errors'),
      ok.replace('name="n"', 'name="a < b"'),
      ok.replace('time="0.000"/>', 'time="0.000"><failure message="x" type="t"/><skipped/></testcase>'),
      ok.replace('timestamp="2026-11-28T12:00:00"', 'timestamp="yesterday"'),
      ok.replace('name="n"', 'name="\u0001"'),
    ]) {
      assert.throws(() => validateJUnit(broken));
    }
  });
});
