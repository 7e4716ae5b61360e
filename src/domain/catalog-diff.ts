/**
 * The catalog comparison, pure: a source's catalog fingerprint (taken in the dump's snapshot) against
 * a restored database's, every difference named by object and classified. A lost object, grant,
 * policy, publication member or large object is a failure; a difference that the restore's
 * conditions make expected (a restorer that is not a superuser, roles that could not be created,
 * --no-owner, --no-privileges, settings pg_dump does not archive) is a warning that says why.
 * Nothing is dropped silently: every difference is in the list.
 */

export const CATALOG_FINGERPRINT_VERSION = 1;

export interface CatalogFingerprint {
  version: typeof CATALOG_FINGERPRINT_VERSION;
  /** Whether objects outside schemas (extensions, large objects, casts, ...) are in the dump. */
  globals: boolean;
  /**
   * The TimeZone the catalog was read in ("UTC"): partition bounds print timestamptz constants in
   * it. Absent in fingerprints taken in the session's own zone (before it was recorded).
   */
  timeZone?: string;
  database: {
    encoding: string;
    collate: string;
    ctype: string;
    /**
     * The ICU locale of a database whose default collation is ICU's (PostgreSQL 15 and later:
     * LOCALE_PROVIDER icu); null for libc's; absent in fingerprints from before it was recorded.
     */
    icuLocale?: string | null;
    /** ALTER DATABASE ... SET, as name=value. */
    settings: string[];
    /** ALTER ROLE ... IN DATABASE ... SET, per role. */
    roleSettings: Record<string, string[]>;
  };
  schemas: string[];
  /** Per schema: ordinary tables (partitions included). */
  tables: Record<string, string[]>;
  partitionedTables: Record<string, string[]>;
  views: Record<string, string[]>;
  materializedViews: Record<string, string[]>;
  foreignTables: Record<string, string[]>;
  /**
   * Per schema, per sequence: its last value; "next <n>" when not yet called (setval(s, n, false)
   * or never used: nextval() returns n); null when unreadable or schema-only.
   */
  sequences: Record<string, Record<string, string | null>>;
  /** Sequences that count down (negative increment): their values move the other way. */
  descendingSequences: string[];
  /** Partition -> "parent FOR VALUES ..." (or "parent DEFAULT"). */
  partitionOf: Record<string, string>;
  /** Inheritance child -> its parents in order (partitions not included). */
  inherits: Record<string, string[]>;
  /**
   * Per schema, per table: "<contype> <name>" (p primary key, u unique, f foreign key, c check, x
   * exclusion, t trigger), or just "p" for a primary key under its default name `<table>_pkey`.
   * Constraints, indexes and triggers that partitions inherit from their partitioned table are
   * left out: pg_dump does not dump them, the parent's recreates them.
   */
  constraints: Record<string, Record<string, string[]>>;
  /** Table -> names of its indexes that back no constraint (partitions' attached indexes left out). */
  indexes: Record<string, string[]>;
  /** Table -> trigger names ("name (disabled)" and the like when not enabled as usual). */
  triggers: Record<string, string[]>;
  /** Table -> "enabled" or "enabled, forced" (or "forced"): tables with row security only. */
  rowSecurity: Record<string, string>;
  /** Table -> policy -> "<permissive|restrictive> <command> TO <roles>". */
  policies: Record<string, Record<string, string>>;
  /** Per schema: "name(argtypes)", prefixed "procedure " / "aggregate " / "window " for those kinds. */
  functions: Record<string, string[]>;
  /** Per schema, per type: "domain", "enum(labels)", "composite", "range". */
  types: Record<string, Record<string, string>>;
  /** Extension -> version. */
  extensions: Record<string, string>;
  /** "source AS target" -> "<function ...|binary|inout> <implicit|assignment|explicit>". */
  casts: Record<string, string>;
  foreignDataWrappers: string[];
  /** Server -> its foreign-data wrapper (options are never read: they may hold secrets). */
  foreignServers: Record<string, string>;
  /** "user@server"; options never read. */
  userMappings: string[];
  /** Event trigger -> "<event> <enabled state>". */
  eventTriggers: Record<string, string>;
  publications: Record<
    string,
    { allTables: boolean; operations: string; tables: string[]; schemas: string[] }
  >;
  /** "<role> in <schema|*> on <object type>" -> grantee=privileges entries (as in `acl`). */
  defaultAcls: Record<string, string[]>;
  /**
   * Objects whose ACL differs from the built-in default, grouped by that ACL: ACL -> label prefix
   * -> names, the object's label being prefix + name (`{"reporting=r": {"table public.": ["a"]}}`
   * is `table public.a`). An ACL is its grantee=privileges entries separated by spaces, aclitem
   * letters, `*` after a grantable one, PUBLIC for everyone, grantees quoted when they need it;
   * the owner's own entries are left out (they follow the owner).
   */
  acl: Record<string, Record<string, string[]>>;
  /** The most common owner of the fingerprinted objects. */
  owner: string;
  /** Objects owned by someone else than `owner`. */
  owners: Record<string, string>;
  /** Count, count per owner, and the ACL entries (as in `acl`) of those with a granted ACL, by oid. */
  largeObjects: { count: number; owners: Record<string, number>; acl: Record<string, string[]> };
}

