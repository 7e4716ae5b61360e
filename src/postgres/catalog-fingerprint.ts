/**
 * A catalog fingerprint: the objects a dump holds, per kind, as small deterministic JSON, so that
 * a restored database can be compared with the source object by object (src/domain/catalog-diff.ts).
 *
 * Taken in the dump's exported snapshot (the session that holds it, inside its REPEATABLE READ
 * transaction) or on any connection after a restore. It reads catalogs only: reading pg_class and
 * friends takes no lock on user tables, and no function that opens a relation is called, with one
 * exception: a sequence's value can only be read by opening it, and that lock belongs to the
 * top-level transaction (a rolled-back savepoint keeps it). So sequence values are read on an idle
 * connection, outside any transaction, in statements of bounded size, each releasing its locks when
 * it ends. Sequences are not transactional anyway: pg_dump reads their current value, not the
 * snapshot's, so values read before pg_dump starts are at most behind its own. A dump of 10,000
 * tables at the default max_locks_per_transaction must not fail because of us.
 *
 * Compactness: names are grouped by schema, per-table details keyed by table and present only
 * where there is something to say, ACLs only where they differ from the built-in default, owners
 * only where they differ from the most common owner.
 */
import type pg from "pg";
import { quoteIdent } from "./snapshot.js";
import { parseNamePattern, schemaPatternRegex } from "../domain/pg-pattern.js";
import type { DumpScope } from "../domain/manifest.js";
import {
  CATALOG_FINGERPRINT_VERSION,
  displayName,
  qualifiedName,
  type CatalogFingerprint,
} from "../domain/catalog-diff.js";

export type { CatalogFingerprint } from "../domain/catalog-diff.js";

export interface FingerprintScope extends Pick<
  DumpScope,
  "includeSchemas" | "excludeSchemas" | "includeTables" | "excludeTables"
> {
  schemaOnly?: boolean;
  /**
   * Schema patterns left out on both sides whatever the dump holds: the platform's schemas on a
   * managed service, with the extensions installed in them.
   */
  ignoreSchemas?: readonly string[];
  /**
   * Further schemas whose extensions are left out on both sides: pg_catalog on a managed service,
   * where the platform installs extensions (pg_cron) that a plain server lacks.
   */
  ignoreExtensionSchemas?: readonly string[];
  /**
   * Whether the dump holds objects outside schemas. pg_dump drops them as soon as -n, -t or -e
   * selects anything (Lifeboat never passes -e), so the default is: only when no schema or table
   * is selected.
   */
  globals?: boolean;
}

/** Sequences read per statement: each holds its sequences' locks until the statement ends. */
const SEQUENCE_BATCH = 200;

const PRIVILEGE_LETTERS: Record<string, string> = {
  SELECT: "r",
  INSERT: "a",
  UPDATE: "w",
  DELETE: "d",
  TRUNCATE: "D",
  REFERENCES: "x",
  TRIGGER: "t",
  EXECUTE: "X",
  USAGE: "U",
  CREATE: "C",
  CONNECT: "c",
  TEMPORARY: "T",
  SET: "s",
  "ALTER SYSTEM": "A",
};

const RELATION_WORDS: Record<string, string> = {
  r: "table",
  p: "partitioned table",
  v: "view",
  m: "materialized view",
  S: "sequence",
  f: "foreign table",
};

/** Byte order, not locale order: the same on every machine. */
function compare(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}

function sorted(values: Iterable<string>): string[] {
  return [...values].sort(compare);
}

function sortedRecord<T, U = T>(
  record: Map<string, T>,
  each: (value: T) => U = (value) => value as unknown as U,
): Record<string, U> {
  const out: Record<string, U> = {};
  for (const key of sorted(record.keys())) out[key] = each(record.get(key)!);
  return out;
}

function pushTo<T>(map: Map<string, T[]>, key: string, value: T): void {
  const list = map.get(key);
  if (list) list.push(value);
  else map.set(key, [value]);
}

function setIn<T>(map: Map<string, Map<string, T>>, key: string, inner: string, value: T): void {
  let m = map.get(key);
  if (!m) map.set(key, (m = new Map()));
  m.set(inner, value);
}

function nested<T>(map: Map<string, Map<string, T>>): Record<string, Record<string, T>> {
  const out: Record<string, Record<string, T>> = {};
  for (const key of sorted(map.keys())) out[key] = sortedRecord(map.get(key)!);
  return out;
}

/** The exploded ACL of `acl`, as "grantee\u0000privilege\u0000grantable", the owner left out. */
function aclColumn(acl: string, owner: string, defaultKind: string): string {
  const explode = (source: string) =>
    `ARRAY(SELECT CASE WHEN a.grantee = 0 THEN '' ELSE pg_catalog.pg_get_userbyid(a.grantee)::text END
                  || '=' || a.privilege_type || CASE WHEN a.is_grantable THEN '*' ELSE '' END
             FROM pg_catalog.aclexplode(${source}) a WHERE a.grantee <> ${owner})`;
  return `CASE WHEN ${acl} IS NULL THEN NULL ELSE ${explode(acl)} END AS acl,
          CASE WHEN ${acl} IS NULL THEN NULL ELSE ${explode(`pg_catalog.acldefault('${defaultKind}', ${owner})`)} END AS default_acl`;
}

