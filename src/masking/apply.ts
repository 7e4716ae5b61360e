/**
 * Masks the scratch database by a checked plan, in one transaction that either commits a masked
 * and verified database or rolls back to the untouched copy:
 *   key and fake functions (pg_temp, for free SQL) -> row counts -> user triggers off -> `where`
 *   deletes -> foreign keys touching masked columns dropped -> each table masked -> free SQL ->
 *   triggers on -> foreign keys added back (PostgreSQL re-validates every row) -> user mappings
 *   dropped -> verification -> COMMIT.
 * A table is masked in the job, not by the SQL fakes: its source values are fetched through a
 * cursor, their digests kept in memory (digest-set.ts) and their fakes computed by the TypeScript
 * twins of the SQL functions (fakes.ts, held equal by a test), the fakes copied into a temp table
 * and written by one UPDATE joined on (tableoid, ctid). Measured, that is several times faster
 * than PL/pgSQL per row (docs/masking.md, Speed). Digests are taken before any row changes: in
 * the same pass when no `where` filter can delete rows, in a pass of their own before the filters
 * otherwise. The verification fetches every masked value again and looks it up among them.
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
  PAD_ARGUMENTS_SQL,
  SET_KEY_SQL,
  setKeyValues,
  type MaskingKey,
} from "./fakes.js";
import { scanRows } from "./copy.js";
import { HAS_DIGIT, maskBatch, sourceFlag, type BatchSpec } from "./batch.js";
import { DigestSet, OTHER_SOURCE, PHONE_SOURCE } from "./digest-set.js";
import { defaultWorkers, FakePool } from "./fake-pool.js";
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
  /** User mappings dropped (they hold foreign servers' credentials; names only in the log). */
  userMappingsDropped: number;
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
  /** Rows per fetch and COPY (tests use small batches to cross batch boundaries). */
  batchRows?: number;
  /**
   * Where the fakes are computed: in this process (the default), or by the SQL functions in one
   * UPDATE per table, as before; tests hold the two results equal, row for row.
   */
  fakesIn?: "job" | "database";
  /**
   * Worker threads that compute the fakes of large batches (fake-pool.ts): by default one per core
   * (up to 8), none on one core; 0 computes everything in the main thread.
   */
  workers?: number;
  /** The run's interrupt: masking stops at the next statement or batch and rolls back. */
  signal?: AbortSignal;
}

/** Rows per cursor fetch and COPY at most (fewer when rows are large: copy.ts). */
const BATCH_ROWS = 20_000;
const FAKES = "pg_temp.lifeboat_mask_fakes";

