/**
 * restore's --table and --schema checked against what the backup holds. pg_restore matches them
 * silently: a name that is in no table of the archive restores nothing and exits 0, which reads as
 * a successful restore.
 */
import type { CatalogFingerprint } from "./catalog-diff.js";
import { InputError } from "./errors.js";
import type { Manifest } from "./manifest.js";

/**
 * Every name pg_restore --table can match in this backup (tables, partitions, views, materialized
 * views, sequences, foreign tables: pg_restore matches them all by bare name), and its schemas.
 */
export function restorableNames(manifest: Manifest): { tables: Set<string>; schemas: Set<string> } {
  const tables = new Set(manifest.tables.map((table) => table.table));
  const schemas = new Set(manifest.tables.map((table) => table.schema));
  const catalog: CatalogFingerprint | undefined = manifest.catalog;
  if (catalog?.schemas) {
    for (const schema of catalog.schemas) schemas.add(schema);
    for (const group of [
      catalog.tables,
      catalog.partitionedTables,
      catalog.views,
      catalog.materializedViews,
      catalog.foreignTables,
    ]) {
      for (const [schema, names] of Object.entries(group ?? {})) {
        schemas.add(schema);
        for (const name of names) tables.add(name);
      }
    }
    for (const [schema, sequences] of Object.entries(catalog.sequences ?? {})) {
      schemas.add(schema);
      for (const name of Object.keys(sequences)) tables.add(name);
    }
  }
  return { tables, schemas };
}

/** Throws an InputError (exit 2) naming the first --table or --schema the backup does not hold. */
export function checkRestoreScope(
  manifest: Manifest,
  scope: { tables: readonly string[]; schemas: readonly string[] },
): void {
  const known = restorableNames(manifest);
  const backup = `${manifest.label}/${manifest.backupId}`;
  for (const schema of scope.schemas) {
    if (!known.schemas.has(schema)) {
      throw new InputError(
        `--schema "${schema}": backup ${backup} has no schema of that name (it has ${list(known.schemas)})`,
        { input: "schema" },
      );
    }
  }
  for (const table of scope.tables) {
    if (known.tables.has(table)) continue;
    const dot = table.indexOf(".");
    const bare = dot > 0 ? table.slice(dot + 1) : undefined;
    const hint =
      bare !== undefined && known.tables.has(bare)
        ? `; --table takes the bare name, as pg_restore does: --schema ${table.slice(0, dot)} --table ${bare}`
        : "";
    throw new InputError(`--table "${table}": backup ${backup} has no table of that name${hint}`, {
      input: "table",
    });
  }
}

function list(names: Set<string>): string {
  const sorted = [...names].sort();
  return sorted.length > 10 ? `${sorted.slice(0, 10).join(", ")}, ...` : sorted.join(", ") || "none";
}
