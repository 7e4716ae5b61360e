/**
 * Issue 12, signals and leftovers, with the CLI as a real process: restore-test stopped by SIGTERM
 * or SIGINT while pg_restore runs (and while the --run command runs) stops its children, removes
 * the decrypted archive, drops the scratch database, records nothing and exits 143/130; what a run
 * killed outright leaves (scratch database, decrypted file) is swept by a later run once old,
 * never while young, kept or of unknown age.
 *
 * pg_restore is held mid-restore by the data itself: the table's CHECK constraint sleeps in any
 * database named like a scratch one, so COPY waits in pg_sleep, visible in pg_stat_activity.
 */
import assert from "node:assert/strict";
import { execFileSync } from "node:child_process";
import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, utimesSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, describe, test } from "node:test";
import { runCli } from "../helpers/cli.js";
import { createShop } from "../helpers/fixtures.js";
import { startCluster, type Cluster } from "../helpers/postgres-cluster.js";
import { alive, startCli, waitFor } from "./cli-process.js";

let source: Cluster;
let scratch: Cluster;
let work: string;
let storage: string;
let temp: string;
let identityFile: string;
let recipient: string;
const savedTmp = process.env.TMPDIR;

const SLOW_SQL = `
CREATE FUNCTION public.slow_in_scratch(int) RETURNS boolean LANGUAGE sql IMMUTABLE
  AS $$ SELECT pg_sleep(CASE WHEN current_database() LIKE 'lifeboat\\_rt\\_%' THEN 30 ELSE 0 END) IS NOT NULL $$;
CREATE TABLE public.slow (id int CHECK (public.slow_in_scratch(id)));
INSERT INTO public.slow SELECT generate_series(1, 3);
`;

before(async () => {
  [source, scratch] = await Promise.all([startCluster(), startCluster()]);
  await createShop(source, "shop");
  await source.createDatabase("slow");
  await source.sql("slow", SLOW_SQL);
  work = mkdtempSync(join(tmpdir(), "lifeboat-hardening-"));
  storage = join(work, "store");
  // A temp dir of our own: what the runs leave there is theirs alone, and no other test's run is swept.
  temp = join(work, "tmp");
  mkdirSync(temp);
  process.env.TMPDIR = temp;
  identityFile = join(work, "key.txt");
  execFileSync("age-keygen", ["-o", identityFile], { stdio: "pipe" });
  recipient = execFileSync("age-keygen", ["-y", identityFile], { encoding: "utf8" }).trim();
  for (const [label, database] of [
    ["slow", "slow"],
    ["shop", "shop"],
  ]) {
    const run = await runCli(
      ["backup", "--storage", storage, "--label", label!, "--recipient", recipient, "--json"],
      { env: { PATH: process.env.PATH, DATABASE_URL: source.url(database) } },
    );
    assert.equal(run.code, 0, run.stderr);
  }
});

after(async () => {
  process.env.TMPDIR = savedTmp;
  if (savedTmp === undefined) delete process.env.TMPDIR;
  await Promise.all([source?.stop(), scratch?.stop()]);
  if (work) rmSync(work, { recursive: true, force: true });
});

const cliEnv = (): NodeJS.ProcessEnv => ({ PATH: process.env.PATH, TMPDIR: temp });

function restoreTestArgs(label: string, extra: string[] = []): string[] {
  return [
    "restore-test",
    "--storage",
    storage,
    "--label",
    label,
    "--identity-file",
    identityFile,
    "--scratch-database-url",
    scratch.url("postgres"),
    ...extra,
  ];
}

async function scratchDatabases(): Promise<string[]> {
  const rows = await scratch.sql<{ datname: string }>(
    "postgres",
    "SELECT datname FROM pg_database WHERE datname LIKE 'lifeboat\\_rt\\_%' ORDER BY 1",
  );
  return rows.map((row) => row.datname);
}

async function restoreSessions(): Promise<number> {
  const rows = await scratch.sql<{ n: number }>(
    "postgres",
    "SELECT count(*)::int AS n FROM pg_stat_activity WHERE application_name = 'lifeboat pg_restore'",
  );
  return rows[0]!.n;
}

