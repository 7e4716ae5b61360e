/**
 * The restored copy's row counts against the manifest's: the check every restore ends with.
 */
import type pg from "pg";
import type { TableCount } from "../domain/manifest.js";
import { quoteIdent } from "./snapshot.js";

export interface RowCountMismatch {
  table: string;
  expected: number;
  /** null when the table could not be counted (it is missing). */
  actual: number | null;
}

/** Every table whose row count differs from the manifest's (`ONLY`: a parent without its children). */
export async function compareRowCounts(
  client: pg.Client,
  tables: readonly TableCount[],
): Promise<RowCountMismatch[]> {
  const mismatches: RowCountMismatch[] = [];
  for (const { schema, table, rows } of tables) {
    let actual: number | null;
    try {
      const result = await client.query<{ n: string }>(
        `SELECT count(*) AS n FROM ONLY ${quoteIdent(schema)}.${quoteIdent(table)}`,
      );
      actual = Number(result.rows[0]!.n);
    } catch {
      actual = null;
    }
    if (actual !== rows) mismatches.push({ table: `${schema}.${table}`, expected: rows, actual });
  }
  return mismatches;
}
