/**
 * A database whose default collation is ICU's (CREATE DATABASE ... LOCALE_PROVIDER icu): its text
 * sorts by the ICU locale, and a text range partition holds the rows that fall in its bounds in
 * that order. Restored into a scratch database with libc's collation, COPY into the partition
 * checks the bounds in byte order and refuses rows ('B' is between 'a' and 'c' in de-DE, before
 * 'a' in C): the fingerprint records the ICU locale, the scratch database is created with it.
 */
import assert from "node:assert/strict";
import { after, before, test } from "node:test";
import { startCluster, type Cluster } from "../helpers/postgres-cluster.js";
import { assertFaithful, backup, makeStore, restoreTest, type Store } from "./fidelity-helpers.js";

let cluster: Cluster;
let store: Store;

before(async () => {
  cluster = await startCluster();
  store = makeStore("icu");
  await cluster.sql(
    "postgres",
    `CREATE DATABASE icu TEMPLATE template0 ENCODING 'UTF8' LOCALE_PROVIDER icu ICU_LOCALE 'de-DE'
       LC_COLLATE 'C.UTF-8' LC_CTYPE 'C.UTF-8'`,
  );
  await cluster.sql(
    "icu",
    `CREATE TABLE words (w text) PARTITION BY RANGE (w);
     CREATE TABLE words_a_c PARTITION OF words FOR VALUES FROM ('a') TO ('c');
     CREATE TABLE words_rest PARTITION OF words DEFAULT;
     INSERT INTO words VALUES ('B'), ('a'), ('Z');`,
  );
});

after(async () => {
  await cluster?.stop();
  store?.cleanup();
});

test("an ICU database restore-tests into a scratch database with its ICU locale", async () => {
  const rows = await cluster.sql<{ n: string }>("icu", "SELECT count(*) AS n FROM words_a_c");
  assert.equal(rows[0]!.n, "2", "'B' sorts between 'a' and 'c' in de-DE");
  const made = await backup(store, cluster.url("icu"), "icu");
  assert.equal(made.manifest.catalog?.database.icuLocale, "de-DE");
  const run = await restoreTest(store, "icu", cluster.url("postgres"));
  assertFaithful(run);
  assert.equal((run.json.checks as { digests: { compared: number } }).digests.compared, 2);
});
