/**
 * The catalog fingerprint against real pg_dump 15 and pg_restore: realistic fixtures dumped in an
 * exported snapshot (the fingerprint taken in that snapshot), restored onto a second, vanilla
 * cluster the way a faithful scratch restore does it, and compared. A superuser restore loses
 * nothing; a restore by a role that is not a superuser loses exactly what it cannot do, and the
 * comparison says so as warnings with the reason; lost objects and grants on the restored copy are
 * named as failures.
 */
import assert from "node:assert/strict";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, describe, test } from "node:test";
import {
  DEFAULT_CONDITIONS,
  REASONS,
  diffCatalog,
  formatDifference,
  referencedRoles,
  type CatalogComparison,
  type CatalogFingerprint,
} from "../../src/domain/catalog-diff.js";
import { startCluster, type Cluster } from "../helpers/postgres-cluster.js";
import {
  FDW_SECRET,
  addDefaultPrivileges,
  addEventTrigger,
  addGrants,
  addLargeObjects,
  addRowSecurity,
  addSequences,
  addTablespace,
  buildRealSchema,
  createEncodedDatabase,
} from "../helpers/real-schemas.js";
import { serializeFingerprint, takeCatalogFingerprint } from "../../src/postgres/catalog-fingerprint.js";
import {
  FULL_SCOPE,
  withClient,
  createDatabaseLike,
  createMissingRoles,
  dumpInSnapshot,
  fingerprintOf,
  pgRestore,
} from "./catalog-helpers.js";

let source: Cluster;
let target: Cluster;
let work: string;
const fingerprints = new Map<string, CatalogFingerprint>();
let createdRoles: string[] = [];

function lines(comparison: CatalogComparison): string[] {
  return comparison.differences.map(formatDifference);
}

before(async () => {
  [source, target] = await Promise.all([startCluster(), startCluster()]);
  work = mkdtempSync(join(tmpdir(), "lifeboat-catalog-"));
  await source.createDatabase("shop");
  await buildRealSchema(source, "shop");
  await addTablespace(source, "shop");
  await createEncodedDatabase(source, "ascii_db", "SQL_ASCII");
  await createEncodedDatabase(source, "latin_db", "LATIN1");
  await source.createDatabase("plain");
  for (const add of [
    addGrants,
    addDefaultPrivileges,
    addLargeObjects,
    addRowSecurity,
    addEventTrigger,
    addSequences,
  ]) {
    await add(source, "plain");
  }
  await source.sql("plain", "ALTER SCHEMA vendor OWNER TO app_owner");
  for (const db of ["shop", "ascii_db", "latin_db", "plain"]) {
    fingerprints.set(db, await dumpInSnapshot(source, db, join(work, `${db}.dump`)));
  }
  createdRoles = await createMissingRoles(source, target);
});

after(async () => {
  await Promise.all([source?.stop(), target?.stop()]);
  if (work) rmSync(work, { recursive: true, force: true });
});

test("the fingerprint holds no secret: user mapping options are never read", () => {
  const json = JSON.stringify(fingerprints.get("shop"));
  assert.ok(!json.includes(FDW_SECRET));
  assert.ok(json.includes('"reporting@loopback"'));
});

test("the roles that exist on the source only are the ones created on the target, and the ones the fingerprint names", () => {
  const sourceOnly = ["app_owner", "auditor", "etl writer", "reporting", "Ünïcode Role"].sort();
  assert.deepEqual([...createdRoles].sort(), sourceOnly);
  assert.deepEqual(
    referencedRoles(fingerprints.get("shop")!).filter((role) => role !== "postgres"),
    [...sourceOnly].sort((a, b) => (a < b ? -1 : a > b ? 1 : 0)),
  );
});

