/**
 * Masking's two steps in the scratch database, around the dump that carries the masked copy:
 *
 * - `prepareScratch`: one transaction for what changes rows before the dump: user triggers off on
 *   the tables the rules name, the `where` filters, the free SQL (with the fake functions and the
 *   key in pg_temp), triggers on again, user mappings dropped; row counts checked before and
 *   after. Rolled back whole on any failure.
 * - `planArchiveMasking`: what archive-mask.ts needs to mask the dump as it streams: per relation
 *   that holds rows (the tables named, their partitions and inheritance children), each masked
 *   column's rule, the fixed values as the column types print them, and the unique keys a fake
 *   could break.
 *
 * The column rules are never applied in the database: pg_dump writes the source rows and the
 * masker rewrites them on their way to the backup (docs/masking.md, "The order of work").
 */
import type pg from "pg";
import { describeError, describeErrorWithoutValues, InputError, OperationError } from "../domain/errors.js";
import { DUMP_TIME_ZONE } from "../postgres/pg-dump.js";
import type { ArchiveMaskPlan, RelationPlan } from "./archive-mask.js";
import {
  quoteIdent,
  quoteTable,
  type MaskingPlan,
  type PlannedColumn,
  type PlannedTable,
} from "./catalog-check.js";
import type { FieldRule, ValueRule } from "./copy-rows.js";
import { DROP_FUNCTIONS_SQL, fakeFunctionsSql, SET_KEY_SQL, setKeyValues, type MaskingKey } from "./fakes.js";
import { jsonString } from "./jsonb-text.js";
import type { ValueStrategy } from "./rules.js";

export interface TableOutcome {
  table: string;
  rowsBefore: number;
  rowsAfter: number;
  /** Whether a `where` filter (or a cascade from one) was allowed to change the count. */
  filtered: boolean;
}

export interface PreparedScratch {
  /** Row counts around the filters and free SQL; empty when the rules have neither. */
  tables: TableOutcome[];
  /** User mappings dropped (they hold foreign servers' credentials; names only in the log). */
  userMappingsDropped: number;
  durationMs: number;
}

export interface PrepareOptions {
  /** Called after each statement with what it did (names only, never values) and how long it took. */
  onStep?: (step: string, ms: number) => void;
  /** The run's interrupt: the transaction stops at the next statement and rolls back. */
  signal?: AbortSignal;
}

