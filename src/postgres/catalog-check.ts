/**
 * The catalog side of a restore proof: the fingerprint scope a dump's manifest implies, the roles a
 * faithful scratch restore creates beforehand, and the comparison of a restored database with the
 * manifest's fingerprint (src/domain/catalog-diff.ts decides what fails and what is only a warning).
 */
import type pg from "pg";
import {
  CATALOG_FINGERPRINT_VERSION,
  diffCatalog,
  formatDifference,
  referencedRoles,
  type CatalogDifference,
  type CatalogFingerprint,
} from "../domain/catalog-diff.js";
import { describeError } from "../domain/errors.js";
import type { DumpScope, Manifest } from "../domain/manifest.js";
import { SUPABASE_PLATFORM_SCHEMAS, type Preset } from "../domain/supabase-preset.js";
import { takeCatalogFingerprint, type FingerprintScope } from "./catalog-fingerprint.js";
import { quoteIdent } from "./snapshot.js";

/**
 * What the fingerprint covers for a dump of `scope`: the same selection as pg_dump's (objects
 * outside schemas only when no schema or table is selected), the managed platform's schemas and
 * the extensions it installs left out on both sides.
 */
export function fingerprintScopeFor(scope: DumpScope, preset: Preset): FingerprintScope {
  return {
    includeSchemas: scope.includeSchemas,
    excludeSchemas: scope.excludeSchemas,
    includeTables: scope.includeTables,
    excludeTables: scope.excludeTables,
    schemaOnly: scope.schemaOnly,
    ...(preset === "supabase"
      ? { ignoreSchemas: SUPABASE_PLATFORM_SCHEMAS, ignoreExtensionSchemas: ["pg_catalog"] }
      : {}),
  };
}

/** The manifest's fingerprint when this code can compare with it; otherwise why not, in one line. */
export function usableCatalog(manifest: Manifest): { catalog: CatalogFingerprint } | { notice: string } {
  const { catalog } = manifest;
  if (!catalog) {
    return {
      notice: `the catalog comparison is skipped: backup ${manifest.backupId} has no catalog fingerprint (made before Lifeboat recorded one, or data-only)`,
    };
  }
  if (catalog.version !== CATALOG_FINGERPRINT_VERSION) {
    return {
      notice: `the catalog comparison is skipped: backup ${manifest.backupId} has a catalog fingerprint of version ${String(catalog.version)}, this Lifeboat reads version ${CATALOG_FINGERPRINT_VERSION}`,
    };
  }
  return { catalog };
}

export interface CreatedRoles {
  /** Roles the fingerprint names that the server lacked, created NOLOGIN. */
  created: string[];
  /** Roles that could not be created, with the server's reason. */
  missing: { role: string; error: string }[];
}

/**
 * Creates, NOLOGIN, every role the fingerprint names (owners, grantees, policy roles) that the
 * server lacks, so that the archive's ownership and grants apply in full: pg_restore sends all
 * grants of an object as one statement, and one unknown grantee loses all of them. Roles are
 * cluster-wide; they are left in place afterwards, like the roles object's.
 */
export async function createReferencedRoles(
  client: pg.Client,
  catalog: CatalogFingerprint,
): Promise<CreatedRoles> {
  const wanted = referencedRoles(catalog);
  const { rows } = await client.query<{ rolname: string }>(
    "SELECT rolname FROM pg_catalog.pg_roles WHERE rolname = ANY($1::text[])",
    [wanted],
  );
  const present = new Set(rows.map((row) => row.rolname));
  const out: CreatedRoles = { created: [], missing: [] };
  for (const role of wanted) {
    if (present.has(role)) continue;
    try {
      await client.query(`CREATE ROLE ${quoteIdent(role)} NOLOGIN`);
      out.created.push(role);
    } catch (error) {
      // Another restore-test on the same server may have created it meanwhile.
      if ((error as { code?: string }).code === "42710") continue;
      out.missing.push({ role, error: describeError(error) });
    }
  }
  return out;
}

export interface CatalogCheck {
  failures: number;
  warnings: number;
  /** Every difference, failures first, each naming its object. */
  differences: CatalogDifference[];
}

/**
 * Fingerprints the restored database (`client`, idle) with the dump's scope and compares it with
 * the source's. pg_restore options that leave objects out on purpose turn those objects' absence
 * into warnings.
 */
export async function compareRestoredCatalog(
  client: pg.Client,
  source: CatalogFingerprint,
  options: { scope: FingerprintScope; pgRestoreArgs: readonly string[]; missingRoles: readonly string[] },
): Promise<CatalogCheck> {
  // In the zone the source was read in; a source fingerprint that does not say was read in its
  // session's own zone, as the restored one then is.
  const restored = await takeCatalogFingerprint(
    client,
    { ...options.scope, globals: source.globals },
    { timeZone: source.timeZone ?? null },
  );
  const { rows } = await client.query<{ restorer: string; superuser: boolean }>(
    "SELECT current_user AS restorer, rolsuper AS superuser FROM pg_catalog.pg_roles WHERE rolname = current_user",
  );
  const eventTriggerOwners = Object.entries(source.owners)
    .filter(([label]) => label.startsWith("event trigger "))
    .map(([, owner]) => owner);
  const notSuperuser = await client.query<{ rolname: string }>(
    "SELECT rolname FROM pg_catalog.pg_roles WHERE NOT rolsuper AND rolname = ANY($1::text[])",
    [[...new Set([...eventTriggerOwners, source.owner])]],
  );
  const args = new Set(options.pgRestoreArgs);
  const comparison = diffCatalog(source, restored, {
    superuser: rows[0]?.superuser ?? false,
    restorer: rows[0]?.restorer ?? "",
    noOwner: args.has("--no-owner"),
    noPrivileges: args.has("--no-privileges") || args.has("--no-acl"),
    missingRoles: options.missingRoles,
    notSuperuserOwners: notSuperuser.rows.map((row) => row.rolname),
    databaseSettingsRestored: false,
  });
  const leftOut: [string, RegExp][] = [
    ["--no-publications", /^publication /],
    ["--no-policies", /^policy /],
  ];
  const differences = comparison.differences.map((difference) => {
    const option = leftOut.find(([name, object]) => args.has(name) && object.test(difference.object));
    return difference.severity === "failure" && option
      ? { ...difference, severity: "warning" as const, reason: `${option[0]}: left out on purpose` }
      : difference;
  });
  differences.sort((a, b) => (a.severity === b.severity ? 0 : a.severity === "failure" ? -1 : 1));
  return {
    failures: differences.filter((difference) => difference.severity === "failure").length,
    warnings: differences.filter((difference) => difference.severity === "warning").length,
    differences,
  };
}

/** The catalog comparison: the restored database against the manifest's fingerprint. */
export interface CatalogResult {
  compared: boolean;
  /** Why it did not run (an older backup), or how the scratch database had to differ from the source. */
  notices: string[];
  /** Roles the fingerprint names that the scratch server lacked, created NOLOGIN before the restore. */
  rolesCreated: string[];
  /** Roles that could not be created there: their grants and objects are expected to differ. */
  missingRoles: string[];
  failures: number;
  warnings: number;
  /** Every difference, failures first, each naming its object. */
  differences: CatalogDifference[];
}

/** The catalog's warnings and notices as check-record and report lines. */
export function catalogWarnings(catalog: CatalogResult): string[] {
  return [
    ...catalog.notices,
    ...catalog.differences
      .filter((d) => d.severity === "warning")
      .map((d) => `catalog ${formatDifference(d)}`),
  ];
}
