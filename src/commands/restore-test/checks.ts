/**
 * restore-test's checks beyond row counts (docs/verification.md), run against the restored scratch
 * copy before the user's assertions and command can change it:
 * - drift: each table's row count against the previous backup of the label (`--max-table-drift`);
 * - the recovery-time budget (`--max-restore-seconds`), with the label's restore times as a trend;
 * - sequences: none behind the maximum of the column it feeds (the next insert would collide);
 * - content digests: each table's COPY text from the restored copy hashed as the backup hashed the
 *   archive's, where the two are computed over the same bytes (see `digestSkipReason`). They are
 *   taken with the row counts, in one pass (`checkTables`): the COPY that hashes a table counts it.
 */
import pg from "pg";
import type { DatabaseUrl } from "../../domain/database-url.js";
import { describeError, OperationError } from "../../domain/errors.js";
import type { Manifest } from "../../domain/manifest.js";
import { driftedTables, formatChange, tableChanges, type TableChange } from "../../domain/table-drift.js";
import { connect } from "../../postgres/connect.js";
import type { RowCountMismatch } from "../../postgres/row-counts.js";
import { copyOutDigest } from "../../postgres/copy-out.js";
import { quoteIdent } from "../../postgres/snapshot.js";
import { BackupRepository } from "../../repository/backup-repository.js";
import { loadHistory } from "../../report/history.js";
import type { Store } from "../../storage/store.js";
import type { PhaseClock } from "./phases.js";

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
  /** The content digests, compared in the same pass as the row counts (`checkTables`). */
  digests: DigestResult;
  settings: RicherCheckSettings;
  now: Date;
  clock?: PhaseClock;
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
  input.clock?.mark("drift + budget");
  const sequences = await checkSequences(input.client);
  input.clock?.mark("sequences");
  if (sequences.error) failures.push(`checking sequences failed: ${sequences.error}`);
  for (const finding of sequences.behind.slice(0, 5)) {
    failures.push(
      `sequence ${finding.sequence} is behind ${finding.table}.${finding.column}: its next value ${finding.next} is not above the column's maximum ${finding.max}`,
    );
  }
  if (sequences.behind.length > 5)
    failures.push(`... and ${sequences.behind.length - 5} more sequences are behind`);
  const { digests } = input;
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
      fed: string[];
    }>(
      // Where the sequence's values go: a partitioned table's whole tree; else the owning table
      // itself (ONLY) and every table whose column default draws from the same sequence (an
      // inheritance child that kept its parent's default; one with a sequence of its own does not
      // count against this one).
      `SELECT s.oid::regclass::text AS sequence, n.nspname AS schema, c.relname AS table,
              a.attname AS column, q.seqincrement::text AS increment,
              CASE WHEN c.relkind = 'p'
                THEN ARRAY[pg_catalog.format('SELECT max(%I) FROM %I.%I', a.attname, n.nspname, c.relname)]
                ELSE ARRAY(
                  SELECT pg_catalog.format('SELECT max(%I) FROM ONLY %I.%I', a.attname, n.nspname, c.relname)
                  UNION
                  SELECT pg_catalog.format('SELECT max(%I) FROM ONLY %I.%I', fa.attname, fn.nspname, fc.relname)
                    FROM pg_attrdef ad
                    JOIN pg_depend fd ON fd.classid = 'pg_attrdef'::regclass AND fd.objid = ad.oid
                     AND fd.refclassid = 'pg_class'::regclass AND fd.refobjid = s.oid
                    JOIN pg_class fc ON fc.oid = ad.adrelid AND fc.relkind = 'r'
                    JOIN pg_namespace fn ON fn.oid = fc.relnamespace
                    JOIN pg_attribute fa ON fa.attrelid = ad.adrelid AND fa.attnum = ad.adnum)
              END AS fed
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
        `SELECT max(m)::text AS max FROM (${row.fed.map((sql) => `(${sql})`).join(" UNION ALL ")}) AS t(m)`,
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

/**
 * Output types whose text depends on the session's TimeZone, which pg_dump leaves alone: Lifeboat
 * runs pg_dump in UTC and records it (`dump.timeZone`), and these sessions take the same zone;
 * older backups did not record it.
 */
const TIME_ZONE_DEPENDENT = new Set(["timestamptz", "timetz", "tstzrange", "tstzmultirange"]);
/** Output types whose text depends on session state no backup fixes: lc_monetary. */
const SESSION_DEPENDENT = new Set(["money"]);
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
 * IntervalStyle and extra_float_digits are set here, and the TimeZone the backup ran pg_dump in;
 * types whose text depends on what the dump did not fix are left out).
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
  const dependent = columnTypes.find(
    (type) => SESSION_DEPENDENT.has(type) || (!manifest.dump?.timeZone && TIME_ZONE_DEPENDENT.has(type)),
  );
  if (dependent) return `a ${dependent} column prints by session settings the dump did not record`;
  const float = columnTypes.find((type) => FLOATS.has(type));
  if (float && ((manifest.source?.serverVersionNum ?? 0) < 120000 || scratchVersionNum < 120000)) {
    return `a ${float} column prints differently before PostgreSQL 12`;
  }
  return undefined;
}

export interface TableCheck {
  /** Every table whose row count differs from the manifest's, in the manifest's order. */
  mismatches: RowCountMismatch[];
  digests: DigestResult;
}

/** A manifest table as the scratch catalog has it: null columns when the table is not there. */
interface TablePlan {
  name: string;
  relation: string;
  rows: number;
  sha256: string | undefined;
  columns: string[] | null;
  /** The columns, quoted for the digest session. */
  columnList: string;
  types: string[];
  /** An extension configuration table's dump condition (pg_extension_config_dump): pg_dump dumped only the rows it selects. */
  filter: string | null;
}

/**
 * Every table's row count and, where the manifest has a content digest that can be recomputed
 * exactly, its digest: in one pass. A table with a digest is read once, by the COPY that hashes it,
 * and its rows are counted from that COPY (a separate count(*) would scan it a second time); the
 * others are counted with count(*). Up to `jobs` sessions work at once, the biggest tables first.
 * The session settings are pg_dump's (see `digestSkipReason`), on sessions of their own that the
 * user's assertions never see.
 */
export async function checkTables(
  target: DatabaseUrl,
  manifest: Manifest,
  options: { jobs: number },
): Promise<TableCheck> {
  const first = await connect(target, "scratch-database-url");
  const clients = [first];
  try {
    const wanted = Math.max(1, Math.min(options.jobs, manifest.tables.length));
    const more = await Promise.allSettled(
      Array.from({ length: wanted - 1 }, () => connect(target, "scratch-database-url")),
    );
    // A server that refuses another connection gets fewer sessions, not a failed test.
    for (const extra of more) if (extra.status === "fulfilled") clients.push(extra.value);
    const [settings, version, encoding] = await sessionSettings(first, manifest);
    // node-postgres sends statements in UTF-8: names reach a database in another encoding in
    // ASCII-only quoting, converted by the server (SQL_ASCII takes the bytes as they come).
    const ident = encoding === "UTF8" || encoding === "SQL_ASCII" ? quoteIdent : asciiIdent;
    // Read in UTF-8 (node-postgres' own encoding) before the sessions take the database's.
    const plans = await planTables(first, manifest, ident);
    const roots = await planRoots(first, manifest, ident);
    await Promise.all(clients.map((client) => client.query(settings)));
    const counted: (number | null)[] = new Array<number | null>(plans.length).fill(null);
    const outcomes: ({ actual: string } | { skipped: string } | undefined)[] = new Array(plans.length);
    const order = plans.map((_, index) => index).sort((a, b) => plans[b]!.rows - plans[a]!.rows);
    let next = 0;
    await Promise.all(
      clients.map(async (client) => {
        while (next < order.length) {
          const index = order[next++]!;
          const plan = plans[index]!;
          const checked = await checkTable(client, plan, manifest, version);
          counted[index] = checked.rows;
          outcomes[index] = checked.digest;
        }
      }),
    );
    const mismatches: RowCountMismatch[] = [];
    const digests: DigestResult = { compared: 0, mismatched: [], skipped: [] };
    // Rows loaded through a partition root are counted where they can be: in the root's whole tree.
    for (const root of roots) {
      const actual = await countRows(first, root.relation, { filter: null, only: false });
      if (actual !== root.expected) mismatches.push({ table: root.name, expected: root.expected, actual });
    }
    for (const [index, plan] of plans.entries()) {
      const loadedInto = manifest.tables[index]!.loadedInto;
      const actual = counted[index] ?? null;
      const countDiffers = !loadedInto && actual !== plan.rows;
      if (countDiffers) mismatches.push({ table: plan.name, expected: plan.rows, actual });
      if (plan.sha256 === undefined) continue;
      if (loadedInto) {
        digests.skipped.push({
          table: plan.name,
          reason: `pg_dump loads it through ${loadedInto.schema}.${loadedInto.table}, which routes its rows again`,
        });
        continue;
      }
      const outcome = outcomes[index];
      // The count already failed: the digest would only say it again.
      if (countDiffers) digests.skipped.push({ table: plan.name, reason: "its row count already differs" });
      else if (!outcome || "skipped" in outcome)
        digests.skipped.push({ table: plan.name, reason: outcome?.skipped ?? "not read" });
      else {
        digests.compared++;
        if (outcome.actual !== plan.sha256) {
          digests.mismatched.push({ table: plan.name, expected: plan.sha256, actual: outcome.actual });
        }
      }
    }
    return { mismatches, digests };
  } finally {
    await Promise.all(clients.map((client) => client.end().catch(() => undefined)));
  }
}

/**
 * pg_dump's session as far as the text of values goes, and the server's version number. pg_dump
 * sets DateStyle, IntervalStyle, extra_float_digits and an empty search_path itself (regclass and
 * the other reg* types print schema-qualified by it); TimeZone is the one Lifeboat gave it, and
 * bytea_output and quote_all_identifiers come from the source's settings, which the manifest
 * records (older backups: the defaults, hex and off).
 */
async function sessionSettings(
  client: pg.Client,
  manifest: Manifest,
): Promise<[settings: string, version: number, encoding: string]> {
  const dump = manifest.dump;
  const row = (
    await client.query<{ e: string; v: string }>(
      "SELECT current_setting('server_encoding') AS e, current_setting('server_version_num') AS v",
    )
  ).rows[0]!;
  // An archive dumped with --encoding (a masked copy's is UTF-8, except from SQL_ASCII, whose bytes
  // convert to nothing) holds its text in that encoding: its digests are of that text, so its
  // rows are read back in it.
  const dumped = manifest.tool.pgDumpArgs
    ?.find((arg) => arg.startsWith("--encoding="))
    ?.slice("--encoding=".length)
    .toUpperCase();
  if (dumped && row.e !== "SQL_ASCII") row.e = dumped;
  const settings = [
    "SET DateStyle = ISO",
    "SET IntervalStyle = postgres",
    "SET extra_float_digits = 3",
    "SET search_path = ''",
    `SET bytea_output = ${dump?.byteaOutput === "escape" ? "escape" : "hex"}`,
    `SET quote_all_identifiers = ${dump?.quoteAllIdentifiers === true ? "on" : "off"}`,
    "SET synchronize_seqscans = off",
    "SET row_security = off",
    `SET client_encoding = ${pg.escapeLiteral(row.e)}`,
    ...(dump?.timeZone ? [`SET TimeZone = ${pg.escapeLiteral(dump.timeZone)}`] : []),
  ];
  return [settings.join("; "), Number(row.v), row.e];
}

/**
 * Every manifest table's columns (the dumped ones: not generated, in order) and every type its
 * values' text is made of (through arrays, domains, composites and ranges), in one query.
 */
async function planTables(
  client: pg.Client,
  manifest: Manifest,
  ident: (name: string) => string,
): Promise<TablePlan[]> {
  const tables = manifest.tables;
  const found = await client.query<{
    i: number;
    columns: string[] | null;
    types: string[] | null;
    filter: string | null;
  }>(
    `WITH RECURSIVE rel AS (
       SELECT i::int, to_regclass(quote_ident(s) || '.' || quote_ident(t)) AS oid
         FROM unnest($1::text[], $2::text[]) WITH ORDINALITY AS u(s, t, i)
     ), cols AS (
       SELECT r.i, a.attnum, a.attname, a.atttypid FROM rel r
         JOIN pg_attribute a ON a.attrelid = r.oid
        WHERE a.attnum > 0 AND NOT a.attisdropped AND a.attgenerated = ''
     ), types(i, oid) AS (
       SELECT i, atttypid FROM cols
       UNION
       SELECT n.i, x.oid FROM types n JOIN pg_type t ON t.oid = n.oid
       CROSS JOIN LATERAL (
         SELECT t.typelem WHERE t.typelem <> 0 AND t.typlen = -1
         UNION ALL SELECT t.typbasetype WHERE t.typtype = 'd'
         UNION ALL SELECT a.atttypid FROM pg_attribute a
          WHERE t.typtype = 'c' AND a.attrelid = t.typrelid AND a.attnum > 0 AND NOT a.attisdropped
         UNION ALL SELECT r.rngsubtype FROM pg_range r WHERE t.typtype = 'r' AND r.rngtypid = t.oid
       ) AS x(oid)
     )
     SELECT r.i, CASE WHEN r.oid IS NULL THEN NULL ELSE COALESCE(c.columns, '{}') END AS columns, t.types,
            (SELECT NULLIF(e.extcondition[k], '') FROM pg_extension e, generate_subscripts(e.extconfig, 1) k
              WHERE e.extconfig[k] = r.oid LIMIT 1) AS filter
       FROM rel r
       LEFT JOIN (SELECT i, array_agg(attname::text ORDER BY attnum) AS columns FROM cols GROUP BY i) c
         ON c.i = r.i
       LEFT JOIN (SELECT n.i, array_agg(DISTINCT t.typname::text) AS types
                    FROM types n JOIN pg_type t ON t.oid = n.oid GROUP BY n.i) t
         ON t.i = r.i
      ORDER BY r.i`,
    [tables.map((table) => table.schema), tables.map((table) => table.table)],
  );
  return tables.map((table, index) => {
    const row = found.rows[index]!;
    // The archive's order where the restore may have changed it (an inheritance child).
    const columns = row.columns === null ? null : (table.columns ?? row.columns);
    return {
      name: `${table.schema}.${table.table}`,
      relation: `${ident(table.schema)}.${ident(table.table)}`,
      rows: table.rows,
      sha256: table.sha256,
      columns,
      columnList: (columns ?? []).map(ident).join(", "),
      types: [...(row.types ?? [])].sort(),
      filter: row.filter,
    };
  });
}

/**
 * The partition roots pg_dump loaded rows through (`loadedInto`), each with the rows its whole tree
 * must hold: the manifest's rows of every partition in it, loaded through the root or not (a
 * range partition beside a hash-on-enum subtree is loaded directly). A root the restored copy
 * lacks expects the same and is counted as missing.
 */
async function planRoots(
  client: pg.Client,
  manifest: Manifest,
  ident: (name: string) => string,
): Promise<{ name: string; relation: string; expected: number }[]> {
  const roots = new Map<string, { schema: string; table: string }>();
  for (const { loadedInto } of manifest.tables) {
    if (loadedInto) roots.set(`${loadedInto.schema}.${loadedInto.table}`, loadedInto);
  }
  const rowsOf = new Map(manifest.tables.map((t) => [`${t.schema}\u0000${t.table}`, t.rows]));
  const planned = [];
  for (const [name, root] of roots) {
    const { rows: members } = await client.query<{ schema: string; table: string }>(
      `SELECT n.nspname AS schema, c.relname AS table
         FROM pg_catalog.pg_partition_tree(pg_catalog.to_regclass(pg_catalog.quote_ident($1) || '.' || pg_catalog.quote_ident($2))) AS t
         JOIN pg_catalog.pg_class c ON c.oid = t.relid JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace`,
      [root.schema, root.table],
    );
    const expected = members.length
      ? members.reduce((sum, m) => sum + (rowsOf.get(`${m.schema}\u0000${m.table}`) ?? 0), 0)
      : manifest.tables
          .filter((t) => t.loadedInto && `${t.loadedInto.schema}.${t.loadedInto.table}` === name)
          .reduce((sum, t) => sum + t.rows, 0);
    planned.push({ name, relation: `${ident(root.schema)}.${ident(root.table)}`, expected });
  }
  return planned;
}

/** One table: its rows from the digest's COPY when there is one to recompute, from count(*) otherwise. */
async function checkTable(
  client: pg.Client,
  plan: TablePlan,
  manifest: Manifest,
  version: number,
): Promise<{ rows: number | null; digest: { actual: string } | { skipped: string } | undefined }> {
  if (plan.columns === null) return { rows: null, digest: { skipped: `${plan.name} is not there` } };
  let digest: { actual: string } | { skipped: string } | undefined;
  if (plan.sha256 !== undefined) {
    const reason =
      digestSkipReason(manifest, plan.types, version) ??
      (plan.columns.length === 0 ? "the table has no columns to copy" : undefined);
    if (reason) digest = { skipped: reason };
    else {
      try {
        const list = plan.columnList;
        // pg_dump's own statement for a filtered configuration table: the extension's shipped rows
        // are created by CREATE EXTENSION, not restored, and are not in the archive.
        const out = await copyOutDigest(
          client,
          plan.filter === null
            ? `COPY ${plan.relation} (${list}) TO STDOUT`
            : `COPY (SELECT ${list} FROM ONLY ${plan.relation} ${plan.filter}) TO STDOUT`,
        );
        return { rows: out.rows, digest: { actual: out.sha256 } };
      } catch (error) {
        // Only the server's refusal (row security: a table the scratch role may not read) is
        // said and not compared, and the table counted below. A stream that did not read as the
        // protocol, rows that disagree with the server's count or a lost connection are faults of
        // the check itself: they fail the run rather than pass as a skipped digest.
        if (!(error instanceof pg.DatabaseError)) {
          throw new OperationError(`checking ${plan.name} failed: ${describeError(error)}`, { cause: error });
        }
        digest = { skipped: describeError(error) };
      }
    }
  }
  return { rows: await countRows(client, plan.relation, { filter: plan.filter, only: true }), digest };
}

/**
 * count(*), or null when the table cannot be counted. These sessions turn row security off so
 * that a COPY fails rather than hashing filtered rows; a count the policy refuses is taken under
 * the policy instead, as a plain session would.
 */
async function countRows(
  client: pg.Client,
  relation: string,
  options: { filter: string | null; only: boolean },
): Promise<number | null> {
  const sql = `SELECT count(*) AS n FROM ${options.only ? "ONLY " : ""}${relation}${options.filter === null ? "" : ` ${options.filter}`}`;
  try {
    return Number((await client.query<{ n: string }>(sql)).rows[0]!.n);
  } catch (error) {
    if ((error as { code?: string }).code !== "42501") return null;
  }
  try {
    await client.query("BEGIN; SET LOCAL row_security = on");
    return Number((await client.query<{ n: string }>(sql)).rows[0]!.n);
  } catch {
    return null;
  } finally {
    await client.query("ROLLBACK").catch(() => undefined);
  }
}

/**
 * An identifier quoted in ASCII only (U&"caf\\00E9"): the digest sessions' client_encoding is the
 * database's, and node-postgres sends every statement as UTF-8.
 */
export function asciiIdent(name: string): string {
  if (/^[\x20-\x7e]*$/.test(name)) return quoteIdent(name);
  let out = "";
  for (const char of name) {
    const code = char.codePointAt(0)!;
    if (char === "\\") out += "\\\\";
    else if (char === '"') out += '""';
    else if (code >= 0x20 && code < 0x7f) out += char;
    else if (code <= 0xffff) out += `\\${code.toString(16).padStart(4, "0")}`;
    else out += `\\+${code.toString(16).padStart(6, "0")}`;
  }
  return `U&"${out}"`;
}