export async function prepareScratch(
  client: pg.Client,
  plan: MaskingPlan,
  key: MaskingKey,
  options: PrepareOptions = {},
): Promise<PreparedScratch> {
  const started = Date.now();
  let step = "starting the masking transaction";
  const run = async (what: string, sql: string, values?: unknown[]) => {
    if (options.signal?.aborted) {
      throw new OperationError(`interrupted: ${describeError(options.signal.reason)}`);
    }
    step = what;
    const began = Date.now();
    const result = await client.query(sql, values);
    options.onStep?.(what, Date.now() - began);
    return result;
  };
  const changesRows = plan.rules.sql.length > 0 || plan.tables.some((t) => t.where !== undefined);
  try {
    await run("starting the masking transaction", "BEGIN");
    const counted = new Map<string, { name: string; filtered: boolean }>();
    if (changesRows) {
      for (const t of plan.tables)
        counted.set(quoteTable(t), { name: `${t.schema}.${t.table}`, filtered: t.where !== undefined });
      for (const t of plan.cascadeTables)
        counted.set(quoteTable(t), { name: `${t.schema}.${t.table}`, filtered: true });
    }
    const before = await countRows(client, counted);
    if (changesRows) {
      // Free SQL may call the fakes; the key reaches the server as a bind parameter only.
      for (const sql of fakeFunctionsSql()) await run("creating the fake functions", sql);
      await run("setting the masking key", SET_KEY_SQL, setKeyValues(key));
      // An audit trigger must not copy the rows a filter deletes into a table nobody masks.
      for (const table of plan.tables.map(quoteTable))
        await run(`disabling user triggers on ${table}`, `ALTER TABLE ${table} DISABLE TRIGGER USER`);
      for (const table of plan.tables) {
        if (table.where === undefined) continue;
        // In a PL/pgSQL block that raises the message alone: a delete a foreign key refuses would
        // have the server log the key's source values (DETAIL: Key (email)=(...) is still referenced).
        await run(
          `filtering ${table.schema}.${table.table} (where)`,
          `DO $lifeboat_filter$
           #variable_conflict use_column
           BEGIN
             DELETE FROM ${quoteTable(table)} WHERE NOT coalesce((${table.where}), false);
             -- A deferred foreign key would check at COMMIT, outside this block, and log its key.
             SET CONSTRAINTS ALL IMMEDIATE;
           EXCEPTION WHEN OTHERS THEN
             RAISE EXCEPTION USING MESSAGE = SQLERRM, ERRCODE = SQLSTATE;
           END $lifeboat_filter$`,
        );
      }
      if (plan.rules.sql.length > 0) {
        // Free SQL the server refuses would have it log the values the error names (DETAIL: Key
        // (email)=(...) already exists). A superuser's session logs no error for the rest of the
        // transaction; another role's cannot say so, and its server logs as configured.
        await run(
          "quieting the server's error log",
          `DO $lifeboat_quiet$ BEGIN
             PERFORM set_config('log_min_messages', 'panic', true);
           EXCEPTION WHEN insufficient_privilege THEN NULL;
           END $lifeboat_quiet$`,
        );
      }
      for (const [index, sql] of plan.rules.sql.entries()) await run(`running sql entry ${index + 1}`, sql);
      for (const table of plan.tables.map(quoteTable))
        await run(`enabling user triggers on ${table}`, `ALTER TABLE ${table} ENABLE TRIGGER USER`);
      for (const sql of DROP_FUNCTIONS_SQL) await run("dropping the fake functions", sql);
    }

    // A user mapping holds the credentials a foreign server is reached with, often production's
    // own (postgres_fdw back into it, say): in a masked copy it would give staging a live, unmasked
    // route to the data. The servers and foreign tables stay, unusable without one.
    // The view, not the catalog: a table owner that is not a superuser may read it (options hidden).
    const mappings = await client.query<{ server: string; role: string | null }>(
      `SELECT srvname AS server, CASE WHEN umuser = 0 THEN NULL ELSE usename END AS role
         FROM pg_catalog.pg_user_mappings ORDER BY 1, 2`,
    );
    for (const mapping of mappings.rows) {
      const role = mapping.role === null ? "PUBLIC" : quoteIdent(mapping.role);
      await run(
        `dropping the user mapping for ${mapping.role ?? "PUBLIC"} on server ${mapping.server}`,
        `DROP USER MAPPING FOR ${role} SERVER ${quoteIdent(mapping.server)}`,
      );
    }

    step = "counting rows after the filters";
    const after = await countRows(client, counted);
    const failures: string[] = [];
    const tables = [...counted].map(([quoted, { name: table, filtered }]): TableOutcome => {
      const outcome = { table, rowsBefore: before.get(quoted)!, rowsAfter: after.get(quoted)!, filtered };
      if (filtered ? outcome.rowsAfter > outcome.rowsBefore : outcome.rowsAfter !== outcome.rowsBefore) {
        failures.push(`${table}: ${outcome.rowsBefore} rows before masking, ${outcome.rowsAfter} after`);
      }
      return outcome;
    });
    if (failures.length > 0) throw new OperationError(`masking verification failed: ${failures.join("; ")}`);
    await run("committing the filters", "COMMIT");
    return { tables, userMappingsDropped: mappings.rows.length, durationMs: Date.now() - started };
  } catch (error) {
    await client.query("ROLLBACK").catch(() => undefined);
    // Without the server's DETAIL, which can quote a row ("Key (email)=(...) is still referenced").
    throw new OperationError(
      `masking by ${plan.rules.path} failed while ${step}, nothing was masked: ${describeErrorWithoutValues(error)}`,
      { cause: error },
    );
  }
}

/** Row counts by quoted table name. */
async function countRows(client: pg.Client, tables: Map<string, unknown>): Promise<Map<string, number>> {
  const counts = new Map<string, number>();
  if (tables.size === 0) return counts;
  const names = [...tables.keys()];
  const parts = names.map((table, i) => `SELECT ${i} AS i, count(*)::bigint AS n FROM ${table}`);
  const { rows } = await client.query<{ i: number; n: string }>(parts.join(" UNION ALL "));
  for (const row of rows) counts.set(names[row.i]!, Number(row.n));
  return counts;
}

/**
 * Strategies whose fakes of distinct values are distinct: 64 bits of HMAC or more, or a
 * permutation. A unique key on a column of another strategy (names, fixed values, NULLs where the
 * key counts NULLs as equal, jsonb) is checked as the rows pass.
 */
const INJECTIVE: ReadonlySet<ValueStrategy["kind"]> = new Set(["email", "hash", "uuid", "phone"]);

interface RelationRow {
  /** The named tables this relation's rows belong to, nearest first (itself, a parent, ...). */
  rule_tables: number[];
  schema: string;
  relation: string;
  partition_keys: string[];
  checks: string[][];
  domain_columns: string[];
  uniques: { name: string; columns: string[]; nulls_not_distinct: boolean }[];
}

