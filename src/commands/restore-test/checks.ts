/**
 * restore-test's checks beyond row counts (docs/verification.md), run against the restored scratch
 * copy before the user's assertions and command can change it:
 * - drift: each table's row count against the previous backup of the label (`--max-table-drift`);
 * - the recovery-time budget (`--max-restore-seconds`), with the label's restore times as a trend;
 * - sequences: none behind the maximum of the column it feeds (the next insert would collide);
 * - content digests: each table's COPY text from the restored copy hashed as the backup hashed the
 *   archive's, where the two are computed over the same bytes (see `digestSkipReason`).
 */
import { createHash, type Hash } from "node:crypto";
import pg from "pg";
import type { DatabaseUrl } from "../../domain/database-url.js";
import { describeError } from "../../domain/errors.js";
import type { Manifest } from "../../domain/manifest.js";
import { driftedTables, formatChange, tableChanges, type TableChange } from "../../domain/table-drift.js";
import { connect } from "../../postgres/connect.js";
import { quoteIdent } from "../../postgres/snapshot.js";
import { BackupRepository } from "../../repository/backup-repository.js";
import { loadHistory } from "../../report/history.js";
import type { Store } from "../../storage/store.js";

export interface RicherCheckSettings {
  /** A fraction: 0.5 for 50%. */
  maxTableDrift: number | undefined;
  driftAction: "fail" | "warn";
  maxRestoreSeconds: number | undefined;
}

export interface DriftResult {
  /** The previous committed backup of the label with a readable manifest; null when none. */
  previousBackupId: string | null;
  max: number | null;
  action: "fail" | "warn";
  tables: TableChange[];
  drifted: TableChange[];
}

export interface BudgetResult {
  maxSeconds: number | null;
  seconds: number;
  exceeded: boolean;
  /** The label's earlier passing restore-tests, oldest first, then this one. */
  trend: { backupId: string; restoreSeconds: number }[];
}

export interface SequenceFinding {
  sequence: string;
  table: string;
  column: string;
  /** What nextval() would return next, and the column's maximum (text: bigint-safe). */
  next: string;
  max: string;
}

export interface SequenceResult {
  checked: number;
  behind: SequenceFinding[];
  /** Set when the check itself could not run. */
  error: string | null;
}

export interface DigestResult {
  compared: number;
  mismatched: { table: string; expected: string; actual: string }[];
  /** Tables with a digest in the manifest that were not compared, and why. */
  skipped: { table: string; reason: string }[];
}

export interface RicherChecks {
  /** The manifest's tables, `schema.table`: what the per-table checks went over. */
  tables: string[];
  drift: DriftResult;
  budget: BudgetResult;
  sequences: SequenceResult;
  digests: DigestResult;
  failures: string[];
  warnings: string[];
}

export interface RicherCheckInput {
  /** Connected to the restored scratch database. */
  client: pg.Client;
  target: DatabaseUrl;
  store: Store;
  label: string;
  manifest: Manifest;
  restoreSeconds: number;
  /** Tables whose row count already failed: their digests would only say it again. */
  mismatchedTables: ReadonlySet<string>;
  settings: RicherCheckSettings;
  now: Date;
}

export async function runRicherChecks(input: RicherCheckInput): Promise<RicherChecks> {
  const failures: string[] = [];
  const warnings: string[] = [];
  const drift = await checkDrift(input);
  for (const table of drift.drifted) {
    const message = `${table.table}: ${table.previous} -> ${table.current ?? 0} rows (${formatChange(table)}) against the previous backup ${drift.previousBackupId}, more than max-table-drift ${percent(drift.max!)}`;
    (drift.action === "fail" ? failures : warnings).push(message);
  }
  const budget = await checkBudget(input);
  if (budget.exceeded) {
    failures.push(
      `the restore took ${budget.seconds}s, over the recovery-time budget max-restore-seconds ${budget.maxSeconds}`,
    );
  }
  const sequences = await checkSequences(input.client);
  if (sequences.error) failures.push(`checking sequences failed: ${sequences.error}`);
  for (const finding of sequences.behind.slice(0, 5)) {
    failures.push(
      `sequence ${finding.sequence} is behind ${finding.table}.${finding.column}: its next value ${finding.next} is not above the column's maximum ${finding.max}`,
    );
  }
  if (sequences.behind.length > 5)
    failures.push(`... and ${sequences.behind.length - 5} more sequences are behind`);
  const digests = await compareDigests(input);
  for (const mismatch of digests.mismatched.slice(0, 5)) {
    failures.push(
      `${mismatch.table}: the restored rows' sha256 ${mismatch.actual.slice(0, 12)}... differs from the archive's ${mismatch.expected.slice(0, 12)}...`,
    );
  }
  if (digests.mismatched.length > 5)
    failures.push(`... and ${digests.mismatched.length - 5} more table digests differ`);
  const tables = input.manifest.tables.map((table) => `${table.schema}.${table.table}`);
  return { tables, drift, budget, sequences, digests, failures, warnings };
}

