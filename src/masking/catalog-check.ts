/**
 * Holds the rules against the database they will mask, before anything changes: unknown tables
 * and columns, strategies that do not fit a column's type, filters that do not parse, and foreign
 * keys whose two ends would be masked differently (joins would break). All are InputError (exit 2)
 * naming the file, line and object. The result is the plan masking runs by (apply.ts).
 */
import type pg from "pg";
import { describeError, InputError } from "../domain/errors.js";
import { EMAIL_LENGTH } from "./fakes.js";
import {
  qualifiedName,
  type JsonbPathRule,
  type MaskingRules,
  type Strategy,
  type TableRule,
} from "./rules.js";

export interface PlannedColumn {
  column: string;
  strategy: Strategy;
  /** format_type() of the column: what fakes are cast back to. */
  type: string;
  /** varchar(n)/char(n) limit, when there is one (of the column's type, or of the base type of its domain). */
  maxLength: number | undefined;
  /** Whether the values print padded to maxLength: char(n), or a domain over it. */
  padded: boolean;
  line: number;
}

export interface PlannedTable {
  schema: string;
  table: string;
  where: string | undefined;
  /** The columns with a strategy other than keep. */
  columns: PlannedColumn[];
}

export interface MaskingPlan {
  rules: MaskingRules;
  tables: PlannedTable[];
  /** Tables whose row counts a `where` filter may change through ON DELETE CASCADE/SET NULL. */
  cascadeTables: { schema: string; table: string }[];
}

interface ColumnRow {
  nspname: string;
  relname: string;
  relkind: string;
  attname: string | null;
  attnotnull: boolean | null;
  attgenerated: string | null;
  type: string | null;
  typname: string | null;
  typcategory: string | null;
  atttypmod: number | null;
  unique_alone: boolean | null;
}

interface ForeignKeyRow {
  conname: string;
  child_schema: string;
  child_table: string;
  parent_schema: string;
  parent_table: string;
  child_columns: string[];
  parent_columns: string[];
  on_delete: string;
}

export function quoteIdent(name: string): string {
  return `"${name.replaceAll('"', '""')}"`;
}

export function quoteTable(rule: { schema: string; table: string }): string {
  return `${quoteIdent(rule.schema)}.${quoteIdent(rule.table)}`;
}

