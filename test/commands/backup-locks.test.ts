/**
 * Backup takes no lock beside pg_dump's: with a lock table that holds pg_dump's locks on every
 * table but not twice that many, the backup still succeeds (a second transaction counting rows
 * would run out of shared memory for locks, where pg_dump alone does not).
 */
import assert from "node:assert/strict";
import { execFileSync } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, test } from "node:test";
import type { Manifest } from "../../src/domain/manifest.js";
import { runCli } from "../helpers/cli.js";
import { startCluster, type Cluster } from "../helpers/postgres-cluster.js";

// Lock table slots: max_locks_per_transaction x (max_connections + the server's other backends),
// about 10 x 42 here, plus shared-memory slack: measured, pg_dump alone fails between 450 and 600
// tables, and pg_dump beside a transaction counting every table fails at 400.
const TABLES = 400;

let cluster: Cluster;
let work: string;

before(async () => {
  cluster = await startCluster({ settings: ["-c max_locks_per_transaction=10", "-c max_connections=20"] });
  await cluster.createDatabase("many");
  await cluster.sql(
    "many",
    `DO $$ BEGIN FOR i IN 1..${TABLES} LOOP
       EXECUTE format('CREATE TABLE public.t%s (id int); INSERT INTO public.t%s VALUES (%s)', i, i, i);
     END LOOP; END $$`,
  );
  work = mkdtempSync(join(tmpdir(), "lifeboat-locks-"));
});

after(async () => {
  await cluster?.stop();
  if (work) rmSync(work, { recursive: true, force: true });
});

test(`${TABLES} tables back up where the lock table holds pg_dump's locks but not twice as many`, async () => {
  const identity = join(work, "key.txt");
  execFileSync("age-keygen", ["-o", identity], { stdio: "pipe" });
  const recipient = execFileSync("age-keygen", ["-y", identity], { encoding: "utf8" }).trim();
  const storage = join(work, "store");
  const run = await runCli(["backup", "--storage", storage, "--recipient", recipient, "--json"], {
    env: { PATH: process.env.PATH, DATABASE_URL: cluster.url("many") },
  });
  assert.equal(run.code, 0, run.stderr);
  const manifest = JSON.parse(
    readFileSync(join(storage, "default", run.json.backupId as string, "manifest.json"), "utf8"),
  ) as Manifest;
  assert.equal(manifest.tables.length, TABLES);
  assert.equal(manifest.totalRows, TABLES);
});