function percent(fraction: number): string {
  return `${Math.round(fraction * 1000) / 10}%`;
}

/** The newest committed backup before this one whose manifest reads. */
async function previousManifest(
  store: Store,
  label: string,
  backupId: string,
): Promise<Manifest | undefined> {
  const repository = new BackupRepository(store);
  const older = (await repository.folders(label)).filter(
    (folder) => folder.committed && folder.backupId < backupId,
  );
  for (const folder of older) {
    const { manifest } = await repository.inspectFolder(label, folder);
    if (manifest) return manifest;
  }
  return undefined;
}

async function checkDrift(input: RicherCheckInput): Promise<DriftResult> {
  const previous = await previousManifest(input.store, input.label, input.manifest.backupId);
  const tables = previous ? tableChanges(input.manifest.tables, previous.tables) : [];
  const max = input.settings.maxTableDrift ?? null;
  return {
    previousBackupId: previous?.backupId ?? null,
    max,
    action: input.settings.driftAction,
    tables,
    drifted: max === null ? [] : driftedTables(tables, max),
  };
}

async function checkBudget(input: RicherCheckInput): Promise<BudgetResult> {
  const history = await loadHistory(input.store, input.label, { now: input.now }).catch(() => undefined);
  const trend = (history?.points ?? [])
    .filter((point) => point.restoreSeconds !== null && point.backupId !== input.manifest.backupId)
    .map((point) => ({ backupId: point.backupId, restoreSeconds: point.restoreSeconds! }));
  trend.push({ backupId: input.manifest.backupId, restoreSeconds: input.restoreSeconds });
  const maxSeconds = input.settings.maxRestoreSeconds ?? null;
  return {
    maxSeconds,
    seconds: input.restoreSeconds,
    exceeded: maxSeconds !== null && input.restoreSeconds > maxSeconds,
    trend,
  };
}

/**
 * Sequences owned by a column (serial, identity), ascending ones: the value nextval() returns next
 * must be above the column's maximum, or the application's next insert fails on its key.
 */
export async function checkSequences(client: pg.Client): Promise<SequenceResult> {
  try {
    const owned = await client.query<{
      sequence: string;
      schema: string;
      table: string;
      column: string;
      increment: string;
    }>(
      `SELECT s.oid::regclass::text AS sequence, n.nspname AS schema, c.relname AS table,
              a.attname AS column, q.seqincrement::text AS increment
         FROM pg_depend d
         JOIN pg_class s ON s.oid = d.objid AND s.relkind = 'S'
         JOIN pg_sequence q ON q.seqrelid = s.oid
         JOIN pg_class c ON c.oid = d.refobjid AND c.relkind IN ('r', 'p')
         JOIN pg_namespace n ON n.oid = c.relnamespace
         JOIN pg_attribute a ON a.attrelid = c.oid AND a.attnum = d.refobjsubid
        WHERE d.classid = 'pg_class'::regclass AND d.refclassid = 'pg_class'::regclass
          AND d.deptype IN ('a', 'i') AND d.refobjsubid > 0
        ORDER BY 1`,
    );
    const behind: SequenceFinding[] = [];
    let checked = 0;
    for (const row of owned.rows) {
      const increment = BigInt(row.increment);
      if (increment <= 0n) continue;
      const state = await client.query<{ last_value: string; is_called: boolean }>(
        `SELECT last_value::text, is_called FROM ${row.sequence}`,
      );
      const max = await client.query<{ max: string | null }>(
        `SELECT max(${quoteIdent(row.column)})::text AS max FROM ONLY ${quoteIdent(row.schema)}.${quoteIdent(row.table)}`,
      );
      checked++;
      const top = max.rows[0]?.max;
      if (top === null || top === undefined || !/^-?\d+$/.test(top)) continue;
      const last = BigInt(state.rows[0]!.last_value);
      const next = state.rows[0]!.is_called ? last + increment : last;
      if (next <= BigInt(top)) {
        behind.push({
          sequence: row.sequence,
          table: `${row.schema}.${row.table}`,
          column: row.column,
          next: next.toString(),
          max: top,
        });
      }
    }
    return { checked, behind, error: null };
  } catch (error) {
    return { checked: 0, behind: [], error: describeError(error) };
  }
}