export async function checkRulesAgainstCatalog(rules: MaskingRules, client: pg.Client): Promise<MaskingPlan> {
  const where = (line: number) => `mask ${rules.path}:${line}`;
  const { rows } = await client.query<ColumnRow>(
    `SELECT n.nspname, c.relname, c.relkind::text, a.attname, a.attnotnull, a.attgenerated::text,
            format_type(a.atttypid, a.atttypmod) AS type, base.typname, t.typcategory::text, base.typmod AS atttypmod,
            EXISTS (SELECT 1 FROM pg_index i WHERE i.indrelid = c.oid AND i.indisunique AND i.indnatts = 1
                      AND i.indkey[0] = a.attnum) AS unique_alone
       FROM unnest($1::text[], $2::text[]) AS r(schema, name)
       JOIN pg_namespace n ON n.nspname = r.schema
       JOIN pg_class c ON c.relnamespace = n.oid AND c.relname = r.name
       LEFT JOIN pg_attribute a ON a.attrelid = c.oid AND a.attnum > 0 AND NOT a.attisdropped
       LEFT JOIN pg_type t ON t.oid = a.atttypid
       -- A domain's length limit is its base type's (a domain over varchar(12)): fakes are cut to it.
       LEFT JOIN LATERAL (
         WITH RECURSIVE d(oid, typmod) AS (
           SELECT a.atttypid, a.atttypmod
           UNION ALL
           SELECT dt.typbasetype, CASE WHEN d.typmod = -1 THEN dt.typtypmod ELSE d.typmod END
             FROM d JOIN pg_type dt ON dt.oid = d.oid WHERE dt.typtype = 'd'
         )
         SELECT bt.typname, d.typmod FROM d JOIN pg_type bt ON bt.oid = d.oid WHERE bt.typtype <> 'd'
       ) AS base ON true`,
    [rules.tables.map((t) => t.schema), rules.tables.map((t) => t.table)],
  );
  const byTable = new Map<string, ColumnRow[]>();
  for (const row of rows) {
    // Quoted: "a.b"."c" and "a"."b.c" are two tables.
    const key = quoteTable({ schema: row.nspname, table: row.relname });
    byTable.set(key, [...(byTable.get(key) ?? []), row]);
  }

  const unknown: string[] = [];
  const problems: string[] = [];
  const tables: PlannedTable[] = [];
  for (const rule of rules.tables) {
    const columns = byTable.get(quoteTable(rule));
    if (!columns) {
      unknown.push(`table ${qualifiedName(rule)} (line ${rule.line})`);
      continue;
    }
    if (!["r", "p"].includes(columns[0]!.relkind)) {
      problems.push(`${where(rule.line)}: ${qualifiedName(rule)} is not a table (only tables can be masked)`);
      continue;
    }
    const planned: PlannedColumn[] = [];
    for (const columnRule of rule.columns) {
      const column = columns.find((c) => c.attname === columnRule.column);
      const label = `${qualifiedName(rule)}.${columnRule.column}`;
      if (!column) {
        unknown.push(`column ${label} (line ${columnRule.line})`);
        continue;
      }
      const maxLength =
        (column.typname === "varchar" || column.typname === "bpchar") && column.atttypmod! > 4
          ? column.atttypmod! - 4
          : undefined;
      const problem = await typeProblem(client, columnRule.strategy, column, maxLength);
      if (problem) problems.push(`${where(columnRule.line)}: ${label} (${column.type}): ${problem}`);
      if (!problem && columnRule.strategy.kind === "jsonb") {
        for (const pathRule of columnRule.strategy.paths) {
          if (await jsonbPathMissing(client, pathRule, columnRule.column, quoteTable(rule))) {
            unknown.push(`jsonb path ${label} ${pathRule.path.join(".")} (line ${pathRule.line}, in no row)`);
          }
        }
      }
      if (columnRule.strategy.kind !== "keep") {
        planned.push({
          column: columnRule.column,
          strategy: columnRule.strategy,
          type: column.type!,
          maxLength,
          padded: column.typname === "bpchar" && maxLength !== undefined,
          line: columnRule.line,
        });
      }
    }
    if (rule.where !== undefined) {
      await client
        .query(`EXPLAIN SELECT 1 FROM ${quoteTable(rule)} WHERE (${rule.where})`)
        .catch((error: unknown) => {
          problems.push(`${where(rule.line)}: ${qualifiedName(rule)} where: ${describeError(error)}`);
        });
    }
    tables.push({ schema: rule.schema, table: rule.table, where: rule.where, columns: planned });
  }
  if (unknown.length > 0) {
    throw new InputError(
      `mask ${rules.path}: unknown ${unknown.join(", ")}: expected tables and columns of the restored database`,
      {
        input: "mask",
      },
    );
  }

  const foreignKeys = await loadForeignKeys(client);
  const strategyOf = new Map<string, { strategy: Strategy; line: number }>();
  for (const rule of rules.tables) {
    for (const column of rule.columns) strategyOf.set(`${qualifiedName(rule)}.${column.column}`, column);
  }
  const widthOf = new Map<string, number | undefined>();
  for (const table of tables) {
    for (const column of table.columns)
      widthOf.set(`${table.schema}.${table.table}.${column.column}`, column.maxLength);
  }
  for (const fk of foreignKeys) {
    fk.child_columns.forEach((childColumn, index) => {
      const childKey = `${fk.child_schema}.${fk.child_table}.${childColumn}`;
      const parentKey = `${fk.parent_schema}.${fk.parent_table}.${fk.parent_columns[index]}`;
      const child = strategyOf.get(childKey)?.strategy ?? { kind: "keep" };
      const parent = strategyOf.get(parentKey)?.strategy ?? { kind: "keep" };
      if (child.kind === "keep" && parent.kind === "keep") return;
      const same = JSON.stringify(child) === JSON.stringify(parent);
      const line = strategyOf.get(childKey)?.line ?? strategyOf.get(parentKey)?.line ?? 1;
      // NULL in a referencing column is always valid; anything else must map exactly as the key does.
      if (!same && !(child.kind === "null" && parent.kind === "keep")) {
        problems.push(
          `${where(line)}: ${childKey} references ${parentKey} (foreign key ${fk.conname}): mask both with the same strategy, or joins break`,
        );
      } else if (same && (child.kind === "name" || child.kind === "hash")) {
        // A fake is cut to its column's width: two widths would cut the same fake differently.
        const childWidth = widthOf.get(childKey);
        const parentWidth = widthOf.get(parentKey);
        if (childWidth !== parentWidth) {
          problems.push(
            `${where(line)}: ${childKey} references ${parentKey} (foreign key ${fk.conname}), and their widths differ (${childWidth ?? "none"} and ${parentWidth ?? "none"}): ${child.kind} fakes cut to each would not match`,
          );
        }
      }
    });
  }
  if (problems.length > 0) throw new InputError(problems.join("; "), { input: "mask" });

  return {
    rules,
    tables,
    cascadeTables: cascadeReach(
      rules.tables.filter((t: TableRule) => t.where !== undefined),
      foreignKeys,
    ),
  };
}

