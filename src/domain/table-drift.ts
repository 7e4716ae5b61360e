/**
 * Per-table row counts of one backup against the previous backup of its label: what restore-test's
 * drift check judges (`--max-table-drift`) and what the job summary shows. Pure: two manifests'
 * table lists in, one row per table out.
 */
import type { TableCount } from "./manifest.js";

export interface TableChange {
  /** `schema.table` */
  table: string;
  /** Rows in the previous backup; null when the table is new. */
  previous: number | null;
  /** Rows in this backup; null when the table is gone. */
  current: number | null;
  /**
   * (current - previous) / previous; -1 for a table that is gone; null for a new table or one that
   * was empty before (no ratio from zero).
   */
  change: number | null;
}

const name = (table: TableCount) => `${table.schema}.${table.table}`;

/** Every table of either backup, in this backup's order, then the ones that are gone. */
export function tableChanges(current: readonly TableCount[], previous: readonly TableCount[]): TableChange[] {
  const before = new Map(previous.map((table) => [name(table), table.rows]));
  const now = new Set(current.map(name));
  const changes: TableChange[] = current.map((table) => {
    const rows = before.get(name(table));
    return {
      table: name(table),
      previous: rows ?? null,
      current: table.rows,
      change: rows === undefined || rows === 0 ? null : (table.rows - rows) / rows,
    };
  });
  for (const table of previous) {
    if (!now.has(name(table))) {
      changes.push({
        table: name(table),
        previous: table.rows,
        current: null,
        change: table.rows === 0 ? null : -1,
      });
    }
  }
  return changes;
}

/** The tables whose row count moved by more than `max` (a fraction) either way. */
export function driftedTables(changes: readonly TableChange[], max: number): TableChange[] {
  return changes.filter((change) => change.change !== null && Math.abs(change.change) > max);
}

/** `+12.5%`, `-50%`, `new`, `gone`, `-` (no ratio from zero): a change as the reports show it. */
export function formatChange(change: TableChange): string {
  if (change.previous === null) return "new";
  if (change.current === null) return "gone";
  if (change.change === null) return change.current === change.previous ? "0%" : "from 0";
  const percent = Math.round(change.change * 1000) / 10;
  return `${percent > 0 ? "+" : ""}${percent}%`;
}
