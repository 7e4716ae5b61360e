/**
 * The imitation Supabase layout with what every real project also has: supabase_admin a superuser,
 * owning the platform's event triggers (issue_pg_cron_access, pgrst_ddl_watch, ...) and functions
 * in `extensions` whose owner holds its EXECUTE WITH GRANT OPTION (the platform's default
 * privileges give it so). A sound preset backup of it must pass restore-test on a plain server,
 * where supabase_admin exists only as the NOLOGIN stand-in restore-test creates, and on one whose
 * scratch role is not a superuser.
 */
import assert from "node:assert/strict";
import { after, before, describe, test } from "node:test";
import { startCluster, type Cluster } from "../helpers/postgres-cluster.js";
import { createSupabaseLayout } from "../helpers/supabase-layout.js";
import { assertFaithful, backup, makeStore, restoreTest, type Store } from "./fidelity-helpers.js";

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

before(async () => {
  [source, scratch] = await Promise.all([startCluster(), startCluster()]);
  await createSupabaseLayout(source, "app");
  await source.sql("postgres", "ALTER ROLE supabase_admin SUPERUSER");
  await source.sql("app", PLATFORM_EXTRAS_SQL);
  store = makeStore("supabase-platform");
  await backup(store, source.url("app"), "sb", ["--preset", "supabase"]);
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
});
