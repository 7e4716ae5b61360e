/**
 * The exported snapshot pg_dump dumps, and the exact row counts taken in it.
 *
 * A REPEATABLE READ transaction exports its snapshot; pg_dump runs with --snapshot=<id>, so both
 * see the same data. The transaction must stay open until pg_dump has imported the snapshot; it is
 * kept open until the dump ends, which also keeps the counting and the dump side by side.
 */
import type pg from "pg";
import { disableTimeouts } from "./connect.js";
import { parseNamePattern, schemaPatternRegex } from "../domain/pg-pattern.js";
import type { DumpScope, TableCount } from "../domain/manifest.js";

export interface Snapshot {
  id: string;
  /** Counts the rows of every table whose data the dump holds, in the snapshot. */
  countRows(scope: DumpScope, options: { excludeUnlogged: boolean }): Promise<TableCount[]>;
  /** Ends the transaction (the snapshot stops being importable). */
  release(): Promise<void>;
}

export async function exportSnapshot(client: pg.Client): Promise<Snapshot> {
  // Long dumps must not be cancelled by the server's timeouts (connect() turns them off too; this
  // session holds the snapshot and counts, so it makes sure); row security off makes a count
  // that RLS would filter fail loudly, the way pg_dump itself does, instead of counting less.
  await disableTimeouts(client);
  await client.query("SET row_security = off");
  await client.query("BEGIN ISOLATION LEVEL REPEATABLE READ, READ ONLY");
  const { rows } = await client.query<{ id: string }>("SELECT pg_export_snapshot() AS id");
  let open = true;
  return {
    id: rows[0]!.id,
    async countRows(scope, options) {
      if (scope.schemaOnly) return [];
      const tables = await listDumpedTables(client, scope, options);
      const counts: TableCount[] = [];
      for (const table of tables) {
        const result = await client.query<{ rows: string }>(
          `SELECT count(*) AS rows FROM ONLY ${quoteIdent(table.schema)}.${quoteIdent(table.table)}`,
        );
        counts.push({ ...table, rows: Number(result.rows[0]!.rows) });
      }
      return counts;
    },
    async release() {
      if (!open) return;
      open = false;
      await client.query("ROLLBACK");
    },
  };
}

export function quoteIdent(name: string): string {
  return `"${name.replaceAll('"', '""')}"`;
}

/**
 * The ordinary tables pg_dump writes data for under the scope: user schemas only, extension
 * members and foreign tables left out (pg_dump does not dump their data either), -n/-N/-t/-T and
 * --exclude-table-data applied with pg_dump's own pattern rules.
 */
export async function listDumpedTables(
  client: pg.Client,
  scope: DumpScope,
  options: { excludeUnlogged: boolean },
): Promise<{ schema: string; table: string }[]> {
  const values: string[] = [];
  const param = (value: string) => {
    values.push(value);
    return `$${values.length}`;
  };
  const tableMatch = (pattern: string) => {
    const parsed = parseNamePattern(pattern);
    const name = `c.relname ~ ${param(parsed.name)}`;
    return parsed.schema
      ? `(${name} AND n.nspname ~ ${param(parsed.schema)})`
      : `(${name} AND pg_catalog.pg_table_is_visible(c.oid))`;
  };
  const conditions = [
    "c.relkind = 'r'",
    "n.nspname NOT IN ('pg_catalog', 'information_schema')",
    "n.nspname NOT LIKE 'pg\\_toast%'",
    "n.nspname NOT LIKE 'pg\\_temp\\_%'",
    "NOT EXISTS (SELECT 1 FROM pg_catalog.pg_depend d WHERE d.classid = 'pg_catalog.pg_class'::regclass AND d.objid = c.oid AND d.deptype = 'e')",
  ];
  if (options.excludeUnlogged) conditions.push("c.relpersistence <> 'u'");
  if (scope.includeTables.length > 0) {
    // As in pg_dump, -n/-N have no effect once -t selects tables.
    conditions.push(`(${scope.includeTables.map(tableMatch).join(" OR ")})`);
  } else {
    if (scope.includeSchemas.length > 0) {
      conditions.push(
        `(${scope.includeSchemas.map((p) => `n.nspname ~ ${param(schemaPatternRegex(p))}`).join(" OR ")})`,
      );
    }
    for (const pattern of scope.excludeSchemas)
      conditions.push(`n.nspname !~ ${param(schemaPatternRegex(pattern))}`);
  }
  for (const pattern of [...scope.excludeTables, ...scope.excludeTableData]) {
    conditions.push(`NOT ${tableMatch(pattern)}`);
  }
  const { rows } = await client.query<{ schema: string; table: string }>(
    `SELECT n.nspname AS schema, c.relname AS table
       FROM pg_catalog.pg_class c JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace
      WHERE ${conditions.join("\n        AND ")}
      ORDER BY n.nspname COLLATE "C", c.relname COLLATE "C"`,
    values,
  );
  return rows;
}