/**
 * The archive masker's plan: every relation whose TABLE DATA carries rows of a table the rules
 * name (the table itself, and its partitions and inheritance children, whose columns share the
 * names), with each masked column's rule. A relation under several named tables (a child named
 * for a column of its own, under a parent named for others) takes the rules of all of them, the
 * nearest one's where two name the same column: an UPDATE of the parent would mask the child's
 * rows too. Refuses (exit 2) a masked column that a partitioning key uses: its rows would
 * belong in another partition, which a restore of a partition's rows refuses. Marks for the
 * constraint probe the relations with a CHECK constraint on a masked column or a masked column of
 * a domain type.
 */
export async function planArchiveMasking(client: pg.Client, plan: MaskingPlan): Promise<ArchiveMaskPlan> {
  const labels: ArchiveMaskPlan["labels"] = [];
  const label = (table: PlannedTable, column: PlannedColumn, strategy: ValueStrategy, path?: string[]) => {
    labels.push({
      name: `${table.schema}.${table.table}.${column.column}${path ? ` ${path.join(".")}` : ""}`,
      phone: strategy.kind === "phone",
    });
    return labels.length - 1;
  };
  const masked = plan.tables.filter((table) => table.columns.length > 0);
  const rules: Map<string, Omit<FieldRule, "field">>[] = [];
  for (const table of masked) {
    const columns = new Map<string, Omit<FieldRule, "field">>();
    for (const column of table.columns)
      columns.set(column.column, await fieldRule(client, table, column, label));
    rules.push(columns);
  }
  const { rows } = await client.query<RelationRow>(
    `WITH RECURSIVE tree AS (
       SELECT r.i AS rule_table, r.oid, 0 AS depth FROM unnest($1::regclass[]) WITH ORDINALITY AS r(oid, i)
       UNION ALL
       SELECT tree.rule_table, inh.inhrelid, tree.depth + 1 FROM pg_inherits inh JOIN tree ON inh.inhparent = tree.oid
     ), nearest AS (
       SELECT oid, array_agg(rule_table::int - 1 ORDER BY depth, rule_table) AS rule_tables FROM tree GROUP BY oid
     )
     SELECT nearest.rule_tables, n.nspname AS schema, c.relname AS relation,
            ARRAY(SELECT a.attname::text FROM pg_partition_ancestors(c.oid) AS anc
                    JOIN pg_partitioned_table pt ON pt.partrelid = anc.relid
                    JOIN pg_attribute a ON a.attrelid = pt.partrelid AND a.attnum = ANY (pt.partattrs::int2[])) AS partition_keys,
            coalesce((SELECT json_agg(json_build_object(
                       'name', ic.relname,
                       'columns', ARRAY(SELECT a.attname::text FROM unnest(i.indkey[0:i.indnkeyatts - 1]) WITH ORDINALITY AS k(num, ord)
                                          JOIN pg_attribute a ON a.attrelid = c.oid AND a.attnum = k.num ORDER BY k.ord),
                       'nulls_not_distinct', ${(await serverVersion(client)) >= 150000 ? "i.indnullsnotdistinct" : "false"})
                       ORDER BY ic.relname)
                        FROM pg_index i JOIN pg_class ic ON ic.oid = i.indexrelid
                       WHERE i.indrelid = c.oid AND i.indisunique AND i.indexprs IS NULL AND 0 <> ALL (i.indkey::int2[])),
                     '[]'::json) AS uniques,
            coalesce((SELECT json_agg(ARRAY(SELECT a.attname::text FROM pg_attribute a
                                             WHERE a.attrelid = c.oid AND a.attnum = ANY (con.conkey)))
                        FROM pg_constraint con WHERE con.conrelid = c.oid AND con.contype = 'c'), '[]'::json) AS checks,
            ARRAY(SELECT a.attname::text FROM pg_attribute a JOIN pg_type t ON t.oid = a.atttypid
                   WHERE a.attrelid = c.oid AND a.attnum > 0 AND NOT a.attisdropped AND t.typtype = 'd') AS domain_columns
       FROM nearest JOIN pg_class c ON c.oid = nearest.oid JOIN pg_namespace n ON n.oid = c.relnamespace
      WHERE c.relkind = 'r'
      ORDER BY nearest.oid`,
    [masked.map(quoteTable)],
  );
  const relations = new Map<string, RelationPlan>();
  const problems: string[] = [];
  for (const row of rows) {
    const columns = new Map<string, Omit<FieldRule, "field">>();
    for (const index of row.rule_tables) {
      for (const [column, rule] of rules[index]!) if (!columns.has(column)) columns.set(column, rule);
      for (const key of row.partition_keys) {
        const column = masked[index]!.columns.find((c) => c.column === key);
        if (column) {
          problems.push(
            `mask ${plan.rules.path}:${column.line}: ${masked[index]!.schema}.${masked[index]!.table}.${key} is a partitioning key: masked, rows would belong in other partitions (mask a column of its own, or keep it)`,
          );
        }
      }
    }
    const weak = (column: string) => {
      const rule = columns.get(column);
      return (
        rule !== undefined &&
        (rule.paths !== undefined || !INJECTIVE.has(rule.strategy!.kind) || rule.cut !== undefined)
      );
    };
    // Keyed quoted: "a.b"."c" and "a"."b.c" are two relations.
    relations.set(quoteTable({ schema: row.schema, table: row.relation }), {
      name: `${row.schema}.${row.relation}`,
      quoted: quoteTable({ schema: row.schema, table: row.relation }),
      columns,
      probe:
        row.checks.some((check) => check.some((column) => columns.has(column))) ||
        row.domain_columns.some((column) => columns.has(column)),
      uniques: row.uniques
        .filter((unique) => unique.columns.some(weak))
        .map((unique) => ({
          name: unique.name,
          columns: unique.columns,
          nullsNotDistinct: unique.nulls_not_distinct,
        })),
    });
  }
  if (problems.length > 0) throw new InputError([...new Set(problems)].join("; "), { input: "mask" });
  return { relations, labels };
}

