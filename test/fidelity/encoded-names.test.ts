/**
 * Names in a database whose encoding is not UTF-8: the archive holds them in that encoding (pg_dump
 * takes it as its client encoding), so a LATIN1 table "café" is the bytes 63 61 66 e9 there. The
 * manifest must name it "café", not "caf\uFFFD" (a name no catalog holds, which restore-test then
 * reports missing); a deep verify finds its data in pg_restore's listing, printed in the same
 * encoding.
 */
import assert from "node:assert/strict";
import { after, before, describe, test } from "node:test";
import { decoderFor } from "../../src/postgres/archive/text-encoding.js";
import { runCli } from "../helpers/cli.js";
import { startCluster, type Cluster } from "../helpers/postgres-cluster.js";
import { backup, makeStore, restoreTest, type Backup, type Store } from "./fidelity-helpers.js";

let cluster: Cluster;
let store: Store;
const made = new Map<string, Backup>();

const DATABASES: [string, string, string[]][] = [
  ["latin", "LATIN1", ["public.ümlaut", "schéma.café"]],
  ["win", "WIN1252", ["public.ümlaut", "public.€uro", "schéma.café"]],
  ["euc", "EUC_JP", ["public.ümlaut", "public.日本", "schéma.café"]],
];

before(async () => {
  cluster = await startCluster();
  store = makeStore("encoded-names");
  for (const [name, encoding] of DATABASES) {
    await cluster.sql(
      "postgres",
      `CREATE DATABASE ${name} TEMPLATE template0 ENCODING '${encoding}' LC_COLLATE 'C' LC_CTYPE 'C'`,
    );
    // node-postgres talks UTF-8; the server converts to the database's encoding.
    await cluster.sql(
      name,
      `CREATE SCHEMA "schéma";
       CREATE TABLE "schéma"."café" (id int PRIMARY KEY, "naïve" text);
       INSERT INTO "schéma"."café" VALUES (1, 'crème brûlée'), (2, 'é');
       CREATE TABLE "ümlaut" (id serial, v text);
       INSERT INTO "ümlaut" (v) VALUES ('ü');`,
    );
  }
  await cluster.sql("win", `CREATE TABLE "€uro" (id int); INSERT INTO "€uro" VALUES (1);`);
  await cluster.sql(
    "euc",
    `CREATE TABLE "日本" (id int, "列" text); INSERT INTO "日本" VALUES (1, 'こんにちは');`,
  );
  // SQL_ASCII holds any bytes: an enum label and a table name in LATIN1 (63 61 66 e9), which a
  // UTF8 session cannot be sent. The statements are ASCII; convert_from() makes the raw bytes.
  await cluster.sql(
    "postgres",
    "CREATE DATABASE ascii TEMPLATE template0 ENCODING 'SQL_ASCII' LC_COLLATE 'C' LC_CTYPE 'C'",
  );
  await cluster.sql(
    "ascii",
    `DO $$ BEGIN
       EXECUTE format('CREATE TYPE mood AS ENUM (%L, %L)', convert_from('\\x636166e9'::bytea, 'SQL_ASCII'), 'ok');
       EXECUTE format('CREATE TABLE %I (id int, m mood)', convert_from('\\x636166e9'::bytea, 'SQL_ASCII'));
     END $$;
     CREATE TABLE plain (id int);
     INSERT INTO plain VALUES (1);`,
  );
  for (const name of [...DATABASES.map(([database]) => database), "ascii"]) {
    made.set(name, await backup(store, cluster.url(name), name));
  }
});

after(async () => {
  await cluster?.stop();
  store?.cleanup();
});

describe("names in a database that is not UTF-8", () => {
  for (const [name, encoding, tables] of DATABASES) {
    test(`${encoding}: the manifest names the tables as the database does, and a deep verify finds their data`, async () => {
      const manifest = made.get(name)!.manifest;
      assert.equal(manifest.catalog?.database.encoding, encoding);
      assert.deepEqual(
        manifest.tables.map((table) => `${table.schema}.${table.table}`),
        tables,
      );
      const run = await runCli(
        [
          "verify",
          "--storage",
          store.storage,
          "--label",
          name,
          "--identity-file",
          store.identityFile,
          "--json",
        ],
        { env: { PATH: process.env.PATH } },
      );
      assert.equal(run.code, 0, run.stderr + run.stdout);
    });
  }

  test("a data-only backup (no catalog to name the encoding): a deep verify reads it from the archive", async () => {
    const dataOnly = await backup(store, cluster.url("latin"), "latin-data", ["--data-only"]);
    assert.equal(dataOnly.manifest.catalog, undefined);
    assert.ok(dataOnly.manifest.tables.some((table) => table.table === "café"));
    const run = await runCli(
      [
        "verify",
        "--storage",
        store.storage,
        "--label",
        "latin-data",
        "--identity-file",
        store.identityFile,
        "--json",
      ],
      { env: { PATH: process.env.PATH } },
    );
    assert.equal(run.code, 0, run.stderr + run.stdout);
  });

  test("SQL_ASCII with bytes that are not UTF-8 in names: the backup reads its catalog, a deep verify passes", async () => {
    const manifest = made.get("ascii")!.manifest;
    assert.deepEqual(manifest.catalog?.types.public, { mood: "enum(caf\uFFFD,ok)" });
    const run = await runCli(
      [
        "verify",
        "--storage",
        store.storage,
        "--label",
        "ascii",
        "--identity-file",
        store.identityFile,
        "--json",
      ],
      { env: { PATH: process.env.PATH } },
    );
    assert.equal(run.code, 0, run.stderr + run.stdout);
  });

  test(
    "restore-test finds and compares every table",
    // The digest sessions plan in UTF-8 and quote names in ASCII (U&"caf\\00E9").
    async () => {
      for (const [name, , tables] of DATABASES) {
        const run = await restoreTest(store, name, cluster.url("postgres"));
        assert.equal(run.code, 0, run.stderr + run.stdout);
        const digests = (run.json.checks as { digests: { compared: number } }).digests;
        assert.equal(digests.compared, tables.length);
      }
    },
  );
});

test("the archive's encodings decode as PostgreSQL defines them", () => {
  const bytes = (...values: number[]) => Uint8Array.from(values);
  // LATIN1 is one byte to one code point, 0x80-0x9f too (not windows-1252's € and quotes).
  assert.equal(decoderFor("LATIN1")(bytes(0x63, 0x61, 0x66, 0xe9, 0x80)), "café\u0080");
  assert.equal(decoderFor("WIN1252")(bytes(0x80, 0x93)), "€“");
  assert.equal(decoderFor("LATIN5")(bytes(0xf0, 0xfd, 0x85)), "ğı\u0085");
  assert.equal(decoderFor("EUC_JP")(bytes(0xc6, 0xfc, 0xcb, 0xdc)), "日本");
  assert.equal(decoderFor("UTF8")(Buffer.from("日本")), "日本");
  // No encoding at all: its bytes are most often UTF-8.
  assert.equal(decoderFor("SQL_ASCII")(Buffer.from("café")), "café");
});
