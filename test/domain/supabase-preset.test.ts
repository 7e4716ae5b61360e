/** The supabase preset's scope, platform extensions and role filter, as pure functions. */
import assert from "node:assert/strict";
import { describe, test } from "node:test";
import { buildPgDumpArgs, emptyScope } from "../../src/domain/dump-plan.js";
import { filterRolesSql, roleStatements } from "../../src/domain/roles-sql.js";
import {
  applyPreset,
  isPlatformRoleError,
  isPlatformExtensionSchema,
  isReservedRole,
} from "../../src/domain/supabase-preset.js";

describe("supabase preset scope", () => {
  test("adds the platform schemas and migration tables after the user's own exclusions, each once", () => {
    const scope = applyPreset("supabase", {
      ...emptyScope(),
      excludeSchemas: ["scratch", "realtime"],
      excludeTableData: ["public.logs"],
    });
    assert.deepEqual(scope.excludeSchemas.slice(0, 2), ["scratch", "realtime"]);
    assert.equal(scope.excludeSchemas.filter((s) => s === "realtime").length, 1);
    for (const schema of ["vault", "graphql", "supabase_migrations", "cron", "pgsodium", "_realtime"]) {
      assert.ok(scope.excludeSchemas.includes(schema), schema);
    }
    for (const kept of ["auth", "storage", "extensions", "supabase_functions", "public"]) {
      assert.ok(!scope.excludeSchemas.includes(kept), kept);
    }
    assert.deepEqual(scope.excludeTableData, [
      "public.logs",
      "auth.schema_migrations",
      "storage.migrations",
      "supabase_functions.migrations",
    ]);
  });

  test("none leaves the scope alone; an included platform schema is refused", () => {
    const scope = { ...emptyScope(), includeSchemas: ["realtime"] };
    assert.equal(applyPreset("none", scope), scope);
    assert.throws(() => applyPreset("supabase", scope), /--include-schema "realtime": the supabase preset/);
    assert.deepEqual(
      applyPreset("supabase", { ...emptyScope(), includeSchemas: ["public"] }).includeSchemas,
      ["public"],
    );
  });

  test("passes no --extension filter (it would drop large objects, casts, default privileges, ...)", () => {
    const args = buildPgDumpArgs({
      scope: applyPreset("supabase", emptyScope()),
      snapshot: undefined,
      extraArgs: [],
    });
    assert.deepEqual(
      args.filter((arg) => /^--(extension|schema|table)=|^-[ent]/.test(arg)),
      [],
    );
    assert.ok(args.includes("--exclude-schema=graphql"));
    assert.ok(args.includes("--exclude-table-data=auth.schema_migrations"));
  });

  test("platform extensions: those in pg_catalog or a platform schema", () => {
    for (const schema of ["pg_catalog", "graphql", "vault", "pgsodium", "_timescaledb_catalog"])
      assert.ok(isPlatformExtensionSchema(schema), schema);
    for (const schema of ["extensions", "public", "auth", "my_schema"])
      assert.ok(!isPlatformExtensionSchema(schema), schema);
  });

  test("reserved roles: the platform's and pg_*, not the API roles", () => {
    for (const role of [
      "postgres",
      "supabase_admin",
      "supabase_auth_admin",
      "authenticator",
      "pg_read_all_data",
    ]) {
      assert.ok(isReservedRole(role, "supabase"), role);
    }
    for (const role of ["anon", "authenticated", "service_role", "app"])
      assert.ok(!isReservedRole(role, "supabase"));
    assert.ok(!isReservedRole("postgres", "none"));
    assert.ok(isReservedRole("pg_monitor", "none"));
    assert.ok(
      isPlatformRoleError('could not execute query: ERROR:  role "supabase_auth_admin" does not exist'),
    );
    assert.ok(!isPlatformRoleError('could not execute query: ERROR:  role "app_owner" does not exist'));
  });
});

const DUMPALL = `--
-- PostgreSQL database cluster dump
--

\\restrict abc123

SET default_transaction_read_only = off;

SET client_encoding = 'UTF8';
SET standard_conforming_strings = on;

--
-- Roles
--

CREATE ROLE anon;
ALTER ROLE anon WITH NOSUPERUSER NOINHERIT NOCREATEROLE NOCREATEDB NOLOGIN NOREPLICATION NOBYPASSRLS;
CREATE ROLE "Odd; ""Role""";
ALTER ROLE "Odd; ""Role""" WITH NOSUPERUSER INHERIT NOCREATEROLE NOCREATEDB LOGIN NOREPLICATION NOBYPASSRLS VALID UNTIL '2030-01-01 00:00:00+00';
COMMENT ON ROLE "Odd; ""Role""" IS 'line one;
-- not a comment
line three';
CREATE ROLE postgres;
ALTER ROLE postgres WITH SUPERUSER INHERIT CREATEROLE CREATEDB LOGIN REPLICATION BYPASSRLS;
CREATE ROLE supabase_admin;
ALTER ROLE supabase_admin WITH SUPERUSER INHERIT CREATEROLE CREATEDB LOGIN REPLICATION BYPASSRLS PASSWORD 'SCRAM-SHA-256$4096:x';
ALTER ROLE anon SET statement_timeout TO '3s';
ALTER ROLE supabase_admin SET search_path TO 'public', 'extensions';
GRANT anon TO authenticator GRANTED BY postgres;
GRANT anon TO "Odd; ""Role""" WITH INHERIT TRUE GRANTED BY supabase_admin;
GRANT supabase_admin TO "Odd; ""Role""" GRANTED BY postgres;

\\unrestrict abc123

--
-- PostgreSQL database cluster dump complete
--
`;

describe("roles filter", () => {
  const filtered = filterRolesSql(
    DUMPALL,
    (role) => isReservedRole(role, "supabase"),
    "Roles of x\nsecond line",
  );

  test("leaves out every statement about a reserved role and keeps the rest whole", () => {
    assert.deepEqual(filtered.roles, ["anon", 'Odd; "Role"']);
    assert.deepEqual(filtered.left, ["postgres", "supabase_admin"]);
    assert.ok(filtered.sql.startsWith("-- Roles of x\n-- second line\n"));
    assert.doesNotMatch(filtered.sql, /supabase_admin|postgres|authenticator|PASSWORD|restrict/);
    assert.match(
      filtered.sql,
      /COMMENT ON ROLE "Odd; ""Role""" IS 'line one;\n-- not a comment\nline three';/,
    );
    assert.match(filtered.sql, /^GRANT anon TO "Odd; ""Role""" WITH INHERIT TRUE;$/m);
    assert.match(filtered.sql, /^ALTER ROLE anon SET statement_timeout TO '3s';$/m);
  });

  test("drops the attributes only a superuser may state, keeps the others and quoted values", () => {
    assert.match(filtered.sql, /^ALTER ROLE anon WITH NOINHERIT NOCREATEROLE NOCREATEDB NOLOGIN;$/m);
    assert.match(
      filtered.sql,
      /^ALTER ROLE "Odd; ""Role""" WITH INHERIT NOCREATEROLE NOCREATEDB LOGIN VALID UNTIL '2030-01-01 00:00:00\+00';$/m,
    );
  });

  test("the output parses back into the statements it holds", () => {
    const kinds = roleStatements(filtered.sql).map((statement) => statement.kind);
    assert.deepEqual(kinds, [
      "session",
      "session",
      "session",
      "create",
      "alter",
      "create",
      "alter",
      "comment",
      "alter",
      "grant",
    ]);
  });
});