/** ["bob=SELECT", "bob=INSERT*", "=EXECUTE"] -> ["PUBLIC=X", "bob=a*r"] ("" is everyone). */
export function compactAcl(entries: readonly string[]): string[] {
  const byGrantee = new Map<string, string[]>();
  for (const entry of entries) {
    const at = entry.lastIndexOf("=");
    const grantee = entry.slice(0, at);
    let privilege = entry.slice(at + 1);
    const grantable = privilege.endsWith("*");
    if (grantable) privilege = privilege.slice(0, -1);
    const letter = (PRIVILEGE_LETTERS[privilege] ?? `[${privilege}]`) + (grantable ? "*" : "");
    pushTo(byGrantee, grantee, letter);
  }
  // Everyone (grantee 0, read as "") is PUBLIC unquoted; a role named "PUBLIC" comes out quoted.
  const display = (grantee: string) => (grantee === "" ? "PUBLIC" : displayName(grantee));
  return sorted(byGrantee.keys()).map(
    (grantee) => `${display(grantee)}=${sorted(byGrantee.get(grantee)!).join("")}`,
  );
}

interface AclRow {
  acl: string[] | null;
  default_acl: string[] | null;
}

/** The ACL worth recording, or undefined when it equals the default (NULL or not). */
function recordedAcl(row: AclRow): string[] | undefined {
  if (row.acl === null) return undefined;
  const actual = compactAcl(row.acl);
  const fallback = compactAcl(row.default_acl ?? []);
  return actual.join(" ") === fallback.join(" ") ? undefined : actual;
}

/** A type's name written the same whatever the search_path: schema-qualified outside pg_catalog. */
const TYPE_NAME = (oid: string) =>
  `(SELECT CASE WHEN tn.nspname = 'pg_catalog' THEN t.typname ELSE tn.nspname || '.' || t.typname END
      FROM pg_catalog.pg_type t JOIN pg_catalog.pg_namespace tn ON tn.oid = t.typnamespace WHERE t.oid = ${oid})`;

const NOT_EXTENSION_MEMBER = (catalog: string, oid: string) =>
  `NOT EXISTS (SELECT 1 FROM pg_catalog.pg_depend d WHERE d.classid = '${catalog}'::pg_catalog.regclass AND d.objid = ${oid} AND d.deptype = 'e')`;

const SYSTEM_SCHEMA = (column: string) =>
  `(${column} IN ('pg_catalog', 'information_schema') OR ${column} LIKE 'pg\\_toast%' OR ${column} LIKE 'pg\\_temp\\_%')`;

function anyMatch(
  patterns: readonly string[],
  regexOf: (pattern: string) => string,
): (value: string) => boolean {
  const regexes = patterns.map((pattern) => new RegExp(regexOf(pattern)));
  return (value) => regexes.some((regex) => regex.test(value));
}

interface ScopeTests {
  globals: boolean;
  schemaOnly: boolean;
  tablesSelected: boolean;
  ignored(schema: string): boolean;
  ignoredExtension(schema: string): boolean;
  /** Objects of a schema other than relations (functions, types, the schema itself). */
  schema(schema: string): boolean;
  relation(schema: string, name: string, visible: boolean): boolean;
}

function scopeTests(scope: FingerprintScope): ScopeTests {
  const ignored = anyMatch(scope.ignoreSchemas ?? [], schemaPatternRegex);
  const included = anyMatch(scope.includeSchemas, schemaPatternRegex);
  const excluded = anyMatch(scope.excludeSchemas, schemaPatternRegex);
  const tablePattern = (patterns: readonly string[]) => {
    const parsed = patterns.map(parseNamePattern).map((p) => ({
      schema: p.schema === undefined ? undefined : new RegExp(p.schema),
      name: new RegExp(p.name),
    }));
    return (schema: string, name: string, visible: boolean) =>
      parsed.some((p) => p.name.test(name) && (p.schema ? p.schema.test(schema) : visible));
  };
  const includedTable = tablePattern(scope.includeTables);
  const excludedTable = tablePattern(scope.excludeTables);
  const tablesSelected = scope.includeTables.length > 0;
  const schemaTest = (schema: string) =>
    !ignored(schema) &&
    // As in pg_dump, -n/-N have no effect once -t selects tables.
    (tablesSelected || ((scope.includeSchemas.length === 0 || included(schema)) && !excluded(schema)));
  return {
    globals: scope.globals ?? (scope.includeSchemas.length === 0 && !tablesSelected),
    schemaOnly: scope.schemaOnly ?? false,
    tablesSelected,
    ignored,
    ignoredExtension: (schema) => ignored(schema) || (scope.ignoreExtensionSchemas ?? []).includes(schema),
    schema: (schema) => !tablesSelected && schemaTest(schema),
    relation: (schema, name, visible) =>
      schemaTest(schema) &&
      (!tablesSelected || includedTable(schema, name, visible)) &&
      !excludedTable(schema, name, visible),
  };
}

interface Collector {
  /** Object label -> owner. */
  owners: Map<string, string>;
  /** ACL text -> label prefix ("table public.") -> names. */
  acl: Map<string, Map<string, string[]>>;
}

