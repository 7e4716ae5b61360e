/**
 * restore-test whose scratch server goes away mid-restore (a crash, a restart): the test failed,
 * exit 1 with pg_restore's error and a warning naming the scratch database it could not drop; not
 * exit 2 "cannot connect" as if the URL were wrong, which also hid the leftover.
 *
 * pg_restore is held mid-restore by the data itself, as in restore-test-signals.test.ts.
 */
import assert from "node:assert/strict";
import { execFileSync } from "node:child_process";
import { existsSync, mkdirSync, mkdtempSync, readdirSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, test } from "node:test";
import { runCli } from "../helpers/cli.js";
import { startCluster, type Cluster } from "../helpers/postgres-cluster.js";
import { startCli, waitFor } from "./cli-process.js";

let source: Cluster;
let scratch: Cluster;
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
  [source, scratch] = await Promise.all([startCluster(), startCluster()]);
  await source.createDatabase("slow");
  await source.sql("slow", SLOW_SQL);
  work = mkdtempSync(join(tmpdir(), "lifeboat-hardening-lost-"));
  storage = join(work, "store");
  temp = join(work, "tmp");
  mkdirSync(temp);
  identityFile = join(work, "key.txt");
  execFileSync("age-keygen", ["-o", identityFile], { stdio: "pipe" });
  const recipient = execFileSync("age-keygen", ["-y", identityFile], { encoding: "utf8" }).trim();
  const run = await runCli(["backup", "--storage", storage, "--label", "slow", "--recipient", recipient], {
    env: { PATH: process.env.PATH, DATABASE_URL: source.url("slow") },
  });
  assert.equal(run.code, 0, run.stderr);
});

after(async () => {
  await Promise.all([source?.stop(), scratch?.stop()]);
  if (work) rmSync(work, { recursive: true, force: true });
});

test("the scratch server stopped mid-restore: exit 1 with pg_restore's error, the leftover named, a failed record", async () => {
  const cli = startCli(
    [
      "restore-test",
      "--storage",
      storage,
      "--label",
      "slow",
      "--identity-file",
      identityFile,
      "--scratch-database-url",
      scratch.url("postgres"),
    ],
    { PATH: process.env.PATH, TMPDIR: temp },
  );
  const database = await waitFor(
    "pg_restore mid-restore",
    async () => {
      const rows = await scratch.sql<{ datname: string }>(
        "postgres",
        "SELECT datname FROM pg_stat_activity WHERE application_name = 'lifeboat pg_restore' AND wait_event = 'PgSleep'",
      );
      return rows[0]?.datname;
    },
    90_000,
    () => cli.output().stderr,
  );
  await scratch.stop();
  const exit = await cli.exited;
  assert.equal(exit.code, 1, exit.stderr);
  assert.match(
    exit.stderr,
    /^lifeboat: error: restore-test of \S+ failed: the scratch server stopped answering after pg_restore \(--scratch-database-url: .*\); pg_restore: /m,
  );
  assert.match(exit.stderr, new RegExp(`^warning: dropping the scratch database ${database} failed: `, "m"));
  assert.deepEqual(
    readdirSync(temp).filter((name) => name.startsWith("lifeboat-")),
    [],
  );
  const folder = readdirSync(join(storage, "slow"))[0]!;
  const checks = join(storage, "slow", folder, "checks");
  assert.ok(existsSync(checks));
  assert.match(readdirSync(checks).join(" "), /-restore-test-fail\.json$/);
});