/** A name as SQL would need it written: quoted unless it is a plain lower-case identifier. */
export function displayName(name: string): string {
  return /^[a-z_][a-z0-9_$]*$/.test(name) ? name : `"${name.replaceAll('"', '""')}"`;
}

export function qualifiedName(schema: string, name: string): string {
  return `${displayName(schema)}.${displayName(name)}`;
}

export type Severity = "failure" | "warning";

export interface CatalogDifference {
  severity: Severity;
  /** The object, as "<kind> <qualified name>" (e.g. `table public.orders`). */
  object: string;
  /** What differs, e.g. "missing", "grant anon=r missing". */
  problem: string;
  /** For a warning: why the difference is expected. */
  reason?: string;
}

/** How the restore ran: what makes some differences expected. */
export interface RestoreConditions {
  /** The role that ran pg_restore is a superuser. */
  superuser: boolean;
  /** The role that ran pg_restore (owner of everything under --no-owner). */
  restorer: string;
  noOwner: boolean;
  noPrivileges: boolean;
  /** Roles the archive references that could not be created on the target. */
  missingRoles: readonly string[];
  /**
   * Owners of the source's event triggers that are not superusers on the target (a NOLOGIN
   * stand-in restore-test created for a platform's role, say): none may own an event trigger.
   */
  notSuperuserOwners: readonly string[];
  /**
   * Whether the restore applied the database's settings. The archive holds them (its DATABASE
   * PROPERTIES entry: ALTER DATABASE <source name> SET ..., ALTER ROLE ... IN DATABASE ... SET),
   * but pg_restore applies that entry only with --create, which a restore into a database of its
   * own choosing (a scratch one) does not use.
   */
  databaseSettingsRestored: boolean;
}

export const DEFAULT_CONDITIONS: RestoreConditions = {
  superuser: true,
  restorer: "postgres",
  noOwner: false,
  noPrivileges: false,
  missingRoles: [],
  notSuperuserOwners: [],
  databaseSettingsRestored: false,
};

function localeProvider(icuLocale: string | null | undefined): string {
  return typeof icuLocale === "string" ? `ICU locale ${icuLocale}` : "the libc locale provider";
}

export const REASONS = {
  eventTrigger: "creating an event trigger needs superuser",
  foreignDataWrapper: "creating a foreign-data wrapper needs superuser",
  allTablesPublication: "a FOR ALL TABLES publication needs superuser",
  noOwner: "--no-owner: objects belong to the restoring role",
  noPrivileges: "--no-privileges: grants are not restored",
  notSuperuserOwner: "a restorer that is not a superuser cannot give objects to other roles",
  notSuperuserDefaultAcl: "ALTER DEFAULT PRIVILEGES FOR ROLE needs membership in that role",
  databaseSettings:
    "in the archive, but pg_restore applies ALTER DATABASE ... SET only with --create, which a restore into another database does not use",
  notSuperuserSetting: "a restorer that is not a superuser cannot set superuser-only settings",
  locale: "the database was created with another locale",
  extensionVersion: "CREATE EXTENSION installs the target server's default version",
  sequenceAdvanced: "the sequence moved on between the fingerprint and pg_dump's read of it",
  extra: "not in the source (present on the target before the restore, or created by it)",
  missingRole: (role: string) => `role ${role} could not be created on the target`,
  notSuperuserEventTriggerOwner: (role: string) =>
    `an event trigger's owner must be a superuser, and role ${role} is not one on the target`,
} as const;