/** Output types whose text depends on session state the dump did not fix (pg_dump leaves TimeZone and lc_monetary alone). */
const SESSION_DEPENDENT = new Set(["timestamptz", "timetz", "money", "tstzrange", "tstzmultirange"]);
/** Float output changed in PostgreSQL 12 (shortest exact); compared only when both sides are 12 or later. */
const FLOATS = new Set(["float4", "float8"]);
const DUMP_FORMS = [
  "--inserts",
  "--column-inserts",
  "--attribute-inserts",
  "--rows-per-insert",
  "--load-via-partition-root",
];

/**
 * Why a table's digest cannot be recomputed exactly from the restored copy, or undefined when it
 * can. The manifest's digest is over the COPY text pg_dump wrote; the same text comes back from
 * `COPY table (columns) TO STDOUT` on the restored copy when the rows are in the same order (a
 * table filled by one COPY and untouched since is read back in that order), the columns are the
 * dumped ones (not generated, in order), and every value prints the same (pg_dump's DateStyle,
 * IntervalStyle and extra_float_digits are set here; types whose text depends on what the dump did
 * not fix are left out).
 */
export function digestSkipReason(
  manifest: Manifest,
  columnTypes: readonly string[],
  scratchVersionNum: number,
): string | undefined {
  const form = (manifest.tool.pgDumpArgs ?? []).find((arg) =>
    DUMP_FORMS.some((f) => arg === f || arg.startsWith(`${f}=`)),
  );
  if (form) return `the dump was made with ${form.split("=")[0]}`;
  const dependent = columnTypes.find((type) => SESSION_DEPENDENT.has(type));
  if (dependent) return `a ${dependent} column prints by session settings the dump did not record`;
  const float = columnTypes.find((type) => FLOATS.has(type));
  if (float && ((manifest.source?.serverVersionNum ?? 0) < 120000 || scratchVersionNum < 120000)) {
    return `a ${float} column prints differently before PostgreSQL 12`;
  }
  return undefined;
}

/** COPY ... TO STDOUT hashed as it streams, over the client's own connection (pg has no COPY OUT API). */
class CopyOutDigest {
  readonly hash: Hash = createHash("sha256");
  private error: Error | undefined;
  private settle!: { resolve: (hex: string) => void; reject: (error: Error) => void };
  readonly done = new Promise<string>((resolve, reject) => (this.settle = { resolve, reject }));
  constructor(readonly text: string) {}
  submit(connection: { query(text: string): void }): void {
    connection.query(this.text);
  }
  handleCopyData(message: { chunk: Buffer }): void {
    this.hash.update(message.chunk);
  }
  handleError(error: Error): void {
    this.error = error;
  }
  handleReadyForQuery(): void {
    if (this.error) this.settle.reject(this.error);
    else this.settle.resolve(this.hash.digest("hex"));
  }
  handleCopyInResponse(connection: { sendCopyFail(message: string): void }): void {
    connection.sendCopyFail("not a COPY FROM");
  }
  handleRowDescription(): void {}
  handleDataRow(): void {}
  handleCommandComplete(): void {}
  handleEmptyQuery(): void {}
  handlePortalSuspended(): void {}
}

