/**
 * manifest.json: what a backup holds and how to prove it. Written last, as the commit marker. Plain
 * JSON with no secrets: no password, no full connection string, no identity. Every field is
 * described in docs/format.md.
 *
 * Schema 2 lists the backup's stored artifacts (the database dump, the roles object; file sources
 * next), each with its stored and plaintext size and sha256. Schema 1 had fixed slots (`object`,
 * `dump.plaintext`, `roles`); parseManifest normalises it to the schema-2 shape here, in one place,
 * so no reader ever sees a version-1 manifest.
 */
import type { CatalogFingerprint } from "./catalog-diff.js";
import { InputError } from "./errors.js";

export const MANIFEST_SCHEMA_VERSION = 2;
/** Older schemas this code still reads (normalised to the current one). */
export const READABLE_SCHEMA_VERSIONS: readonly number[] = [1, 2];

export interface TableCount {
  schema: string;
  table: string;
  /** Exact row count: the rows of the table's data in the archive (before: counted in its snapshot). */
  rows: number;
  /**
   * sha256 of the table's data as the archive holds it (the `COPY ... TO STDOUT` text, or the INSERT
   * statements with --inserts): the per-table content digest. Absent in backups made before it.
   */
  sha256?: string;
  /**
   * The columns of the archive's COPY statement, in its order, where a restore may not keep the
   * source's (an inheritance child: its parent's columns come first after a restore).
   */
  columns?: string[];
  /**
   * The table the archive's COPY loads these rows through, when not this one: the partition root,
   * under --load-via-partition-root or when pg_dump chose it (hash partitioning on an enum). A
   * restore routes the rows again: they may land in another partition.
   */
  loadedInto?: { schema: string; table: string };
}

/** The archive's large objects; absent in backups made before Lifeboat read the archive. */
export interface LargeObjectsSummary {
  count: number;
  /** Their bytes, all together. */
  bytes: number;
  /** sha256 over one line per large object in OID order: "<oid> <bytes> <sha256 hex>\n". */
  sha256: string;
}

export type EncryptionInfo =
  | { format: "age-v1"; recipients: string[]; passphrase: false }
  | { format: "age-v1"; recipients: []; passphrase: true }
  | { format: "none" };

export interface Provenance {
  repository: string | null;
  commit: string | null;
  ref: string | null;
  workflow: string | null;
  runId: string | null;
  runAttempt: string | null;
  runUrl: string | null;
  actor: string | null;
  event: string | null;
}

export interface DumpScope {
  schemaOnly: boolean;
  dataOnly: boolean;
  includeSchemas: string[];
  excludeSchemas: string[];
  includeTables: string[];
  excludeTables: string[];
  excludeTableData: string[];
}

/** Size and sha256 of a byte stream. */
export interface Digest {
  bytes: number;
  sha256: string;
}

/** What an artifact is. A reader refuses kinds it does not know (a newer Lifeboat wrote them). */
export type ArtifactKind = "dump" | "roles" | "files";
export const ARTIFACT_KINDS: readonly ArtifactKind[] = ["dump", "roles", "files"];

interface ArtifactBase {
  /** The object's name in the backup folder, e.g. "dump.age"; its key is `<label>/<id>/<name>`. */
  name: string;
  kind: ArtifactKind;
  /** The bytes in the store. */
  stored: Digest;
  /** The bytes a consumer gets: decrypted and decompressed (the pg_dump archive, the roles SQL). */
  plaintext: Digest;
  /**
   * Lifeboat's own compression between plaintext and encryption: "zstd:1", "gzip:6" or "none" (the
   * roles object, and dumps written before Lifeboat compressed, whose pg_dump compressed inside the
   * archive: `dump.compression`).
   */
  compression: string;
  /** "age-v1" (to the manifest's `encryption`) or "none". */
  encryption: "age-v1" | "none";
}

/** The pg_dump custom-format archive. Its facts (format, arguments, scope, tables) are the manifest's `dump`, `tool` and `tables`. */
export interface DumpArtifact extends ArtifactBase {
  kind: "dump";
}

/** The roles (pg_dumpall --roles-only, filtered) that restore-test applies first (docs/supabase.md). */
export interface RolesArtifact extends ArtifactBase {
  kind: "roles";
  /** How many roles it creates. */
  count: number;
}