async function serverVersion(client: pg.Client): Promise<number> {
  const { rows } = await client.query<{ v: string }>("SELECT current_setting('server_version_num') AS v");
  return Number(rows[0]!.v);
}

/** A column's rule for the masker: cut and padding from its type, fixed values as its type prints them. */
async function fieldRule(
  client: pg.Client,
  table: PlannedTable,
  column: PlannedColumn,
  label: (table: PlannedTable, column: PlannedColumn, strategy: ValueStrategy, path?: string[]) => number,
): Promise<Omit<FieldRule, "field">> {
  const strategy = column.strategy;
  if (strategy.kind === "keep") throw new Error("a kept column has no rule");
  if (strategy.kind === "jsonb") {
    const paths: (ValueRule & { path: string[] })[] = [];
    for (const rule of strategy.paths) {
      const value: ValueRule & { path: string[] } = {
        path: rule.path,
        strategy: rule.strategy,
        label: label(table, column, rule.strategy, rule.path),
      };
      if (rule.strategy.kind === "fixed") value.fixed = await jsonbText(client, rule.strategy.value);
      paths.push(value);
    }
    return { paths, overlapping: overlapping(strategy.paths.map((p) => p.path)) };
  }
  const rule: Omit<FieldRule, "field"> = { strategy, label: label(table, column, strategy) };
  if (strategy.kind === "fixed") {
    // The value as the column's type prints it in pg_dump's session (1.50 as numeric(10,1) is 1.5,
    // a date in ISO whatever the database's DateStyle): raw text, no parsing.
    await client.query("BEGIN");
    try {
      await client.query(
        `SET LOCAL DateStyle = ISO; SET LOCAL IntervalStyle = postgres; SET LOCAL extra_float_digits = 3; SET LOCAL TimeZone = '${DUMP_TIME_ZONE}'`,
      );
      const { rows } = await client.query<string[]>({
        text: `SELECT CAST($1::text AS ${column.type})`,
        values: [String(strategy.value)],
        rowMode: "array",
        types: { getTypeParser: () => (value: string) => value },
      });
      rule.fixed = rows[0]![0]!;
    } finally {
      await client.query("ROLLBACK");
    }
    return rule;
  }
  if (column.maxLength !== undefined && strategy.kind !== "uuid" && strategy.kind !== "null") {
    rule.cut = column.maxLength;
    // bpchar prints its values padded to n: the fake is written as a restore would print it.
    if (column.padded) rule.pad = column.maxLength;
  }
  return rule;
}

/** A fixed value at a jsonb path, as to_jsonb() of it prints: numbers as numeric, booleans, strings. */
async function jsonbText(client: pg.Client, value: string | number | boolean): Promise<string> {
  if (typeof value === "string") return jsonString(value);
  if (typeof value === "boolean") return String(value);
  const { rows } = await client.query<{ t: string }>("SELECT to_jsonb($1::numeric)::text AS t", [
    String(value),
  ]);
  return rows[0]!.t;
}

/** Whether one path lies inside another: then each is read in the document the ones before left. */
function overlapping(paths: string[][]): boolean {
  return paths.some((p, i) =>
    paths.some((q, j) => i !== j && p.length <= q.length && p.every((key, k) => key === q[k])),
  );
}
