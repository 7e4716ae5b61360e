/**
 * The scratch server's own settings must not change what is restored. pg_dump writes a NULL array
 * element as NULL and never sets array_nulls: a scratch role with array_nulls off would restore
 * '{a,NULL}' as the string "NULL" (and fail on an int[]), and restore-test would blame the backup.
 * Its pg_restore runs with array_nulls on.
 */
import assert from "node:assert/strict";
import { after, before, test } from "node:test";
import { startCluster, type Cluster } from "../helpers/postgres-cluster.js";
import { assertFaithful, backup, makeStore, restoreTest, type Store } from "./fidelity-helpers.js";

let cluster: Cluster;
let store: Store;

before(async () => {
  cluster = await startCluster();
  store = makeStore("scratch-settings");
  await cluster.createDatabase("arrays");
  await cluster.sql(
    "arrays",
    `CREATE TABLE tags (id int, names text[], counts int[]);
     INSERT INTO tags VALUES (1, '{a,NULL,"NULL"}', '{1,NULL}'), (2, NULL, '{}');`,
  );
  await cluster.sql(
    "postgres",
    `CREATE ROLE scratcher SUPERUSER LOGIN PASSWORD 'scratch-pw';
     ALTER ROLE scratcher SET array_nulls = off;`,
  );
});

after(async () => {
  await cluster?.stop();
  store?.cleanup();
});

test("a scratch role with array_nulls off restores NULL array elements as NULL", async () => {
  await backup(store, cluster.url("arrays"), "arrays");
  const scratch = cluster.url("postgres", { user: "scratcher", password: "scratch-pw" });
  const run = await restoreTest(store, "arrays", scratch, [
    "--run",
    `psql -v ON_ERROR_STOP=1 -Atc "SELECT names[2] IS NULL, names[3] FROM tags WHERE id = 1"`,
  ]);
  assertFaithful(run);
  assert.equal((run.json.checks as { digests: { compared: number } }).digests.compared, 1);
  assert.match((run.json.run as { output: string }).output, /^t\|NULL$/m);
});
