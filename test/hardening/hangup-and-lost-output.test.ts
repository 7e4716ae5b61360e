/**
 * A closed terminal and a reader that went away, with the CLI as a real process: SIGHUP mid-restore
 * cleans up like SIGTERM (no decrypted archive, no scratch database, no pg_restore left running)
 * and exits 129; a run whose stderr and stdout pipes are closed under it (`lifeboat ... | head`)
 * goes on to its end instead of dying of EPIPE with its scratch database left behind.
 *
 * pg_restore is held mid-restore by the data itself, as in restore-test-signals.test.ts: the
 * table's CHECK constraint sleeps in any database named like a scratch one.
 */
import assert from "node:assert/strict";
import { execFileSync } from "node:child_process";
import { existsSync, mkdirSync, mkdtempSync, readdirSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, describe, test } from "node:test";
import { runCli } from "../helpers/cli.js";
import { createShop } from "../helpers/fixtures.js";
import { startCluster, type Cluster } from "../helpers/postgres-cluster.js";
import { startCli, waitFor } from "./cli-process.js";

let cluster: Cluster;
let work: string;
let storage: string;
let temp: string;
let identityFile: string;

const SLOW_SQL = `
CREATE FUNCTION public.slow_in_scratch(int) RETURNS boolean LANGUAGE sql IMMUTABLE
  AS $$ SELECT pg_sleep(CASE WHEN current_database() LIKE 'lifeboat\\_rt\\_%' THEN 30 ELSE 0 END) IS NOT NULL $$;
CREATE TABLE public.slow (id int CHECK (public.slow_in_scratch(id)));
INSERT INTO public.slow SELECT generate_series(1, 3);
`;

before(async () => {
  cluster = await startCluster();
  await createShop(cluster, "shop");
  await cluster.createDatabase("slow");
  await cluster.sql("slow", SLOW_SQL);
  work = mkdtempSync(join(tmpdir(), "lifeboat-hardening-hangup-"));
  storage = join(work, "store");
  temp = join(work, "tmp");
  mkdirSync(temp);
  identityFile = join(work, "key.txt");
  execFileSync("age-keygen", ["-o", identityFile], { stdio: "pipe" });
  const recipient = execFileSync("age-keygen", ["-y", identityFile], { encoding: "utf8" }).trim();
  for (const label of ["slow", "shop"]) {
    const run = await runCli(["backup", "--storage", storage, "--label", label, "--recipient", recipient], {
      env: { PATH: process.env.PATH, DATABASE_URL: cluster.url(label) },
    });
    assert.equal(run.code, 0, run.stderr);
  }
});

after(async () => {
  await cluster?.stop();
  if (work) rmSync(work, { recursive: true, force: true });
});

const cliEnv = (): NodeJS.ProcessEnv => ({ PATH: process.env.PATH, TMPDIR: temp });

function restoreTestArgs(label: string): string[] {
  return [
    "restore-test",
    "--storage",
    storage,
    "--label",
    label,
    "--identity-file",
    identityFile,
    "--scratch-database-url",
    cluster.url("postgres"),
  ];
}

async function scratchDatabases(): Promise<string[]> {
  const rows = await cluster.sql<{ datname: string }>(
    "postgres",
    "SELECT datname FROM pg_database WHERE datname LIKE 'lifeboat\\_rt\\_%' ORDER BY 1",
  );
  return rows.map((row) => row.datname);
}

async function restoreSessions(): Promise<number> {
  const rows = await cluster.sql<{ n: number }>(
    "postgres",
    "SELECT count(*)::int AS n FROM pg_stat_activity WHERE application_name = 'lifeboat pg_restore'",
  );
  return rows[0]!.n;
}

function checkRecords(label: string): string[] {
  const labelDir = join(storage, label);
  return readdirSync(labelDir).flatMap((folder) => {
    const checks = join(labelDir, folder, "checks");
    return existsSync(checks) ? readdirSync(checks) : [];
  });
}

describe("restore-test whose terminal or reader goes away", () => {
  test("SIGHUP mid-restore stops pg_restore, removes the decrypted archive, drops the scratch database, exits 129", async () => {
    const cli = startCli(restoreTestArgs("slow"), cliEnv());
    await waitFor(
      "pg_restore mid-restore",
      async () => {
        const rows = await cluster.sql<{ n: number }>(
          "postgres",
          "SELECT count(*)::int AS n FROM pg_stat_activity WHERE application_name = 'lifeboat pg_restore' AND wait_event = 'PgSleep'",
        );
        return rows[0]!.n > 0;
      },
      90_000,
      () => cli.output().stderr,
    );
    const workDirs = () =>
      readdirSync(temp).filter((name) => name.startsWith(`lifeboat-restore-${cli.pid}-`));
    assert.equal(workDirs().length, 1, "the decrypted archive's directory while restoring");
    process.kill(cli.pid, "SIGHUP");
    const exit = await cli.exited;
    assert.equal(exit.code, 129, exit.stderr);
    assert.match(exit.stderr, /^lifeboat: error: received SIGHUP$/m);
    assert.deepEqual(workDirs(), []);
    assert.deepEqual(await scratchDatabases(), []);
    await waitFor("pg_restore's sessions to end", async () => (await restoreSessions()) === 0, 10_000);
    assert.deepEqual(checkRecords("slow"), []);
  });

  test("with its stdout and stderr closed by the reader, runs to its end and leaves no scratch database", async () => {
    const recordsBefore = checkRecords("shop");
    const cli = startCli(restoreTestArgs("shop"), cliEnv());
    // The reader goes away before the first line is written: every write fails with EPIPE.
    cli.child.stdout!.destroy();
    cli.child.stderr!.destroy();
    const exit = await cli.exited;
    assert.equal(exit.code, 0);
    assert.deepEqual(await scratchDatabases(), []);
    assert.deepEqual(
      readdirSync(temp).filter((name) => name.startsWith("lifeboat-")),
      [],
    );
    const records = checkRecords("shop").filter((name) => !recordsBefore.includes(name));
    assert.equal(records.length, 1);
    assert.match(records[0]!, /-restore-test-pass\.json$/);
  });
});
