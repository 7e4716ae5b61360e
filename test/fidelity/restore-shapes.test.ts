/**
 * Shapes of real schemas whose restored rows do not come back where or how the archive had them,
 * and which restore-test must still judge right:
 * - an inheritance child whose parent gained a column after it: restored, the parent's columns
 *   come first, so the child is read back in the archive's column order (`tables[].columns`);
 * - a table hash-partitioned on an enum: pg_dump loads its rows through the root (the enum's hash
 *   changes with its OIDs), the restore routes them again, so the root's tree is counted
 *   (`tables[].loadedInto`) and the partitions' digests are skipped with the reason;
 * - a serial column of a partitioned table and of an inheritance parent: the sequence check reads
 *   the whole tree, and a sequence behind the rows of a child fails;
 * - an extension's configuration table with a dump filter (PostGIS's spatial_ref_sys): CREATE
 *   EXTENSION inserts the shipped rows, the archive holds the user's, and restore-test counts and
 *   hashes what pg_dump selected. This one installs a small extension into the server's extension
 *   directory and removes it after; where that directory is not writable it is skipped.
 */
import assert from "node:assert/strict";
import { accessSync, constants, rmSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { after, before, describe, test } from "node:test";
import { execFileSync } from "node:child_process";
import { startCluster, type Cluster } from "../helpers/postgres-cluster.js";
import { backup, makeStore, restoreTest, type Backup, type Store } from "./fidelity-helpers.js";

let cluster: Cluster;
let store: Store;
let made: Backup;

interface Checks {
  digests: {
    compared: number;
    mismatched: { table: string }[];
    skipped: { table: string; reason: string }[];
  };
  sequences: { behind: { sequence: string }[] };
}

const EXTENSION = "lifeboat_test_config";
let extensionDir: string | undefined;

function writableExtensionDir(cluster: Cluster): string | undefined {
  const share = execFileSync(join(cluster.binDir, "pg_config"), ["--sharedir"], { encoding: "utf8" }).trim();
  const dir = join(share, "extension");
  try {
    accessSync(dir, constants.W_OK);
    return dir;
  } catch {
    return undefined;
  }
}

before(async () => {
  cluster = await startCluster();
  await cluster.createDatabase("shapes");
  extensionDir = writableExtensionDir(cluster);
  if (extensionDir) {
    writeFileSync(
      join(extensionDir, `${EXTENSION}.control`),
      "comment = 'Lifeboat test: a configuration table with a dump filter'\ndefault_version = '1.0'\nrelocatable = false\nschema = public\n",
    );
    writeFileSync(
      join(extensionDir, `${EXTENSION}--1.0.sql`),
      `CREATE TABLE refs (id int PRIMARY KEY, label text);
       INSERT INTO refs VALUES (1, 'shipped one'), (2, 'shipped two');
       SELECT pg_catalog.pg_extension_config_dump('refs', 'WHERE id > 100');\n`,
    );
  }
  await cluster.sql(
    "shapes",
    `CREATE TABLE parent (id int, a text);
     CREATE TABLE child (c text) INHERITS (parent);
     ALTER TABLE parent ADD COLUMN d int;
     INSERT INTO child (id, a, c, d) SELECT i, 'a' || i, 'c' || i, i * 10 FROM generate_series(1, 50) AS i;

     CREATE TYPE color AS ENUM ('red', 'green', 'blue', 'black', 'white');
     CREATE TABLE paint (c color NOT NULL, n int) PARTITION BY HASH (c);
     CREATE TABLE paint_0 PARTITION OF paint FOR VALUES WITH (MODULUS 3, REMAINDER 0);
     CREATE TABLE paint_1 PARTITION OF paint FOR VALUES WITH (MODULUS 3, REMAINDER 1);
     CREATE TABLE paint_2 PARTITION OF paint FOR VALUES WITH (MODULUS 3, REMAINDER 2);
     INSERT INTO paint SELECT (enum_range(NULL::color))[1 + i % 5], i FROM generate_series(1, 60) AS i;

     -- A range partition loaded directly beside a hash-on-enum subtree loaded through the top root.
     CREATE TABLE r (c color NOT NULL, k int NOT NULL) PARTITION BY RANGE (k);
     CREATE TABLE r1 PARTITION OF r FOR VALUES FROM (0) TO (50);
     CREATE TABLE r2 PARTITION OF r FOR VALUES FROM (50) TO (100) PARTITION BY HASH (c);
     CREATE TABLE r2a PARTITION OF r2 FOR VALUES WITH (MODULUS 2, REMAINDER 0);
     CREATE TABLE r2b PARTITION OF r2 FOR VALUES WITH (MODULUS 2, REMAINDER 1);
     INSERT INTO r SELECT (enum_range(NULL::color))[1 + i % 5], i FROM generate_series(0, 99) AS i;

     -- An inheritance child with a sequence of its own: the parent's is not behind its rows.
     CREATE TABLE legacy (id serial, v text);
     CREATE TABLE legacy_archive (id serial, v text) INHERITS (legacy);
     INSERT INTO legacy (v) VALUES ('a'), ('b');
     INSERT INTO legacy_archive (v) SELECT 'v' || i FROM generate_series(1, 50) AS i;

     CREATE TABLE events (id serial, at date NOT NULL) PARTITION BY RANGE (at);
     CREATE TABLE events_2025 PARTITION OF events FOR VALUES FROM ('2025-01-01') TO ('2026-01-01');
     INSERT INTO events (at) SELECT date '2025-01-01' + i FROM generate_series(1, 100) AS i;
     CREATE TABLE base (id serial, v text);
     CREATE TABLE derived () INHERITS (base);
     INSERT INTO derived (v) SELECT 'v' || i FROM generate_series(1, 40) AS i;
     ${extensionDir ? `CREATE EXTENSION ${EXTENSION}; INSERT INTO refs VALUES (101, 'mine'), (102, 'also mine');` : ""}`,
  );
  store = makeStore("restore-shapes");
  made = await backup(store, cluster.url("shapes"), "shapes");
});

after(async () => {
  await cluster?.stop();
  store?.cleanup();
  if (extensionDir) {
    rmSync(join(extensionDir, `${EXTENSION}.control`), { force: true });
    rmSync(join(extensionDir, `${EXTENSION}--1.0.sql`), { force: true });
  }
});

function checksOf(json: Record<string, unknown>): Checks {
  return json.checks as Checks;
}

describe("restored shapes", () => {
  test("the manifest keeps an inheritance child's archive column order and the root hash partitions load through", () => {
    const byName = new Map(made.manifest.tables.map((t) => [`${t.schema}.${t.table}`, t]));
    assert.deepEqual(byName.get("public.child")?.columns, ["id", "a", "c", "d"]);
    assert.equal(byName.get("public.parent")?.columns, undefined);
    for (const partition of ["paint_0", "paint_1", "paint_2"]) {
      assert.deepEqual(byName.get(`public.${partition}`)?.loadedInto, { schema: "public", table: "paint" });
    }
    assert.equal(byName.get("public.events_2025")?.loadedInto, undefined);
    assert.deepEqual(byName.get("public.r2a")?.loadedInto, { schema: "public", table: "r" });
    assert.deepEqual(byName.get("public.r2b")?.loadedInto, { schema: "public", table: "r" });
    assert.equal(byName.get("public.r1")?.loadedInto, undefined);
  });

  test("restore-test passes: the child is compared in the archive's order, the hash partitions counted through their root", async () => {
    const run = await restoreTest(store, "shapes", cluster.url("postgres"));
    assert.equal(run.code, 0, run.stderr + run.stdout);
    const checks = checksOf(run.json);
    assert.deepEqual(run.json.mismatches, []);
    assert.deepEqual(checks.digests.mismatched, []);
    assert.deepEqual(
      checks.digests.skipped.map((skip) => [skip.table, skip.reason]),
      [
        ...["paint_0", "paint_1", "paint_2"].map((partition) => [
          `public.${partition}`,
          "pg_dump loads it through public.paint, which routes its rows again",
        ]),
        ...["r2a", "r2b"].map((partition) => [
          `public.${partition}`,
          "pg_dump loads it through public.r, which routes its rows again",
        ]),
      ],
    );
    assert.ok(
      !checks.digests.skipped.some((skip) => skip.table === "public.child"),
      "the inheritance child is compared",
    );
    assert.deepEqual(checks.sequences.behind, []);
  });

  test("a sequence behind the rows of a partition or an inheritance child fails the sequence check", async () => {
    await cluster.sql("shapes", "SELECT setval('events_id_seq', 5); SELECT setval('base_id_seq', 3)");
    const label = "shapes-behind";
    await backup(store, cluster.url("shapes"), label);
    const run = await restoreTest(store, label, cluster.url("postgres"));
    assert.equal(run.code, 1, run.stderr + run.stdout);
    assert.deepEqual(
      checksOf(run.json)
        .sequences.behind.map((s) => s.sequence)
        .sort(),
      ["base_id_seq", "events_id_seq"],
    );
    await cluster.sql("shapes", "SELECT setval('events_id_seq', 100); SELECT setval('base_id_seq', 40)");
  });

  test("a SQL_ASCII database with a UTF-8 table name is found and compared", async () => {
    await cluster.sql(
      "postgres",
      "CREATE DATABASE plain_bytes TEMPLATE template0 ENCODING 'SQL_ASCII' LC_COLLATE 'C' LC_CTYPE 'C'",
    );
    await cluster.sql(
      "plain_bytes",
      `CREATE TABLE "café" (id int, v text); INSERT INTO "café" VALUES (1, 'crème')`,
    );
    await backup(store, cluster.url("plain_bytes"), "plain-bytes");
    const run = await restoreTest(store, "plain-bytes", cluster.url("postgres"));
    assert.equal(run.code, 0, run.stderr + run.stdout);
    assert.equal(checksOf(run.json).digests.compared, 1);
  });

  test("an extension's filtered configuration table is counted and hashed as pg_dump selected it", async (t) => {
    if (!extensionDir) {
      t.skip("the server's extension directory is not writable here");
      return;
    }
    const refs = made.manifest.tables.find((table) => table.table === "refs");
    assert.equal(refs?.rows, 2, "the archive holds only the user's rows");
    const run = await restoreTest(store, "shapes", cluster.url("postgres"));
    assert.equal(run.code, 0, run.stderr + run.stdout);
    const checks = checksOf(run.json);
    assert.deepEqual(run.json.mismatches, []);
    assert.ok(!checks.digests.skipped.some((skip) => skip.table === "public.refs"));
  });
});
