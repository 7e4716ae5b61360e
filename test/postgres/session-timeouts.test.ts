/**
 * A role whose statement_timeout and idle_in_transaction_session_timeout would cancel a dump:
 * count(*) of a big table outlasts the first, and the snapshot holder waits idle in its
 * transaction longer than the second while a slow pg_dump starts. Lifeboat's sessions turn them
 * off (pg_dump turns them off in its own session), so the backup succeeds.
 */
import assert from "node:assert/strict";
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, test } from "node:test";
import type { Manifest } from "../../src/domain/manifest.js";
import { runCli } from "../helpers/cli.js";
import { startCluster, type Cluster } from "../helpers/postgres-cluster.js";
import { fakePgDump } from "../helpers/stock-tools.js";

const ROWS = 3_000_000;
let cluster: Cluster;
let work: string;

before(async () => {
  // One process per query: count(*) takes as long as a plain scan does.
  cluster = await startCluster({ settings: ["-c max_parallel_workers_per_gather=0"] });
  work = mkdtempSync(join(tmpdir(), "lifeboat-timeouts-"));
  await cluster.sql(
    "postgres",
    `CREATE TABLE public.big (id int NOT NULL);
     INSERT INTO public.big SELECT generate_series(1, ${ROWS});
     CREATE ROLE timid LOGIN PASSWORD 'timid-pw';
     GRANT pg_read_all_data TO timid;
     ALTER ROLE timid SET statement_timeout = '100ms';
     ALTER ROLE timid SET idle_in_transaction_session_timeout = '500ms'`,
  );
  await cluster.sql("postgres", "VACUUM ANALYZE public.big");
});

after(async () => {
  await cluster?.stop();
  if (work) rmSync(work, { recursive: true, force: true });
});

test("the role's timeouts would bite: count(*) of the table outlasts its statement_timeout", async () => {
  await assert.rejects(
    cluster.sql(
      "postgres",
      "SET ROLE timid; SET statement_timeout = '100ms'; SELECT count(*) FROM public.big",
    ),
    /canceling statement due to statement timeout/,
  );
});

test("a backup as that role succeeds: every session Lifeboat opens turns the timeouts off", async () => {
  const realPgDump = join(cluster.binDir, "pg_dump");
  // pg_dump starts 1.5 s late: the snapshot holder sits idle in its transaction meanwhile.
  const slowBin = fakePgDump(join(work, "slow-bin"), realPgDump, 'sleep 1.5\nexec "$REAL" "$@"');
  const storage = join(work, "store");
  const run = await runCli(
    [
      "backup",
      "--storage",
      storage,
      "--label",
      "big",
      "--no-encryption",
      "--pg-bin-dir",
      slowBin,
      "--json",
      "--database-url",
      cluster.url("postgres", { user: "timid", password: "timid-pw" }),
    ],
    { env: { PATH: process.env.PATH } },
  );
  assert.equal(run.code, 0, run.stderr);
  const manifest = JSON.parse(readFileSync(join(storage, String(run.json.manifestKey)), "utf8")) as Manifest;
  assert.deepEqual(
    manifest.tables.map((table) => [table.schema, table.table, table.rows]),
    [["public", "big", ROWS]],
  );
});