/** An object's owner and ACL; its label is `prefix + name` (e.g. "table public." + "orders"). */
function noteObject(
  collector: Collector,
  prefix: string,
  name: string,
  owner: string | undefined,
  row: AclRow,
): void {
  if (owner !== undefined) collector.owners.set(prefix + name, owner);
  const acl = recordedAcl(row);
  if (!acl) return;
  const text = acl.join(" ");
  let group = collector.acl.get(text);
  if (!group) collector.acl.set(text, (group = new Map()));
  pushTo(group, prefix, name);
}

/** The TimeZone catalogs are read in (see takeCatalogFingerprint). */
export const CATALOG_TIME_ZONE = "UTC";

/** The settings a constant's text depends on; with the zone, pg_dump's DateStyle and IntervalStyle. */
const OUTPUT_SETTINGS = ["TimeZone", "DateStyle", "IntervalStyle"];

/** Sets `names` to `values` for the rest of the transaction; returns what they were. */
async function setSettings(client: pg.Client, names: string[], values: string[]): Promise<string[]> {
  const { rows } = await client.query<{ previous: string }>(
    `SELECT pg_catalog.current_setting(name) AS previous, pg_catalog.set_config(name, value, true)
       FROM unnest($1::text[], $2::text[]) WITH ORDINALITY AS s(name, value, i) ORDER BY i`,
    [names, values],
  );
  return rows.map((row) => row.previous);
}

/**
 * Takes the fingerprint. `client` is either inside the snapshot's open transaction (its
 * transaction is used and left open) or idle (a REPEATABLE READ READ ONLY transaction of our own
 * gives every catalog read the same view, and is ended before returning). Sequence values are read
 * on `sequenceReader`, an idle connection to the same database; it defaults to `client` when that
 * is idle, and is required when `client` holds the snapshot (unless the scope is schema-only).
 * Take it before pg_dump starts: the dump's values are then at least ours.
 *
 * Partition bounds are text that prints timestamptz constants in the session's TimeZone (and dates
 * in its DateStyle), which the role or the database may set to anything: the catalog is read in
 * `timeZone` (UTC unless told otherwise) with DateStyle ISO, and the fingerprint records the zone,
 * so that a restored database is read the same way as its source. `timeZone: null` reads it in
 * the session's own settings (a source fingerprint from before the zone was recorded).
 */
export async function takeCatalogFingerprint(
  client: pg.Client,
  scope: FingerprintScope,
  options: { sequenceReader?: pg.Client; timeZone?: string | null } = {},
): Promise<CatalogFingerprint> {
  const tests = scopeTests(scope);
  const ownTransaction = client.getTransactionStatus() !== "T";
  const reader = options.sequenceReader ?? (ownTransaction ? client : undefined);
  if (!tests.schemaOnly && (!reader || (reader !== client && reader.getTransactionStatus() !== "I"))) {
    // A programming error, not the user's: sequences read in the snapshot's transaction would stay locked.
    throw new Error("takeCatalogFingerprint: sequence values need an idle connection outside the snapshot");
  }
  const timeZone = options.timeZone === undefined ? CATALOG_TIME_ZONE : options.timeZone;
  if (ownTransaction) await client.query("BEGIN ISOLATION LEVEL REPEATABLE READ, READ ONLY");
  let read: { fingerprint: CatalogFingerprint; sequenceOids: Map<string, [string, string]> };
  try {
    // Local to the transaction, and put back for the rest of a snapshot's transaction.
    const names = timeZone === null ? [] : [...OUTPUT_SETTINGS];
    const values = timeZone === null ? [] : [timeZone, "ISO", "postgres"];
    const { rows } = await client.query<{ encoding: string }>(
      "SELECT pg_catalog.current_setting('server_encoding') AS encoding",
    );
    if (rows[0]?.encoding === "SQL_ASCII") {
      // A SQL_ASCII database's names may hold any byte (a LATIN1 "café"), which the server
      // refuses to send to a UTF8 client, failing the whole read: as SQL_ASCII they come as they
      // are, and read as UTF-8 (an invalid byte becomes U+FFFD), the same on both sides.
      names.push("client_encoding");
      values.push("SQL_ASCII");
    }
    const previous = names.length === 0 ? undefined : await setSettings(client, names, values);
    read = await readFingerprint(client, tests);
    if (timeZone !== null) read.fingerprint.timeZone = timeZone;
    if (previous !== undefined && !ownTransaction) await setSettings(client, names, previous);
  } finally {
    if (ownTransaction) await client.query("ROLLBACK");
  }
  if (!tests.schemaOnly && read.sequenceOids.size > 0) {
    const values = await readSequenceValues(reader!, read.sequenceOids);
    for (const [oid, [schema, name]] of read.sequenceOids) {
      read.fingerprint.sequences[schema]![name] = values.get(oid) ?? null;
    }
  }
  return read.fingerprint;
}