/** Severity order, then object, then problem: stable and readable. */
export function formatDifference(difference: CatalogDifference): string {
  const reason = difference.reason ? ` (${difference.reason})` : "";
  return `${difference.severity}: ${difference.object}: ${difference.problem}${reason}`;
}

export interface CatalogComparison {
  differences: CatalogDifference[];
  failures: number;
  warnings: number;
}

function byteOrder(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}

function union(a: Iterable<string>, b: Iterable<string>): string[] {
  return [...new Set([...a, ...b])].sort(byteOrder);
}

/** "anon=ra*" -> grantee anon, privileges "ra*". */
function splitAclEntry(entry: string): [string, string] {
  const at = entry.lastIndexOf("=");
  return [entry.slice(0, at), entry.slice(at + 1)];
}

/** The fingerprint's grouped ACLs as object label -> entries. */
export function aclByObject(fp: CatalogFingerprint): Map<string, string[]> {
  const out = new Map<string, string[]>();
  for (const [text, groups] of Object.entries(fp.acl)) {
    const entries = splitAcl(text);
    for (const [prefix, names] of Object.entries(groups)) {
      for (const name of names) out.set(prefix + name, entries);
    }
  }
  return out;
}

/** `reporting=r "etl writer"=a*r` -> its entries (quoted grantees may hold spaces). */
function splitAcl(text: string): string[] {
  return text.match(/(?:"(?:[^"]|"")*"|[^\s"])+/g) ?? [];
}

/** Constraints per qualified table, the "p" shorthand spelled out. */
function constraintsByTable(fp: CatalogFingerprint): Record<string, string[]> {
  const out: Record<string, string[]> = {};
  for (const [schema, tables] of Object.entries(fp.constraints)) {
    for (const [table, list] of Object.entries(tables)) {
      out[qualifiedName(schema, table)] = list.map((entry) => (entry === "p" ? `p ${table}_pkey` : entry));
    }
  }
  return out;
}

/**
 * Every role the fingerprint names: owners, grantees, default-privilege roles, policy roles, user
 * mapping users, roles with settings in the database. A scratch restore creates the missing ones;
 * the ones it could not create go to RestoreConditions.missingRoles.
 */
export function referencedRoles(fp: CatalogFingerprint): string[] {
  const roles = new Set<string>([
    fp.owner,
    ...Object.values(fp.owners),
    ...Object.keys(fp.largeObjects.owners),
  ]);
  const addEntries = (entries: readonly string[]) => {
    for (const entry of entries) {
      const grantee = splitAclEntry(entry)[0];
      if (grantee !== "PUBLIC") roles.add(roleName(grantee));
    }
  };
  for (const text of Object.keys(fp.acl)) addEntries(splitAcl(text));
  for (const entries of Object.values(fp.largeObjects.acl)) addEntries(entries);
  for (const [key, entries] of Object.entries(fp.defaultAcls)) {
    roles.add(key.slice(0, key.indexOf(" in ")));
    addEntries(entries);
  }
  for (const policies of Object.values(fp.policies)) {
    for (const text of Object.values(policies))
      for (const role of rolesOf(text)) if (role !== "PUBLIC") roles.add(role);
  }
  for (const mapping of fp.userMappings) {
    const user = mapping.slice(0, mapping.lastIndexOf("@"));
    if (user !== "public") roles.add(user);
  }
  for (const role of Object.keys(fp.database.roleSettings)) roles.add(role);
  roles.delete("");
  // Built-in roles exist everywhere.
  return [...roles].filter((role) => !role.startsWith("pg_")).sort(byteOrder);
}

