/**
 * restore's swap interrupted while it waits for a session on the target to leave: the target has
 * been closed to new connections (ALLOW_CONNECTIONS false) for the swap. The runner's cancel is a
 * SIGINT, then a SIGTERM that exits the process on the spot; the first one must end the wait at
 * once and let connections in again, or the second leaves the user's database refusing everyone.
 *
 * pg_restore is slowed by the data itself (a CHECK constraint that sleeps in any database whose
 * name starts like a scratch one; the target is named so that the new database beside it does),
 * long enough for a session to connect to the target after restore's own check for sessions.
 */
import assert from "node:assert/strict";
import { execFileSync } from "node:child_process";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, test } from "node:test";
import pg from "pg";
import { runCli } from "../helpers/cli.js";
import { startCluster, type Cluster } from "../helpers/postgres-cluster.js";
import { alive, startCli, waitFor } from "./cli-process.js";

let cluster: Cluster;
let work: string;
let storage: string;
let identityFile: string;

const SLOW_SQL = `
CREATE FUNCTION public.slow_in_scratch(int) RETURNS boolean LANGUAGE sql IMMUTABLE
  AS $$ SELECT pg_sleep(CASE WHEN current_database() LIKE 'lifeboat\\_rt\\_%' THEN 1 ELSE 0 END) IS NOT NULL $$;
CREATE TABLE public.slow (id int CHECK (public.slow_in_scratch(id)));
INSERT INTO public.slow SELECT generate_series(1, 3);
`;
const TARGET = "lifeboat_rt_swap_target";

before(async () => {
  cluster = await startCluster();
  await cluster.createDatabase("slow");
  await cluster.sql("slow", SLOW_SQL);
  work = mkdtempSync(join(tmpdir(), "lifeboat-hardening-swap-"));
  storage = join(work, "store");
  identityFile = join(work, "key.txt");
  execFileSync("age-keygen", ["-o", identityFile], { stdio: "pipe" });
  const recipient = execFileSync("age-keygen", ["-y", identityFile], { encoding: "utf8" }).trim();
  const made = await runCli(["backup", "--storage", storage, "--label", "slow", "--recipient", recipient], {
    env: { PATH: process.env.PATH, DATABASE_URL: cluster.url("slow") },
  });
  assert.equal(made.code, 0, made.stderr);
  await cluster.createDatabase(TARGET);
  await cluster.sql(
    TARGET,
    "CREATE TABLE public.marker (note text); INSERT INTO public.marker VALUES ('before')",
  );
});

after(async () => {
  await cluster?.stop();
  if (work) rmSync(work, { recursive: true, force: true });
});

async function allowsConnections(): Promise<boolean> {
  const rows = await cluster.sql<{ allow: boolean }>(
    "postgres",
    "SELECT datallowconn AS allow FROM pg_database WHERE datname = $1",
    [TARGET],
  );
  return rows[0]!.allow;
}

test("SIGINT then SIGTERM while the swap waits for a session: the target accepts connections again and is untouched", async () => {
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
      cluster.url(TARGET),
      "--confirm",
      TARGET,
      "--safety-backup",
      "false",
    ],
    { PATH: process.env.PATH },
  );
  await waitFor(
    "pg_restore",
    async () => {
      const rows = await cluster.sql<{ n: number }>(
        "postgres",
        "SELECT count(*)::int AS n FROM pg_stat_activity WHERE application_name = 'lifeboat pg_restore'",
      );
      return rows[0]!.n > 0;
    },
    60_000,
    () => cli.output().stderr,
  );
  // The application connects again while the restore runs.
  const app = new pg.Client({ connectionString: cluster.url(TARGET), application_name: "the-app" });
  await app.connect();
  app.on("error", () => undefined);
  try {
    await waitFor(
      "the swap to close the target",
      async () => !(await allowsConnections()),
      60_000,
      () => cli.output().stderr,
    );
    process.kill(cli.pid, "SIGINT");
    await new Promise((resolve) => setTimeout(resolve, 1000));
    if (alive(cli.pid)) process.kill(cli.pid, "SIGTERM");
    const exit = await cli.exited;
    assert.equal(exit.code, 130, exit.stderr);
    assert.equal(await allowsConnections(), true, "the target accepts connections");
    const rows = await cluster.sql<{ note: string }>(TARGET, "SELECT note FROM public.marker");
    assert.deepEqual(rows, [{ note: "before" }]);
    const left = await cluster.sql<{ datname: string }>(
      "postgres",
      "SELECT datname FROM pg_database WHERE datname LIKE $1",
      [`${TARGET}\\_lifeboat\\_%`],
    );
    assert.deepEqual(left, []);
  } finally {
    await app.end().catch(() => undefined);
  }
});