describe("restored by a superuser onto a vanilla cluster", () => {
  for (const db of ["shop", "ascii_db", "latin_db", "plain"]) {
    test(`${db}: pg_restore succeeds and the comparison finds no loss`, async (t) => {
      const fingerprint = fingerprints.get(db)!;
      await createDatabaseLike(target, db, fingerprint);
      const result = await pgRestore(target, target.url(db), join(work, `${db}.dump`));
      assert.deepEqual(result.errors, [], `pg_restore errors: ${result.errors.join("\n")}`);
      const restored = await fingerprintOf(target, db);
      assert.equal(restored.database.encoding, fingerprint.database.encoding);
      const comparison = diffCatalog(fingerprint, restored, DEFAULT_CONDITIONS);
      for (const line of lines(comparison)) t.diagnostic(line);
      assert.equal(comparison.failures, 0, lines(comparison).join("\n"));
      // What remains are the database's settings, which pg_restore applies only with --create.
      for (const difference of comparison.differences) {
        assert.equal(difference.reason, REASONS.databaseSettings, formatDifference(difference));
      }
    });
  }

  test("shop: the settings warnings name each ALTER DATABASE / ALTER ROLE IN DATABASE setting", async () => {
    const comparison = diffCatalog(
      fingerprints.get("shop")!,
      await fingerprintOf(target, "shop"),
      DEFAULT_CONDITIONS,
    );
    assert.deepEqual(lines(comparison), [
      `warning: database: setting log_min_duration_statement=250ms missing (${REASONS.databaseSettings})`,
      `warning: database: setting search_path=public, reports missing (${REASONS.databaseSettings})`,
      `warning: database: setting work_mem=8MB missing (${REASONS.databaseSettings})`,
      `warning: settings of role reporting in the database: setting statement_timeout=30s missing (${REASONS.databaseSettings})`,
    ]);
  });

  test("a SQL_ASCII source restored into a UTF8 database is a failure that names the encoding", async () => {
    await target.sql("postgres", "CREATE DATABASE ascii_in_utf8 TEMPLATE template0 ENCODING 'UTF8'");
    const result = await pgRestore(target, target.url("ascii_in_utf8"), join(work, "ascii_db.dump"));
    // pg_restore itself reports nothing: the bytes arrive unchecked (SQL_ASCII client encoding).
    assert.deepEqual(result.errors, []);
    const comparison = diffCatalog(
      fingerprints.get("ascii_db")!,
      await fingerprintOf(target, "ascii_in_utf8"),
      DEFAULT_CONDITIONS,
    );
    assert.ok(lines(comparison).includes("failure: database: encoding UTF8, the source's is SQL_ASCII"));
  });
});

