/**
 * Fidelity on the imitation Supabase layout (test/helpers/supabase-layout.ts), with the preset: the
 * backup keeps what the user owns (no --extension filter), restore-test on a vanilla scratch server
 * loses nothing of it (RLS and storage policies, the auth trigger, grants to the API roles); a lost
 * storage policy, and grants rolled back by one unknown grantee, fail it by name. And
 * docs/supabase.md's "into a new project" recipe, run as the doc writes it, as a project user that
 * is not a superuser, into a database that imitates a new project.
 */
import assert from "node:assert/strict";
import { execFileSync } from "node:child_process";
import { copyFileSync, mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, describe, test } from "node:test";
import { startCluster, type Cluster } from "../helpers/postgres-cluster.js";
import {
  createSupabaseLayout,
  createSupabaseProject,
  IMITATED_KEPT_TABLES,
} from "../helpers/supabase-layout.js";
import {
  assertFailed,
  assertFaithful,
  backup,
  failingStatement,
  loseFromBackup,
  makeStore,
  restoreTest,
  type Backup,
  type Store,
} from "./fidelity-helpers.js";

let source: Cluster;
let scratch: Cluster;
let store: Store;
let made: Backup;

before(async () => {
  [source, scratch] = await Promise.all([startCluster(), startCluster()]);
  await createSupabaseLayout(source, "app");
  store = makeStore("supabase");
  made = await backup(store, source.url("app"), "sb", ["--preset", "supabase"]);
});

after(async () => {
  await Promise.all([source?.stop(), scratch?.stop()]);
  store?.cleanup();
});

describe("the imitation Supabase layout", () => {
  test("restore-test on a vanilla server loses nothing: policies, the auth trigger, grants to the API roles", async () => {
    const catalog = made.manifest.catalog!;
    assert.equal(catalog.globals, true, "objects outside schemas are in the dump");
    assert.ok(catalog.policies["storage.objects"]?.["own objects"]);
    assert.deepEqual(Object.keys(catalog.policies["public.posts"]!).sort(), [
      "own posts",
      "posts are public",
      "service posts",
    ]);
    assert.deepEqual(catalog.triggers["auth.users"], ["on_auth_user_created"]);
    assert.ok(!("pg_trgm" in catalog.extensions), "the platform's extension is left out of the comparison");
    const run = await restoreTest(store, "sb", scratch.url("postgres"));
    assertFaithful(run);
    assert.equal(run.json.tablesChecked, Object.keys(IMITATED_KEPT_TABLES).length);
  });

  test("a storage policy lost, and grants rolled back by one unknown grantee, fail restore-test by name", async () => {
    const policy = 'CREATE POLICY "own objects" ON storage.objects';
    const once = loseFromBackup(
      store,
      made,
      "sb-lost",
      policy,
      failingStatement(policy, `${policy} USING (lifeboat_lost_object());`),
    );
    // pg_restore sends an object's grants as one query: one grantee the server lacks loses them all.
    const grant = "GRANT USAGE ON SCHEMA extensions TO anon;";
    loseFromBackup(
      store,
      once,
      "sb-lost",
      grant,
      failingStatement(grant, "GRANT USAGE ON SCHEMA extensions TO lifeboat_ghost_role;"),
    );
    const run = await restoreTest(store, "sb-lost", scratch.url("postgres"), [
      "--tolerate",
      "does not exist",
    ]);
    const failures = assertFailed(run);
    assert.ok(
      failures.includes(
        'catalog: policy "own objects" on storage.objects: missing (permissive SELECT TO authenticated)',
      ),
      failures.join("\n"),
    );
    for (const role of ["anon", "authenticated", "service_role"]) {
      assert.ok(
        failures.includes(`catalog: schema extensions: grant ${role}=U missing`),
        failures.join("\n"),
      );
    }
    assert.ok(
      failures.some((line) =>
        /^schema extensions: grant \w+=U missing: pg_restore failed on ACL SCHEMA extensions: .*role "lifeboat_ghost_role" does not exist/.test(
          line,
        ),
      ),
      failures.join("\n"),
    );
    assert.deepEqual(
      (run.json.toleratedErrors as string[]).filter((line) => !/pg_trgm/.test(line)),
      [],
    );
  });
});

describe("docs/supabase.md: into a new project", () => {
  let project: Cluster;
  let dir: string;
  before(async () => {
    project = await startCluster();
    await createSupabaseProject(project, "project");
    dir = mkdtempSync(join(tmpdir(), "lifeboat-recipe-"));
  });
  after(async () => {
    await project?.stop();
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  test("the recipe, as written, restores everything of the user's, no step needing a superuser", async () => {
    const doc = readFileSync(join(import.meta.dirname, "../../docs/supabase.md"), "utf8");
    const recipe = /<!-- recipe: new-project[^>]*-->\s*```sh\n([\s\S]*?)```/.exec(doc)?.[1];
    assert.ok(recipe, "docs/supabase.md has the recipe block");
    copyFileSync(join(made.folder, "dump.age"), join(dir, "dump.age"));
    copyFileSync(join(made.folder, "roles.sql.age"), join(dir, "roles.sql.age"));
    copyFileSync(store.identityFile, join(dir, "key.txt"));
    const admin = { user: "project_admin", password: "project-admin-pw" };
    const superuser = await project.sql<{ rolsuper: boolean }>(
      "postgres",
      "SELECT rolsuper FROM pg_roles WHERE rolname = 'project_admin'",
    );
    assert.equal(superuser[0]!.rolsuper, false);
    execFileSync("sh", ["-e", "-c", recipe], {
      cwd: dir,
      env: { PATH: process.env.PATH, TARGET_URL: project.url("project", admin) },
      stdio: "pipe",
    });

    for (const [table, rows] of Object.entries(IMITATED_KEPT_TABLES)) {
      const [{ n }] = (await project.sql<{ n: number }>(
        "project",
        `SELECT count(*)::int AS n FROM ${table}`,
      )) as [{ n: number }];
      assert.equal(n, rows, table);
    }
    const policies = await project.sql<{ name: string }>(
      "project",
      "SELECT schemaname || '.' || tablename || ': ' || policyname AS name FROM pg_policies ORDER BY 1",
    );
    assert.deepEqual(
      policies.map((p) => p.name),
      [
        "public.posts: own posts",
        "public.posts: posts are public",
        "public.posts: service posts",
        "public.profiles: own profile",
        "storage.objects: own objects",
      ],
    );
    const fks = await project.sql<{ name: string }>(
      "project",
      "SELECT conname AS name FROM pg_constraint WHERE contype = 'f' AND connamespace = 'public'::regnamespace ORDER BY 1",
    );
    assert.deepEqual(
      fks.map((f) => f.name),
      ["posts_author_fkey", "profiles_id_fkey"],
    );
    // The auth trigger is there, and fires for a new user only (the restored ones have profiles).
    await project.sql("project", "INSERT INTO auth.users (email) VALUES ('new@example.com')");
    const [{ n }] = (await project.sql<{ n: number }>(
      "project",
      "SELECT count(*)::int AS n FROM public.profiles",
    )) as [{ n: number }];
    assert.equal(n, IMITATED_KEPT_TABLES["public.profiles"]! + 1);
  });
});
