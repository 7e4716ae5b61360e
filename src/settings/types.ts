/**
 * The typed settings each command runs with, as the option table's reader produces them. A leaf:
 * it imports only domain types, so commands, adapters and the settings parser can all depend on it
 * without an import cycle.
 */
import type { DatabaseUrl } from "../domain/database-url.js";
import type { DumpScope } from "../domain/manifest.js";
import type { RetentionPolicy } from "../domain/retention.js";
import type { Preset } from "../domain/supabase-preset.js";
import type { GateSettings } from "../domain/verify-gates.js";

/** Option values as the edges collect them: CLI flags and environment, or action inputs. */
export type RawValue = string | string[] | boolean | undefined;
export type RawOptions = Record<string, RawValue>;

/** pg-version, pg-bin-dir and install-pg-client, as parsed from the options. */
export interface PgClientSettings {
  pgBinDir: string | undefined;
  /** auto: the tool's own choice; a number: exactly that major. */
  pgVersion: "auto" | number;
  installPgClient: "auto" | "never";
}

export interface S3Settings {
  endpoint: string | undefined;
  region: string | undefined;
  forcePathStyle: boolean;
  checksums: "when-required" | "when-supported";
  sse: "AES256" | "aws:kms" | undefined;
  sseKmsKeyId: string | undefined;
}

export interface StorageSettings {
  storage: string;
  label: string;
  s3: S3Settings;
}

export type EncryptionSettings =
  | { kind: "recipients"; recipients: string[] }
  | { kind: "passphrase"; passphrase: string }
  | { kind: "none" };

/** How the user can decrypt: an identity file's text, or a passphrase, or nothing. */
export interface DecryptionKeys {
  identityText: string | undefined;
  passphrase: string | undefined;
}

/** The files sources' own S3 connection (files-s3-*); credentials come from the environment. */
export interface FilesS3Settings {
  endpoint: string | undefined;
  region: string | undefined;
  forcePathStyle: boolean;
}

/** --files and what goes with it (docs/files.md). */
export interface FilesSettings {
  /** The sources as given: s3://BUCKET[/PREFIX], s3://* or a directory (resolved at run time). */
  sources: string[];
  s3: FilesS3Settings;
  onChange: "fail" | "warn";
  storageObjectsMismatch: "warn" | "fail";
}

export interface BackupSettings extends StorageSettings, PgClientSettings {
  /** S3 Object Lock on the dump and manifest: retention mode and days. */
  objectLock?: { mode: "GOVERNANCE" | "COMPLIANCE"; days: number } | undefined;
  databaseUrl: DatabaseUrl;
  encryption: EncryptionSettings;
  compression: string;
  scope: DumpScope;
  extraArgs: string[];
  /** The dump preset; absent means none (the scope already has the preset applied). */
  preset?: Preset;
  /** Also store the roles object (roles.sql.age); absent means false. */
  includeRoles?: boolean;
  /** Files sources stored beside the dump; absent means none. */
  files?: FilesSettings;
}

/** backup --no-database: the files sources only, no database dump. */
export interface FilesOnlyBackupSettings extends StorageSettings {
  noDatabase: true;
  objectLock?: BackupSettings["objectLock"];
  encryption: EncryptionSettings;
  compression: string;
  files: FilesSettings;
}

export interface PruneSettings extends StorageSettings {
  policy: RetentionPolicy;
  dryRun: boolean;
}

export interface VerifySettings extends StorageSettings, PgClientSettings {
  backup: string;
  keys: DecryptionKeys;
  gates: GateSettings;
}

export interface RestoreTestSettings extends StorageSettings, PgClientSettings {
  backup: string;
  keys: DecryptionKeys;
  scratchUrl: DatabaseUrl;
  /** SQL file: every statement must return one row whose first column is true. */
  assertions: { path: string; statements: string[] } | undefined;
  /** Shell command run against the restored copy, with DATABASE_URL pointing at it. */
  run: string | undefined;
  tolerate: RegExp[];
  keepOnFailure: boolean;
  /** auto: a temporary file when it fits (parallel restore); never: always streamed. */
  decryptToDisk: "auto" | "never";
  jobs: number;
  pgRestoreArgs: string[];
}

export interface RestoreSettings extends StorageSettings, PgClientSettings {
  /** latest, a backup id, or before:<ISO time> (the newest backup started at or before it). */
  backup: string;
  keys: DecryptionKeys;
  targetUrl: DatabaseUrl;
  /** Must equal the target database's name. */
  confirm: string;
  safetyBackup: boolean;
  /** Label of the safety backup: `<label>-safety` unless given. */
  safetyLabel: string;
  schemas: string[];
  tables: string[];
  clean: boolean;
  noOwner: boolean;
  noPrivileges: boolean;
}

export interface RestoreFilesSettings extends StorageSettings {
  backup: string;
  keys: DecryptionKeys;
  /** A files artifact's number (1 for files-1...) or its source text; undefined: the only one. */
  source: string | undefined;
  /** s3://BUCKET[/PREFIX] or a directory, as given. */
  to: string;
  confirm: string;
  overwrite: boolean;
  s3: S3Settings;
  filesS3: FilesS3Settings;
}