describe("a lost object or grant on the restored copy is a failure that names it", () => {
  const mutations: [string, string][] = [
    ["DROP TABLE sales.events_us", "failure: table sales.events_us: missing"],
    [
      "ALTER TABLE sales.orders DETACH PARTITION sales.orders_other",
      "failure: table sales.orders_other: partition of sales.orders DEFAULT missing",
    ],
    [
      "ALTER TABLE public.tagged_capitals NO INHERIT public.tagged",
      "failure: table public.tagged_capitals: inherits from public.capitals, the source's is public.capitals, public.tagged",
    ],
    ["DROP VIEW reports.daily_totals", "failure: view reports.daily_totals: missing"],
    ["DROP MATERIALIZED VIEW public.city_stats", "failure: materialized view public.city_stats: missing"],
    [
      "SELECT setval('public.invoice_no', 1000)",
      "failure: sequence public.invoice_no: value 1000, the source's was 12345",
    ],
    ["DROP FUNCTION reports.rollup()", "failure: function reports.rollup(): missing"],
    ["DROP TRIGGER orders_touch ON sales.orders", "failure: trigger orders_touch on sales.orders: missing"],
    [
      "DROP POLICY notes_read ON public.notes",
      "failure: policy notes_read on public.notes: missing (permissive SELECT TO auditor,reporting)",
    ],
    [
      "ALTER TABLE public.notes NO FORCE ROW LEVEL SECURITY",
      "failure: table public.notes: row security enabled, the source's is enabled, forced",
    ],
    [
      "ALTER PUBLICATION pub_messages DROP TABLE public.messages",
      "failure: publication pub_messages: member table public.messages missing",
    ],
    ["DROP PUBLICATION pub_everything", "failure: publication pub_everything: missing"],
    ["REVOKE SELECT ON reports.daily FROM auditor", "failure: table reports.daily: grant auditor=r missing"],
    [
      `REVOKE SELECT (total) ON reports.daily FROM "Ünïcode Role"`,
      'failure: column reports.daily.total: grant "Ünïcode Role"=r missing',
    ],
    [
      "REVOKE SELECT ON LARGE OBJECT 424242 FROM reporting",
      "failure: large object 424242: grant reporting=r missing",
    ],
    ["SELECT lo_unlink(424244)", "failure: large objects: 2, the source had 3"],
    [
      "ALTER DEFAULT PRIVILEGES IN SCHEMA reports REVOKE SELECT ON TABLES FROM reporting",
      "failure: default privileges of postgres in reports on tables: grant reporting=r missing",
    ],
    ["DROP CAST (public.money_pair AS text)", "failure: cast public.money_pair AS text: missing"],
    ["DROP USER MAPPING FOR reporting SERVER loopback", "failure: user mapping reporting@loopback: missing"],
    ["DROP EVENT TRIGGER quiet_drop", "failure: event trigger quiet_drop: missing"],
    [
      "ALTER TABLE reports.owned OWNER TO postgres",
      "failure: table reports.owned: owned by postgres, the source's owner is app_owner",
    ],
    [
      "GRANT USAGE ON DOMAIN public.email TO PUBLIC",
      "failure: domain public.email: grant PUBLIC=U not in the source (a revoke was lost)",
    ],
    [
      `DROP INDEX "Odd Schema"."Idx With Space"`,
      `failure: index Idx With Space on "Odd Schema"."Mixed Case": missing`,
    ],
    [
      "ALTER TABLE sales.order_items DROP CONSTRAINT order_items_qty_check",
      "failure: constraint c order_items_qty_check on sales.order_items: missing",
    ],
    ["DROP SCHEMA vendor", "failure: schema vendor: missing"],
    ["DROP DOMAIN public.positive_int", "failure: domain public.positive_int: missing"],
    ["DROP FOREIGN TABLE public.remote_settings", "failure: foreign table public.remote_settings: missing"],
    [`DROP SEQUENCE "Odd Schema"."Seq ""Q"""`, `failure: sequence "Odd Schema"."Seq ""Q""": missing`],
  ];

  test("every mutation shows up as its own failure line, and nothing else fails", async () => {
    await target.sql("postgres", "CREATE DATABASE mutated TEMPLATE shop");
    for (const [sql] of mutations) await target.sql("mutated", sql);
    const comparison = diffCatalog(
      fingerprints.get("shop")!,
      await fingerprintOf(target, "mutated"),
      DEFAULT_CONDITIONS,
    );
    const failures = lines(comparison).filter((line) => line.startsWith("failure:"));
    for (const [sql, expected] of mutations)
      assert.ok(failures.includes(expected), `${sql}: expected "${expected}" in\n${failures.join("\n")}`);
    // The one side effect: the unlinked large object was owned by postgres.
    const expected = new Set([
      ...mutations.map(([, line]) => line),
      "failure: large objects owned by postgres: 1, the source had 2",
    ]);
    const others = failures.filter((line) => !expected.has(line));
    assert.deepEqual(others, [], others.join("\n"));
  });
});

