/**
 * The fingerprint at 5,000 and 10,000 tables: it holds no lock on any user table or sequence in
 * the snapshot's transaction (so pg_dump, which locks every table, still fits in the default lock
 * table beside it), it is deterministic, and its size and time are measured and bounded.
 */
import assert from "node:assert/strict";
import { spawn } from "node:child_process";
import { join } from "node:path";
import { after, before, test } from "node:test";
import { serializeFingerprint, takeCatalogFingerprint } from "../../src/postgres/catalog-fingerprint.js";
import { aclByObject } from "../../src/domain/catalog-diff.js";
import { startCluster, type Cluster } from "../helpers/postgres-cluster.js";
import { addManyTables, createRoles } from "../helpers/real-schemas.js";
import { FULL_SCOPE, withClient } from "./catalog-helpers.js";

let cluster: Cluster;

before(async () => {
  // Default lock settings: max_locks_per_transaction 64.
  cluster = await startCluster();
  await createRoles(cluster, ["reporting"]);
  await cluster.createDatabase("many");
  await addManyTables(cluster, "many", 5000, { grantTo: "reporting" });
  await cluster.sql("many", "INSERT INTO bulk.t_00010 (v) VALUES ('a'), ('b'), ('c')");
});

after(async () => {
  await cluster?.stop();
});

function pgDump(args: string[]): Promise<{ code: number | null; stderr: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn(join(cluster.binDir, "pg_dump"), args, { stdio: ["ignore", "ignore", "pipe"] });
    let stderr = "";
    child.stderr.on("data", (chunk: Buffer) => (stderr += chunk.toString()));
    child.on("error", reject);
    child.on("close", (code) => resolve({ code, stderr }));
  });
}

test("5,000 tables: no relation lock on user tables or sequences while the snapshot stays open, and pg_dump --snapshot succeeds beside it", async (t) => {
  await withClient(cluster.url("many"), async (client) => {
    const { rows: settings } = await client.query<{ value: string }>(
      "SELECT setting AS value FROM pg_settings WHERE name = 'max_locks_per_transaction'",
    );
    assert.equal(settings[0]!.value, "64");
    await client.query("BEGIN ISOLATION LEVEL REPEATABLE READ, READ ONLY");
    const { rows } = await client.query<{ id: string }>("SELECT pg_export_snapshot() AS id");
    const started = performance.now();
    const fingerprint = await withClient(cluster.url("many"), (sequenceReader) =>
      takeCatalogFingerprint(client, FULL_SCOPE, { sequenceReader }),
    );
    const ms = performance.now() - started;
    const bytes = Buffer.byteLength(serializeFingerprint(fingerprint));
    t.diagnostic(`5,000 tables: fingerprint in ${ms.toFixed(0)} ms, ${bytes} bytes of JSON`);
    assert.equal(fingerprint.tables.bulk!.length, 5000);
    assert.equal(Object.keys(fingerprint.sequences.bulk!).length, 500);
    assert.equal(fingerprint.sequences.bulk!.t_00010_id_seq, "3");
    assert.equal(
      [...aclByObject(fingerprint).keys()].filter((key) => key.startsWith("table bulk.")).length,
      5000,
    );

    const { rows: locks } = await client.query<{ relkind: string; n: string }>(
      `SELECT c.relkind, count(*)::text AS n
         FROM pg_locks l JOIN pg_class c ON c.oid = l.relation
        WHERE l.pid = pg_backend_pid() AND l.locktype = 'relation'
          AND c.relnamespace NOT IN ('pg_catalog'::regnamespace, 'information_schema'::regnamespace)
        GROUP BY c.relkind`,
    );
    assert.deepEqual(locks, [], `relation locks held by the snapshot's session: ${JSON.stringify(locks)}`);

    // pg_dump locks every table it dumps; with nothing of ours in the lock table, it fits.
    const dump = await pgDump([
      "--format=custom",
      `--snapshot=${rows[0]!.id}`,
      `--dbname=${cluster.url("many")}`,
    ]);
    assert.equal(dump.code, 0, dump.stderr);
    await client.query("ROLLBACK");
  });
});

test("5,000 tables: the fingerprint is deterministic (two takes serialize identically)", async () => {
  const first = await withClient(cluster.url("many"), (client) => takeCatalogFingerprint(client, FULL_SCOPE));
  const second = await withClient(cluster.url("many"), (client) =>
    takeCatalogFingerprint(client, FULL_SCOPE),
  );
  assert.equal(serializeFingerprint(first), serializeFingerprint(second));
});

test("10,000 tables: size and time stay small", async (t) => {
  await addManyTables(cluster, "many", 5000, { schema: "bulk2", grantTo: "reporting" });
  const started = performance.now();
  const fingerprint = await withClient(cluster.url("many"), (client) =>
    takeCatalogFingerprint(client, FULL_SCOPE),
  );
  const ms = performance.now() - started;
  const bytes = Buffer.byteLength(serializeFingerprint(fingerprint));
  t.diagnostic(`10,000 tables: fingerprint in ${ms.toFixed(0)} ms, ${bytes} bytes of JSON`);
  assert.equal(fingerprint.tables.bulk2!.length, 5000);
  // Each table costs its name, its primary key and its grant: about 40 bytes of JSON.
  assert.ok(bytes < 500_000, `${bytes} bytes`);
});
