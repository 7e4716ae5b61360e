/**
 * Masks the scratch database by a checked plan, in one transaction that either commits a masked
 * and verified database or rolls back to the untouched copy:
 *   key and fake functions (pg_temp) -> digests of every masked column's source values (a temp
 *   table, never leaving the server) -> row counts -> user triggers off -> `where` deletes ->
 *   foreign keys touching masked columns dropped -> one UPDATE per table -> free SQL -> triggers on
 *   -> foreign keys added back (PostgreSQL re-validates every row) -> verification -> COMMIT.
 * Foreign keys are dropped rather than deferred because most are not DEFERRABLE, and a NO ACTION
 * key fails at the end of the first UPDATE of either side; ON UPDATE CASCADE would mask twice.
 */
import type pg from "pg";
import { describeError, OperationError } from "../domain/errors.js";
import {
  quoteIdent,
  quoteTable,
  type MaskingPlan,
  type PlannedColumn,
  type PlannedTable,
} from "./catalog-check.js";
import {
  DROP_FUNCTIONS_SQL,
  fakeFunctionsSql,
  mayLookFakeSql,
  PAD_ARGUMENTS_SQL,
  SET_KEY_SQL,
  setKeyValues,
  type MaskingKey,
} from "./fakes.js";
import type { ValueStrategy } from "./rules.js";

export interface TableOutcome {
  table: string;
  rowsBefore: number;
  rowsAfter: number;
  /** Whether a `where` filter (or a cascade from one) was allowed to change the count. */
  filtered: boolean;
}

export interface MaskingResult {
  tables: TableOutcome[];
  maskedColumns: number;
  /** Distinct source values whose digests the verification checked against. */
  sourceDigests: number;
  foreignKeysRevalidated: number;
  durationMs: number;
}

/** What the verification found, by table and column and counts only: never a value. */
export class MaskingVerificationError extends OperationError {
  constructor(readonly failures: string[]) {
    super(`masking verification failed: ${failures.join("; ")}`);
  }
}

export interface MaskingOptions {
  now?: () => number;
  /** Called after each statement with what it did (names only, never values) and how long it took. */
  onStep?: (step: string, ms: number) => void;
}

const SOURCE = "pg_temp.lifeboat_mask_source";

export async function applyMasking(
  client: pg.Client,
  plan: MaskingPlan,
  key: MaskingKey,
  options: MaskingOptions = {},
): Promise<MaskingResult> {
  const now = options.now ?? Date.now;
  const started = now();
  let step = "starting the masking transaction";
  const run = async (what: string, sql: string, values?: unknown[]) => {
    step = what;
    const began = now();
    const result = await client.query(sql, values);
    options.onStep?.(what, now() - began);
    return result;
  };
  try {
    await run("starting the masking transaction", "BEGIN");
    // Every statement here is dominated by function calls per row, which JIT does not speed up,
    // while compiling each one costs a second or more (measured: 1.4 s of a 5 s verification).
    await run("turning JIT off for the masking transaction", "SET LOCAL jit = off");
    for (const sql of fakeFunctionsSql()) await run("creating the fake functions", sql);
    await run("setting the masking key", SET_KEY_SQL, setKeyValues(key));
    await run(
      "creating the source digest table",
      `CREATE TEMP TABLE lifeboat_mask_source (digest bytea, phone boolean) ON COMMIT DROP`,
    );

    for (const table of plan.tables) {
      for (const column of table.columns) {
        for (const value of sourceExpressions(column)) {
          await run(
            `taking digests of ${label(table, column)}`,
            `INSERT INTO ${SOURCE}
             SELECT DISTINCT sha256(convert_to(v, 'UTF8')), ${value.strategy.kind === "phone"} FROM (SELECT ${value.expression} AS v FROM ${quoteTable(table)}) AS s
              WHERE v IS NOT NULL AND v <> ''
               AND NOT (${mayLookFakeSql("v")} AND pg_temp.lifeboat_looks_fake(v))${value.strategy.kind === "phone" ? " AND v ~ '[0-9]'" : ""}`,
          );
        }
      }
    }
    await run("indexing the source digests", `CREATE INDEX ON ${SOURCE} USING hash (digest)`);
    await run("analyzing the source digests", `ANALYZE ${SOURCE}`);
    const digests = await run(
      "counting the source digests",
      `SELECT count(DISTINCT digest)::bigint AS n FROM ${SOURCE}`,
    );

    const counted = [
      ...new Set([...plan.tables.map((t) => `${t.schema}.${t.table}`), ...plan.cascadeTables]),
    ];
    const before = await countRows(client, counted);

    const tables = plan.tables.map(quoteTable);
    for (const table of tables)
      await run(`disabling user triggers on ${table}`, `ALTER TABLE ${table} DISABLE TRIGGER USER`);
    for (const table of plan.tables) {
      if (table.where === undefined) continue;
      await run(
        `filtering ${table.schema}.${table.table} (where)`,
        `DELETE FROM ${quoteTable(table)} WHERE NOT coalesce((${table.where}), false)`,
      );
    }
    for (const fk of plan.foreignKeys) {
      await run(
        `dropping foreign key ${fk.name}`,
        `ALTER TABLE ${fk.table} DROP CONSTRAINT ${quoteIdent(fk.name)}`,
      );
    }
    for (const table of plan.tables) {
      if (table.columns.length === 0) continue;
      const sets = table.columns.map(
        (column) => `${quoteIdent(column.column)} = ${maskExpression(client, column)}`,
      );
      await run(
        `masking ${table.schema}.${table.table}`,
        `UPDATE ${quoteTable(table)} SET ${sets.join(", ")}`,
      );
    }
    for (const [index, sql] of plan.rules.sql.entries()) await run(`running sql entry ${index + 1}`, sql);
    for (const table of tables)
      await run(`enabling user triggers on ${table}`, `ALTER TABLE ${table} ENABLE TRIGGER USER`);
    for (const fk of plan.foreignKeys) {
      await run(
        `adding back foreign key ${fk.name} (rows no longer match after masking)`,
        `ALTER TABLE ${fk.table} ADD CONSTRAINT ${quoteIdent(fk.name)} ${fk.definition}`,
      );
    }

    step = "verifying the masking";
    const verifying = now();
    const after = await countRows(client, counted);
    const failures = await verify(client, plan);
    options.onStep?.(step, now() - verifying);
    const outcomes = counted.map((table): TableOutcome => {
      const filtered =
        plan.cascadeTables.includes(table) ||
        plan.tables.some((t) => `${t.schema}.${t.table}` === table && t.where !== undefined);
      const outcome = { table, rowsBefore: before.get(table)!, rowsAfter: after.get(table)!, filtered };
      if (filtered ? outcome.rowsAfter > outcome.rowsBefore : outcome.rowsAfter !== outcome.rowsBefore) {
        failures.push(`${table}: ${outcome.rowsBefore} rows before masking, ${outcome.rowsAfter} after`);
      }
      return outcome;
    });
    if (failures.length > 0) throw new MaskingVerificationError(failures);

    for (const sql of DROP_FUNCTIONS_SQL) await run("dropping the fake functions", sql);
    await run("committing the masking", "COMMIT");
    return {
      tables: outcomes,
      maskedColumns: plan.tables.reduce((sum, t) => sum + t.columns.length, 0),
      sourceDigests: Number(digests.rows[0].n),
      foreignKeysRevalidated: plan.foreignKeys.length,
      durationMs: now() - started,
    };
  } catch (error) {
    await client.query("ROLLBACK").catch(() => undefined);
    if (error instanceof MaskingVerificationError) throw error;
    throw new OperationError(
      `masking by ${plan.rules.path} failed while ${step}, nothing was masked: ${describeError(error)}`,
      {
        cause: error,
      },
    );
  }
}