/** pg_restore is inside COPY, held by the CHECK constraint's pg_sleep. */
async function midRestore(): Promise<boolean> {
  const rows = await scratch.sql<{ n: number }>(
    "postgres",
    "SELECT count(*)::int AS n FROM pg_stat_activity WHERE application_name = 'lifeboat pg_restore' AND wait_event = 'PgSleep'",
  );
  return rows[0]!.n > 0;
}

function workDirs(pid: number): string[] {
  return readdirSync(temp).filter((name) => name.startsWith(`lifeboat-restore-${pid}-`));
}

function checkRecords(label: string): string[] {
  const labelDir = join(storage, label);
  return readdirSync(labelDir).flatMap((folder) => {
    const checks = join(labelDir, folder, "checks");
    return existsSync(checks) ? readdirSync(checks) : [];
  });
}

describe("restore-test stopped by a signal", () => {
  for (const [signal, code] of [
    ["SIGTERM", 143],
    ["SIGINT", 130],
  ] as const) {
    test(`${signal} mid-restore stops pg_restore, removes the decrypted archive, drops the scratch database, records nothing, exits ${code}`, async () => {
      const recordsBefore = checkRecords("slow");
      const cli = startCli(restoreTestArgs("slow"), cliEnv());
      await waitFor("pg_restore mid-restore", midRestore, 90_000, () => cli.output().stderr);
      // The decrypted archive is on disk while pg_restore reads it.
      const [dir] = workDirs(cli.pid);
      assert.ok(dir, "a working directory while restoring");
      assert.ok(readdirSync(join(temp, dir)).includes("dump.pgdump"));
      const signalledAt = Date.now();
      process.kill(cli.pid, signal);
      const exit = await cli.exited;
      assert.equal(exit.code, code, exit.stderr);
      // Long before the three 30-second sleeps pg_restore was in would have ended.
      assert.ok(Date.now() - signalledAt < 25_000, `took ${Date.now() - signalledAt} ms`);
      assert.match(exit.stderr, new RegExp(`^lifeboat: error: received ${signal}$`, "m"));
      assert.deepEqual(workDirs(cli.pid), []);
      assert.deepEqual(await scratchDatabases(), []);
      assert.equal(await restoreSessions(), 0);
      assert.deepEqual(checkRecords("slow"), recordsBefore, "no check record");
    });
  }

  test("SIGTERM while the --run command runs stops it and what it started", async () => {
    const pidFile = join(work, "run-pid.txt");
    const cli = startCli(
      restoreTestArgs("shop", [
        "--run",
        `sh -c 'echo $$ > ${pidFile}; exec sleep 300'`,
        "--tolerate",
        "does not exist",
      ]),
      cliEnv(),
    );
    const commandPid = await waitFor(
      "the run command",
      () => {
        const text = existsSync(pidFile) ? readFileSync(pidFile, "utf8").trim() : "";
        return text ? Number(text) : undefined;
      },
      90_000,
      () => cli.output().stderr,
    );
    assert.ok(alive(commandPid));
    process.kill(cli.pid, "SIGTERM");
    const exit = await cli.exited;
    assert.equal(exit.code, 143, exit.stderr);
    await waitFor("the run command to be gone", () => !alive(commandPid), 10_000);
    assert.deepEqual(await scratchDatabases(), []);
    assert.deepEqual(workDirs(cli.pid), []);
    assert.deepEqual(checkRecords("shop"), []);
  });
});

describe("restore stopped by a signal", () => {
  test("SIGTERM while pg_restore runs stops it and exits 143", async () => {
    // The CHECK constraint sleeps in any database named like a scratch one: this target is.
    await scratch.createDatabase("lifeboat_rt_target");
    const cli = startCli(
      [
        "restore",
        "--storage",
        storage,
        "--label",
        "slow",
        "--identity-file",
        identityFile,
        "--target-database-url",
        scratch.url("lifeboat_rt_target"),
        "--confirm",
        "lifeboat_rt_target",
        "--safety-backup",
        "false",
      ],
      cliEnv(),
    );
    await waitFor("pg_restore mid-restore", midRestore, 90_000, () => cli.output().stderr);
    process.kill(cli.pid, "SIGTERM");
    const exit = await cli.exited;
    assert.equal(exit.code, 143, exit.stderr);
    assert.match(exit.stderr, /^lifeboat: error: received SIGTERM$/m);
    await waitFor("pg_restore's session to end", async () => (await restoreSessions()) === 0, 10_000);
    await scratch.sql("postgres", "DROP DATABASE lifeboat_rt_target WITH (FORCE)");
  });
});

