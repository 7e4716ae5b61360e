/**
 * Fidelity on a real schema (test/helpers/real-schemas.ts): partitions, large objects, casts,
 * default privileges, a foreign server with user mappings (postgres_fdw), publications with member
 * tables, grants and owners naming roles that exist on the source only, RLS, event triggers. Backed
 * up and restore-tested on a vanilla scratch cluster (none of the roles): zero catalog losses. Then
 * the same backup with one object or grant lost from its archive: restore-test fails and names it,
 * also when a --tolerate pattern covers the error pg_restore printed for it. And a restorer that is
 * not a superuser: what it cannot do is reported as warnings with the reason, never dropped.
 */
import assert from "node:assert/strict";
import { after, before, describe, test } from "node:test";
import { runCli } from "../helpers/cli.js";
import { startCluster, type Cluster } from "../helpers/postgres-cluster.js";
import {
  addDefaultPrivileges,
  addEventTrigger,
  addGrants,
  buildRealSchema,
  createRoles,
  SOURCE_ONLY_ROLES,
} from "../helpers/real-schemas.js";
import {
  assertFailed,
  assertFaithful,
  backup,
  catalogOf,
  failingStatement,
  loseFromBackup,
  makeStore,
  restoreTest,
  withoutStatement,
  type Backup,
  type Store,
} from "./fidelity-helpers.js";

let source: Cluster;
let scratch: Cluster;
let store: Store;
let real: Backup;

before(async () => {
  [source, scratch] = await Promise.all([startCluster(), startCluster()]);
  await source.createDatabase("real");
  await buildRealSchema(source, "real");
  store = makeStore("real");
  real = await backup(store, source.url("real"), "real");
});

after(async () => {
  await Promise.all([source?.stop(), scratch?.stop()]);
  store?.cleanup();
});

