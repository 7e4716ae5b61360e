/**
 * manifest.json, schema version 1: what a backup holds and how to prove it. Written last, as the
 * commit marker. Plain JSON with no secrets: no password, no full connection string, no identity.
 * Every field is described in docs/format.md.
 */
import { InputError } from "./errors.js";

export const MANIFEST_SCHEMA_VERSION = 1;

export interface TableCount {
  schema: string;
  table: string;
  /** Exact row count, taken in the snapshot pg_dump dumped. */
  rows: number;
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

/** The roles object beside the dump (docs/supabase.md): pg_dumpall --roles-only, filtered. */
export interface RolesInfo {
  /** Key relative to the backup folder: "roles.sql.age", or "roles.sql" when unencrypted. */
  name: string;
  bytes: number;
  sha256: string;
  /** The SQL before encryption. */
  plaintext: { bytes: number; sha256: string };
  /** How many roles it creates. */
  count: number;
}

export interface Manifest {
  schemaVersion: typeof MANIFEST_SCHEMA_VERSION;
  backupId: string;
  label: string;
  startedAt: string;
  finishedAt: string;
  durationSeconds: number;
  source: {
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
    pgDumpVersion: string;
    /** pg_dump's arguments, connection excepted (it travels in the environment, never here). */
    pgDumpArgs: string[];
  };
  dump: {
    format: "custom";
    compression: string;
    scope: DumpScope;
    /** The pg_dump archive before encryption. */
    plaintext: { bytes: number; sha256: string };
  };
  object: {
    /** Key of the stored dump relative to the backup folder, e.g. "dump.age". */
    name: string;
    bytes: number;
    sha256: string;
  };
  encryption: EncryptionInfo;
  /** The dump preset (absent in manifests written before presets existed: none). */
  preset?: "none" | "supabase";
  /** The roles object, when the backup includes roles; absent otherwise. */
  roles?: RolesInfo;
  /** Every table whose data the dump holds, with its exact row count; empty for a schema-only dump. */
  tables: TableCount[];
  totalRows: number;
  /** The S3 Object Lock retention put on the dump and the manifest, or null. */
  objectLock?: { mode: "GOVERNANCE" | "COMPLIANCE"; retainUntil: string } | null;
  provenance: Provenance | null;
}

const SHA256 = /^[0-9a-f]{64}$/;

/**
 * Reads a manifest from its JSON text and checks the fields readers rely on. Throws when the
 * text is not a schema-1 manifest; the caller decides what that means (a corrupt backup).
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
  return value as Manifest;
}

/** Empty when `value` has the shape of a schema-1 manifest; otherwise what is wrong with it. */
export function manifestProblems(value: unknown): string[] {
  if (typeof value !== "object" || value === null) return ["not an object"];
  const m = value as Partial<Manifest>;
  const problems: string[] = [];
  if (m.schemaVersion !== MANIFEST_SCHEMA_VERSION) {
    problems.push(`schemaVersion ${JSON.stringify(m.schemaVersion)} is not ${MANIFEST_SCHEMA_VERSION}`);
  }
  if (typeof m.backupId !== "string") problems.push("backupId missing");
  if (typeof m.label !== "string") problems.push("label missing");
  if (typeof m.startedAt !== "string" || Number.isNaN(Date.parse(m.startedAt))) problems.push("startedAt");
  if (!m.object || typeof m.object.name !== "string" || !/^[A-Za-z0-9._-]+$/.test(m.object.name)) {
    problems.push("object.name");
  }
  if (!m.object || !Number.isSafeInteger(m.object.bytes) || !SHA256.test(String(m.object.sha256))) {
    problems.push("object size or sha256");
  }
  if (!m.dump?.plaintext || !SHA256.test(String(m.dump.plaintext.sha256))) problems.push("dump.plaintext");
  if (!m.encryption || !["age-v1", "none"].includes(m.encryption.format)) problems.push("encryption.format");
  if (m.roles !== undefined) {
    const roles = m.roles;
    if (
      typeof roles !== "object" ||
      roles === null ||
      typeof roles.name !== "string" ||
      !/^[A-Za-z0-9._-]+$/.test(roles.name) ||
      roles.name === m.object?.name ||
      !Number.isSafeInteger(roles.bytes) ||
      !SHA256.test(String(roles.sha256)) ||
      !SHA256.test(String(roles.plaintext?.sha256))
    ) {
      problems.push("roles");
    }
  }
  if (!Array.isArray(m.tables)) problems.push("tables");
  else if (m.tables.some((t) => !Number.isSafeInteger(t.rows) || t.rows < 0)) problems.push("tables[].rows");
  return problems;
}

export function serializeManifest(manifest: Manifest): string {
  return JSON.stringify(manifest, null, 2) + "\n";
}