function label(table: PlannedTable, column: PlannedColumn, path?: string[]): string {
  return `${table.schema}.${table.table}.${column.column}${path ? ` ${path.join(".")}` : ""}`;
}

function pathLiteral(path: string[]): string {
  return `'{${path
    .map((key) => `"${key.replaceAll("\\", "\\\\").replaceAll('"', '\\"')}"`)
    .join(",")
    .replaceAll("'", "''")}}'::text[]`;
}

/** The text of every value a column rule replaces: the column itself, or each jsonb path. */
function sourceExpressions(
  column: PlannedColumn,
): { expression: string; strategy: ValueStrategy; path?: string[] }[] {
  const ident = quoteIdent(column.column);
  if (column.strategy.kind === "keep") return [];
  if (column.strategy.kind === "jsonb") {
    return column.strategy.paths.map((p) => ({
      expression: `${ident} #>> ${pathLiteral(p.path)}`,
      strategy: p.strategy,
      path: p.path,
    }));
  }
  return [{ expression: `${ident}::text`, strategy: column.strategy }];
}

function fakeCall(strategy: ValueStrategy, text: string, literal: (value: string) => string): string {
  const pads = PAD_ARGUMENTS_SQL;
  switch (strategy.kind) {
    case "email":
      return `pg_temp.lifeboat_mask_email(${text}, ${pads})`;
    case "name":
      return `pg_temp.lifeboat_mask_name(${text}, '${strategy.part}', ${strategy.unique}, ${pads})`;
    case "phone":
      return `pg_temp.lifeboat_mask_phone(${text}, ${pads})`;
    case "text":
      return `pg_temp.lifeboat_mask_text(${text}, ${pads})`;
    case "hash":
      return `pg_temp.lifeboat_mask_hash(${text}, ${pads})`;
    case "uuid":
      return `pg_temp.lifeboat_mask_uuid(${text}, ${pads})`;
    case "fixed":
      return literal(String(strategy.value));
    case "null":
      return "NULL";
  }
}