/**
 * One files source (docs/files.md): a pax tar whose last entry is its index, compressed and
 * encrypted like the dump. Only counts and digests here: file names stay in the encrypted index.
 */
export interface FilesArtifact extends ArtifactBase {
  kind: "files";
  /** The source as given, without credentials: `s3://bucket/prefix`, `s3://*` or a directory. */
  source: string;
  /** Regular files stored (changed ones included). */
  files: number;
  directories: number;
  symlinks: number;
  /** Bytes of file content stored. */
  bytes: number;
  /** sha256 of the archive's index entry, which verify compares before trusting the index. */
  indexSha256: string;
  /** Files that changed or vanished while read (stored as the index records them). */
  changed: number;
  /** With the supabase preset: storage.objects rows in the dump's snapshot against the files read. */
  storageObjects?: StorageObjectsCheck;
}

export interface StorageObjectsCheck {
  rows: number;
  matched: number;
  /** Rows whose object is not in the archive. */
  missingFiles: number;
  /** Objects in the archive without a row. */
  filesWithoutRow: number;
}

export type Artifact = DumpArtifact | RolesArtifact | FilesArtifact;

export interface Manifest {
  /** Always the current version in memory: older manifests are normalised when parsed. */
  schemaVersion: typeof MANIFEST_SCHEMA_VERSION;
  backupId: string;
  label: string;
  startedAt: string;
  finishedAt: string;
  durationSeconds: number;
  /** The database; absent in a files-only backup (--no-database), as are `dump` and the pg_dump facts. */
  source?: {
    /** server_version as the server reports it, e.g. "15.18 (Debian 15.18-0+deb12u1)". */
    serverVersion: string;
    serverVersionNum: number;
    database: string;
    host: string;
    port: number;
    user: string;
  };
  tool: {
    name: "lifeboat";
    version: string;
    pgDumpVersion?: string;
    /** pg_dump's arguments, connection excepted (it travels in the environment, never here). */
    pgDumpArgs?: string[];
  };
  /** The database dump's facts; its bytes are the artifact of kind "dump". */
  dump?: {
    format: "custom";
    /** pg_dump's own compression inside the archive: "none" since Lifeboat compresses (the artifact's). */
    compression: string;
    scope: DumpScope;
    /**
     * The TimeZone of pg_dump's session, which the archive's timestamptz text is printed in
     * ("UTC"); restore-test's digest sessions take it. Absent in backups made before it was set.
     */
    timeZone?: string;
    /**
     * The bytea_output of pg_dump's session ("hex" or "escape": pg_dump leaves it to the
     * database's and the role's settings), which the archive's bytea text is printed in;
     * restore-test's digest sessions take it. Absent in backups made before it was recorded (hex).
     */
    byteaOutput?: "hex" | "escape";
    /**
     * Whether pg_dump's session quoted every identifier (quote_all_identifiers, by the database's
     * or the role's settings or --quote-all-identifiers), which regclass and the like print by.
     */
    quoteAllIdentifiers?: boolean;
  };
  encryption: EncryptionInfo;
  /** The dump preset (absent in manifests written before presets existed: none). */
  preset?: "none" | "supabase";
  /** Every stored object of the backup except the manifest and check records, in write order. */
  artifacts: Artifact[];
  /** Every table whose data the dump holds, with its exact row count; empty for a schema-only dump. */
  tables: TableCount[];
  totalRows: number;
  largeObjects?: LargeObjectsSummary;
  /** The S3 Object Lock retention put on the artifacts and the manifest, or null. */
  objectLock?: { mode: "GOVERNANCE" | "COMPLIANCE"; retainUntil: string } | null;
  provenance: Provenance | null;
  /**
   * The catalog fingerprint taken in the dump's snapshot (src/domain/catalog-diff.ts): what
   * restore-test compares the restored database with. Absent in backups made before it existed and
   * in data-only dumps.
   */
  catalog?: CatalogFingerprint;
  /**
   * A masked copy (restore-test --mask): made from the scratch restore of another backup after the
   * masking rules were applied and verified. Absent for ordinary backups.
   */
  masked?: MaskedFrom;
}