export async function applyMasking(
  client: pg.Client,
  plan: MaskingPlan,
  key: MaskingKey,
  options: MaskingOptions = {},
): Promise<MaskingResult> {
  const now = options.now ?? Date.now;
  const started = now();
  let step = "starting the masking transaction";
  const interrupted = () => {
    if (options.signal?.aborted) {
      throw new OperationError(`interrupted: ${describeError(options.signal.reason)}`);
    }
  };
  const run = Object.assign(
    async (what: string, sql: string, values?: unknown[]) => {
      interrupted();
      step = what;
      const began = now();
      const result = await client.query(sql, values);
      options.onStep?.(what, now() - began);
      return result;
    },
    { at: (what: string) => void (step = what) },
  );
  // Started with the first table masked in the job, stopped whatever happens.
  const workers = options.workers ?? defaultWorkers();
  let pool: FakePool | null | undefined;
  try {
    await run("starting the masking transaction", "BEGIN");
    // Every statement here is dominated by function calls per row, which JIT does not speed up,
    // while compiling each one costs a second or more (measured: 1.4 s of a 5 s verification).
    await run("turning JIT off for the masking transaction", "SET LOCAL jit = off");
    // The fakes take text as UTF-8, as the SQL fakes' convert_to(v, 'UTF8') does. pg asks for
    // UTF-8 when it connects, but a connection string's `options` may have asked for another.
    await run("reading text as UTF-8", "SET LOCAL client_encoding = 'UTF8'");
    // Indexes and keys built again from their definitions, which name no tablespace when theirs
    // is the database's default (only those are rebuilt), must land there again.
    await run("building in the default tablespace", "SET LOCAL default_tablespace = ''");
    for (const sql of fakeFunctionsSql()) await run("creating the fake functions", sql);
    await run("setting the masking key", SET_KEY_SQL, setKeyValues(key));
    const batchRows = options.batchRows ?? BATCH_ROWS;
    const sources = new DigestSet();
    // With no `where`, nothing changes a row before its table is masked, so the masking pass can
    // take the digests itself; a filter deletes rows first, and a rewrite rule on UPDATE could
    // write into a table not read yet, so then the digests are all taken before anything changes.
    const digestsFirst =
      plan.tables.some((t) => t.where !== undefined) || (await hasUpdateRules(client, plan.tables));
    const inJob = (table: PlannedTable) =>
      options.fakesIn !== "database" && table.columns.length > 0 && !overlappingPaths(table);
    for (const table of plan.tables) {
      if (!digestsFirst && inJob(table)) continue;
      const values = table.columns.flatMap(sourceExpressions);
      if (values.length === 0) continue;
      step = `taking digests of ${table.schema}.${table.table}`;
      await takeDigests(client, table, values, sources, batchRows, (what, ms) => options.onStep?.(what, ms));
    }

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
      if (inJob(table)) {
        step = `masking ${table.schema}.${table.table}`;
        pool ??= workers > 0 ? new FakePool(key, workers) : null;
        await maskInJob(
          client,
          table,
          key,
          pool,
          digestsFirst ? undefined : sources,
          batchRows,
          run,
          (what, ms) => options.onStep?.(what, ms),
          interrupted,
        );
        continue;
      }
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
    step = "verifying the masking";
    const verifying = now();
    const after = await countRows(client, counted);
    const failures = await verify(client, plan, sources, batchRows);
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
      sourceDigests: sources.size,
      foreignKeysRevalidated: plan.foreignKeys.length,
      userMappingsDropped: mappings.rows.length,
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
  } finally {
    await pool?.close();
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

async function verify(
  client: pg.Client,
  plan: MaskingPlan,
  sources: DigestSet,
  batchRows: number,
): Promise<string[]> {
  const failures: string[] = [];
  for (const table of plan.tables) {
    const looked: { value: ReturnType<typeof sourceExpressions>[number]; column: PlannedColumn }[] = [];
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
        } else {
          looked.push({ value, column });
          continue;
        }
        const { rows } = await client.query<{ n: string }>(sql);
        const n = Number(rows[0]!.n);
        if (n > 0) failures.push(`${where}: ${n} ${problem}`);
      }
    }
    if (looked.length === 0) continue;
    // Every masked value is fetched and looked up among the source digests, in one pass a table.
    const hits = looked.map(() => ({ found: 0, other: 0, phones: 0, total: 0 }));
    await scanRows(
      client,
      `SELECT ${looked.map((l) => l.value.expression).join(", ")} FROM ${quoteTable(table)}`,
      batchRows,
      (rows) => {
        for (const row of rows) {
          for (let i = 0; i < looked.length; i++) {
            const v = row[i];
            if (v === null || v === undefined) continue;
            const count = hits[i]!;
            if (looked[i]!.value.strategy.kind === "phone") {
              if (!HAS_DIGIT.test(v)) continue;
              // A keyed permutation of a dense number space maps some numbers onto other real
              // ones (1M numbers out of 10^11: about 10). Such a hit is a collision, not this
              // row's own number; a column left unmasked hits on (nearly) every row.
              const flags = sources.lookup(v);
              count.total++;
              if (flags & OTHER_SOURCE) count.other++;
              else if (flags & PHONE_SOURCE) count.phones++;
            } else if (sources.lookup(v) !== 0) count.found++;
          }
        }
      },
    );
    looked.forEach(({ value, column }, i) => {
      const where = label(table, column, value.path);
      const { found, other, phones, total } = hits[i]!;
      if (found > 0) failures.push(`${where}: ${found} values found among the source values`);
      if (other > 0)
        failures.push(`${where}: ${other} values found among the source values of other strategies`);
      if (phones * 2 > total)
        failures.push(`${where}: ${phones} of ${total} values are source phone numbers (not masked)`);
    });
  }
  return failures;
}

/** Records a source value's digest, unless it identifies no one (batch.ts, sourceFlag). */
function addSource(sources: DigestSet, strategy: ValueStrategy, value: string | null): void {
  const flag = sourceFlag(strategy, value);
  if (flag !== 0) sources.add(value!, flag);
}

/**
 * Two paths of one column where one lies inside the other: the SQL rewrite applies them in order,
 * each reading the document as the previous one left it, which a fake computed from the source
 * document cannot reproduce. Such a table keeps the SQL fakes.
 */