async function readFingerprint(
  client: pg.Client,
  scope: ScopeTests,
): Promise<{ fingerprint: CatalogFingerprint; sequenceOids: Map<string, [string, string]> }> {
  const query = async <Row>(text: string, values?: unknown[]) =>
    (await client.query<Row & pg.QueryResultRow>(text, values)).rows as Row[];
  const collector: Collector = { owners: new Map(), acl: new Map() };
  const [{ version }] = (await query<{ version: string }>(
    "SELECT pg_catalog.current_setting('server_version_num') AS version",
  )) as [{ version: string }];
  const serverVersion = Number(version);

  // The ICU locale: daticulocale in 15 and 16, datlocale (shared with the builtin provider) from 17.
  const icuLocale =
    serverVersion >= 170000
      ? "CASE WHEN datlocprovider = 'i' THEN datlocale END"
      : serverVersion >= 150000
        ? "CASE WHEN datlocprovider = 'i' THEN daticulocale END"
        : "NULL::text";
  const [database] = await query<{ encoding: string; collate: string; ctype: string; icu: string | null }>(
    `SELECT pg_catalog.pg_encoding_to_char(encoding) AS encoding, datcollate AS collate, datctype AS ctype,
            ${icuLocale} AS icu
       FROM pg_catalog.pg_database WHERE datname = pg_catalog.current_database()`,
  );
  const settingRows = await query<{ role: string | null; config: string[] }>(
    `SELECT CASE WHEN s.setrole = 0 THEN NULL ELSE pg_catalog.pg_get_userbyid(s.setrole) END AS role, s.setconfig AS config
       FROM pg_catalog.pg_db_role_setting s
      WHERE s.setdatabase = (SELECT oid FROM pg_catalog.pg_database WHERE datname = pg_catalog.current_database())`,
  );
  const roleSettings = new Map<string, string[]>();
  let settings: string[] = [];
  for (const row of settingRows) {
    if (row.role === null) settings = sorted(row.config);
    else roleSettings.set(row.role, sorted(row.config));
  }

  // Schemas.
  const schemas: string[] = [];
  for (const row of await query<AclRow & { name: string; owner: string }>(
    `SELECT n.nspname AS name, pg_catalog.pg_get_userbyid(n.nspowner) AS owner,
            ${aclColumn("n.nspacl", "n.nspowner", "n")}
       FROM pg_catalog.pg_namespace n
      WHERE NOT ${SYSTEM_SCHEMA("n.nspname")} AND ${NOT_EXTENSION_MEMBER("pg_catalog.pg_namespace", "n.oid")}`,
  )) {
    if (!scope.schema(row.name)) continue;
    schemas.push(row.name);
    noteObject(collector, "schema ", displayName(row.name), row.owner, row);
  }

  // Relations.
  type RelationRow = AclRow & {
    oid: string;
    schema: string;
    name: string;
    kind: string;
    owner: string;
    bound: string | null;
    rls: boolean;
    force_rls: boolean;
    visible: boolean;
    owned_by: string | null;
    descending: boolean | null;
  };
  const relationRows = await query<RelationRow>(
    `SELECT c.oid::text AS oid, n.nspname AS schema, c.relname AS name, c.relkind AS kind,
            pg_catalog.pg_get_userbyid(c.relowner) AS owner,
            CASE WHEN c.relispartition THEN pg_catalog.pg_get_expr(c.relpartbound, 0) END AS bound,
            c.relrowsecurity AS rls, c.relforcerowsecurity AS force_rls,
            pg_catalog.pg_table_is_visible(c.oid) AS visible,
            (SELECT s.seqincrement < 0 FROM pg_catalog.pg_sequence s WHERE s.seqrelid = c.oid) AS descending,
            (SELECT d.refobjid::text FROM pg_catalog.pg_depend d
              WHERE c.relkind = 'S' AND d.classid = 'pg_catalog.pg_class'::pg_catalog.regclass AND d.objid = c.oid
                AND d.refclassid = 'pg_catalog.pg_class'::pg_catalog.regclass AND d.deptype IN ('a', 'i') LIMIT 1) AS owned_by,
            ${aclColumn("c.relacl", "c.relowner", "r")}
       FROM pg_catalog.pg_class c JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace
      WHERE c.relkind IN ('r', 'p', 'v', 'm', 'S', 'f') AND NOT ${SYSTEM_SCHEMA("n.nspname")}
        AND ${NOT_EXTENSION_MEMBER("pg_catalog.pg_class", "c.oid")}`,
  );
  const byOid = new Map(relationRows.map((row) => [row.oid, row]));
  const inScope = new Set<string>();
  for (const row of relationRows) {
    if (scope.relation(row.schema, row.name, row.visible)) inScope.add(row.oid);
  }
  // pg_dump -t dumps the sequences the selected tables own.
  if (scope.tablesSelected) {
    for (const row of relationRows) {
      if (row.owned_by && inScope.has(row.owned_by) && !scope.ignored(row.schema)) inScope.add(row.oid);
    }
  }
  const relationName = (oid: string) => {
    const row = byOid.get(oid);
    return row ? qualifiedName(row.schema, row.name) : `oid ${oid}`;
  };
  const lists = {
    r: new Map<string, string[]>(),
    p: new Map(),
    v: new Map(),
    m: new Map(),
    f: new Map(),
  } as Record<string, Map<string, string[]>>;
  const sequenceOids: string[] = [];
  const descendingSequences: string[] = [];
  const rowSecurity = new Map<string, string>();
  for (const oid of inScope) {
    const row = byOid.get(oid)!;
    const qualified = qualifiedName(row.schema, row.name);
    if (row.kind !== "S") pushTo(lists[row.kind]!, row.schema, row.name);
    else sequenceOids.push(oid);
    if (row.descending) descendingSequences.push(qualified);
    noteObject(
      collector,
      `${RELATION_WORDS[row.kind]} ${displayName(row.schema)}.`,
      displayName(row.name),
      row.owner,
      row,
    );
    if (row.rls || row.force_rls) {
      rowSecurity.set(
        qualified,
        row.rls && row.force_rls ? "enabled, forced" : row.rls ? "enabled" : "forced",
      );
    }
  }
  // Values are filled in later, outside the transaction.
  const sequences = new Map<string, Map<string, string | null>>();
  const sequenceNames = new Map<string, [string, string]>();
  for (const oid of sequenceOids) {
    const row = byOid.get(oid)!;
    setIn(sequences, row.schema, row.name, null);
    sequenceNames.set(oid, [row.schema, row.name]);
  }

  const partitionOf = new Map<string, string>();
  const inherits = new Map<string, string[]>();
  for (const row of await query<{ child: string; parent: string }>(
    `SELECT inhrelid::text AS child, inhparent::text AS parent FROM pg_catalog.pg_inherits ORDER BY inhrelid, inhseqno`,
  )) {
    if (!inScope.has(row.child)) continue;
    const child = byOid.get(row.child);
    if (!child || (child.kind !== "r" && child.kind !== "p" && child.kind !== "f")) continue;
    const name = relationName(row.child);
    if (child.bound !== null) partitionOf.set(name, `${relationName(row.parent)} ${child.bound}`);
    else pushTo(inherits, name, relationName(row.parent));
  }

  // Column grants: a column's default ACL is empty.
  for (const row of await query<AclRow & { table: string; column: string; owner: string }>(
    `SELECT a.attrelid::text AS table, a.attname AS column, pg_catalog.pg_get_userbyid(c.relowner) AS owner,
            ${aclColumn("a.attacl", "c.relowner", "c")}
       FROM pg_catalog.pg_attribute a JOIN pg_catalog.pg_class c ON c.oid = a.attrelid
      WHERE a.attacl IS NOT NULL AND a.attnum > 0 AND NOT a.attisdropped`,
  )) {
    if (!inScope.has(row.table)) continue;
    noteObject(collector, `column ${relationName(row.table)}.`, displayName(row.column), undefined, row);
  }

  const constraints = new Map<string, Map<string, string[]>>();
  for (const row of await query<{ table: string; name: string; type: string }>(
    `SELECT conrelid::text AS table, conname AS name, contype AS type FROM pg_catalog.pg_constraint WHERE conrelid <> 0 AND conparentid = 0`,
  )) {
    if (!inScope.has(row.table)) continue;
    const table = byOid.get(row.table)!;
    let perTable = constraints.get(table.schema);
    if (!perTable) constraints.set(table.schema, (perTable = new Map()));
    // The most common constraint by far, under its default name: one letter.
    pushTo(
      perTable,
      table.name,
      row.type === "p" && row.name === `${table.name}_pkey` ? "p" : `${row.type} ${row.name}`,
    );
  }
  const indexes = new Map<string, string[]>();
  for (const row of await query<{ table: string; name: string }>(
    `SELECT i.indrelid::text AS table, c.relname AS name
       FROM pg_catalog.pg_index i JOIN pg_catalog.pg_class c ON c.oid = i.indexrelid
      WHERE NOT c.relispartition
        AND NOT EXISTS (SELECT 1 FROM pg_catalog.pg_constraint k WHERE k.conindid = i.indexrelid AND k.contype IN ('p', 'u', 'x'))`,
  )) {
    if (inScope.has(row.table)) pushTo(indexes, relationName(row.table), row.name);
  }
  const triggers = new Map<string, string[]>();
  const TRIGGER_STATES: Record<string, string> = { D: " (disabled)", R: " (replica)", A: " (always)" };
  for (const row of await query<{ table: string; name: string; enabled: string }>(
    `SELECT tgrelid::text AS table, tgname AS name, tgenabled AS enabled FROM pg_catalog.pg_trigger
      WHERE NOT tgisinternal${serverVersion >= 130000 ? " AND tgparentid = 0" : ""}`,
  )) {
    if (inScope.has(row.table))
      pushTo(triggers, relationName(row.table), row.name + (TRIGGER_STATES[row.enabled] ?? ""));
  }
  const policies = new Map<string, Map<string, string>>();
  const COMMANDS: Record<string, string> = { r: "SELECT", a: "INSERT", w: "UPDATE", d: "DELETE", "*": "ALL" };
  for (const row of await query<{
    table: string;
    name: string;
    command: string;
    permissive: boolean;
    roles: string[];
  }>(
    `SELECT polrelid::text AS table, polname AS name, polcmd AS command, polpermissive AS permissive,
            ARRAY(SELECT CASE WHEN r = 0 THEN 'PUBLIC' ELSE pg_catalog.pg_get_userbyid(r)::text END
                    FROM unnest(polroles) r ORDER BY 1) AS roles
       FROM pg_catalog.pg_policy`,
  )) {
    if (!inScope.has(row.table)) continue;
    const text = `${row.permissive ? "permissive" : "restrictive"} ${COMMANDS[row.command] ?? row.command} TO ${sorted(row.roles).join(",")}`;
    setIn(policies, relationName(row.table), row.name, text);
  }

  // Functions and types: schema objects that pg_dump -t leaves out.
  const functions = new Map<string, string[]>();
  const KIND_PREFIX: Record<string, string> = { p: "procedure ", a: "aggregate ", w: "window " };
  for (const row of await query<
    AclRow & { schema: string; name: string; kind: string; args: string | null; owner: string }
  >(
    `SELECT n.nspname AS schema, p.proname AS name, p.prokind AS kind, pg_catalog.pg_get_userbyid(p.proowner) AS owner,
            (SELECT string_agg(${TYPE_NAME("a.t")}, ',' ORDER BY a.i) FROM unnest(p.proargtypes) WITH ORDINALITY a(t, i)) AS args,
            ${aclColumn("p.proacl", "p.proowner", "f")}
       FROM pg_catalog.pg_proc p JOIN pg_catalog.pg_namespace n ON n.oid = p.pronamespace
      WHERE NOT ${SYSTEM_SCHEMA("n.nspname")} AND ${NOT_EXTENSION_MEMBER("pg_catalog.pg_proc", "p.oid")}`,
  )) {
    if (!scope.schema(row.schema)) continue;
    const signature = `${displayName(row.name)}(${row.args ?? ""})`;
    pushTo(functions, row.schema, (KIND_PREFIX[row.kind] ?? "") + signature);
    const word = row.kind === "p" ? "procedure" : row.kind === "a" ? "aggregate" : "function";
    noteObject(collector, `${word} ${displayName(row.schema)}.`, signature, row.owner, row);
  }
  const types = new Map<string, Map<string, string>>();
  const TYPE_WORDS: Record<string, string> = { d: "domain", c: "composite", r: "range", e: "enum" };
  for (const row of await query<
    AclRow & { schema: string; name: string; type: string; labels: string[]; owner: string }
  >(
    `SELECT n.nspname AS schema, t.typname AS name, t.typtype AS type, pg_catalog.pg_get_userbyid(t.typowner) AS owner,
            ARRAY(SELECT e.enumlabel::text FROM pg_catalog.pg_enum e WHERE e.enumtypid = t.oid ORDER BY e.enumsortorder) AS labels,
            ${aclColumn("t.typacl", "t.typowner", "T")}
       FROM pg_catalog.pg_type t JOIN pg_catalog.pg_namespace n ON n.oid = t.typnamespace
      WHERE t.typtype IN ('d', 'e', 'r', 'c') AND NOT ${SYSTEM_SCHEMA("n.nspname")}
        AND (t.typtype <> 'c' OR (SELECT c.relkind FROM pg_catalog.pg_class c WHERE c.oid = t.typrelid) = 'c')
        AND ${NOT_EXTENSION_MEMBER("pg_catalog.pg_type", "t.oid")}`,
  )) {
    if (!scope.schema(row.schema)) continue;
    const word = TYPE_WORDS[row.type]!;
    setIn(types, row.schema, row.name, row.type === "e" ? `enum(${row.labels.join(",")})` : word);
    const prefix = `${word === "enum" ? "type" : word} ${displayName(row.schema)}.`;
    noteObject(collector, prefix, displayName(row.name), row.owner, row);
  }

  // Default privileges: per schema ones follow the schema, global ones are outside schemas.
  const defaultAcls = new Map<string, string[]>();
  const OBJECT_TYPES: Record<string, string> = {
    r: "tables",
    S: "sequences",
    f: "functions",
    T: "types",
    n: "schemas",
  };
  for (const row of await query<{ role: string; schema: string | null; type: string; acl: string[] }>(
    `SELECT pg_catalog.pg_get_userbyid(d.defaclrole) AS role, n.nspname AS schema, d.defaclobjtype AS type,
            ARRAY(SELECT CASE WHEN a.grantee = 0 THEN '' ELSE pg_catalog.pg_get_userbyid(a.grantee)::text END
                         || '=' || a.privilege_type || CASE WHEN a.is_grantable THEN '*' ELSE '' END
                    FROM pg_catalog.aclexplode(d.defaclacl) a) AS acl
       FROM pg_catalog.pg_default_acl d LEFT JOIN pg_catalog.pg_namespace n ON n.oid = d.defaclnamespace`,
  )) {
    if (row.schema === null ? !scope.globals : !scope.schema(row.schema)) continue;
    const where = row.schema === null ? "*" : displayName(row.schema);
    defaultAcls.set(`${row.role} in ${where} on ${OBJECT_TYPES[row.type] ?? row.type}`, compactAcl(row.acl));
  }

  // Publications: the objects are outside schemas; a member table counts when it is in scope.
  const publications = new Map<string, CatalogFingerprint["publications"][string]>();
  const extensions = new Map<string, string>();
  const casts = new Map<string, string>();
  const foreignDataWrappers: string[] = [];
  const foreignServers = new Map<string, string>();
  const userMappings: string[] = [];
  const eventTriggers = new Map<string, string>();
  let largeObjects: CatalogFingerprint["largeObjects"] = { count: 0, owners: {}, acl: {} };
  if (scope.globals) {
    const members = new Map<string, string[]>();
    for (const row of await query<{ publication: string; table: string }>(
      `SELECT p.pubname AS publication, r.prrelid::text AS table
         FROM pg_catalog.pg_publication_rel r JOIN pg_catalog.pg_publication p ON p.oid = r.prpubid`,
    )) {
      if (inScope.has(row.table)) pushTo(members, row.publication, relationName(row.table));
    }
    const memberSchemas = new Map<string, string[]>();
    // FOR TABLES IN SCHEMA: PostgreSQL 15 and later.
    const schemaMembers =
      serverVersion < 150000
        ? []
        : await query<{ publication: string; schema: string }>(
            `SELECT p.pubname AS publication, n.nspname AS schema
               FROM pg_catalog.pg_publication_namespace pn
               JOIN pg_catalog.pg_publication p ON p.oid = pn.pnpubid
               JOIN pg_catalog.pg_namespace n ON n.oid = pn.pnnspid`,
          );
    for (const row of schemaMembers) {
      if (scope.schema(row.schema)) pushTo(memberSchemas, row.publication, displayName(row.schema));
    }
    for (const row of await query<{
      name: string;
      owner: string;
      all: boolean;
      operations: string;
      root: boolean;
    }>(
      `SELECT pubname AS name, pg_catalog.pg_get_userbyid(pubowner) AS owner, puballtables AS all, pubviaroot AS root,
              concat_ws(',', CASE WHEN pubinsert THEN 'insert' END, CASE WHEN pubupdate THEN 'update' END,
                        CASE WHEN pubdelete THEN 'delete' END, CASE WHEN pubtruncate THEN 'truncate' END) AS operations
         FROM pg_catalog.pg_publication`,
    )) {
      publications.set(row.name, {
        allTables: row.all,
        operations: row.operations + (row.root ? " via root" : ""),
        tables: sorted(members.get(row.name) ?? []),
        schemas: sorted(memberSchemas.get(row.name) ?? []),
      });
      collector.owners.set(`publication ${displayName(row.name)}`, row.owner);
    }

    for (const row of await query<{ name: string; version: string; schema: string }>(
      `SELECT e.extname AS name, e.extversion AS version, n.nspname AS schema
         FROM pg_catalog.pg_extension e JOIN pg_catalog.pg_namespace n ON n.oid = e.extnamespace`,
    )) {
      if (!scope.ignoredExtension(row.schema)) extensions.set(row.name, row.version);
    }

    const CAST_METHODS: Record<string, string> = { b: "binary", i: "inout" };
    const CAST_CONTEXTS: Record<string, string> = { i: "implicit", a: "assignment", e: "explicit" };
    for (const row of await query<{
      source: string;
      target: string;
      method: string;
      context: string;
      func: string | null;
    }>(
      `SELECT ${TYPE_NAME("c.castsource")} AS source, ${TYPE_NAME("c.casttarget")} AS target,
              c.castmethod AS method, c.castcontext AS context,
              CASE WHEN c.castfunc <> 0 THEN
                (SELECT fn.nspname || '.' || f.proname FROM pg_catalog.pg_proc f
                   JOIN pg_catalog.pg_namespace fn ON fn.oid = f.pronamespace WHERE f.oid = c.castfunc) END AS func
         FROM pg_catalog.pg_cast c
        WHERE c.oid >= 16384 AND ${NOT_EXTENSION_MEMBER("pg_catalog.pg_cast", "c.oid")}`,
    )) {
      const method = row.func ? `function ${row.func}` : (CAST_METHODS[row.method] ?? row.method);
      casts.set(`${row.source} AS ${row.target}`, `${method} ${CAST_CONTEXTS[row.context] ?? row.context}`);
    }

    for (const row of await query<AclRow & { name: string; owner: string }>(
      `SELECT w.fdwname AS name, pg_catalog.pg_get_userbyid(w.fdwowner) AS owner, ${aclColumn("w.fdwacl", "w.fdwowner", "F")}
         FROM pg_catalog.pg_foreign_data_wrapper w`,
    )) {
      foreignDataWrappers.push(row.name);
      noteObject(collector, "foreign-data wrapper ", displayName(row.name), row.owner, row);
    }
    for (const row of await query<AclRow & { name: string; owner: string; wrapper: string }>(
      `SELECT s.srvname AS name, pg_catalog.pg_get_userbyid(s.srvowner) AS owner, w.fdwname AS wrapper,
              ${aclColumn("s.srvacl", "s.srvowner", "S")}
         FROM pg_catalog.pg_foreign_server s JOIN pg_catalog.pg_foreign_data_wrapper w ON w.oid = s.srvfdw`,
    )) {
      foreignServers.set(row.name, row.wrapper);
      noteObject(collector, "server ", displayName(row.name), row.owner, row);
    }
    // pg_user_mappings, not pg_user_mapping: the catalog needs superuser, and options are not read.
    for (const row of await query<{ user: string; server: string }>(
      `SELECT usename AS user, srvname AS server FROM pg_catalog.pg_user_mappings`,
    )) {
      userMappings.push(`${row.user}@${row.server}`);
    }
    const EVENT_STATES: Record<string, string> = { O: "enabled", D: "disabled", R: "replica", A: "always" };
    for (const row of await query<{ name: string; event: string; enabled: string; owner: string }>(
      `SELECT evtname AS name, evtevent AS event, evtenabled AS enabled, pg_catalog.pg_get_userbyid(evtowner) AS owner
         FROM pg_catalog.pg_event_trigger`,
    )) {
      eventTriggers.set(row.name, `${row.event} ${EVENT_STATES[row.enabled] ?? row.enabled}`);
      collector.owners.set(`event trigger ${displayName(row.name)}`, row.owner);
    }

    const loOwners = new Map<string, number>();
    const loAcl = new Map<string, string[]>();
    let count = 0;
    for (const row of await query<AclRow & { oid: string; owner: string }>(
      `SELECT m.oid::text AS oid, pg_catalog.pg_get_userbyid(m.lomowner) AS owner,
              ${aclColumn("m.lomacl", "m.lomowner", "L")}
         FROM pg_catalog.pg_largeobject_metadata m`,
    )) {
      count++;
      loOwners.set(row.owner, (loOwners.get(row.owner) ?? 0) + 1);
      const acl = recordedAcl(row);
      if (acl) loAcl.set(row.oid, acl);
    }
    largeObjects = {
      count,
      owners: sortedRecord(loOwners),
      acl: Object.fromEntries([...loAcl].sort((a, b) => Number(a[0]) - Number(b[0]))),
    };
  }

  // The most common owner stands for all; only the exceptions are listed.
  const ownerCounts = new Map<string, number>();
  for (const owner of collector.owners.values()) ownerCounts.set(owner, (ownerCounts.get(owner) ?? 0) + 1);
  const owner = sorted(ownerCounts.keys()).sort((a, b) => ownerCounts.get(b)! - ownerCounts.get(a)!)[0] ?? "";
  const exceptions = new Map([...collector.owners].filter(([, value]) => value !== owner));

  const bySchema = (map: Map<string, string[]>) => sortedRecord(map, sorted);
  const fingerprint: CatalogFingerprint = {
    version: CATALOG_FINGERPRINT_VERSION,
    globals: scope.globals,
    database: {
      encoding: database!.encoding,
      collate: database!.collate,
      ctype: database!.ctype,
      icuLocale: database!.icu,
      settings,
      roleSettings: sortedRecord(roleSettings),
    },
    schemas: sorted(schemas),
    tables: bySchema(lists.r!),
    partitionedTables: bySchema(lists.p!),
    views: bySchema(lists.v!),
    materializedViews: bySchema(lists.m!),
    foreignTables: bySchema(lists.f!),
    sequences: nested(sequences),
    descendingSequences: sorted(descendingSequences),
    partitionOf: sortedRecord(partitionOf),
    inherits: sortedRecord(inherits),
    constraints: sortedRecord(constraints, (perTable) => sortedRecord(perTable, sorted)),
    indexes: bySchema(indexes),
    triggers: bySchema(triggers),
    rowSecurity: sortedRecord(rowSecurity),
    policies: nested(policies),
    functions: bySchema(functions),
    types: nested(types),
    extensions: sortedRecord(extensions),
    casts: sortedRecord(casts),
    foreignDataWrappers: sorted(foreignDataWrappers),
    foreignServers: sortedRecord(foreignServers),
    userMappings: sorted(userMappings),
    eventTriggers: sortedRecord(eventTriggers),
    publications: sortedRecord(publications),
    defaultAcls: sortedRecord(defaultAcls),
    acl: sortedRecord(collector.acl, (groups) => sortedRecord(groups, sorted)),
    owner,
    owners: sortedRecord(exceptions),
    largeObjects,
  };
  return { fingerprint, sequenceOids: sequenceNames };
}