describe("a real schema", () => {
  test("the manifest's fingerprint holds the objects outside schemas, and restore-test loses none of them", async () => {
    const catalog = real.manifest.catalog!;
    assert.equal(catalog.globals, true);
    assert.equal(catalog.largeObjects.count, 3);
    for (const cast of ["public.money_pair AS text", "public.mood AS int4"])
      assert.ok(cast in catalog.casts, cast);
    assert.deepEqual(catalog.foreignServers, { loopback: "postgres_fdw" });
    assert.deepEqual(catalog.userMappings, ["postgres@loopback", "public@loopback", "reporting@loopback"]);
    for (const table of ["public.cities", "public.messages"])
      assert.ok(catalog.publications.pub_messages!.tables.includes(table), table);
    assert.ok(Object.keys(catalog.defaultAcls).some((key) => key.endsWith(" in * on functions")));
    assert.deepEqual(Object.keys(catalog.eventTriggers).sort(), ["log_ddl", "quiet_drop"]);
    assert.deepEqual(Object.keys(catalog.partitionedTables), ["sales"]);

    const run = await restoreTest(store, "real", scratch.url("postgres"));
    const result = assertFaithful(run);
    assert.deepEqual([...result.rolesCreated].sort(), [...SOURCE_ONLY_ROLES].sort());
    assert.deepEqual(run.json.toleratedErrors, []);
    assert.deepEqual(run.json.restoreErrors, []);
  });

  // Each case: the statement taken out of (or broken in) the archive, the object the failure names.
  const lost: [string, string, string, RegExp][] = [
    [
      "a grant among several on one object",
      "GRANT SELECT ON TABLE reports.daily TO reporting;",
      "GRANT SELECT ON TABLE reports.daily TO reporting;",
      /^catalog: table reports\.daily: grant reporting=r missing$/,
    ],
    [
      "a cast",
      "CREATE CAST (public.mood AS integer)",
      "CREATE CAST (public.mood AS integer)",
      /^catalog: cast public\.mood AS int4: missing$/,
    ],
    [
      "a grant on a large object",
      "GRANT SELECT ON LARGE OBJECT 424242 TO reporting;",
      "GRANT SELECT ON LARGE OBJECT 424242 TO reporting;",
      /^catalog: large object 424242: grant reporting=r missing$/,
    ],
    [
      "a publication's member table",
      "ALTER PUBLICATION pub_messages ADD TABLE ONLY public.cities;",
      "ALTER PUBLICATION pub_messages ADD TABLE ONLY public.cities;",
      /^catalog: publication pub_messages: member table public\.cities missing$/,
    ],
    [
      "default privileges",
      "ALTER DEFAULT PRIVILEGES FOR ROLE postgres IN SCHEMA reports GRANT SELECT ON TABLES  TO reporting;",
      "ALTER DEFAULT PRIVILEGES FOR ROLE postgres IN SCHEMA reports GRANT SELECT ON TABLES  TO reporting;",
      /^catalog: default privileges of postgres in reports on tables: grant reporting=r missing$/,
    ],
    [
      "a partition's attachment",
      "ALTER TABLE ONLY sales.orders ATTACH PARTITION sales.orders_2025",
      "ALTER TABLE ONLY sales.orders ATTACH PARTITION sales.orders_2025",
      /^catalog: table sales\.orders_2025: partition of .* missing$/,
    ],
  ];
  for (const [what, needle, statement, failure] of lost) {
    test(`${what} lost from the archive fails restore-test, named`, async () => {
      const label = `lost-${what.replace(/\W+/g, "-")}`;
      loseFromBackup(store, real, label, needle, withoutStatement(statement));
      const run = await restoreTest(store, label, scratch.url("postgres"));
      const failures = assertFailed(run);
      assert.ok(
        failures.some((line) => failure.test(line)),
        failures.join("\n"),
      );
      assert.ok(catalogOf(run).failures >= 1);
    });
  }

  test("an object whose statement failed is a loss even when --tolerate covers the error: named with pg_restore's error", async () => {
    const label = "lost-failing";
    const policy = "CREATE POLICY notes_read ON public.notes";
    const once = loseFromBackup(
      store,
      real,
      label,
      policy,
      failingStatement(policy, `${policy} USING (lifeboat_lost_object());`),
    );
    const mapping = "CREATE USER MAPPING FOR reporting SERVER loopback";
    loseFromBackup(
      store,
      once,
      label,
      mapping,
      failingStatement(mapping, `${mapping} OPTIONS (lifeboat_lost 'x');`),
    );
    const run = await restoreTest(store, label, scratch.url("postgres"), ["--tolerate", "lifeboat_lost"]);
    const failures = assertFailed(run);
    assert.ok(
      failures.some((line) =>
        /^policy notes_read on public\.notes: missing .*: pg_restore failed on POLICY public\.notes notes_read: .*lifeboat_lost_object\(\) does not exist/.test(
          line,
        ),
      ),
      failures.join("\n"),
    );
    assert.ok(
      failures.some((line) =>
        /^user mapping reporting@loopback: missing: pg_restore failed on USER MAPPING .*invalid option "lifeboat_lost"/.test(
          line,
        ),
      ),
      failures.join("\n"),
    );
    assert.ok(
      failures.includes(
        "catalog: policy notes_read on public.notes: missing (permissive SELECT TO auditor,reporting)",
      ),
    );
    assert.deepEqual(run.json.toleratedErrors, []);
    assert.equal((run.json.restoreErrors as string[]).length, 2);
  });

  test("an error no loss explains is tolerated by --tolerate, and listed with the pattern", async () => {
    const label = "tolerated";
    // A statement that fails without losing anything the catalog records (comments are not).
    const comment = "COMMENT ON EXTENSION postgres_fdw IS";
    const copy = loseFromBackup(
      store,
      real,
      label,
      comment,
      failingStatement(comment, `${comment} 'x' || lifeboat_harmless();`),
    );
    const run = await restoreTest(store, copy.label, scratch.url("postgres"), [
      "--tolerate",
      "lifeboat_harmless",
    ]);
    assertFaithful(run);
    const tolerated = run.json.toleratedErrors as string[];
    assert.equal(tolerated.length, 1, tolerated.join("\n"));
    assert.match(
      tolerated[0]!,
      /^could not execute query: ERROR: {2}syntax error .*lifeboat_harmless.*\[COMMENT EXTENSION postgres_fdw; matches --tolerate \/lifeboat_harmless\/\]$/,
    );
    const failing = await restoreTest(store, copy.label, scratch.url("postgres"));
    assert.match(assertFailed(failing)[0]!, /^pg_restore reported 1 error\(s\): .*lifeboat_harmless/);
  });

  test("--include-schema public: schema public, which the scratch database has, is expected; the foreign table whose server -n left out is named lost", async () => {
    await backup(store, source.url("real"), "public-only", ["--include-schema", "public"]);
    const run = await restoreTest(store, "public-only", scratch.url("postgres"));
    const failures = assertFailed(run);
    // pg_dump -n leaves objects outside schemas out, the foreign table's server among them.
    assert.ok(
      failures.includes("catalog: foreign table public.remote_settings: missing"),
      failures.join("\n"),
    );
    assert.ok(
      failures.some((line) =>
        /^foreign table public\.remote_settings: missing: pg_restore failed on FOREIGN TABLE public\.remote_settings: .*server "loopback" does not exist/.test(
          line,
        ),
      ),
      failures.join("\n"),
    );
    assert.equal(catalogOf(run).failures, 1);
    assert.deepEqual(run.json.toleratedErrors, [
      'could not execute query: ERROR:  schema "public" already exists Command was: CREATE SCHEMA public; [SCHEMA public; a new database has schema public already]',
    ]);
  });
});