describe("leftovers of a restore-test killed outright", () => {
  test("are swept by a later run once older than 24 hours, never while young, kept, or of unknown age", async () => {
    const cli = startCli(restoreTestArgs("slow"), cliEnv());
    await waitFor("pg_restore mid-restore", midRestore, 90_000, () => cli.output().stderr);
    // A lost machine: the CLI and pg_restore gone at once, no cleanup of any kind.
    process.kill(-cli.pid, "SIGKILL");
    await cli.exited;
    const [left] = await scratchDatabases();
    assert.ok(left, "the killed run left its scratch database");
    const [dir] = workDirs(cli.pid);
    assert.ok(dir, "and its decrypted archive");
    // The server notices a vanished client only when it next talks to it: end the session.
    await scratch.sql(
      "postgres",
      "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname LIKE 'lifeboat\\_rt\\_%'",
    );
    await waitFor("the sessions to end", async () => (await restoreSessions()) === 0, 10_000);

    // Young: left alone.
    const young = await runCli([...restoreTestArgs("shop", ["--tolerate", "does not exist"]), "--json"], {
      env: cliEnv(),
    });
    assert.equal(young.code, 0, young.stderr);
    assert.deepEqual(await scratchDatabases(), [left]);
    assert.deepEqual(workDirs(cli.pid), [dir]);

    // 25 hours old, as the name and the files say.
    const created = /^lifeboat_rt_(\d{8}t\d{6})_/.exec(left)![1]!;
    const old = stamp(new Date(parseStamp(created).getTime() - 25 * 3_600_000));
    const aged = left.replace(created, old);
    await scratch.sql("postgres", `ALTER DATABASE ${left} RENAME TO ${aged}`);
    const past = new Date(Date.now() - 25 * 3_600_000);
    for (const entry of readdirSync(join(temp, dir))) utimesSync(join(temp, dir, entry), past, past);
    utimesSync(join(temp, dir), past, past);
    // Just as old, but kept on purpose (keep-on-failure), or named without a creation time.
    const kept = `lifeboat_rt_${old}_20200101t000000_aaaaaa`;
    const legacy = "lifeboat_rt_20200101t000000_bbbbbb";
    await scratch.sql("postgres", `CREATE DATABASE ${kept}`);
    await scratch.sql(
      "postgres",
      `COMMENT ON DATABASE ${kept} IS 'lifeboat: kept for inspection (keep-on-failure)'`,
    );
    await scratch.sql("postgres", `CREATE DATABASE ${legacy}`);

    const later = await runCli([...restoreTestArgs("shop", ["--tolerate", "does not exist"]), "--json"], {
      env: cliEnv(),
    });
    assert.equal(later.code, 0, later.stderr);
    assert.match(later.stderr, new RegExp(`Dropped scratch databases left by killed runs: ${aged}`));
    assert.deepEqual(await scratchDatabases(), [legacy, kept].sort());
    assert.deepEqual(workDirs(cli.pid), []);
    await scratch.sql("postgres", `DROP DATABASE ${kept}`);
    await scratch.sql("postgres", `DROP DATABASE ${legacy}`);
  });
});

function stamp(date: Date): string {
  return date
    .toISOString()
    .replace(/[-:]/g, "")
    .replace(/\.\d{3}Z$/, "")
    .toLowerCase();
}

function parseStamp(text: string): Date {
  const m = /^(\d{4})(\d{2})(\d{2})t(\d{2})(\d{2})(\d{2})$/.exec(text)!;
  return new Date(`${m[1]}-${m[2]}-${m[3]}T${m[4]}:${m[5]}:${m[6]}Z`);
}