function maskExpression(client: pg.Client, column: PlannedColumn): string {
  const ident = quoteIdent(column.column);
  const literal = (value: string) => client.escapeLiteral(value);
  const strategy = column.strategy;
  if (strategy.kind === "keep") return ident;
  if (strategy.kind === "null") return "NULL";
  if (strategy.kind === "fixed") return `${literal(String(strategy.value))}::${column.type}`;
  if (strategy.kind === "jsonb") {
    let document = ident;
    for (const rule of strategy.paths) {
      const path = pathLiteral(rule.path);
      const replacement =
        rule.strategy.kind === "null"
          ? "'null'::jsonb"
          : rule.strategy.kind === "fixed"
            ? jsonbLiteral(rule.strategy.value, literal)
            : `to_jsonb(${fakeCall(rule.strategy, "d #>> p", literal)})`;
      document = `(SELECT CASE WHEN d #> p IS NULL OR jsonb_typeof(d #> p) = 'null' THEN d ELSE jsonb_set(d, p, ${replacement}, false) END
                     FROM (SELECT ${document} AS d, ${path} AS p) AS j)`;
    }
    return document;
  }
  const fake = fakeCall(strategy, `${ident}::text`, literal);
  const sized =
    column.maxLength !== undefined && strategy.kind !== "uuid" ? `left(${fake}, ${column.maxLength})` : fake;
  return `${sized}::${column.type}`;
}

function jsonbLiteral(value: string | number | boolean, literal: (value: string) => string): string {
  if (typeof value === "number") return `to_jsonb(${literal(String(value))}::numeric)`;
  if (typeof value === "boolean") return `to_jsonb(${value})`;
  return `to_jsonb(${literal(value)}::text)`;
}

async function countRows(client: pg.Client, tables: string[]): Promise<Map<string, number>> {
  const counts = new Map<string, number>();
  for (const table of tables) {
    const [schema, name] = splitOnce(table);
    const { rows } = await client.query<{ n: string }>(
      `SELECT count(*)::bigint AS n FROM ${quoteTable({ schema, table: name })}`,
    );
    counts.set(table, Number(rows[0]!.n));
  }
  return counts;
}

function splitOnce(table: string): [string, string] {
  const dot = table.indexOf(".");
  return [table.slice(0, dot), table.slice(dot + 1)];
}

async function verify(client: pg.Client, plan: MaskingPlan): Promise<string[]> {
  const failures: string[] = [];
  for (const table of plan.tables) {
    for (const column of table.columns) {
      const ident = quoteIdent(column.column);
      for (const value of sourceExpressions(column)) {
        const where = `${label(table, column, value.path)}`;
        let sql: string;
        let problem: string;
        if (value.strategy.kind === "null") {
          sql = value.path
            ? `SELECT count(*) AS n FROM ${quoteTable(table)} WHERE jsonb_typeof(${ident} #> ${pathLiteral(value.path)}) <> 'null'`
            : `SELECT count(*) AS n FROM ${quoteTable(table)} WHERE ${ident} IS NOT NULL`;
          problem = "values left where NULL was asked";
        } else if (value.strategy.kind === "fixed") {
          const expected = client.escapeLiteral(String(value.strategy.value));
          sql = value.path
            ? `SELECT count(*) AS n FROM ${quoteTable(table)} WHERE ${value.expression} IS DISTINCT FROM ${expected} AND coalesce(jsonb_typeof(${ident} #> ${pathLiteral(value.path)}), 'null') <> 'null'`
            : `SELECT count(*) AS n FROM ${quoteTable(table)} WHERE ${ident} IS DISTINCT FROM ${expected}::${column.type}`;
          problem = "values differ from the fixed value";
        } else if (value.strategy.kind === "phone") {
          // A keyed permutation of a dense number space maps some numbers onto other real ones
          // (1M numbers out of 10^11: about 10). Such a hit is a collision, not this row's own
          // number; a column left unmasked hits on (nearly) every row.
          // OFFSET 0 keeps the lookup one per row: flattened, each count would run it again.
          const { rows } = await client.query<{ other: string; phones: string; total: string }>(
            `SELECT count(*) FILTER (WHERE hit = false) AS other, count(*) FILTER (WHERE hit) AS phones, count(*) AS total
               FROM (SELECT (SELECT bool_and(phone) FROM ${SOURCE} WHERE digest = sha256(convert_to(v, 'UTF8'))) AS hit
                       FROM (SELECT ${value.expression} AS v FROM ${quoteTable(table)}) AS s
                      WHERE v IS NOT NULL AND v ~ '[0-9]' OFFSET 0) AS h`,
          );
          const [other, phones, total] = [rows[0]!.other, rows[0]!.phones, rows[0]!.total].map(Number) as [
            number,
            number,
            number,
          ];
          if (other > 0)
            failures.push(`${where}: ${other} values found among the source values of other strategies`);
          if (phones * 2 > total)
            failures.push(`${where}: ${phones} of ${total} values are source phone numbers (not masked)`);
          continue;
        } else {
          sql = `SELECT count(*) AS n FROM (SELECT ${value.expression} AS v FROM ${quoteTable(table)}) AS s
                  WHERE v IS NOT NULL AND EXISTS (SELECT 1 FROM ${SOURCE} WHERE digest = sha256(convert_to(v, 'UTF8')))`;
          problem = "values found among the source values";
        }
        const { rows } = await client.query<{ n: string }>(sql);
        const n = Number(rows[0]!.n);
        if (n > 0) failures.push(`${where}: ${n} ${problem}`);
      }
    }
  }
  return failures;
}
