/**
 * The typed settings each command runs with, as the option table's reader produces them. A leaf:
 * it imports only domain types, so commands, adapters and the settings parser can all depend on it
 * without an import cycle.
 */
import type { DatabaseUrl } from "../domain/database-url.js";
import type { DumpScope, MaskedFrom } from "../domain/manifest.js";
import type { MaskingKey, MaskingRules } from "../domain/masking-rules.js";
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
  /**
   * Credentials from `<prefix>_AWS_ACCESS_KEY_ID`, `<prefix>_AWS_SECRET_ACCESS_KEY` (and
   * `<prefix>_AWS_SESSION_TOKEN`) instead of the SDK's default chain: a second account per store.
   * `optional`: the default chain when the prefix's access key is not set (copy's from and to).
   */
  credentialsEnv?: { prefix: string; optional: boolean } | undefined;
}

/** One store: its URL (without the options its query carried) and its S3 options. */
export interface Destination {
  storage: string;
  s3: S3Settings;
  /** Signatures (docs/evidence.md); absent means none required and none made. */
  evidence?: EvidenceSettings;
}

/** Which signatures a command trusts and which key it signs with (docs/evidence.md). */
export interface EvidenceSettings {
  /** minisign public keys as base64 lines, already checked; empty: no signature is required. */
  trustedKeys: string[];
  /** A minisign secret key file's text; loaded (and checked) when the command starts. */
  signingKeyText: string | undefined;
}

/** The store a command acts on: the first (and for every command but backup, only) storage URL. */
export interface StorageSettings extends Destination {
  label: string;
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
  /** Set only for the masked copy restore-test makes: recorded in the manifest as `masked`. */
  masked?: MaskedFrom;
  /** Every storage URL, the first one too (`storage` and `s3` repeat it); absent means that one only. */
  destinations?: Destination[];
  /** Commits needed for success with several destinations; absent means all of them. */
  minDestinations?: number | undefined;
  /** Files sources stored beside the dump; absent means none. */
  files?: FilesSettings;
}

export interface CopySettings {
  from: Destination;
  to: Destination;
  label: string;
  /** latest, a backup id, or all. */
  backup: string;
  keys: DecryptionKeys;
  objectLock: { mode: "GOVERNANCE" | "COMPLIANCE"; days: number } | undefined;
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
  /** Where to write a JUnit XML report; none when absent. */
  junit?: string | undefined;
}

export interface RestoreTestSettings extends StorageSettings, PgClientSettings {
  backup: string;
  keys: DecryptionKeys;
  scratchUrl: DatabaseUrl;
  /** SQL file: every statement must return one row whose first column is true. */
  assertions: { path: string; statements: string[] } | undefined;
  /** Shell command run against the restored copy, with DATABASE_URL pointing at it. */
  run: string | undefined;
  /** Variables (NAME or PREFIX_*) of Lifeboat's environment passed to the run command, checked. */
  runEnv: string[];
  tolerate: RegExp[];
  keepOnFailure: boolean;
  /** auto: a temporary file when it fits (parallel restore); never: always streamed. */
  decryptToDisk: "auto" | "never";
  jobs: number;
  pgRestoreArgs: string[];
  /** Per-table row-count drift against the previous backup (a fraction), and what it does. */
  maxTableDrift?: number | undefined;
  driftAction?: "fail" | "warn";
  /** Recovery-time budget in seconds. */
  maxRestoreSeconds?: number | undefined;
  /** Where to write a JUnit XML report; none when absent. */
  junit?: string | undefined;
  /** restore-test --mask: a masked copy of the restored scratch database, stored as its own backup. */
  masking?: MaskingSettings;
}

export interface MaskingSettings {
  /** The rules file, parsed (its sha256 included). */
  rules: MaskingRules;
  /** The secret the fakes are keyed by. */
  key: MaskingKey;
  /** Where the masked copy goes (default: the backup's own storage) and under which label. */
  destination: Destination;
  label: string;
  /** The staging recipients: never one of the production backup's. */
  recipients: string[];
  /** Columns that look personal but have no rule: a warning, or a failure. */
  coverage: "warn" | "fail";
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
  /** swap: a new database beside the target, checked, then renamed into its place (docs/restore.md). */
  strategy: "auto" | "swap" | "in-place";
  /** swap: drop the previous database after the swap instead of keeping it. */
  dropOld: boolean;
  /** swap: end other sessions on the target at the swap instead of refusing. */
  terminateConnections: boolean;
  /** Checked against the allow-list (src/domain/pg-args.ts). */
  pgRestoreArgs: string[];
}

export interface StatusSettings {
  storage: string;
  s3: S3Settings;
  /** With trusted keys, unsigned check records do not count (docs/evidence.md). */
  evidence?: EvidenceSettings;
  /** The labels to show; empty: every label in the store. */
  labels: string[];
  maxAgeSeconds: number | undefined;
  maxRestoreAgeSeconds: number | undefined;
  /** 0..1 */
  minSuccessRate: number;
  window: number;
  /** Where to write the page and the metrics (resolved against the working directory). */
  html: string | undefined;
  prometheus: string | undefined;
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