describe("a restorer that is not a superuser", () => {
  let ddl: Backup;
  before(async () => {
    await source.createDatabase("ddl");
    await createRoles(source);
    await addGrants(source, "ddl");
    await addDefaultPrivileges(source, "ddl");
    await addEventTrigger(source, "ddl");
    ddl = await backup(store, source.url("ddl"), "ddl");
    await scratch.sql("postgres", "CREATE ROLE restorer LOGIN PASSWORD 'restorer-pw' CREATEDB CREATEROLE");
  });

  test("passes with the event triggers and owners it could not set as warnings, each with the reason", async () => {
    const run = await restoreTest(
      store,
      ddl.label,
      scratch.url("postgres", { user: "restorer", password: "restorer-pw" }),
    );
    const catalog = assertFaithful(run);
    const warnings = catalog.differences.map((d) => `${d.object}: ${d.problem} (${d.reason})`);
    for (const trigger of ["log_ddl", "quiet_drop"]) {
      assert.ok(
        warnings.includes(`event trigger ${trigger}: missing (creating an event trigger needs superuser)`),
        warnings.join("\n"),
      );
    }
    assert.ok(
      warnings.some((w) => /^objects owned by postgres in the source: owned by restorer/.test(w)),
      warnings.join("\n"),
    );
    // pg_restore's errors behind them are listed, each with the warning that explains it.
    const tolerated = run.json.toleratedErrors as string[];
    assert.ok(
      tolerated.some((line) =>
        /event trigger.*\[EVENT TRIGGER log_ddl; event trigger log_ddl: creating an event trigger needs superuser\]$/.test(
          line,
        ),
      ),
      tolerated.join("\n"),
    );
    assert.ok(
      tolerated.every((line) => /\[.*; .+\]$/.test(line)),
      tolerated.join("\n"),
    );
  });
});

describe("restore on the real schema", () => {
  const restore = (label: string, database: string) =>
    runCli(
      [
        "restore",
        "--storage",
        store.storage,
        "--label",
        label,
        "--identity-file",
        store.identityFile,
        "--target-database-url",
        source.url(database),
        "--confirm",
        database,
        "--safety-backup",
        "false",
        "--drop-old",
        "--json",
      ],
      { env: { PATH: process.env.PATH } },
    );

  test("restored over a copy by new database and swap: rows and catalog checked there, nothing lost", async () => {
    await source.createDatabase("real_copy");
    const run = await restore("real", "real_copy");
    assert.equal(run.code, 0, run.stderr);
    assert.equal(run.json.strategy, "swap");
    const catalog = run.json.catalog as { compared: boolean; failures: number };
    assert.equal(catalog.compared, true);
    assert.equal(catalog.failures, 0);
    const rows = run.json.rowCheck as { tablesChecked: number; mismatches: unknown[] };
    assert.equal(rows.tablesChecked, real.manifest.tables.length);
    assert.deepEqual(rows.mismatches, []);
    const [orders] = await source.sql<{ n: string }>("real_copy", "SELECT count(*) AS n FROM sales.orders");
    const [expected] = await source.sql<{ n: string }>("real", "SELECT count(*) AS n FROM sales.orders");
    assert.equal(orders!.n, expected!.n);
  });

  test("a grant lost from the archive fails restore, named, and leaves the target as it was", async () => {
    const label = "restore-lost-grant";
    const grant = "GRANT SELECT ON TABLE reports.daily TO reporting;";
    loseFromBackup(store, real, label, grant, withoutStatement(grant));
    await source.createDatabase("real_target");
    await source.sql(
      "real_target",
      "CREATE TABLE before_restore (id int); INSERT INTO before_restore VALUES (1)",
    );
    const run = await restore(label, "real_target");
    assert.equal(run.code, 1, run.stderr);
    assert.match(run.stderr, /reports\.daily: grant reporting=r missing/);
    const [kept] = await source.sql<{ n: string }>("real_target", "SELECT count(*) AS n FROM before_restore");
    assert.equal(kept!.n, "1");
  });
});