/** Where a masked copy came from and by which rules: never a value of the data. */
export interface MaskedFrom {
  /** sha256 of the rules file's bytes. */
  rulesSha256: string;
  /** The production backup it was made from. */
  sourceLabel: string;
  sourceBackupId: string;
}

const SHA256 = /^[0-9a-f]{64}$/;
const NAME = /^[A-Za-z0-9._-]+$/;

/** The database dump: every manifest has exactly one, except a files-only backup's (none). */
export function dumpArtifact(manifest: Manifest): DumpArtifact {
  const dump = findDumpArtifact(manifest);
  if (!dump) throw new Error(`manifest of ${manifest.label}/${manifest.backupId} lists no dump artifact`);
  return dump;
}

export function findDumpArtifact(manifest: Manifest): DumpArtifact | undefined {
  return manifest.artifacts.find((artifact): artifact is DumpArtifact => artifact.kind === "dump");
}

/**
 * The size a backup is judged by (size gates, the history chart): its dump's stored bytes, or for a
 * files-only backup every artifact's together.
 */
export function backupStoredBytes(manifest: Manifest): number {
  const dump = findDumpArtifact(manifest);
  if (dump) return dump.stored.bytes;
  return manifest.artifacts.reduce((sum, artifact) => sum + artifact.stored.bytes, 0);
}

export function filesArtifacts(manifest: Manifest): FilesArtifact[] {
  return manifest.artifacts.filter((artifact): artifact is FilesArtifact => artifact.kind === "files");
}

export function rolesArtifact(manifest: Manifest): RolesArtifact | undefined {
  return manifest.artifacts.find((artifact): artifact is RolesArtifact => artifact.kind === "roles");
}

/**
 * Reads a manifest from its JSON text (schema 1 or 2), checks the fields readers rely on, and
 * returns it in the current shape. Throws an InputError when the text is not a manifest; the caller
 * decides what that means (a damaged backup).
 */
export function parseManifest(text: string, where: string): Manifest {
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch (error) {
    throw new InputError(`${where}: not valid JSON (${(error as Error).message})`);
  }
  const problems = manifestProblems(value);
  if (problems.length > 0) throw new InputError(`${where}: not a valid manifest: ${problems.join("; ")}`);
  const version = (value as { schemaVersion: number }).schemaVersion;
  return version === 1 ? fromVersion1(value as ManifestV1) : (value as Manifest);
}

/** Empty when `value` has the shape of a readable manifest (schema 1 or 2); otherwise what is wrong. */
export function manifestProblems(value: unknown): string[] {
  if (typeof value !== "object" || value === null) return ["not an object"];
  const m = value as Omit<Partial<Manifest>, "schemaVersion"> & { schemaVersion?: unknown };
  const problems: string[] = [];
  if (typeof m.schemaVersion !== "number" || !READABLE_SCHEMA_VERSIONS.includes(m.schemaVersion)) {
    problems.push(
      `schemaVersion ${JSON.stringify(m.schemaVersion)} is not one of ${READABLE_SCHEMA_VERSIONS.join(", ")} (made by a newer Lifeboat?)`,
    );
    return problems;
  }
  if (typeof m.backupId !== "string") problems.push("backupId missing");
  if (typeof m.label !== "string") problems.push("label missing");
  if (typeof m.startedAt !== "string" || Number.isNaN(Date.parse(m.startedAt))) problems.push("startedAt");
  if (!m.encryption || !["age-v1", "none"].includes(m.encryption.format)) problems.push("encryption.format");
  if (!Array.isArray(m.tables)) problems.push("tables");
  else {
    if (m.tables.some((t) => !Number.isSafeInteger(t.rows) || t.rows < 0)) problems.push("tables[].rows");
    if (m.tables.some((t) => t.sha256 !== undefined && !SHA256.test(String(t.sha256)))) {
      problems.push("tables[].sha256");
    }
    // Names that reach restore-test's SQL (quoted there): none empty, the list not empty.
    const strings = (value: unknown) =>
      Array.isArray(value) && value.length > 0 && value.every((v) => typeof v === "string" && v !== "");
    if (m.tables.some((t) => t.columns !== undefined && !strings(t.columns)))
      problems.push("tables[].columns");
    if (
      m.tables.some(
        (t) =>
          t.loadedInto !== undefined &&
          (typeof t.loadedInto !== "object" ||
            t.loadedInto === null ||
            !strings([t.loadedInto.schema, t.loadedInto.table])),
      )
    ) {
      problems.push("tables[].loadedInto");
    }
  }
  if (m.largeObjects !== undefined && largeObjectsProblem(m.largeObjects)) problems.push("largeObjects");
  if (m.masked !== undefined && maskedProblem(m.masked)) problems.push("masked");
  if (m.schemaVersion === 1) problems.push(...version1Problems(value as Partial<ManifestV1>));
  else problems.push(...artifactsProblems(m.artifacts));
  if (m.catalog !== undefined && catalogProblem(m.catalog)) problems.push("catalog");
  // Session settings restore-test sets from these: zone names as the time zone database spells
  // them, the two bytea formats, a boolean.
  const dump = m.dump as
    { timeZone?: unknown; byteaOutput?: unknown; quoteAllIdentifiers?: unknown } | undefined;
  if (zoneProblem(dump?.timeZone)) problems.push("dump.timeZone");
  if (zoneProblem((m.catalog as { timeZone?: unknown } | undefined)?.timeZone)) {
    problems.push("catalog.timeZone");
  }
  if (dump?.byteaOutput !== undefined && dump.byteaOutput !== "hex" && dump.byteaOutput !== "escape") {
    problems.push("dump.byteaOutput");
  }
  if (dump?.quoteAllIdentifiers !== undefined && typeof dump.quoteAllIdentifiers !== "boolean") {
    problems.push("dump.quoteAllIdentifiers");
  }
  return problems;
}

