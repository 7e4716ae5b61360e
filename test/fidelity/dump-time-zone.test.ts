/**
 * Tables with timestamptz, timetz and tstzrange columns (nearly every real table has a created_at)
 * get their content digest compared by restore-test: the backup runs pg_dump in UTC and records it,
 * and the digest sessions take the same zone, whatever zone the source database or role is set to.
 * A changed instant in such a table fails the test, named. The catalog is read in UTC on both
 * sides, so partition bounds on timestamptz compare equal. Also: a table whose name holds a line
 * break passes a deep verify (pg_restore --list prints it with a space).
 */
import assert from "node:assert/strict";
import { after, before, describe, test } from "node:test";
import { runCli } from "../helpers/cli.js";
import { startCluster, type Cluster } from "../helpers/postgres-cluster.js";
import {
  backup,
  makeStore,
  readArchive,
  restoreTest,
  storeRewritten,
  type Backup,
  type Store,
} from "./fidelity-helpers.js";

let cluster: Cluster;
let store: Store;
let made: Backup;

interface Digests {
  compared: number;
  mismatched: { table: string }[];
  skipped: { table: string; reason: string }[];
}

before(async () => {
  cluster = await startCluster();
  await cluster.createDatabase("zones");
  // The database's own zone is far from UTC, with a 45-minute offset; the role's differs again.
  await cluster.sql(
    "zones",
    `ALTER DATABASE zones SET TimeZone = 'Pacific/Chatham';
     ALTER ROLE CURRENT_USER IN DATABASE zones SET TimeZone = 'America/St_Johns';
     ALTER ROLE CURRENT_USER IN DATABASE zones SET DateStyle = 'SQL, DMY';
     CREATE TABLE readings (at timestamptz NOT NULL, v int) PARTITION BY RANGE (at);
     CREATE TABLE readings_2024 PARTITION OF readings
       FOR VALUES FROM ('2024-01-01 00:00:00+00') TO ('2025-01-01 00:00:00+00');
     INSERT INTO readings VALUES ('2024-05-01 12:00:00+00', 1);
     CREATE TABLE events (id int PRIMARY KEY, at timestamptz NOT NULL, local_time timetz, during tstzrange);
     INSERT INTO events
       SELECT i, timestamptz '2024-03-31 01:30:00+00' + i * interval '7 hours 3 minutes',
              timetz '10:15:00+05:30', tstzrange(now() - i * interval '1 day', now())
         FROM generate_series(1, 500) AS i;
     CREATE TABLE prices (id int, price money);
     INSERT INTO prices VALUES (1, 12.5), (2, 1000);
     CREATE TABLE "line
break" (id int);
     INSERT INTO "line
break" VALUES (1), (2), (3);`,
  );
  store = makeStore("zones");
  made = await backup(store, cluster.url("zones"), "zones");
});

after(async () => {
  await cluster?.stop();
  store?.cleanup();
});

describe("the dump's time zone", () => {
  test("pg_dump runs in UTC whatever the database and role say, and the manifest records it", () => {
    assert.equal(made.manifest.dump?.timeZone, "UTC");
    // The catalog is read in UTC too: partition bounds print their instants in it.
    assert.equal(made.manifest.catalog?.timeZone, "UTC");
    assert.equal(
      made.manifest.catalog?.partitionOf["public.readings_2024"],
      "public.readings FOR VALUES FROM ('2024-01-01 00:00:00+00') TO ('2025-01-01 00:00:00+00')",
    );
    const archive = readArchive(store, made.folder).toString("latin1");
    assert.ok(archive.includes("2024-03-31 08:33:00+00"), "the first event's instant, printed in UTC");
    assert.doesNotMatch(archive, /2024-03-31 \d\d:\d\d:00\+13:45/, "nothing in Chatham's offset");
  });

  test("restore-test compares timestamptz, timetz and tstzrange tables, and the partition bounds; money stays skipped, with the reason", async () => {
    const run = await restoreTest(store, "zones", cluster.url("postgres"));
    assert.equal(run.code, 0, run.stderr + run.stdout);
    const catalog = run.json.catalog as { failures: number; differences: { object: string }[] };
    assert.equal(catalog.failures, 0, JSON.stringify(catalog.differences));
    const digests = (run.json.checks as { digests: Digests }).digests;
    assert.deepEqual(digests.mismatched, []);
    assert.deepEqual(
      digests.skipped.map((skip) => [skip.table, skip.reason]),
      [["public.prices", "a money column prints by session settings the dump did not record"]],
    );
    assert.equal(digests.compared, 3);
  });

  test("one instant changed in the archive fails restore-test, named by its table", async () => {
    const archive = readArchive(store, made.folder);
    const at = archive.indexOf("2024-03-31 08:33:00+00");
    assert.ok(at > 0);
    // The same length and a valid timestamptz: only the digest can tell.
    const changed = Buffer.from(archive);
    changed.write("2024-03-31 08:34:00+00", at, "latin1");
    const label = "zones-changed";
    storeRewritten(store, made, label, changed);

    const run = await restoreTest(store, label, cluster.url("postgres"));
    assert.equal(run.code, 1, run.stderr + run.stdout);
    const digests = (run.json.checks as { digests: Digests }).digests;
    assert.deepEqual(
      digests.mismatched.map((mismatch) => mismatch.table),
      ["public.events"],
    );
  });

  test("a table whose name holds a line break passes a deep verify", async () => {
    const run = await runCli(
      [
        "verify",
        "--storage",
        store.storage,
        "--label",
        "zones",
        "--identity-file",
        store.identityFile,
        "--json",
      ],
      { env: { PATH: process.env.PATH } },
    );
    assert.equal(run.code, 0, run.stderr + run.stdout);
    assert.ok(
      made.manifest.tables.some((table) => table.table === "line\nbreak"),
      "the manifest names the table as it is",
    );
  });
});
