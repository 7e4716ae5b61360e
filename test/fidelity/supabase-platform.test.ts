/**
 * The imitation Supabase layout with what every real project also has: supabase_admin a superuser,
 * owning the platform's event triggers (issue_pg_cron_access, pgrst_ddl_watch, ...) and functions
 * in `extensions` whose owner holds its EXECUTE WITH GRANT OPTION (the platform's default
 * privileges give it so). A sound preset backup of it must pass restore-test on a plain server,
 * where supabase_admin exists only as the NOLOGIN stand-in restore-test creates, and on one whose
 * scratch role is not a superuser.
 */
import assert from "node:assert/strict";
import { execFileSync } from "node:child_process";
import { join } from "node:path";
import { after, before, describe, test } from "node:test";
import { runCli } from "../helpers/cli.js";
import { startCluster, type Cluster } from "../helpers/postgres-cluster.js";
import { createSupabaseLayout } from "../helpers/supabase-layout.js";
import {
  assertFaithful,
  backup,
  catalogOf,
  makeStore,
  restoreTest,
  type Backup,
  type Store,
} from "./fidelity-helpers.js";

const PLATFORM_EXTRAS_SQL = `
CREATE FUNCTION extensions.grant_pg_cron_access() RETURNS event_trigger LANGUAGE plpgsql AS $$
BEGIN
  RAISE NOTICE 'cron';
END
$$;
ALTER FUNCTION extensions.grant_pg_cron_access() OWNER TO supabase_admin;
GRANT ALL ON FUNCTION extensions.grant_pg_cron_access() TO supabase_admin WITH GRANT OPTION;
CREATE EVENT TRIGGER issue_pg_cron_access ON ddl_command_end WHEN TAG IN ('CREATE EXTENSION')
  EXECUTE FUNCTION extensions.grant_pg_cron_access();
ALTER EVENT TRIGGER issue_pg_cron_access OWNER TO supabase_admin;
`;

let source: Cluster;
let scratch: Cluster;
let store: Store;
let made: Backup;

before(async () => {
  [source, scratch] = await Promise.all([startCluster(), startCluster()]);
  await createSupabaseLayout(source, "app");
  await source.sql("postgres", "ALTER ROLE supabase_admin SUPERUSER");
  await source.sql("app", PLATFORM_EXTRAS_SQL);
  store = makeStore("supabase-platform");
  made = await backup(store, source.url("app"), "sb", ["--preset", "supabase"]);
});

after(async () => {
  await Promise.all([source?.stop(), scratch?.stop()]);
  store?.cleanup();
});

describe("a Supabase project's event triggers and superuser-owned functions", () => {
  test("restore-test on a plain server passes: the event trigger stays with the restorer, as a warning", async () => {
    // Twice: the second run finds supabase_admin left by the first (roles are never dropped).
    for (const attempt of [1, 2]) {
      const run = await restoreTest(store, "sb", scratch.url("postgres"));
      const catalog = assertFaithful(run);
      const trigger = catalog.differences.find((d) => d.object === "event trigger issue_pg_cron_access");
      assert.ok(trigger, `attempt ${attempt}: ${JSON.stringify(catalog.differences)}`);
      assert.equal(trigger.severity, "warning");
      assert.equal(trigger.problem, "owned by postgres, the source's owner is supabase_admin");
      assert.match(trigger.reason ?? "", /event trigger's owner must be a superuser.*supabase_admin/);
    }
    const owner = await scratch.sql<{ owner: string }>(
      "postgres",
      "SELECT rolsuper::text AS owner FROM pg_roles WHERE rolname = 'supabase_admin'",
    );
    assert.equal(owner[0]?.owner, "false", "the stand-in is not made a superuser");
  });

  test("restore-test as a scratch role that is not a superuser: the owner's own grant is no lost revoke", async () => {
    // As in the supabase/postgres image, the API roles exist already (BYPASSRLS needs a superuser).
    await scratch.sql(
      "postgres",
      `DO $$ BEGIN
         IF NOT EXISTS (SELECT FROM pg_roles WHERE rolname = 'service_role') THEN
           CREATE ROLE service_role NOLOGIN NOINHERIT BYPASSRLS;
         END IF;
       END $$;
       CREATE ROLE scratch_admin LOGIN PASSWORD 'scratch-admin-pw' NOSUPERUSER CREATEDB CREATEROLE;`,
    );
    const run = await restoreTest(
      store,
      "sb",
      scratch.url("postgres", { user: "scratch_admin", password: "scratch-admin-pw" }),
    );
    const catalog = catalogOf(run);
    const grant = catalog.differences.find(
      (d) => d.object === "function extensions.grant_pg_cron_access()" && d.problem.startsWith("grant "),
    );
    assert.ok(grant, JSON.stringify(catalog.differences));
    assert.equal(grant.severity, "warning", JSON.stringify(grant));
    assert.equal(grant.reason, "a restorer that is not a superuser cannot give objects to other roles");
    assertFaithful(run);
  });
});

describe("restore of a Supabase backup into a plain server, as docs/supabase.md says", () => {
  let plain: Cluster;
  before(async () => {
    plain = await startCluster();
  });
  after(async () => {
    await plain?.stop();
  });

  const restore = () =>
    runCli(
      [
        "restore",
        "--storage",
        store.storage,
        "--label",
        "sb",
        "--identity-file",
        store.identityFile,
        "--target-database-url",
        plain.url("app"),
        "--confirm",
        "app",
        "--safety-backup",
        "false",
      ],
      { env: { PATH: process.env.PATH } },
    );

  test("the roles object, then the platform's roles the warning names, then restore: it passes", async () => {
    const roles = execFileSync("age", ["-d", "-i", store.identityFile, join(made.folder, "roles.sql.age")]);
    execFileSync("psql", ["-q", "-v", "ON_ERROR_STOP=1", plain.url("postgres")], { input: roles });
    await plain.createDatabase("app");

    const first = await restore();
    assert.equal(first.code, 1, first.stderr);
    const hint = /create them first \(((?:CREATE ROLE \w+ NOLOGIN; ?)+)\)/.exec(first.stderr);
    assert.ok(hint, first.stderr);
    assert.match(hint[1]!, /CREATE ROLE supabase_admin NOLOGIN;/);
    assert.doesNotMatch(first.stderr, /apply the backup's roles object/, "the roles object was applied");

    await plain.sql("postgres", hint[1]!);
    const second = await restore();
    assert.equal(second.code, 0, second.stderr);
    assert.match(second.stderr, /catalog 0 failure\(s\)/);
    assert.match(second.stderr, /benign \(a platform's event trigger stays with the restoring superuser/);
  });
});