function overlappingPaths(table: PlannedTable): boolean {
  return table.columns.some((column) => {
    if (column.strategy.kind !== "jsonb") return false;
    const paths = column.strategy.paths.map((p) => p.path);
    return paths.some((p, i) =>
      paths.some((q, j) => i !== j && p.length <= q.length && p.every((key, k) => key === q[k])),
    );
  });
}

/** Runs one statement, naming it as the step a failure is reported in; `run.at` names a step that is no one statement. */
type Run = ((what: string, sql: string) => Promise<unknown>) & { at: (what: string) => void };

/**
 * One table: fetch the source values (taking their digests when `sources` is given), compute the
 * fakes here, COPY them into a temp table batch by batch, then one UPDATE joined on the row's
 * (tableoid, ctid): within this transaction nothing else moves a row, and tableoid keeps the ctids
 * of partitions and inheritance children apart.
 */
async function maskInJob(
  client: pg.Client,
  table: PlannedTable,
  key: MaskingKey,
  pool: FakePool | null,
  sources: DigestSet | undefined,
  batchRows: number,
  run: Run,
  onStep: (step: string, ms: number) => void,
  interrupted: () => void,
): Promise<void> {
  const name = `${table.schema}.${table.table}`;
  const values = table.columns.flatMap((column) =>
    sourceExpressions(column).map((value) => ({ ...value, column })),
  );
  const faked = values.filter((v) => v.strategy.kind !== "null" && v.strategy.kind !== "fixed");
  const literal = (value: string) => client.escapeLiteral(value);
  if (faked.length === 0) {
    run.at(`taking digests of ${name}`);
    if (sources) await takeDigests(client, table, values, sources, batchRows, onStep);
    const sets = table.columns.map(
      (column) => `${quoteIdent(column.column)} = ${maskExpression(client, column)}`,
    );
    await run(`masking ${name}`, `UPDATE ${quoteTable(table)} SET ${sets.join(", ")}`);
    return;
  }
  const fakeColumn = (value: (typeof values)[number]) => `f${faked.indexOf(value)}`;
  await run(
    `creating the fakes table for ${name}`,
    `CREATE TEMP TABLE lifeboat_mask_fakes (row_table oid, row_ctid tid, ${faked.map((v) => `${fakeColumn(v)} text`).join(", ")}) ON COMMIT DROP`,
  );
  // Digested values come first in each row, the faked ones are among them.
  const read = sources ? values : faked;
  const fakedAt = faked.map((v) => read.indexOf(v));
  const sizes = faked.map((v) =>
    v.path === undefined && v.column.maxLength !== undefined && v.strategy.kind !== "uuid"
      ? v.column.maxLength
      : undefined,
  );
  const spec: BatchSpec = {
    read: read.map((v) => v.strategy),
    fakedAt,
    sizes,
    digests: sources !== undefined,
  };
  let faking = 0;
  const began = Date.now();
  run.at(`reading ${name}, computing and copying in its fakes`);
  const rows = await scanRows(
    client,
    `SELECT tableoid, ctid, ${read.map((v) => v.expression).join(", ")} FROM ${quoteTable(table)}`,
    batchRows,
    async (batch) => {
      interrupted();
      const start = Date.now();
      const result = pool ? await pool.run(spec, batch) : maskBatch(key, spec, batch);
      sources?.addDigests(result.digests);
      faking += Date.now() - start;
      return result.text;
    },
    FAKES,
  );
  // The server fetches the next batch while the job computes: only the sum is wall time.
  onStep(`reading ${name} (${rows} rows), computing and copying in its fakes`, Date.now() - began);
  onStep(`  of which computing the fakes of ${name}${sources ? " and the source digests" : ""}`, faking);

  const sets = table.columns.map((column) => {
    const ident = quoteIdent(column.column);
    const strategy = column.strategy;
    if (strategy.kind !== "jsonb") {
      const value = faked.find((v) => v.column === column);
      const expression = value ? `m.${fakeColumn(value)}` : maskExpression(client, column);
      return `${ident} = ${value ? `${expression}::${column.type}` : expression}`;
    }
    // One jsonb_set per path, on an empty path (a no-op) where the source held nothing to mask.
    // Nested sub-SELECTs, as the SQL fakes use, cost three times the rest of the UPDATE (measured).
    // Each path is read in the source document: the paths do not overlap (overlappingPaths).
    let document = `x.${ident}`;
    for (const rule of strategy.paths) {
      const value = faked.find((v) => v.column === column && v.path === rule.path);
      const at = `x.${ident} #> ${pathLiteral(rule.path)}`;
      const present = value
        ? `m.${fakeColumn(value)} IS NOT NULL`
        : `coalesce(jsonb_typeof(${at}), 'null') <> 'null'`;
      const replacement =
        rule.strategy.kind === "null"
          ? "'null'::jsonb"
          : rule.strategy.kind === "fixed"
            ? jsonbLiteral(rule.strategy.value, literal)
            : `coalesce(to_jsonb(m.${fakeColumn(value!)}), 'null'::jsonb)`;
      document = `jsonb_set(${document}, CASE WHEN ${present} THEN ${pathLiteral(rule.path)} ELSE '{}'::text[] END, ${replacement}, false)`;
    }
    // jsonb_set refuses a scalar document even with an empty path; no path is found in one anyway.
    return `${ident} = CASE WHEN jsonb_typeof(x.${ident}) IN ('object', 'array') THEN ${document} ELSE x.${ident} END`;
  });
  const indexes = await rebuildableIndexes(client, table);
  const keys = await rebuildableKeys(client, table);
  for (const index of indexes)
    await run(`dropping index ${index.name} of ${name}`, `DROP INDEX ${index.name}`);
  for (const key of keys)
    await run(
      `dropping key ${key.name} of ${name}`,
      `ALTER TABLE ${quoteTable(table)} DROP CONSTRAINT ${quoteIdent(key.name)}`,
    );
  await run(
    `updating ${name} from the fakes`,
    `UPDATE ${quoteTable(table)} AS x SET ${sets.join(", ")}
       FROM ${FAKES} AS m WHERE x.tableoid = m.row_table AND x.ctid = m.row_ctid`,
  );
  for (const key of keys)
    await run(
      `adding back key ${key.name} of ${name}`,
      `ALTER TABLE ${quoteTable(table)} ADD CONSTRAINT ${quoteIdent(key.name)} ${key.definition}`,
    );
  for (const index of indexes) await run(`rebuilding index ${index.name} of ${name}`, index.definition);
  await run(`dropping the fakes table of ${name}`, `DROP TABLE ${FAKES}`);
}