/** Objects whose ACLs and owners the fingerprint records, by the labels it uses for them. */
function objectLabels(fp: CatalogFingerprint): Set<string> {
  const labels = new Set<string>();
  for (const schema of fp.schemas) labels.add(`schema ${displayName(schema)}`);
  for (const [kind, word] of RELATION_KINDS) {
    for (const [schema, names] of Object.entries(fp[kind])) {
      for (const name of names) labels.add(`${word} ${qualifiedName(schema, name)}`);
    }
  }
  for (const [schema, seqs] of Object.entries(fp.sequences)) {
    for (const name of Object.keys(seqs)) labels.add(`sequence ${qualifiedName(schema, name)}`);
  }
  for (const [schema, list] of Object.entries(fp.functions)) {
    for (const entry of list) labels.add(functionLabel(schema, entry));
  }
  for (const [schema, types] of Object.entries(fp.types)) {
    for (const [name, text] of Object.entries(types)) labels.add(typeLabel(schema, name, text));
  }
  for (const name of Object.keys(fp.publications)) labels.add(`publication ${displayName(name)}`);
  for (const name of Object.keys(fp.eventTriggers)) labels.add(`event trigger ${displayName(name)}`);
  for (const name of fp.foreignDataWrappers) labels.add(`foreign-data wrapper ${displayName(name)}`);
  for (const name of Object.keys(fp.foreignServers)) labels.add(`server ${displayName(name)}`);
  return labels;
}

const RELATION_KINDS = [
  ["tables", "table"],
  ["partitionedTables", "partitioned table"],
  ["views", "view"],
  ["materializedViews", "materialized view"],
  ["foreignTables", "foreign table"],
] as const;

function functionLabel(schema: string, entry: string): string {
  const match = /^(procedure|aggregate|window) (.*)$/.exec(entry);
  const word = match?.[1] === "procedure" || match?.[1] === "aggregate" ? match[1] : "function";
  return `${word} ${displayName(schema)}.${match ? match[2]! : entry}`;
}

function typeLabel(schema: string, name: string, text: string): string {
  const word = text.startsWith("enum(") ? "type" : text;
  return `${word} ${qualifiedName(schema, name)}`;
}

/**
 * Compares a source fingerprint with a restored database's. Differences come sorted: failures
 * first, then by object and problem.
 */
