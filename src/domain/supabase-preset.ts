/**
 * The `supabase` preset, pure: which schemas and table data a Supabase project's dump leaves out,
 * which extensions and roles are the platform's own. Decisions and sources: docs/supabase.md
 * (the lists follow the Supabase CLI's `db dump`, pkg/migration/dump.go).
 */
import { InputError } from "./errors.js";
import type { DumpScope } from "./manifest.js";

export type Preset = "none" | "supabase";
export const PRESETS: readonly Preset[] = ["none", "supabase"];

/**
 * Schemas the platform creates and maintains, or that extensions own: neither their definitions
 * nor their data are dumped. `supabase db dump` leaves these out of both its schema and its data
 * dump (cron, net and pgmq only of the schema dump: see docs/supabase.md). pg_catalog,
 * information_schema and pg_toast are never dumped by pg_dump anyway.
 */
export const SUPABASE_PLATFORM_SCHEMAS: readonly string[] = [
  "_analytics",
  "_realtime",
  "_supavisor",
  "pgbouncer",
  "realtime",
  "supabase_migrations",
  "cron",
  "dbdev",
  "graphql",
  "graphql_public",
  "net",
  "pgmq",
  "pgsodium",
  "pgsodium_masks",
  "pgtle",
  "repack",
  "tiger",
  "tiger_data",
  "timescaledb_*",
  "_timescaledb_*",
  "topology",
  "vault",
];

/**
 * Platform schemas that ARE dumped, definitions and data: auth and storage hold the user's users,
 * identities and object metadata; supabase_functions holds database webhooks that user tables'
 * triggers call; extensions holds the extensions user tables call (uuid_generate_v4()). Without
 * them a restore into a plain PostgreSQL fails on the first foreign key to auth.users.
 */
export const SUPABASE_KEPT_PLATFORM_SCHEMAS: readonly string[] = [
  "auth",
  "storage",
  "supabase_functions",
  "extensions",
];

/** The platform services' migration history: a fresh project has its own rows, so no data. */
export const SUPABASE_EXCLUDED_TABLE_DATA: readonly string[] = [
  "auth.schema_migrations",
  "storage.migrations",
  "supabase_functions.migrations",
];

/**
 * Roles the platform creates in every project (and extensions it preinstalls create), left out of
 * the roles object: a Supabase project already has them and refuses CREATE/ALTER on them
 * (supautils), and a plain PostgreSQL needs none of them for the user's objects to work. The API
 * roles anon, authenticated and service_role are kept on purpose: policies and grants name them.
 */
export const SUPABASE_RESERVED_ROLES: readonly string[] = [
  "postgres",
  "supabase_admin",
  "supabase_auth_admin",
  "supabase_storage_admin",
  "supabase_functions_admin",
  "supabase_realtime_admin",
  "supabase_replication_admin",
  "supabase_read_only_user",
  "supabase_etl_admin",
  "supabase_privileged_role",
  "supabase_superuser",
  "authenticator",
  "pgbouncer",
  "dashboard_user",
  "pgsodium_keyholder",
  "pgsodium_keyiduser",
  "pgsodium_keymaker",
  "pgtle_admin",
];

/** pg_* roles are PostgreSQL's own (pg_read_all_data, ...): never part of a roles object. */
export function isReservedRole(name: string, preset: Preset): boolean {
  if (name.startsWith("pg_")) return true;
  return preset === "supabase" && SUPABASE_RESERVED_ROLES.includes(name);
}

/**
 * The user's scope with the preset applied. The preset only adds: its schema exclusions go after
 * the user's --exclude-schema, its table-data exclusions after --exclude-table-data (each name
 * once). The user's --include-schema / --include-table narrow the dump as they do without a preset;
 * naming a schema the preset leaves out is refused, since the dump would silently hold nothing of it.
 */
export function applyPreset(preset: Preset, scope: DumpScope): DumpScope {
  if (preset === "none") return scope;
  for (const schema of scope.includeSchemas) {
    if (SUPABASE_PLATFORM_SCHEMAS.includes(schema)) {
      throw new InputError(
        `--include-schema "${schema}": the supabase preset leaves this platform schema out; drop --preset supabase to dump it`,
        { input: "include-schema" },
      );
    }
  }
  const union = (mine: readonly string[], theirs: readonly string[]) => [...new Set([...mine, ...theirs])];
  return {
    ...scope,
    excludeSchemas: union(scope.excludeSchemas, SUPABASE_PLATFORM_SCHEMAS),
    excludeTableData: union(scope.excludeTableData, SUPABASE_EXCLUDED_TABLE_DATA),
  };
}

/** pg_dump's schema patterns (`*` wildcard only, as in the list above) against one schema name. */
function matchesSchemaPattern(pattern: string, schema: string): boolean {
  const regex = new RegExp(`^${pattern.split("*").map(escapeRegex).join(".*")}$`);
  return regex.test(schema);
}

function escapeRegex(text: string): string {
  return text.replace(/[.*+?^${}()|[\]\\]/g, "\\$&");
}

export function isPlatformSchema(schema: string): boolean {
  return SUPABASE_PLATFORM_SCHEMAS.some((pattern) => matchesSchemaPattern(pattern, schema));
}

/**
 * Extensions the platform installs: those in pg_catalog (pg_cron) or in a platform schema
 * (pg_graphql, pgsodium, supabase_vault). No `--extension` filter keeps them out of the dump: like
 * -n and -t, it would turn off everything outside schemas (large objects, casts, default
 * privileges, foreign servers, publication membership, event triggers). pg_dump writes their
 * `CREATE EXTENSION IF NOT EXISTS` instead, a no-op in a Supabase project; a plain server refuses
 * it (the schema is not in the dump, or the extension not installed), restore-test reports that as
 * expected, and the catalog comparison leaves these extensions out on both sides.
 */
export function isPlatformExtensionSchema(schema: string): boolean {
  return schema === "pg_catalog" || isPlatformSchema(schema);
}

/** A pg_restore error about a missing platform role: expected on a plain server, so tolerated. */
export function isPlatformRoleError(error: string): boolean {
  const match = /role "((?:[^"]|"")+)" does not exist/.exec(error);
  return match !== null && isReservedRole(match[1]!.replaceAll('""', '"'), "supabase");
}

/**
 * The platform extension whose `CREATE EXTENSION IF NOT EXISTS ... WITH SCHEMA <platform schema>`
 * failed, from a pg_restore error's text ("... Command was: CREATE EXTENSION ..."), or undefined.
 * On a plain server these fail (the schema is not in the dump, or the extension is not installed).
 */
export function failedPlatformExtension(error: string): { extension: string; schema: string } | undefined {
  const created =
    /Command was: CREATE EXTENSION IF NOT EXISTS ("(?:[^"]|"")+"|\S+) WITH SCHEMA ("(?:[^"]|"")+"|[^\s;]+)/.exec(
      error,
    );
  if (!created) return undefined;
  const schema = unquoteName(created[2]!);
  return isPlatformExtensionSchema(schema) ? { extension: unquoteName(created[1]!), schema } : undefined;
}

/** An identifier as pg_dump writes it ("a ""b""" or bare) to the name it stands for. */
export function unquoteName(name: string): string {
  return name.startsWith('"') ? name.slice(1, -1).replaceAll('""', '"') : name;
}