/**
 * Sequence values, on an idle connection, by statements of bounded size: each statement is its own
 * transaction, and the lock that reading a sequence takes ends with it. Read from the sequences
 * themselves: pg_sequence_last_value() says nothing of a sequence set with is_called = false
 * (setval(s, n, false), or never used), which pg_dump does restore. Such a value is written
 * "next <n>": the next nextval() returns n. Unreadable (no SELECT privilege): null.
 */
async function readSequenceValues(
  client: pg.Client,
  sequences: ReadonlyMap<string, [string, string]>,
): Promise<Map<string, string | null>> {
  const values = new Map<string, string | null>();
  const oids = [...sequences.keys()];
  const read = async (batch: string[]) => {
    const sql = batch
      .map((oid) => {
        const [schema, name] = sequences.get(oid)!;
        return `SELECT '${oid}' AS oid, last_value::text AS value, is_called FROM ${quoteIdent(schema)}.${quoteIdent(name)}`;
      })
      .join("\nUNION ALL ");
    const { rows } = await client.query<{ oid: string; value: string; is_called: boolean }>(sql);
    for (const row of rows) values.set(row.oid, row.is_called ? row.value : `next ${row.value}`);
  };
  for (let start = 0; start < oids.length; start += SEQUENCE_BATCH) {
    // Only the ones still there (dropped since the catalog read: not found) and readable.
    const { rows } = await client.query<{ oid: string }>(
      `SELECT c.oid::text AS oid FROM pg_catalog.pg_class c
        WHERE c.oid = ANY($1::oid[])
          -- CASE fixes the order: has_sequence_privilege() fails on anything but a sequence.
          AND CASE WHEN c.relkind = 'S' THEN pg_catalog.has_sequence_privilege(c.oid, 'SELECT') ELSE false END`,
      [oids.slice(start, start + SEQUENCE_BATCH)],
    );
    const batch = rows.map((row) => row.oid);
    if (batch.length === 0) continue;
    try {
      await read(batch);
    } catch {
      // One dropped between the two statements spoils its batch: read the others one by one.
      for (const oid of batch) await read([oid]).catch(() => undefined);
    }
  }
  return values;
}

/** The fingerprint as stored: canonical JSON (keys already in a fixed order). */
export function serializeFingerprint(fingerprint: CatalogFingerprint): string {
  return JSON.stringify(fingerprint);
}