export function diffCatalog(
  source: CatalogFingerprint,
  restored: CatalogFingerprint,
  conditions: RestoreConditions,
): CatalogComparison {
  const out: CatalogDifference[] = [];
  const missingRoles = new Set(conditions.missingRoles);
  const notSuperuserOwners = new Set(conditions.notSuperuserOwners);
  const fail = (object: string, problem: string) => out.push({ severity: "failure", object, problem });
  const warn = (object: string, problem: string, reason: string) =>
    out.push({ severity: "warning", object, problem, reason });
  /** A failure unless `reason` says why it is expected. */
  const report = (object: string, problem: string, reason: string | undefined) =>
    reason ? warn(object, problem, reason) : fail(object, problem);

  const sourceLabels = objectLabels(source);
  const restoredLabels = objectLabels(restored);
  const gone = new Set([...sourceLabels].filter((label) => !restoredLabels.has(label)));
  // Per-table details of a table that is gone are already covered by the table's own line.
  const goneTables = new Set<string>();
  for (const label of gone) {
    const match = /^(?:table|partitioned table|view|materialized view|foreign table|sequence) (.*)$/.exec(
      label,
    );
    if (match) goneTables.add(match[1]!);
  }

  // Database.
  const db = "database";
  if (source.database.encoding !== restored.database.encoding) {
    fail(db, `encoding ${restored.database.encoding}, the source's is ${source.database.encoding}`);
  }
  // Not recorded in older fingerprints: nothing to compare.
  if (source.database.icuLocale !== undefined && source.database.icuLocale !== restored.database.icuLocale) {
    warn(
      db,
      `${localeProvider(restored.database.icuLocale)}, the source's is ${localeProvider(source.database.icuLocale)}`,
      REASONS.locale,
    );
  }
  for (const key of ["collate", "ctype"] as const) {
    if (source.database[key] !== restored.database[key]) {
      warn(
        db,
        `${key === "collate" ? "LC_COLLATE" : "LC_CTYPE"} ${restored.database[key]}, the source's is ${source.database[key]}`,
        REASONS.locale,
      );
    }
  }
  const settingReason = (role: string | undefined) =>
    !conditions.databaseSettingsRestored
      ? REASONS.databaseSettings
      : role !== undefined && missingRoles.has(role)
        ? REASONS.missingRole(role)
        : !conditions.superuser
          ? REASONS.notSuperuserSetting
          : undefined;
  const compareSettings = (object: string, from: string[], to: string[], role: string | undefined) => {
    const toSet = new Set(to);
    const fromSet = new Set(from);
    for (const setting of from)
      if (!toSet.has(setting)) report(object, `setting ${setting} missing`, settingReason(role));
    for (const setting of to)
      if (!fromSet.has(setting)) warn(object, `setting ${setting} not in the source`, REASONS.extra);
  };
  compareSettings(db, source.database.settings, restored.database.settings, undefined);
  for (const role of union(
    Object.keys(source.database.roleSettings),
    Object.keys(restored.database.roleSettings),
  )) {
    compareSettings(
      `settings of role ${role} in the database`,
      source.database.roleSettings[role] ?? [],
      restored.database.roleSettings[role] ?? [],
      role,
    );
  }

  // Objects: a lost one fails; one the target has beyond the source is a warning.
  const objectReason = (label: string): string | undefined => {
    if (!conditions.superuser && label.startsWith("event trigger ")) return REASONS.eventTrigger;
    if (!conditions.superuser && label.startsWith("foreign-data wrapper ")) return REASONS.foreignDataWrapper;
    if (!conditions.superuser && label.startsWith("publication ")) {
      const name = label.slice("publication ".length);
      const publication = Object.entries(source.publications).find(([key]) => displayName(key) === name)?.[1];
      if (publication?.allTables) return REASONS.allTablesPublication;
    }
    return undefined;
  };
  for (const label of [...gone].sort(byteOrder)) report(label, "missing", objectReason(label));
  for (const label of [...restoredLabels].sort(byteOrder)) {
    if (!sourceLabels.has(label)) warn(label, "not in the source", REASONS.extra);
  }

  // Sequence values.
  const descending = new Set(source.descendingSequences);
  for (const [schema, seqs] of Object.entries(source.sequences)) {
    for (const [name, value] of Object.entries(seqs)) {
      const qualified = qualifiedName(schema, name);
      const restoredSeqs = restored.sequences[schema];
      if (value === null || !restoredSeqs || !(name in restoredSeqs)) continue;
      const now = restoredSeqs[name] ?? null;
      const object = `sequence ${qualified}`;
      if (now === null) {
        fail(object, `value not restored (the source's was ${value})`);
      } else if (now !== value) {
        const ahead = sequenceAhead(now, value, descending.has(qualified));
        report(
          object,
          `value ${now}, the source's was ${value}`,
          ahead ? REASONS.sequenceAdvanced : undefined,
        );
      }
    }
  }

  // Per-table details.
  const compareKeyed = (
    what: string,
    from: Record<string, string>,
    to: Record<string, string>,
    describe: (key: string) => string,
  ) => {
    for (const key of union(Object.keys(from), Object.keys(to))) {
      if (goneTables.has(key)) continue;
      const a = from[key];
      const b = to[key];
      if (a === b) continue;
      if (a === undefined) warn(describe(key), `${what} ${b} not in the source`, REASONS.extra);
      else if (b === undefined) fail(describe(key), `${what} ${a} missing`);
      else fail(describe(key), `${what} ${b}, the source's is ${a}`);
    }
  };
  compareKeyed("partition of", source.partitionOf, restored.partitionOf, (key) => `table ${key}`);
  compareKeyed(
    "inherits from",
    mapValues(source.inherits, (list) => list.join(", ")),
    mapValues(restored.inherits, (list) => list.join(", ")),
    (key) => `table ${key}`,
  );
  compareKeyed("row security", source.rowSecurity, restored.rowSecurity, (key) => `table ${key}`);
  const compareMembers = (what: string, from: Record<string, string[]>, to: Record<string, string[]>) => {
    for (const table of union(Object.keys(from), Object.keys(to))) {
      if (goneTables.has(table)) continue;
      const a = new Set(from[table] ?? []);
      const b = new Set(to[table] ?? []);
      for (const item of a) if (!b.has(item)) fail(`${what} ${item} on ${table}`, "missing");
      for (const item of b)
        if (!a.has(item)) warn(`${what} ${item} on ${table}`, "not in the source", REASONS.extra);
    }
  };
  compareMembers("constraint", constraintsByTable(source), constraintsByTable(restored));
  compareMembers("index", source.indexes, restored.indexes);
  compareMembers("trigger", source.triggers, restored.triggers);

  for (const table of union(Object.keys(source.policies), Object.keys(restored.policies))) {
    if (goneTables.has(table)) continue;
    const from = source.policies[table] ?? {};
    const to = restored.policies[table] ?? {};
    for (const name of union(Object.keys(from), Object.keys(to))) {
      const object = `policy ${displayName(name)} on ${table}`;
      const a = from[name];
      const b = to[name];
      if (a === b) continue;
      if (a === undefined) {
        warn(object, "not in the source", REASONS.extra);
        continue;
      }
      const lostRole = rolesOf(a).find((role) => missingRoles.has(role));
      const reason = lostRole ? REASONS.missingRole(lostRole) : undefined;
      report(object, b === undefined ? `missing (${a})` : `${b}, the source's is ${a}`, reason);
    }
  }

  // Types' contents (enum labels).
  for (const [schema, types] of Object.entries(source.types)) {
    for (const [name, text] of Object.entries(types)) {
      const now = restored.types[schema]?.[name];
      if (now !== undefined && now !== text)
        fail(typeLabel(schema, name, text), `${now}, the source's is ${text}`);
    }
  }

  // Objects outside schemas.
  for (const name of union(Object.keys(source.extensions), Object.keys(restored.extensions))) {
    const a = source.extensions[name];
    const b = restored.extensions[name];
    const object = `extension ${displayName(name)}`;
    if (a === b) continue;
    if (a === undefined) warn(object, "not in the source", REASONS.extra);
    else if (b === undefined) fail(object, "missing");
    else warn(object, `version ${b}, the source's is ${a}`, REASONS.extensionVersion);
  }
  for (const cast of union(Object.keys(source.casts), Object.keys(restored.casts))) {
    const a = source.casts[cast];
    const b = restored.casts[cast];
    if (a === b) continue;
    if (a === undefined) warn(`cast ${cast}`, "not in the source", REASONS.extra);
    else if (b === undefined) fail(`cast ${cast}`, "missing");
    else fail(`cast ${cast}`, `${b}, the source's is ${a}`);
  }
  for (const server of Object.keys(source.foreignServers)) {
    const now = restored.foreignServers[server];
    if (now !== undefined && now !== source.foreignServers[server]) {
      fail(
        `server ${displayName(server)}`,
        `uses ${now}, the source's uses ${source.foreignServers[server]}`,
      );
    }
  }
  const mappings = new Set(restored.userMappings);
  for (const mapping of source.userMappings) {
    if (mappings.has(mapping)) continue;
    const user = mapping.slice(0, mapping.lastIndexOf("@"));
    report(
      `user mapping ${mapping}`,
      "missing",
      missingRoles.has(user) ? REASONS.missingRole(user) : undefined,
    );
  }
  const sourceMappings = new Set(source.userMappings);
  for (const mapping of restored.userMappings) {
    if (!sourceMappings.has(mapping)) warn(`user mapping ${mapping}`, "not in the source", REASONS.extra);
  }
  for (const [name, state] of Object.entries(source.eventTriggers)) {
    const now = restored.eventTriggers[name];
    if (now !== undefined && now !== state) {
      report(
        `event trigger ${displayName(name)}`,
        `${now}, the source's is ${state}`,
        conditions.superuser ? undefined : REASONS.eventTrigger,
      );
    }
  }
  for (const [name, publication] of Object.entries(source.publications)) {
    const now = restored.publications[name];
    if (!now) continue;
    const object = `publication ${displayName(name)}`;
    if (now.allTables !== publication.allTables) {
      report(
        object,
        publication.allTables ? "not FOR ALL TABLES as in the source" : "FOR ALL TABLES, the source's is not",
        publication.allTables && !conditions.superuser ? REASONS.allTablesPublication : undefined,
      );
    }
    if (now.operations !== publication.operations)
      fail(object, `publishes ${now.operations}, the source's ${publication.operations}`);
    const tables = new Set(now.tables);
    for (const table of publication.tables)
      if (!tables.has(table)) fail(object, `member table ${table} missing`);
    const schemas = new Set(now.schemas);
    for (const schema of publication.schemas)
      if (!schemas.has(schema)) fail(object, `member schema ${schema} missing`);
    const sourceTables = new Set(publication.tables);
    for (const table of now.tables)
      if (!sourceTables.has(table)) warn(object, `member table ${table} not in the source`, REASONS.extra);
  }

  const ownerReason = (owner: string): string | undefined =>
    conditions.noOwner
      ? REASONS.noOwner
      : missingRoles.has(owner)
        ? REASONS.missingRole(owner)
        : conditions.superuser
          ? undefined
          : REASONS.notSuperuserOwner;
  const ownerOf = (fp: CatalogFingerprint, label: string) => fp.owners[label] ?? fp.owner;

  // Privileges.
  const aclReason = (grantee: string): string | undefined => {
    const role = roleName(grantee);
    return conditions.noPrivileges
      ? REASONS.noPrivileges
      : missingRoles.has(role)
        ? REASONS.missingRole(role)
        : undefined;
  };
  const compareAcl = (
    object: string,
    from: readonly string[],
    to: readonly string[],
    extraReason?: string,
    lostOwner?: { role: string; reason: string },
  ) => {
    const a = new Map(from.map(splitAclEntry));
    const b = new Map(to.map(splitAclEntry));
    for (const grantee of union(a.keys(), b.keys())) {
      const had = a.get(grantee);
      const has = b.get(grantee);
      if (had === has) continue;
      const reason =
        aclReason(grantee) ??
        extraReason ??
        (lostOwner && roleName(grantee) === lostOwner.role ? lostOwner.reason : undefined);
      if (has === undefined) report(object, `grant ${grantee}=${had} missing`, reason);
      else if (had === undefined)
        report(object, `grant ${grantee}=${has} not in the source (a revoke was lost)`, reason);
      else report(object, `grant ${grantee}=${has}, the source's is ${grantee}=${had}`, reason);
    }
  };
  const sourceAcl = aclByObject(source);
  const restoredAcl = aclByObject(restored);
  for (const object of union(sourceAcl.keys(), restoredAcl.keys())) {
    if (gone.has(object) || (!sourceLabels.has(object) && restoredLabels.has(object))) continue;
    if (
      object.startsWith("column ") &&
      [...goneTables].some((table) => object.startsWith(`column ${table}.`))
    )
      continue;
    // An ACL leaves its owner's entry out. When the owner could not be set (a restorer that is
    // not a superuser, --no-owner), pg_restore's GRANT to the source's owner (EXECUTE WITH GRANT
    // OPTION, say) makes that role an ordinary grantee: a consequence of the owner, not a lost revoke.
    const sourceOwner = ownerOf(source, object);
    const lostOwnerReason = sourceOwner === ownerOf(restored, object) ? undefined : ownerReason(sourceOwner);
    compareAcl(
      object,
      sourceAcl.get(object) ?? builtInAcl(object),
      restoredAcl.get(object) ?? builtInAcl(object),
      undefined,
      lostOwnerReason === undefined ? undefined : { role: sourceOwner, reason: lostOwnerReason },
    );
  }
  for (const key of union(Object.keys(source.defaultAcls), Object.keys(restored.defaultAcls))) {
    const role = key.slice(0, key.indexOf(" in "));
    const reason = missingRoles.has(role)
      ? REASONS.missingRole(role)
      : !conditions.superuser && role !== conditions.restorer
        ? REASONS.notSuperuserDefaultAcl
        : undefined;
    if (source.defaultAcls[key] === undefined) {
      warn(`default privileges of ${key}`, "not in the source", REASONS.extra);
      continue;
    }
    compareAcl(
      `default privileges of ${key}`,
      source.defaultAcls[key],
      restored.defaultAcls[key] ?? [],
      reason,
    );
  }

  // Owners.
  // Each side's usual owner is the one most of its objects have. When objects are missing from
  // the restored side (an extension it lacks took tables with it), its usual owner can change
  // while every object both sides have kept its owner: then there is nothing to report.
  const defaultOwnerMoved =
    source.owner !== restored.owner &&
    [...sourceLabels].some(
      (label) =>
        restoredLabels.has(label) &&
        ownerOf(source, label) === source.owner &&
        ownerOf(restored, label) === restored.owner,
    );
  if (defaultOwnerMoved) {
    report(
      `objects owned by ${source.owner} in the source`,
      `owned by ${restored.owner} (the objects listed apart excepted)`,
      ownerReason(source.owner),
    );
  }
  for (const label of union(Object.keys(source.owners), Object.keys(restored.owners))) {
    if (!sourceLabels.has(label) || gone.has(label)) continue;
    const had = ownerOf(source, label);
    const has = ownerOf(restored, label);
    // The default owner's change is reported once above.
    if (had === has || (had === source.owner && has === restored.owner)) continue;
    // A platform's event triggers (Supabase's, owned by its superuser supabase_admin) stay with
    // the restorer when their owner is only a stand-in on the target, which may not own one.
    const notSuperuser =
      label.startsWith("event trigger ") && notSuperuserOwners.has(had)
        ? REASONS.notSuperuserEventTriggerOwner(had)
        : undefined;
    report(label, `owned by ${has}, the source's owner is ${had}`, ownerReason(had) ?? notSuperuser);
  }

  // Large objects.
  const los = "large objects";
  if (restored.largeObjects.count < source.largeObjects.count) {
    fail(los, `${restored.largeObjects.count}, the source had ${source.largeObjects.count}`);
  } else if (restored.largeObjects.count > source.largeObjects.count) {
    warn(los, `${restored.largeObjects.count}, the source had ${source.largeObjects.count}`, REASONS.extra);
  }
  for (const owner of union(
    Object.keys(source.largeObjects.owners),
    Object.keys(restored.largeObjects.owners),
  )) {
    const had = source.largeObjects.owners[owner] ?? 0;
    const has = restored.largeObjects.owners[owner] ?? 0;
    if (had > has) report(`${los} owned by ${owner}`, `${has}, the source had ${had}`, ownerReason(owner));
  }
  for (const oid of union(Object.keys(source.largeObjects.acl), Object.keys(restored.largeObjects.acl))) {
    compareAcl(
      `large object ${oid}`,
      source.largeObjects.acl[oid] ?? [],
      restored.largeObjects.acl[oid] ?? [],
    );
  }

  const severityOrder = (s: Severity) => (s === "failure" ? 0 : 1);
  out.sort(
    (x, y) =>
      severityOrder(x.severity) - severityOrder(y.severity) ||
      byteOrder(x.object, y.object) ||
      byteOrder(x.problem, y.problem),
  );
  const failures = out.filter((d) => d.severity === "failure").length;
  return { differences: out, failures, warnings: out.length - failures };
}