/**
 * The table's own indexes that DROP INDEX and their pg_get_indexdef() give back exactly: not a
 * constraint's (rebuildableKeys), not clustered on, not the replica identity, not a partition's,
 * not in another tablespace, no comment or security label, no statistics target, not an
 * extension's nor depending on one. The UPDATE rewrites every row, so each index would take one
 * entry a row; built again afterwards they cost a sort (measured: 4.4 s -> 2.8 s for 400,000 rows,
 * one index).
 */
async function rebuildableIndexes(
  client: pg.Client,
  table: PlannedTable,
): Promise<{ name: string; definition: string }[]> {
  const { rows } = await client.query<{ name: string; definition: string }>(
    `SELECT quote_ident(n.nspname) || '.' || quote_ident(ic.relname) AS name, pg_get_indexdef(i.indexrelid) AS definition
       FROM pg_index i
       JOIN pg_class ic ON ic.oid = i.indexrelid JOIN pg_namespace n ON n.oid = ic.relnamespace
       JOIN pg_class t ON t.oid = i.indrelid
      WHERE i.indrelid = $1::regclass AND t.relkind = 'r' AND NOT t.relispartition AND NOT ic.relispartition
        AND i.indisvalid AND i.indisready AND NOT i.indisclustered AND NOT i.indisreplident
        AND ic.reltablespace = 0
        AND NOT EXISTS (SELECT 1 FROM pg_constraint c WHERE c.conindid = i.indexrelid)
        AND NOT EXISTS (SELECT 1 FROM pg_description d WHERE d.objoid = i.indexrelid)
        AND NOT EXISTS (SELECT 1 FROM pg_attribute a WHERE a.attrelid = i.indexrelid AND a.attstattarget >= 0)
        AND NOT EXISTS (SELECT 1 FROM pg_depend d WHERE d.classid = 'pg_class'::regclass AND d.objid = i.indexrelid AND d.deptype IN ('e', 'x'))
        AND NOT EXISTS (SELECT 1 FROM pg_seclabel l WHERE l.classoid = 'pg_class'::regclass AND l.objoid = i.indexrelid)
      ORDER BY ic.relname`,
    [quoteTable(table)],
  );
  return rows;
}

