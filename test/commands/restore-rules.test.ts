/**
 * restore's pure decisions: which pg_restore errors are benign, which strategy runs, how the new
 * and old databases are named, and which --table/--schema names a backup holds.
 */
import assert from "node:assert/strict";
import { describe, test } from "node:test";
import { chooseStrategy, pgRestoreArgs } from "../../src/commands/restore/run.js";
import { classifyRestoreErrors } from "../../src/domain/benign-restore-errors.js";
import { InputError } from "../../src/domain/errors.js";
import type { Manifest } from "../../src/domain/manifest.js";
import { checkRestoreScope } from "../../src/domain/restore-scope.js";
import { derivedName, newDatabaseName, oldDatabaseName } from "../../src/postgres/database-swap.js";

describe("benign pg_restore errors", () => {
  test("the known clean errors are benign; the same words on another command are not", () => {
    const inherited =
      'could not execute query: ERROR:  cannot drop inherited constraint "m_2025_pkey" of relation "m_2025" Command was: ALTER TABLE IF EXISTS ONLY public.m_2025 DROP CONSTRAINT IF EXISTS m_2025_pkey;';
    const publicSchema =
      'could not execute query: ERROR:  schema "public" already exists Command was: CREATE SCHEMA public;';
    const missingDrop =
      'could not execute query: ERROR:  relation "public.gone" does not exist Command was: ALTER TABLE ONLY public.gone DROP CONSTRAINT gone_pkey;';
    const real = [
      'could not execute query: ERROR:  relation "customers" already exists Command was: CREATE TABLE public.customers (id int);',
      'could not execute query: ERROR:  role "reporting" does not exist Command was: GRANT SELECT ON TABLE public.facts TO reporting;',
      'could not execute query: ERROR:  schema "shop" already exists Command was: ALTER SCHEMA shop OWNER TO app;',
    ];
    const { real: counted, benign } = classifyRestoreErrors([inherited, publicSchema, missingDrop, ...real]);
    assert.deepEqual(counted, real);
    assert.deepEqual(
      benign.map((entry) => entry.error),
      [inherited, publicSchema, missingDrop],
    );
    assert.ok(benign.every((entry) => entry.why.length > 0));
  });
});

describe("strategy", () => {
  const possible = { impossible: undefined };
  const impossible = { impossible: "the role may not CREATE DATABASE on that server" };
  test("auto swaps a whole-database restore where it can, and says why it does not elsewhere", () => {
    assert.equal(chooseStrategy({ strategy: "auto" }, possible, true).strategy, "swap");
    assert.deepEqual(chooseStrategy({ strategy: "auto" }, impossible, true), {
      strategy: "in-place",
      reason: "auto: no swap, the role may not CREATE DATABASE on that server",
    });
    assert.match(chooseStrategy({ strategy: "auto" }, possible, false).reason, /only part of the backup/);
    assert.equal(chooseStrategy({ strategy: "in-place" }, possible, true).strategy, "in-place");
  });
  test("an explicit swap that cannot run is exit 2 naming --strategy", () => {
    assert.throws(
      () => chooseStrategy({ strategy: "swap" }, impossible, true),
      (error: unknown) =>
        error instanceof InputError &&
        error.input === "strategy" &&
        /^--strategy swap: impossible here: the role may not/.test(error.message),
    );
  });
  test("--clean means --clean --if-exists --no-data-for-failed-tables in place, nothing in a swap", () => {
    const settings = {
      schemas: [],
      tables: ["notes"],
      clean: true,
      noOwner: true,
      noPrivileges: false,
      pgRestoreArgs: ["--no-owner", "--no-tablespaces"],
    };
    assert.deepEqual(pgRestoreArgs(settings, "in-place"), [
      "--clean",
      "--if-exists",
      "--no-data-for-failed-tables",
      "--no-owner",
      "--no-tablespaces",
      "--table=notes",
    ]);
    assert.deepEqual(pgRestoreArgs({ ...settings, tables: [] }, "swap"), ["--no-owner", "--no-tablespaces"]);
  });
});

describe("database names", () => {
  test("the new and old databases carry the target's name and the time, within 63 bytes", () => {
    const now = new Date("2026-11-22T01:30:00.123Z");
    assert.match(newDatabaseName("app", now), /^app_lifeboat_new_20261122t013000z_[0-9a-f]{4}$/);
    assert.match(oldDatabaseName("app", now), /^app_lifeboat_old_20261122t013000z_[0-9a-f]{4}$/);
    assert.notEqual(oldDatabaseName("app", now), oldDatabaseName("app", now));
    const long = "é".repeat(40); // 80 bytes
    for (const name of [newDatabaseName(long, now), oldDatabaseName(long, now), derivedName(long, "_x")]) {
      assert.ok(Buffer.byteLength(name) <= 63, name);
      assert.ok(name.startsWith("éé"), name);
    }
  });
});

describe("--table and --schema against the manifest", () => {
  const manifest = {
    label: "prod",
    backupId: "20261122T010000Z-abc123",
    tables: [
      { schema: "sales", table: "order_items", rows: 3 },
      { schema: "public", table: "notes", rows: 1 },
    ],
    catalog: {
      schemas: ["public", "sales", "empty"],
      tables: { sales: ["order_items"], public: ["notes"] },
      partitionedTables: {},
      views: { sales: ["recent_orders"] },
      materializedViews: {},
      foreignTables: {},
      sequences: { sales: { order_items_id_seq: "3" } },
    },
  } as unknown as Manifest;
  const check = (scope: { tables?: string[]; schemas?: string[] }) =>
    checkRestoreScope(manifest, { tables: scope.tables ?? [], schemas: scope.schemas ?? [] });
  test("names the backup holds pass: tables, views, sequences, schemas without tables", () => {
    check({ tables: ["order_items", "recent_orders", "order_items_id_seq"], schemas: ["sales", "empty"] });
  });
  test("a name the backup lacks is exit 2 naming it; a qualified name gets the bare-name hint", () => {
    assert.throws(() => check({ tables: ["sales.order_items"] }), {
      message:
        '--table "sales.order_items": backup prod/20261122T010000Z-abc123 has no table of that name; --table takes the bare name, as pg_restore does: --schema sales --table order_items',
    });
    assert.throws(
      () => check({ tables: ["orders"] }),
      /^InputError: --table "orders": backup .* has no table of that name$/,
    );
    assert.throws(() => check({ schemas: ["billing"] }), {
      message:
        '--schema "billing": backup prod/20261122T010000Z-abc123 has no schema of that name (it has empty, public, sales)',
    });
  });
});