export async function copyDigest(client: pg.Client, sql: string): Promise<string> {
  const query = new CopyOutDigest(sql);
  void client.query(query as unknown as pg.QueryConfig);
  return query.done;
}

async function compareDigests(input: RicherCheckInput): Promise<DigestResult> {
  const result: DigestResult = { compared: 0, mismatched: [], skipped: [] };
  const tables = input.manifest.tables.filter((table) => table.sha256 !== undefined);
  if (tables.length === 0) return result;
  // Its own session: the settings pg_dump's session had, which the user's assertions must not inherit.
  let client: pg.Client;
  try {
    client = await connect(input.target, "scratch-database-url");
  } catch (error) {
    for (const table of tables)
      result.skipped.push({ table: `${table.schema}.${table.table}`, reason: describeError(error) });
    return result;
  }
  try {
    const encoding = (await client.query<{ e: string }>("SELECT current_setting('server_encoding') AS e"))
      .rows[0]!.e;
    const version = Number(
      (await client.query<{ v: string }>("SELECT current_setting('server_version_num') AS v")).rows[0]!.v,
    );
    await client.query(
      `SET DateStyle = ISO; SET IntervalStyle = postgres; SET extra_float_digits = 3;
       SET synchronize_seqscans = off; SET bytea_output = hex; SET row_security = off;
       SET client_encoding = ${pg.escapeLiteral(encoding)}`,
    );
    for (const table of tables) {
      const name = `${table.schema}.${table.table}`;
      if (input.mismatchedTables.has(name)) {
        result.skipped.push({ table: name, reason: "its row count already differs" });
        continue;
      }
      try {
        const relation = `${quoteIdent(table.schema)}.${quoteIdent(table.table)}`;
        const columns = await client.query<{ name: string }>(
          `SELECT attname AS name FROM pg_attribute
            WHERE attrelid = $1::regclass AND attnum > 0 AND NOT attisdropped AND attgenerated = ''
            ORDER BY attnum`,
          [relation],
        );
        // Every type a value's text is made of: through arrays, domains, composites and ranges.
        const types = await client.query<{ type: string }>(
          `WITH RECURSIVE types(oid) AS (
             SELECT atttypid FROM pg_attribute
              WHERE attrelid = $1::regclass AND attnum > 0 AND NOT attisdropped AND attgenerated = ''
             UNION
             SELECT x.oid FROM types n JOIN pg_type t ON t.oid = n.oid
             CROSS JOIN LATERAL (
               SELECT t.typelem WHERE t.typelem <> 0 AND t.typlen = -1
               UNION ALL SELECT t.typbasetype WHERE t.typtype = 'd'
               UNION ALL SELECT a.atttypid FROM pg_attribute a
                WHERE t.typtype = 'c' AND a.attrelid = t.typrelid AND a.attnum > 0 AND NOT a.attisdropped
               UNION ALL SELECT r.rngsubtype FROM pg_range r WHERE t.typtype = 'r' AND r.rngtypid = t.oid
             ) AS x(oid)
           )
           SELECT DISTINCT t.typname AS type FROM types n JOIN pg_type t ON t.oid = n.oid ORDER BY 1`,
          [relation],
        );
        const reason = digestSkipReason(
          input.manifest,
          types.rows.map((row) => row.type),
          version,
        );
        if (reason) {
          result.skipped.push({ table: name, reason });
          continue;
        }
        const list = columns.rows.map((column) => quoteIdent(column.name)).join(", ");
        const actual = await copyDigest(client, `COPY ${relation} (${list}) TO STDOUT`);
        result.compared++;
        if (actual !== table.sha256) result.mismatched.push({ table: name, expected: table.sha256!, actual });
      } catch (error) {
        // A table the restore lost, or one the scratch role may not read: said, not compared.
        result.skipped.push({ table: name, reason: describeError(error) });
      }
    }
  } catch (error) {
    result.skipped.push({ table: "*", reason: `comparing digests failed: ${describeError(error)}` });
  } finally {
    await client.end().catch(() => undefined);
  }
  return result;
}
