/**
 * Settings the source database or role may hold that change how pg_dump prints values, and that
 * pg_dump does not set itself: bytea_output (an application that still reads bytea in the old
 * escape format sets it on its database) and quote_all_identifiers; and the empty search_path
 * pg_dump does set, by which regclass, regtype and the other reg* types print schema-qualified.
 * restore-test's digest sessions must print the restored rows the same way, or every such table
 * fails a sound backup. A changed byte in such a table's data still fails it.
 */
import assert from "node:assert/strict";
import { after, before, describe, test } from "node:test";
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
let escaped: Backup;
let quoted: Backup;

interface Digests {
  compared: number;
  mismatched: { table: string }[];
  skipped: { table: string; reason: string }[];
}

const SCHEMA = `
  CREATE SCHEMA app;
  CREATE TABLE app.things (id int PRIMARY KEY);
  CREATE TABLE public.plain (id int);
  CREATE TABLE app.plain_xy (id int);
  CREATE TYPE app.mood AS ENUM ('ok', 'sad');
  CREATE TABLE app.audit (
    id int PRIMARY KEY, rel regclass, typ regtype, fn regprocedure, cfg regconfig,
    nsp regnamespace, rels regclass[]);
  INSERT INTO app.audit VALUES
    (1, 'app.things', 'app.mood', 'lower(text)', 'english', 'app', '{app.things,public.plain}'),
    (2, 'public.plain', 'int4', 'now()', 'simple', 'public', '{}');
  CREATE TABLE app.blobs (id int PRIMARY KEY, data bytea, parts bytea[]);
  INSERT INTO app.blobs
    SELECT i, convert_to('row ' || i, 'UTF8') || '\\x00ff5c0a'::bytea, ARRAY['\\x01'::bytea, 'abc'::bytea]
      FROM generate_series(1, 300) AS i;`;

before(async () => {
  cluster = await startCluster();
  await cluster.createDatabase("escaped");
  await cluster.sql(
    "escaped",
    `ALTER DATABASE escaped SET bytea_output = 'escape';
     ALTER ROLE CURRENT_USER IN DATABASE escaped SET search_path = app, public;
     ${SCHEMA}`,
  );
  await cluster.createDatabase("quoted");
  await cluster.sql("quoted", `ALTER DATABASE quoted SET quote_all_identifiers = on; ${SCHEMA}`);
  store = makeStore("session-settings");
  escaped = await backup(store, cluster.url("escaped"), "escaped");
  quoted = await backup(store, cluster.url("quoted"), "quoted");
});

after(async () => {
  await cluster?.stop();
  store?.cleanup();
});

function digestsOf(json: Record<string, unknown>): Digests {
  return (json.checks as { digests: Digests }).digests;
}

describe("settings that change how pg_dump prints values", () => {
  test("the manifest records the dump session's bytea_output and quote_all_identifiers", () => {
    assert.equal(escaped.manifest.dump?.byteaOutput, "escape");
    assert.equal(escaped.manifest.dump?.quoteAllIdentifiers, false);
    assert.equal(quoted.manifest.dump?.byteaOutput, "hex");
    assert.equal(quoted.manifest.dump?.quoteAllIdentifiers, true);
    const archive = readArchive(store, escaped.folder).toString("latin1");
    // Escape format: printable bytes as they are, others in octal (doubled for COPY).
    assert.ok(archive.includes("row 1\\\\000\\\\377\\\\\\\\\\\\012"), "bytea in escape format");
    assert.ok(
      archive.includes("app.things"),
      "regclass printed schema-qualified (pg_dump's empty search_path)",
    );
    assert.ok(
      readArchive(store, quoted.folder).toString("latin1").includes('"app"."things"'),
      "every identifier quoted",
    );
  });

  for (const label of ["escaped", "quoted"]) {
    test(`restore-test compares the bytea and reg* tables of "${label}" and passes`, async () => {
      const run = await restoreTest(store, label, cluster.url("postgres"));
      assert.equal(run.code, 0, run.stderr + run.stdout);
      const digests = digestsOf(run.json);
      assert.deepEqual(digests.mismatched, []);
      assert.deepEqual(digests.skipped, []);
      assert.equal(digests.compared, 5);
    });
  }

  /** restore-test of the "escaped" backup with `from` (text of the same length) changed to `to` in its archive. */
  async function mismatchedAfter(from: string, to: string, label: string): Promise<string[]> {
    const archive = readArchive(store, escaped.folder);
    const at = archive.indexOf(from);
    assert.ok(at > 0);
    const changed = Buffer.from(archive);
    changed.write(to, at, "latin1");
    storeRewritten(store, escaped, label, changed);
    const run = await restoreTest(store, label, cluster.url("postgres"));
    assert.equal(run.code, 1, run.stderr + run.stdout);
    return digestsOf(run.json).mismatched.map((mismatch) => mismatch.table);
  }

  test("one byte of escape-format bytea changed in the archive fails restore-test, named by its table", async () => {
    assert.deepEqual(await mismatchedAfter("row 17\\\\000", "row 18", "escaped-changed"), ["app.blobs"]);
  });

  test("a regclass changed to another table in the archive fails restore-test", async () => {
    // Same length, another table that exists: the restore succeeds, the digest does not.
    assert.deepEqual(await mismatchedAfter("2\tpublic.plain\t", "2\tapp.plain_xy\t", "escaped-regclass"), [
      "app.audit",
    ]);
  });
});