/**
 * The table's primary and unique keys that ALTER TABLE ... DROP CONSTRAINT and ADD CONSTRAINT with
 * their pg_get_constraintdef() give back exactly (columns, INCLUDE, NULLS NOT DISTINCT, DEFERRABLE;
 * not the index's storage parameters, which it leaves out) and that nothing depends on but their
 * own parts (the index, a deferrable key's trigger): no foreign key references them (those the
 * rules touch are dropped before this), no view relies on them, no comment or security label, no
 * statistics target, no extension's, not clustered on, not the replica identity (a published
 * table's primary key is by default: without it the UPDATE is refused), not a partition's or a
 * partitioned table's, in the default tablespace. Inserting the fakes into such an index row by
 * row costs more than the UPDATE itself (measured: 3.2 s against 1.2 s with the key dropped and
 * added back, for 300,000 rows keyed by email); added back, the index is built by one sort and
 * uniqueness is checked again.
 */
async function rebuildableKeys(
  client: pg.Client,
  table: PlannedTable,
): Promise<{ name: string; definition: string }[]> {
  const { rows } = await client.query<{ name: string; definition: string }>(
    `SELECT c.conname AS name, pg_get_constraintdef(c.oid) AS definition
       FROM pg_constraint c
       JOIN pg_index i ON i.indexrelid = c.conindid
       JOIN pg_class ic ON ic.oid = c.conindid
       JOIN pg_class t ON t.oid = c.conrelid JOIN pg_namespace n ON n.oid = t.relnamespace
      WHERE c.conrelid = $1::regclass AND c.contype IN ('p', 'u') AND c.conparentid = 0
        AND NOT (c.contype = 'p' AND t.relreplident = 'd'
                 AND EXISTS (SELECT 1 FROM pg_publication_tables pt
                              WHERE pt.schemaname = n.nspname AND pt.tablename = t.relname))
        AND t.relkind = 'r' AND NOT t.relispartition AND NOT ic.relispartition
        AND i.indisvalid AND i.indisready AND NOT i.indisclustered AND NOT i.indisreplident
        AND ic.reltablespace = 0 AND ic.reloptions IS NULL
        AND NOT EXISTS (SELECT 1 FROM pg_description d
                         WHERE (d.classoid = 'pg_constraint'::regclass AND d.objoid = c.oid)
                            OR (d.classoid = 'pg_class'::regclass AND d.objoid = c.conindid))
        AND NOT EXISTS (SELECT 1 FROM pg_attribute a WHERE a.attrelid = c.conindid AND a.attstattarget >= 0)
        AND NOT EXISTS (SELECT 1 FROM pg_depend d
                         WHERE ((d.refclassid = 'pg_constraint'::regclass AND d.refobjid = c.oid)
                             OR (d.refclassid = 'pg_class'::regclass AND d.refobjid = c.conindid))
                           AND d.deptype <> 'i')
        AND NOT EXISTS (SELECT 1 FROM pg_depend d
                         WHERE ((d.classid = 'pg_constraint'::regclass AND d.objid = c.oid)
                             OR (d.classid = 'pg_class'::regclass AND d.objid = c.conindid))
                           AND d.deptype IN ('e', 'x'))
        AND NOT EXISTS (SELECT 1 FROM pg_seclabel l
                         WHERE l.classoid = 'pg_class'::regclass AND l.objoid = c.conindid)
      ORDER BY c.conname`,
    [quoteTable(table)],
  );
  return rows;
}

async function hasUpdateRules(client: pg.Client, tables: PlannedTable[]): Promise<boolean> {
  const { rows } = await client.query<{ found: boolean }>(
    `SELECT EXISTS (SELECT 1 FROM pg_rewrite WHERE ev_class = ANY ($1::regclass[]) AND ev_type = '2') AS found`,
    [tables.map(quoteTable)],
  );
  return rows[0]!.found;
}

async function takeDigests(
  client: pg.Client,
  table: PlannedTable,
  values: ReturnType<typeof sourceExpressions>,
  sources: DigestSet,
  batchRows: number,
  onStep: (step: string, ms: number) => void,
): Promise<void> {
  const began = Date.now();
  await scanRows(
    client,
    `SELECT ${values.map((v) => v.expression).join(", ")} FROM ${quoteTable(table)}`,
    batchRows,
    (rows) => {
      for (const row of rows) values.forEach((value, i) => addSource(sources, value.strategy, row[i]!));
    },
  );
  onStep(`taking digests of ${table.schema}.${table.table}`, Date.now() - began);
}