async function loadForeignKeys(client: pg.Client): Promise<ForeignKeyRow[]> {
  const { rows } = await client.query<ForeignKeyRow>(
    `SELECT con.conname, cn.nspname AS child_schema, c.relname AS child_table,
            pn.nspname AS parent_schema, p.relname AS parent_table,
            ARRAY(SELECT a.attname::text FROM unnest(con.conkey) WITH ORDINALITY AS k(num, ord)
                    JOIN pg_attribute a ON a.attrelid = con.conrelid AND a.attnum = k.num ORDER BY k.ord) AS child_columns,
            ARRAY(SELECT a.attname::text FROM unnest(con.confkey) WITH ORDINALITY AS k(num, ord)
                    JOIN pg_attribute a ON a.attrelid = con.confrelid AND a.attnum = k.num ORDER BY k.ord) AS parent_columns,
            con.confdeltype::text AS on_delete
       FROM pg_constraint con
       JOIN pg_class c ON c.oid = con.conrelid JOIN pg_namespace cn ON cn.oid = c.relnamespace
       JOIN pg_class p ON p.oid = con.confrelid JOIN pg_namespace pn ON pn.oid = p.relnamespace
      WHERE con.contype = 'f' AND con.conparentid = 0
      ORDER BY cn.nspname, c.relname, con.conname`,
  );
  return rows;
}

/** Tables reachable from the filtered ones through foreign keys that cascade or null on delete. */
function cascadeReach(
  filtered: TableRule[],
  foreignKeys: ForeignKeyRow[],
): { schema: string; table: string }[] {
  // Keyed quoted: "a.b"."c" and "a"."b.c" are two tables.
  const filteredKeys = new Set(filtered.map(quoteTable));
  const reached = new Map<string, { schema: string; table: string }>();
  const queue = filtered.map(quoteTable);
  while (queue.length > 0) {
    const parent = queue.shift()!;
    for (const fk of foreignKeys) {
      if (
        quoteTable({ schema: fk.parent_schema, table: fk.parent_table }) !== parent ||
        !["c", "n", "d"].includes(fk.on_delete)
      )
        continue;
      const child = { schema: fk.child_schema, table: fk.child_table };
      const key = quoteTable(child);
      if (!reached.has(key) && !filteredKeys.has(key)) {
        reached.set(key, child);
        queue.push(key);
      }
    }
  }
  return [...reached.keys()].sort().map((key) => reached.get(key)!);
}

/** A path found in no row of a table that has rows is a typo: masking it would silently do nothing. */
async function jsonbPathMissing(
  client: pg.Client,
  rule: JsonbPathRule,
  column: string,
  table: string,
): Promise<boolean> {
  const { rows } = await client.query<{ has_rows: boolean; found: boolean }>(
    `SELECT EXISTS (SELECT 1 FROM ${table}) AS has_rows,
            EXISTS (SELECT 1 FROM ${table} WHERE ${quoteIdent(column)} #> $1::text[] IS NOT NULL) AS found`,
    [rule.path],
  );
  return rows[0]!.has_rows && !rows[0]!.found;
}

const STRING_FAKES = new Set(["email", "name", "phone", "text", "hash"]);

async function typeProblem(
  client: pg.Client,
  strategy: Strategy,
  column: ColumnRow,
  maxLength: number | undefined,
): Promise<string | undefined> {
  if (strategy.kind === "keep") return undefined;
  if (column.attgenerated)
    return "a generated column cannot be masked (mask the columns it is computed from)";
  const isString = column.typcategory === "S";
  if (STRING_FAKES.has(strategy.kind) && !isString) {
    return `the ${strategy.kind} strategy needs a text column (text, varchar, char, citext)`;
  }
  if (strategy.kind === "email" && maxLength !== undefined && maxLength < EMAIL_LENGTH) {
    return `fake emails are ${EMAIL_LENGTH} characters long; the column holds ${maxLength}`;
  }
  if (strategy.kind === "hash" && maxLength !== undefined && maxLength < 16) {
    return `a hash needs room for at least 16 hex characters; the column holds ${maxLength}`;
  }
  if (strategy.kind === "uuid" && column.typname !== "uuid" && !(isString && (maxLength ?? 36) >= 36)) {
    return "the uuid strategy needs a uuid column or a text column of at least 36 characters";
  }
  if (strategy.kind === "null" && column.attnotnull)
    return "the column is NOT NULL: use fixed or a fake instead of null";
  if (column.unique_alone) {
    if (strategy.kind === "name" && !strategy.unique)
      return "the column is unique: use {name: ..., unique: true}";
    if (strategy.kind === "fixed" || strategy.kind === "text") {
      return `the column is unique: ${strategy.kind} would give duplicates (use hash, uuid or email)`;
    }
  }
  if (strategy.kind === "jsonb" && column.typname !== "jsonb") return "jsonb path rules need a jsonb column";
  if (strategy.kind === "fixed") {
    try {
      await client.query(`SELECT $1::text::${column.type}`, [String(strategy.value)]);
    } catch (error) {
      return `the fixed value is not a valid ${column.type}: ${describeError(error)}`;
    }
  }
  return undefined;
}