function zoneProblem(value: unknown): boolean {
  return (
    value !== undefined && (typeof value !== "string" || !/^[A-Za-z][A-Za-z0-9_+\-/]{0,63}$/.test(value))
  );
}

function maskedProblem(value: unknown): boolean {
  if (typeof value !== "object" || value === null) return true;
  const masked = value as Record<string, unknown>;
  return (
    typeof masked.rulesSha256 !== "string" ||
    !/^[0-9a-f]{64}$/.test(masked.rulesSha256) ||
    typeof masked.sourceLabel !== "string" ||
    typeof masked.sourceBackupId !== "string"
  );
}

function largeObjectsProblem(value: unknown): boolean {
  const summary = value as Partial<LargeObjectsSummary> | null;
  return (
    typeof summary !== "object" ||
    summary === null ||
    !Number.isSafeInteger(summary.count) ||
    (summary.count ?? -1) < 0 ||
    digestProblem(summary)
  );
}

/**
 * Only the envelope is checked: a fingerprint of another version is kept as it is and readers that
 * do not know that version leave the comparison out.
 */
function catalogProblem(value: unknown): boolean {
  const catalog = value as Partial<CatalogFingerprint> | null;
  return (
    typeof catalog !== "object" ||
    catalog === null ||
    Array.isArray(catalog) ||
    !Number.isSafeInteger(catalog.version) ||
    typeof catalog.database !== "object" ||
    catalog.database === null
  );
}

function digestProblem(value: unknown): boolean {
  const digest = value as Partial<Digest> | undefined;
  return (
    typeof digest !== "object" ||
    digest === null ||
    !Number.isSafeInteger(digest.bytes) ||
    (digest.bytes ?? -1) < 0 ||
    !SHA256.test(String(digest.sha256))
  );
}

