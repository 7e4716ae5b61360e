/**
 * Bad input: a one-line error that names the input, exit 2, and nothing written.
 */
import assert from "node:assert/strict";
import { chmodSync, existsSync, mkdirSync, mkdtempSync, readdirSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, describe, test } from "node:test";
import { runCli } from "../helpers/cli.js";
import { freePort, startCluster, type Cluster } from "../helpers/postgres-cluster.js";

const RECIPIENT = "age1ql3z7hjy54pw3hyww5ayyfg7zqgvc7w3j2elw8zmrj2kg5sfn9aqmcac8p";
let cluster: Cluster;
let work: string;

before(async () => {
  cluster = await startCluster();
  await cluster.createDatabase("app");
  await cluster.sql("app", "CREATE TABLE t AS SELECT generate_series(1, 10) AS id");
  work = mkdtempSync(join(tmpdir(), "lifeboat-bad-"));
});

after(async () => {
  await cluster?.stop();
  if (work) rmSync(work, { recursive: true, force: true });
});

async function expectBadInput(
  argv: string[],
  options: { input: RegExp; databaseUrl?: string; storage?: string },
): Promise<string> {
  const storage = options.storage ?? join(work, `store-${Math.random().toString(36).slice(2)}`);
  const run = await runCli(["backup", "--storage", storage, ...argv], {
    env: { PATH: process.env.PATH, DATABASE_URL: options.databaseUrl ?? cluster.url("app") },
  });
  assert.equal(run.code, 2, `expected exit 2, got ${run.code}: ${run.stderr}`);
  const lines = run.stderr.trim().split("\n");
  assert.equal(lines.length, 1, `expected one line, got:\n${run.stderr}`);
  assert.match(lines[0]!, /^lifeboat: error: /);
  assert.match(lines[0]!, options.input);
  assert.ok(!run.stderr.includes(cluster.password), "the password must not be printed");
  const written = existsSync(storage) ? readdirSync(storage, { recursive: true }) : [];
  assert.deepEqual(written, [], "nothing may be written");
  return lines[0]!;
}

describe("backup refuses bad input with exit 2", () => {
  test("wrong password", async () => {
    const line = await expectBadInput(["--recipient", RECIPIENT], {
      input: /--database-url: authentication failed for user "postgres"/,
      databaseUrl: cluster.url("app", { password: "wrong-password" }),
    });
    assert.ok(!line.includes("wrong-password"));
  });

  test("unreachable host", async () => {
    const port = await freePort();
    await expectBadInput(["--recipient", RECIPIENT], {
      input: /--database-url: nothing accepts connections at 127\.0\.0\.1:\d+/,
      databaseUrl: `postgresql://postgres:pw@127.0.0.1:${port}/app`,
    });
  });

  test("missing database", async () => {
    await expectBadInput(["--recipient", RECIPIENT], {
      input: /--database-url: database "nope" does not exist/,
      databaseUrl: cluster.url("nope"),
    });
  });

  test("malformed database URL", async () => {
    await expectBadInput(["--recipient", RECIPIENT], {
      input: /--database-url: /,
      databaseUrl: "mysql://x@y/z",
    });
  });

  test("malformed storage URL", async () => {
    await expectBadInput(["--recipient", RECIPIENT], {
      input: /--storage "gs:\/\/bucket"/,
      storage: "gs://bucket",
    });
  });

  test("malformed recipient", async () => {
    await expectBadInput(["--recipient", "age1notakey"], { input: /recipient/ });
  });

  test("no recipient, no passphrase, no opt-out", async () => {
    await expectBadInput([], { input: /--recipient: required/ });
  });

  test("an unknown option, with a suggestion", async () => {
    await expectBadInput(["--recipent", RECIPIENT], {
      input: /unknown option --recipent \(did you mean --recipient\?\)/,
    });
  });

  test("a pg_dump too old for the server", async () => {
    const oldBin = join(work, "old-bin");
    mkdirSync(oldBin, { recursive: true });
    writeFileSync(join(oldBin, "pg_dump"), "#!/bin/sh\necho 'pg_dump (PostgreSQL) 12.9'\n");
    chmodSync(join(oldBin, "pg_dump"), 0o755);
    await expectBadInput(["--recipient", RECIPIENT, "--pg-bin-dir", oldBin], {
      input: /--pg-bin-dir ".*": pg_dump 12\.9 cannot dump PostgreSQL (\d+)\.\d+.*postgresql-client-\1\b/,
    });
  });

  test("refused pg_dump arguments and clashing scope", async () => {
    await expectBadInput(["--recipient", RECIPIENT, "--pg-dump-args=--file=/tmp/x"], {
      input: /--pg-dump-args: "--file=\/tmp\/x" is not allowed \(--file: the output goes to the store/,
    });
    await expectBadInput(["--recipient", RECIPIENT, "--schema-only", "--data-only"], {
      input: /--schema-only and --data-only/,
    });
    await expectBadInput(["--recipient", RECIPIENT, "--compression", "gzip:11"], {
      input: /--compression "gzip:11": gzip levels go from 1 to 9/,
    });
    await expectBadInput(["--recipient", RECIPIENT, "--label", "../etc"], { input: /--label/ });
  });

  // issue 12: this spun at half a core in a recursive mkdir, with a transaction open on the source.
  test("a storage path where no directory can be made fails at once, before the dump", async () => {
    const started = performance.now();
    await expectBadInput(["--recipient", RECIPIENT], {
      input: /--storage "file:\/\/\/proc\/lifeboat-nowhere\/backups": cannot use the directory/,
      storage: "/proc/lifeboat-nowhere/backups",
    });
    assert.ok(performance.now() - started < 10_000, "fails fast");
  });
});
