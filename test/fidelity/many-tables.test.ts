/**
 * Fidelity at scale, at PostgreSQL's default max_locks_per_transaction (64): 5,000 tables (each
 * with a primary key, every tenth with an identity sequence, each granted to a role the scratch
 * server lacks) back up (no lock-taking transaction beside pg_dump's) and restore-test with zero
 * catalog losses; one grant of the 5,000 lost is named. LIFEBOAT_FIDELITY_TABLES=10000 measures a
 * larger run; the times and the manifest's size go to the test's diagnostics.
 */
import assert from "node:assert/strict";
import { statSync } from "node:fs";
import { join } from "node:path";
import { after, before, test } from "node:test";
import { startCluster, type Cluster } from "../helpers/postgres-cluster.js";
import { addManyTables, createRoles } from "../helpers/real-schemas.js";
import {
  assertFailed,
  assertFaithful,
  backup,
  loseFromBackup,
  makeStore,
  restoreTest,
  withoutStatement,
  type Backup,
  type Store,
} from "./fidelity-helpers.js";

const TABLES = Number(process.env.LIFEBOAT_FIDELITY_TABLES ?? 5000);

let source: Cluster;
let scratch: Cluster;
let store: Store;
let made: Backup;

before(async () => {
  // Default lock settings on both: max_locks_per_transaction 64, max_connections 100.
  [source, scratch] = await Promise.all([startCluster(), startCluster()]);
  await createRoles(source, ["reporting"]);
  await source.createDatabase("many");
  await addManyTables(source, "many", TABLES, { grantTo: "reporting" });
  await source.sql("many", "INSERT INTO bulk.t_00010 (v) VALUES ('a'), ('b'), ('c')");
  store = makeStore("many");
});

after(async () => {
  await Promise.all([source?.stop(), scratch?.stop()]);
  store?.cleanup();
});

test(`${TABLES} tables at the default lock settings: backed up, restore-tested with zero catalog losses, a lost grant named`, async (t) => {
  const locks = await source.sql<{ setting: string }>(
    "postgres",
    "SELECT setting FROM pg_settings WHERE name = 'max_locks_per_transaction'",
  );
  assert.equal(locks[0]!.setting, "64");
  made = await backup(store, source.url("many"), "many");
  assert.equal(made.manifest.tables.length, TABLES);
  assert.equal(made.manifest.totalRows, 3);
  const manifestBytes = statSync(join(made.folder, "manifest.json")).size;
  const catalogBytes = JSON.stringify(made.manifest.catalog).length;

  const started = performance.now();
  const run = await restoreTest(store, "many", scratch.url("postgres"));
  const restoreSeconds = (performance.now() - started) / 1000;
  const catalog = assertFaithful(run);
  assert.deepEqual(catalog.rolesCreated, ["reporting"]);
  t.diagnostic(
    `${TABLES} tables: backup ${made.seconds.toFixed(1)} s, restore-test ${restoreSeconds.toFixed(1)} s (pg_restore ${String(run.json.restoreSeconds)} s), manifest ${manifestBytes} bytes (catalog fingerprint ${catalogBytes})`,
  );

  const grant = "GRANT SELECT ON TABLE bulk.t_04321 TO reporting;";
  loseFromBackup(store, made, "many-lost", grant, withoutStatement(grant));
  const failures = assertFailed(await restoreTest(store, "many-lost", scratch.url("postgres")));
  assert.deepEqual(failures, ["catalog: table bulk.t_04321: grant reporting=r missing"]);
});