/**
 * The non-owner entries of an object's built-in default ACL: what an object the fingerprint lists
 * no ACL for has (PUBLIC may execute functions and use types; nothing else is granted).
 */
function builtInAcl(label: string): string[] {
  if (/^(?:function|procedure|aggregate) /.test(label)) return ["PUBLIC=X"];
  if (/^(?:type|domain|range|composite) /.test(label)) return ["PUBLIC=U"];
  return [];
}

/**
 * Whether a sequence state `now` is further along than `was`: a called value n comes after
 * "next n" (the nextval() that returns n), and values grow, or shrink for a descending sequence.
 */
function sequenceAhead(now: string, was: string, descending: boolean): boolean {
  const parse = (state: string): [bigint, number] =>
    state.startsWith("next ") ? [BigInt(state.slice(5)), 0] : [BigInt(state), 1];
  const [a, calledA] = parse(now);
  const [b, calledB] = parse(was);
  if (a === b) return calledA > calledB;
  return descending ? a < b : a > b;
}

/** A grantee as an ACL entry writes it (quoted when needed) -> the role's name. */
function roleName(grantee: string): string {
  return grantee.startsWith('"') ? grantee.slice(1, -1).replaceAll('""', '"') : grantee;
}

function mapValues<T, U>(record: Record<string, T>, each: (value: T) => U): Record<string, U> {
  return Object.fromEntries(Object.entries(record).map(([key, value]) => [key, each(value)]));
}

/** The roles a policy text ("permissive ALL TO a,b") names. */
function rolesOf(policy: string): string[] {
  const at = policy.indexOf(" TO ");
  return at < 0 ? [] : policy.slice(at + 4).split(",");
}