function artifactsProblems(artifacts: unknown): string[] {
  if (!Array.isArray(artifacts)) return ["artifacts"];
  const problems: string[] = [];
  const names = new Set<string>();
  for (const [index, entry] of (artifacts as Partial<Artifact>[]).entries()) {
    const where = `artifacts[${index}]`;
    if (typeof entry !== "object" || entry === null) {
      problems.push(where);
      continue;
    }
    if (typeof entry.name !== "string" || !NAME.test(entry.name) || entry.name === "manifest.json") {
      problems.push(`${where}.name`);
    } else if (names.has(entry.name)) problems.push(`${where}.name ${entry.name} twice`);
    else names.add(entry.name);
    if (!ARTIFACT_KINDS.includes(entry.kind as ArtifactKind)) {
      problems.push(`${where}.kind ${JSON.stringify(entry.kind)} is unknown (made by a newer Lifeboat?)`);
    }
    if (digestProblem(entry.stored)) problems.push(`${where}.stored`);
    if (digestProblem(entry.plaintext)) problems.push(`${where}.plaintext`);
    if (typeof entry.compression !== "string") problems.push(`${where}.compression`);
    if (entry.encryption !== "age-v1" && entry.encryption !== "none") problems.push(`${where}.encryption`);
    if (entry.kind === "roles" && !Number.isSafeInteger((entry as Partial<RolesArtifact>).count)) {
      problems.push(`${where}.count`);
    }
    if (entry.kind === "files")
      problems.push(...filesArtifactProblems(entry as Partial<FilesArtifact>, where));
  }
  const dumps = (artifacts as Partial<Artifact>[]).filter((entry) => entry?.kind === "dump").length;
  const files = (artifacts as Partial<Artifact>[]).filter((entry) => entry?.kind === "files").length;
  // A files-only backup (--no-database) has no dump, and then at least one files source.
  if (dumps > 1 || (dumps === 0 && files === 0)) {
    problems.push(`artifacts: ${dumps} of kind dump, expected 1 (or files sources only)`);
  }
  return problems;
}

function filesArtifactProblems(entry: Partial<FilesArtifact>, where: string): string[] {
  const counts = ["files", "directories", "symlinks", "bytes", "changed"] as const;
  const problems = counts
    .filter((field) => !Number.isSafeInteger(entry[field]) || (entry[field] ?? -1) < 0)
    .map((field) => `${where}.${field}`);
  if (typeof entry.source !== "string") problems.push(`${where}.source`);
  if (!SHA256.test(String(entry.indexSha256))) problems.push(`${where}.indexSha256`);
  return problems;
}

export function serializeManifest(manifest: Manifest): string {
  return JSON.stringify(manifest, null, 2) + "\n";
}

/** Schema 1, as written until schema 2: the dump and the roles object in fixed slots. */
interface ManifestV1 extends Omit<Manifest, "schemaVersion" | "artifacts" | "dump"> {
  schemaVersion: 1;
  dump: Manifest["dump"] & { plaintext: Digest };
  object: { name: string; bytes: number; sha256: string };
  roles?: { name: string; bytes: number; sha256: string; plaintext: Digest; count: number };
}

function version1Problems(m: Partial<ManifestV1>): string[] {
  const problems: string[] = [];
  if (!m.object || typeof m.object.name !== "string" || !NAME.test(m.object.name))
    problems.push("object.name");
  if (!m.object || !Number.isSafeInteger(m.object.bytes) || !SHA256.test(String(m.object.sha256))) {
    problems.push("object size or sha256");
  }
  if (!m.dump?.plaintext || digestProblem(m.dump.plaintext)) problems.push("dump.plaintext");
  if (m.roles !== undefined) {
    const roles = m.roles;
    if (
      typeof roles !== "object" ||
      roles === null ||
      typeof roles.name !== "string" ||
      !NAME.test(roles.name) ||
      roles.name === m.object?.name ||
      !Number.isSafeInteger(roles.bytes) ||
      !SHA256.test(String(roles.sha256)) ||
      digestProblem(roles.plaintext)
    ) {
      problems.push("roles");
    }
  }
  return problems;
}

/** The one place a schema-1 manifest becomes the current shape. */
function fromVersion1(v1: ManifestV1): Manifest {
  const { schemaVersion: _version, object, roles, dump, ...rest } = v1;
  const { plaintext, ...dumpFacts } = dump;
  const encryption = v1.encryption.format === "none" ? "none" : "age-v1";
  const artifacts: Artifact[] = [
    {
      name: object.name,
      kind: "dump",
      stored: { bytes: object.bytes, sha256: object.sha256 },
      plaintext: { bytes: plaintext.bytes, sha256: plaintext.sha256 },
      compression: "none",
      encryption,
    },
  ];
  if (roles) {
    artifacts.push({
      name: roles.name,
      kind: "roles",
      stored: { bytes: roles.bytes, sha256: roles.sha256 },
      plaintext: { bytes: roles.plaintext.bytes, sha256: roles.plaintext.sha256 },
      compression: "none",
      encryption,
      count: roles.count,
    });
  }
  return { schemaVersion: MANIFEST_SCHEMA_VERSION, ...rest, dump: dumpFacts, artifacts };
}