describe("restored by a role that is not a superuser", () => {
  test("what it cannot do is reported as warnings with the reason; nothing is a failure", async (t) => {
    const fingerprint = fingerprints.get("plain")!;
    await target.sql("postgres", "CREATE ROLE restorer LOGIN CREATEDB PASSWORD 'restorer-pw'");
    await createDatabaseLike(target, "plain_by_user", fingerprint, "restorer");
    const url = target.url("plain_by_user", { user: "restorer", password: "restorer-pw" });
    const result = await pgRestore(target, url, join(work, "plain.dump"));
    assert.notEqual(result.code, 0, "pg_restore reports the statements it could not run");
    for (const line of result.errors) t.diagnostic(`pg_restore: ${line}`);
    const restored = await fingerprintOf(target, "plain_by_user");
    // The restoring role, not a superuser, reads the same fingerprint (Supabase's postgres is none).
    const asRestorer = await withClient(url, (client) => takeCatalogFingerprint(client, FULL_SCOPE));
    assert.equal(serializeFingerprint(asRestorer), serializeFingerprint(restored));
    const comparison = diffCatalog(fingerprint, restored, {
      ...DEFAULT_CONDITIONS,
      superuser: false,
      restorer: "restorer",
    });
    for (const line of lines(comparison)) t.diagnostic(line);
    assert.equal(comparison.failures, 0, lines(comparison).join("\n"));
    const warned = lines(comparison);
    for (const expected of [
      `warning: event trigger log_ddl: missing (${REASONS.eventTrigger})`,
      `warning: event trigger quiet_drop: missing (${REASONS.eventTrigger})`,
      `warning: table reports.owned: owned by restorer, the source's owner is app_owner (${REASONS.notSuperuserOwner})`,
      `warning: schema vendor: owned by restorer, the source's owner is app_owner (${REASONS.notSuperuserOwner})`,
      `warning: objects owned by postgres in the source: owned by restorer (the objects listed apart excepted) (${REASONS.notSuperuserOwner})`,
      `warning: large objects owned by app_owner: 0, the source had 1 (${REASONS.notSuperuserOwner})`,
      `warning: default privileges of app_owner in * on functions: grant app_owner=X missing (${REASONS.notSuperuserDefaultAcl})`,
    ]) {
      assert.ok(warned.includes(expected), `expected "${expected}" in\n${warned.join("\n")}`);
    }
  });
});

describe("restored where the source-only roles do not exist (the scratch restore that lost grants)", () => {
  let bare: Cluster;
  before(async () => {
    bare = await startCluster();
  });
  after(async () => {
    await bare?.stop();
  });

  test("every grant, owner and policy that named a missing role is reported; named as that role's when it is known", async () => {
    const fingerprint = fingerprints.get("plain")!;
    await createDatabaseLike(bare, "plain", fingerprint);
    const result = await pgRestore(bare, bare.url("plain"), join(work, "plain.dump"));
    assert.ok(result.errors.some((line) => /role "reporting" does not exist/.test(line)));
    const restored = await fingerprintOf(bare, "plain");
    // Not told which roles are missing: each loss is a failure.
    const blind = diffCatalog(fingerprint, restored, DEFAULT_CONDITIONS);
    const failures = lines(blind).filter((line) => line.startsWith("failure:"));
    for (const expected of [
      // One missing grantee rolls back the whole GRANT entry: auditor's grant is lost with it.
      "failure: table reports.daily: grant auditor=r missing",
      "failure: table reports.daily: grant reporting=r missing",
      "failure: policy notes_read on public.notes: missing (permissive SELECT TO auditor,reporting)",
      "failure: table reports.owned: owned by postgres, the source's owner is app_owner",
    ]) {
      assert.ok(failures.includes(expected), `expected "${expected}" in\n${failures.join("\n")}`);
    }
    // Told: the losses that a missing role explains become warnings that name the role.
    const told = diffCatalog(fingerprint, restored, {
      ...DEFAULT_CONDITIONS,
      missingRoles: ["app_owner", "reporting", "auditor", "etl writer", "Ünïcode Role"],
    });
    assert.ok(
      lines(told).includes(
        `warning: policy notes_read on public.notes: missing (permissive SELECT TO auditor,reporting) (${REASONS.missingRole("auditor")})`,
      ),
      lines(told).join("\n"),
    );
    assert.ok(
      lines(told).includes(
        `warning: table reports.daily: grant auditor=r missing (${REASONS.missingRole("auditor")})`,
      ),
    );
  });
});
