/**
 * Every option of every command, in one place: the CLI's flags, the actions' inputs (the same
 * names, kebab-case), their help text, defaults, accepted values and ranges. The reader
 * (read-option.ts) parses values by this table alone, so a default or a list of accepted values is
 * written once, here. actions/<name>/action.yml is generated from this table
 * (scripts/render-actions.ts, run by the build) and a test keeps the two equal.
 */
import { CHANNEL_OPTIONS, NOTIFY_ON_OPTION } from "../report/channels/index.js";
import type { CommandSpec, OptionSpec } from "./option-spec.js";

export type { CommandSpec, OptionSpec, OptionType, OutputSpec } from "./option-spec.js";

const AUTO_OR_NEVER = ["auto", "never"] as const;
const FAIL_OR_WARN = ["fail", "warn"] as const;

const keepCount = (period: "last" | "hourly" | "daily" | "weekly" | "monthly" | "yearly") =>
  ({
    name: `keep-${period}`,
    description:
      period === "last"
        ? "Keep the N newest backups."
        : `Keep the newest backup in each of the last N ${{ hourly: "hours", daily: "days", weekly: "ISO weeks (Monday to Sunday)", monthly: "months", yearly: "years" }[period]} that have a backup (UTC).`,
    type: "integer",
    min: 0,
    value: "N",
  }) as const;

/**
 * The options, each declared once. Commands list them below; where a command words one
 * differently it replaces only the description (a test checks that nothing else differs).
 */
export const OPTIONS = {
  storage: {
    name: "storage",
    description:
      "Where backups live: s3://bucket/prefix (AWS S3 or any S3-compatible store), file:///absolute/path, or a directory path. backup takes several (one per line, or --storage repeated) and writes each backup into all of them; the other commands act on one. An s3:// URL may carry its own options after ? (endpoint, region, force-path-style, checksums, sse, sse-kms-key-id, credentials=PREFIX for PREFIX_AWS_ACCESS_KEY_ID and PREFIX_AWS_SECRET_ACCESS_KEY; docs/offsite.md).",
    type: "list",
    linesOnly: true,
    required: true,
    cliDefault: "./backups",
    env: "LIFEBOAT_STORAGE",
    value: "URL",
    expected: "s3://bucket/prefix, file:///absolute/path or a directory path",
  },
  minDestinations: {
    name: "min-destinations",
    description:
      "With several storage URLs: the backup succeeds when it committed in at least N of them (default: all). A destination that failed is named either way.",
    type: "integer",
    min: 1,
    value: "N",
  },
  from: {
    name: "from",
    description:
      "The store to copy backups from (a storage URL, as storage takes). Credentials: LIFEBOAT_FROM_AWS_ACCESS_KEY_ID and LIFEBOAT_FROM_AWS_SECRET_ACCESS_KEY when set, else the AWS SDK's default chain.",
    type: "string",
    required: true,
    env: "LIFEBOAT_FROM_STORAGE",
    value: "URL",
    expected: "s3://bucket/prefix, file:///absolute/path or a directory path",
  },
  to: {
    name: "to",
    description:
      "The store to copy backups into (a storage URL). Credentials: LIFEBOAT_TO_AWS_ACCESS_KEY_ID and LIFEBOAT_TO_AWS_SECRET_ACCESS_KEY when set, else the AWS SDK's default chain.",
    type: "string",
    required: true,
    env: "LIFEBOAT_TO_STORAGE",
    value: "URL",
    expected: "s3://bucket/prefix, file:///absolute/path or a directory path",
  },
  label: {
    name: "label",
    description:
      "Separates databases and environments in one storage location: backups go under <storage>/<label>/.",
    type: "string",
    default: "default",
    env: "LIFEBOAT_LABEL",
    value: "NAME",
  },
  s3Endpoint: {
    name: "s3-endpoint",
    description:
      "Endpoint of an S3-compatible store (R2, B2, MinIO, Supabase Storage, GCS interop); empty for AWS S3.",
    type: "url",
    env: "AWS_ENDPOINT_URL_S3",
    value: "URL",
  },
  s3Region: {
    name: "s3-region",
    description: "S3 region; empty for the SDK's default chain (AWS_REGION), or us-east-1.",
    type: "string",
    value: "REGION",
  },
  s3ForcePathStyle: {
    name: "s3-force-path-style",
    description:
      "Address the bucket in the path (https://endpoint/bucket/key), as MinIO and some stores need.",
    type: "boolean",
    default: "false",
  },
  s3Checksums: {
    name: "s3-checksums",
    description:
      "when-required (default: checksums only where the S3 API demands them, which S3-compatible stores accept) or when-supported (the AWS SDK's default).",
    type: "choice",
    choices: ["when-required", "when-supported"],
    default: "when-required",
    value: "MODE",
  },
  s3Sse: {
    name: "s3-sse",
    description: "Server-side encryption for stored objects: AES256 or aws:kms (with s3-sse-kms-key-id).",
    type: "choice",
    choices: ["AES256", "aws:kms"],
    value: "MODE",
  },
  s3SseKmsKeyId: {
    name: "s3-sse-kms-key-id",
    description: "KMS key id for s3-sse aws:kms.",
    type: "string",
    value: "KEY",
  },
  objectLockMode: {
    name: "object-lock-mode",
    description:
      "S3 Object Lock retention for the dump and manifest: GOVERNANCE or COMPLIANCE (with object-lock-days; the bucket must have Object Lock enabled). A leaked credential then cannot delete backups either; prune leaves them alone until the lock expires.",
    type: "choice",
    choices: ["GOVERNANCE", "COMPLIANCE"],
    value: "MODE",
  },
  objectLockDays: {
    name: "object-lock-days",
    description: "Days each backup stays locked (with object-lock-mode).",
    type: "integer",
    min: 1,
    max: 36500,
    value: "DAYS",
    expected: "a whole number of days from 1 to 36500",
  },
  pgVersion: {
    name: "pg-version",
    description:
      "Major version of pg_dump to use: auto (default: the server's own major when present, else the nearest newer one) or a major such as 17.",
    type: "integer",
    choices: ["auto"],
    min: 10,
    max: 99,
    default: "auto",
    value: "MAJOR",
    expected: "auto or a major version such as 17",
  },
  installPgClient: {
    name: "install-pg-client",
    description:
      "auto: when no suitable pg_dump is on the machine and it runs Linux with apt, download postgresql-client-<major> from the PostgreSQL apt repository into a tool directory (cached with actions/cache in Actions) without touching the system; never: use only what is installed.",
    type: "choice",
    choices: AUTO_OR_NEVER,
    default: "auto",
    cliDefault: "never",
    value: "MODE",
  },
  pgBinDir: {
    name: "pg-bin-dir",
    description:
      "Directory holding the pg_dump to use. By default one that can dump the server, from /usr/lib/postgresql/<major>/bin or PATH: the server's own major if present, else the nearest newer one.",
    type: "path",
    value: "DIR",
  },
  commentOnPr: {
    name: "comment-on-pr",
    description:
      "auto (default): on pull_request events, keep one comment per label and action on the pull request, updated in place on every run; never: no comment.",
    type: "choice",
    choices: AUTO_OR_NEVER,
    default: "auto",
    actionOnly: true,
    value: "MODE",
  },
  githubToken: {
    name: "github-token",
    description:
      "Token for the pull request comment. The default GITHUB_TOKEN works when the job has pull-requests: write; without that right the comment is skipped with a warning.",
    type: "string",
    actionDefault: "${{ github.token }}",
    secret: true,
    actionOnly: true,
  },
  notifyOn: NOTIFY_ON_OPTION,
  reportArtifact: {
    name: "report-artifact",
    description:
      "auto (default): upload the restore-test report (pg_restore log, assertion and command output) as a workflow artifact when the artifact service is available, with a notice when it is not; never: do not upload.",
    type: "choice",
    choices: AUTO_OR_NEVER,
    default: "auto",
    actionOnly: true,
    value: "MODE",
  },
  databaseUrl: {
    name: "database-url",
    description:
      "PostgreSQL connection URL of the database to back up: postgresql://user:password@host:port/database.",
    type: "database-url",
    required: true,
    env: "DATABASE_URL",
    secret: true,
    value: "URL",
    expected: "postgresql://user:password@host:port/database",
  },
  recipient: {
    name: "recipient",
    description:
      "age public key (age1...) that can decrypt the backup; several for key rotation (repeat the flag, or one per line in the action). Only public keys: the backup never needs a secret.",
    type: "list",
    env: "LIFEBOAT_RECIPIENTS",
    value: "AGE1...",
  },
  passphrase: {
    name: "passphrase",
    description:
      "Encrypt with this passphrase (age scrypt) instead of public keys. In the CLI use --passphrase-file or LIFEBOAT_PASSPHRASE.",
    type: "string",
    secret: true,
    actionOnly: true,
    env: "LIFEBOAT_PASSPHRASE",
  },
  passphraseFile: {
    name: "passphrase-file",
    description:
      "Read the passphrase (age scrypt) from this file instead of using public keys; its first line counts.",
    type: "path",
    cliOnly: true,
    value: "PATH",
  },
  encryption: {
    name: "encryption",
    description: "age (default), or none to store the dump unencrypted (an explicit opt-out).",
    type: "choice",
    choices: ["age", "none"],
    default: "age",
    value: "MODE",
  },
  noEncryption: {
    name: "no-encryption",
    description: "Same as --encryption none.",
    type: "boolean",
    cliOnly: true,
  },
  compression: {
    name: "compression",
    description:
      "Lifeboat's compression of the dump (pg_dump writes it uncompressed): zstd[:1-22], gzip[:1-9] or none; auto is zstd:1.",
    type: "string",
    default: "auto",
    value: "METHOD",
  },
  schemaOnly: {
    name: "schema-only",
    description: "Dump the schema only, no data.",
    type: "boolean",
    default: "false",
  },
  dataOnly: {
    name: "data-only",
    description: "Dump the data only, no schema.",
    type: "boolean",
    default: "false",
  },
  includeSchema: {
    name: "include-schema",
    description: "Dump only schemas matching this pg_dump pattern (repeatable; one per line in the action).",
    type: "list",
    value: "PATTERN",
  },
  excludeSchema: {
    name: "exclude-schema",
    description: "Leave out schemas matching this pg_dump pattern (repeatable).",
    type: "list",
    value: "PATTERN",
  },
  includeTable: {
    name: "include-table",
    description: "Dump only tables matching this pg_dump pattern (repeatable).",
    type: "list",
    value: "PATTERN",
  },
  excludeTable: {
    name: "exclude-table",
    description: "Leave out tables matching this pg_dump pattern (repeatable).",
    type: "list",
    value: "PATTERN",
  },
  excludeTableData: {
    name: "exclude-table-data",
    description: "Keep these tables' definitions but not their rows (repeatable).",
    type: "list",
    value: "PATTERN",
  },
  preset: {
    name: "preset",
    description:
      "none (default), or supabase: the schemas a Supabase project's user owns in full, the data of auth and storage, none of the platform's own schemas, plus the roles (docs/supabase.md).",
    type: "choice",
    choices: ["none", "supabase"],
    default: "none",
    value: "NAME",
  },
  includeRoles: {
    name: "include-roles",
    description:
      "auto (default: true with preset supabase), true or false: also store the roles (pg_dumpall --roles-only --no-role-passwords) as a second encrypted object, roles.sql.age, that restore-test applies first.",
    type: "true-false",
    choices: ["auto"],
    default: "auto",
    value: "BOOL",
  },
  pgDumpArgs: {
    name: "pg-dump-args",
    description:
      "Extra pg_dump arguments, separated by spaces (e.g. --no-owner --no-privileges). Output, format, connection and scope flags are refused: they have options of their own.",
    type: "string",
    value: "ARGS",
  },
  files: {
    name: "files",
    description:
      "A files source to put in the backup beside the database (repeatable, one per line in the action): s3://BUCKET[/PREFIX] (any S3-compatible store, e.g. Supabase Storage), s3://* for every bucket the files credentials list, or a directory. Each becomes one encrypted tar artifact (docs/files.md).",
    type: "list",
    value: "SOURCE",
  },
  noDatabase: {
    name: "no-database",
    description:
      "A files-only backup: no database dump, only the --files sources (database-url is not read; dump options are refused).",
    type: "boolean",
    default: "false",
  },
  filesS3Endpoint: {
    name: "files-s3-endpoint",
    description:
      "Endpoint of the files sources' S3-compatible store, e.g. https://<project-ref>.storage.supabase.co/storage/v1/s3; empty for AWS S3. Credentials: LIFEBOAT_FILES_AWS_ACCESS_KEY_ID and LIFEBOAT_FILES_AWS_SECRET_ACCESS_KEY, else the AWS default chain (never the backup store's options).",
    type: "url",
    value: "URL",
  },
  filesS3Region: {
    name: "files-s3-region",
    description:
      "Region of the files sources' S3 store; empty for AWS_REGION, or us-east-1 with an endpoint.",
    type: "string",
    value: "REGION",
  },
  filesS3ForcePathStyle: {
    name: "files-s3-force-path-style",
    description: "Address the files sources' buckets in the path, as Supabase Storage and MinIO need.",
    type: "boolean",
    default: "false",
  },
  filesOnChange: {
    name: "files-on-change",
    description:
      "A file that changes or vanishes while it is read: fail (default: the backup fails, nothing is committed) or warn (stored as read, marked changed in the index, counted in the manifest).",
    type: "choice",
    choices: FAIL_OR_WARN,
    default: "fail",
    value: "MODE",
  },
  storageObjectsMismatch: {
    name: "storage-objects-mismatch",
    description:
      "With preset supabase and an s3:// files source: when the storage.objects rows in the dump's snapshot and the objects read differ, warn (default) or fail.",
    type: "choice",
    choices: FAIL_OR_WARN,
    default: "warn",
    value: "MODE",
  },
  filesSource: {
    name: "source",
    description:
      "Which files source of the backup to restore: its number (1 for files-1...) or the source as it was given to backup (s3://photos). Required when the backup has more than one.",
    type: "string",
    value: "SOURCE",
  },
  overwrite: {
    name: "overwrite",
    description: "Replace files or objects that already exist at the target (default: skip and count them).",
    type: "boolean",
    default: "false",
  },
  keepLast: keepCount("last"),
  keepHourly: keepCount("hourly"),
  keepDaily: keepCount("daily"),
  keepWeekly: keepCount("weekly"),
  keepMonthly: keepCount("monthly"),
  keepYearly: keepCount("yearly"),
  keepWithin: {
    name: "keep-within",
    description:
      "Keep every backup taken less than this long before the newest backup: a duration such as 36h, 7d, 2w or 1d12h (units w, d, h, m, s).",
    type: "duration",
    value: "DURATION",
  },
  minVerified: {
    name: "min-verified",
    description:
      "Never leave fewer than this many backups with a passing restore-test or deep verify (when fewer exist, every one is kept and prune warns).",
    type: "integer",
    min: 0,
    default: "1",
    value: "N",
  },
  safeAge: {
    name: "safe-age",
    description:
      "Folders without a manifest (failed or interrupted backups) are removed only once older than this (at least 1h), so a backup in flight is never touched.",
    type: "duration",
    atLeast: "1h",
    atLeastWhy: "so that a backup in flight is never removed",
    default: "24h",
    value: "DURATION",
  },
  dryRun: {
    name: "dry-run",
    description: "Print every decision with its reason and delete nothing.",
    type: "boolean",
    default: "false",
  },
  identityFile: {
    name: "identity-file",
    description:
      "File holding the age identity (AGE-SECRET-KEY-1...) that decrypts the backup. Only jobs that decrypt need it.",
    type: "path",
    cliOnly: true,
    value: "PATH",
  },
  identity: {
    name: "identity",
    description:
      "The age identity (AGE-SECRET-KEY-1...) that decrypts the backup, e.g. from a secret. In the CLI use --identity-file or LIFEBOAT_IDENTITY.",
    type: "string",
    secret: true,
    actionOnly: true,
    env: "LIFEBOAT_IDENTITY",
  },
  backup: {
    name: "backup",
    description: "Which backup: latest (the newest committed one under the label) or a backup id.",
    type: "string",
    default: "latest",
    value: "ID",
  },
  maxAge: {
    name: "max-age",
    description:
      "Fail when the newest backup under the label is older than this (e.g. 26h): a dead-man's switch for scheduled backups.",
    type: "duration",
    value: "DURATION",
  },
  maxSizeChange: {
    name: "max-size-change",
    description:
      "Fail (or warn, see size-change-action) when the stored size moved more than this against the previous backup, e.g. 50%.",
    type: "percent",
    value: "PERCENT",
  },
  sizeChangeAction: {
    name: "size-change-action",
    description: "fail (default) or warn when max-size-change is exceeded.",
    type: "choice",
    choices: FAIL_OR_WARN,
    default: "fail",
    value: "ACTION",
  },
  minSize: {
    name: "min-size",
    description: "Fail when the stored object is smaller than this, e.g. 1MB.",
    type: "size",
    value: "SIZE",
  },
  scratchDatabaseUrl: {
    name: "scratch-database-url",
    description:
      "PostgreSQL server to restore into, as a URL whose role may CREATE DATABASE (a service container's superuser, say). A fresh database with a unique name is created there and dropped afterwards.",
    type: "database-url",
    required: true,
    secret: true,
    env: "LIFEBOAT_SCRATCH_DATABASE_URL",
    value: "URL",
    expected: "postgresql://user:password@host:port/postgres",
  },
  assertions: {
    name: "assertions",
    description:
      "SQL file of checks run against the restored copy: every statement must return one row whose first column is true.",
    type: "path",
    value: "PATH",
  },
  run: {
    name: "run",
    description:
      "Shell command run against the restored copy, with DATABASE_URL (and PGHOST, PGPORT, PGDATABASE, PGUSER, PGPASSWORD) pointing at it: where a deploy's migrations are rehearsed on real data.",
    type: "string",
    value: "COMMAND",
  },
  runEnv: {
    name: "run-env",
    description:
      "Name of a variable of this environment passed to the run command (repeatable; one per line in the action; NAME or PREFIX_*). Nothing else is: credentials, Lifeboat's inputs and PG* never are.",
    type: "list",
    value: "NAME",
  },
  tolerate: {
    name: "tolerate",
    description:
      "Regular expression for pg_restore errors that do not fail the test (repeatable; one per line in the action), e.g. role .* does not exist.",
    type: "list",
    value: "REGEX",
  },
  keepOnFailure: {
    name: "keep-on-failure",
    description: "Keep the scratch database when the test fails, for inspection.",
    type: "boolean",
    default: "false",
  },
  decryptToDisk: {
    name: "decrypt-to-disk",
    description:
      "auto (default): decrypt to a private temporary file when it fits on local disk, for a parallel pg_restore; never: stream into pg_restore, so no plaintext ever touches the disk.",
    type: "choice",
    choices: AUTO_OR_NEVER,
    default: "auto",
    value: "MODE",
  },
  jobs: {
    name: "jobs",
    description:
      "pg_restore's parallel jobs when the decrypted archive fits on local disk (default: CPUs, at most 4).",
    type: "integer",
    min: 1,
    max: 64,
    value: "N",
  },
  pgRestoreArgs: {
    name: "pg-restore-args",
    description:
      "Extra pg_restore arguments, separated by spaces (e.g. --no-owner --no-privileges). Connection, output, list and job flags are refused.",
    type: "string",
    value: "ARGS",
  },
  mask: {
    name: "mask",
    description:
      "Masking rules (YAML, docs/masking.md): once every check passed, mask the scratch copy, verify the masking, and store it as a backup of its own under masked-label, encrypted to masked-recipient.",
    type: "path",
    value: "FILE",
  },
  maskedStorage: {
    name: "masked-storage",
    description:
      "Where the masked copy is stored (a directory or s3://bucket/prefix, with the same S3 options and credentials); default: the storage of the backup.",
    type: "string",
    value: "URL",
  },
  maskedLabel: {
    name: "masked-label",
    description:
      "Label of the masked copy, e.g. staging; with mask, required, and not the backup's own label in the same storage.",
    type: "string",
    value: "LABEL",
  },
  maskedRecipient: {
    name: "masked-recipient",
    description:
      "age public key of staging or development that can decrypt the masked copy (repeatable; one per line in the action); with mask, required, and never one of the production backup's recipients.",
    type: "list",
    value: "AGE1...",
  },
  maskingKey: {
    name: "masking-key",
    description:
      "The secret (16 bytes or more) the fakes are keyed by: the same key gives the same fakes across tables and runs. In the CLI use --masking-key-file or LIFEBOAT_MASKING_KEY.",
    type: "string",
    secret: true,
    actionOnly: true,
    env: "LIFEBOAT_MASKING_KEY",
  },
  maskingKeyFile: {
    name: "masking-key-file",
    description: "File whose first line is the masking key.",
    type: "path",
    cliOnly: true,
    value: "PATH",
  },
  maskCoverage: {
    name: "mask-coverage",
    description:
      "warn (default): columns that look personal but have no rule are listed as warnings; fail: they fail the run and no masked copy is written.",
    type: "choice",
    choices: ["warn", "fail"],
    default: "warn",
    value: "MODE",
  },
  targetDatabaseUrl: {
    name: "target-database-url",
    description:
      "PostgreSQL connection URL of the database to restore into (it must exist): postgresql://user:password@host:port/database.",
    type: "database-url",
    required: true,
    secret: true,
    env: "LIFEBOAT_TARGET_DATABASE_URL",
    value: "URL",
    expected: "postgresql://user:password@host:port/database",
  },
  confirm: {
    name: "confirm",
    description:
      "The target database's name, typed out: the restore is refused unless it equals the database name in target-database-url (and current_database() once connected).",
    type: "string",
    required: true,
    value: "DATABASE",
  },
  safetyBackup: {
    name: "safety-backup",
    description:
      "true (default): first back up the target database into the same storage, encrypted to the same keys as the backup being restored, so that the restore can be undone; false to skip it.",
    type: "true-false",
    default: "true",
    value: "BOOL",
  },
  safetyLabel: {
    name: "safety-label",
    description: "Label of the safety backup (default: <label>-safety).",
    type: "string",
    value: "NAME",
  },
  schema: {
    name: "schema",
    description:
      "Restore only this schema (pg_restore --schema; repeatable, one per line in the action). Default: the whole database.",
    type: "list",
    value: "NAME",
  },
  table: {
    name: "table",
    description:
      "Restore only this table (pg_restore --table; repeatable, one per line in the action). Default: the whole database.",
    type: "list",
    value: "NAME",
  },
  clean: {
    name: "clean",
    description:
      "In place: drop each object before recreating it (pg_restore --clean --if-exists --no-data-for-failed-tables); without it, the restore fails on objects that already exist. A swap restores into a new database, which has nothing to drop.",
    type: "boolean",
    default: "false",
  },
  noOwner: {
    name: "no-owner",
    description: "Do not set object ownership to the original owners (pg_restore --no-owner).",
    type: "boolean",
    default: "false",
  },
  strategy: {
    name: "strategy",
    description:
      "auto (default): swap for a whole-database restore into a target the role may rename (it owns it and may CREATE DATABASE), in-place otherwise; swap: restore into a new database beside the target, check rows and catalog there, then rename it into the target's place (the old one kept under a stated name); in-place: restore into the target itself (with --clean, over its objects).",
    type: "choice",
    choices: ["auto", "swap", "in-place"],
    default: "auto",
    value: "STRATEGY",
  },
  dropOld: {
    name: "drop-old",
    description:
      "With the swap strategy: drop the target's previous database once the restored one has taken its place (default: keep it under the name the output states).",
    type: "boolean",
    default: "false",
  },
  terminateConnections: {
    name: "terminate-connections",
    description:
      "With the swap strategy: end other sessions connected to the target when the databases are swapped (default: refuse while any is connected).",
    type: "boolean",
    default: "false",
  },
  noPrivileges: {
    name: "no-privileges",
    description: "Do not restore access privileges (GRANT/REVOKE) (pg_restore --no-privileges).",
    type: "boolean",
    default: "false",
  },
  trustedKey: {
    name: "trusted-key",
    description:
      "minisign public key (RW... or a minisign.pub file) whose signatures are trusted; several for key rotation (repeat the flag, or one per line in the action). When given, a backup whose manifest is unsigned or signed by another key is refused, and unsigned check records are ignored (docs/evidence.md).",
    type: "list",
    env: "LIFEBOAT_TRUSTED_KEYS",
    value: "KEY|PATH",
  },
  signingKeyFile: {
    name: "signing-key-file",
    description:
      "minisign secret key file (lifeboat keygen --signing, or minisign -G -W) to sign the manifest, check records and audit records with.",
    type: "path",
    cliOnly: true,
    value: "PATH",
  },
  signingKey: {
    name: "signing-key",
    description:
      "The minisign secret key (the key file's text, e.g. from a secret) to sign the manifest, check records and audit records with. In the CLI use --signing-key-file or LIFEBOAT_SIGNING_KEY.",
    type: "string",
    secret: true,
    actionOnly: true,
    env: "LIFEBOAT_SIGNING_KEY",
  },
  signing: {
    name: "signing",
    description:
      "Make a minisign (Ed25519) signing key pair instead: the secret key to --output, the public key beside it (.pub) and to stdout.",
    type: "boolean",
  },
  output: {
    name: "output",
    description: "File to write the identity to (created with mode 0600; refused if it exists).",
    type: "path",
    required: true,
    value: "PATH",
    expected: "a path for the new identity file",
  },
  // status (docs/status.md)
  labels: {
    name: "labels",
    description:
      "Labels to show (repeatable, or comma-separated); every label in the storage location when not given.",
    type: "list",
    env: "LIFEBOAT_LABELS",
    value: "NAME",
  },
  maxRestoreAge: {
    name: "max-restore-age",
    description:
      "A label is red when no restore-test passed within this (e.g. 8d); restore-tests are not judged when not given.",
    type: "duration",
    value: "DURATION",
  },
  minSuccessRate: {
    name: "min-success-rate",
    description: "A label is amber when its success rate over the window is below this.",
    type: "percent",
    default: "90%",
    value: "PERCENT",
  },
  window: {
    name: "window",
    description: "Backup folders per label in the success-rate window and the charts.",
    type: "integer",
    min: 1,
    max: 1000,
    default: "30",
    value: "N",
  },
  html: {
    name: "html",
    description:
      "Write the status page here: one self-contained HTML file (inline CSS and SVG, no script, no external request).",
    type: "path",
    value: "FILE",
  },
  prometheus: {
    name: "prometheus",
    description:
      "Write the figures here in the Prometheus text format, atomically (for the node_exporter textfile collector or a Pushgateway).",
    type: "path",
    value: "FILE",
  },
  // restore-test's richer checks and JUnit (docs/verification.md)
  maxTableDrift: {
    name: "max-table-drift",
    description:
      "Fail (or warn, see drift-action) when a table's row count moved more than this against the previous backup of the label, e.g. 50%.",
    type: "percent",
    value: "PERCENT",
  },
  driftAction: {
    name: "drift-action",
    description: "fail (default) or warn when max-table-drift is exceeded.",
    type: "choice",
    choices: FAIL_OR_WARN,
    default: "fail",
    value: "ACTION",
  },
  maxRestoreSeconds: {
    name: "max-restore-seconds",
    description:
      "Recovery-time budget: fail when the restore (first byte read to the end of pg_restore) took longer.",
    type: "integer",
    min: 1,
    value: "SECONDS",
  },
  junit: {
    name: "junit",
    description:
      "Write a JUnit XML report here: one test case per check and per table, for CI test reporters.",
    type: "path",
    value: "FILE",
  },
} as const satisfies Record<string, OptionSpec>;

/** The same option in a command's own words: only the description may differ. */
function worded<S extends OptionSpec>(option: S, description: string): S {
  return { ...option, description };
}

/** The option as one that `flag` (a boolean option of the same command) makes unneeded. */
function unneededWith<S extends OptionSpec>(option: S, flag: OptionSpec): S {
  return { ...option, requiredUnless: flag.name };
}

const storageOptions: OptionSpec[] = [
  OPTIONS.storage,
  OPTIONS.label,
  OPTIONS.s3Endpoint,
  OPTIONS.s3Region,
  OPTIONS.s3ForcePathStyle,
  OPTIONS.s3Checksums,
  OPTIONS.trustedKey,
];

/** The key a command signs its manifest, check records or audit records with (docs/evidence.md). */
const signingOptions: OptionSpec[] = [OPTIONS.signingKeyFile, OPTIONS.signingKey];

/** How the PostgreSQL client tools are chosen, and installed when missing (docs/pg-client.md). */
const pgClientOptions = (tool: "pg_dump" | "pg_restore"): OptionSpec[] =>
  tool === "pg_dump"
    ? [OPTIONS.pgVersion, OPTIONS.installPgClient]
    : [
        worded(
          OPTIONS.pgVersion,
          "Major version of pg_restore to use: auto (default: one that reads the archive, the same major as the pg_dump that made it when present) or a major such as 17.",
        ),
        worded(
          OPTIONS.installPgClient,
          OPTIONS.installPgClient.description.replace("no suitable pg_dump", "no suitable pg_restore"),
        ),
      ];

/** Where an action reports: the job summary always; a pull request comment and Slack on request. */
const reportOptions: OptionSpec[] = [OPTIONS.commentOnPr, OPTIONS.githubToken, ...CHANNEL_OPTIONS];

/** The files sources' (and restore-files' target's) own S3 connection, apart from the store's. */
const filesS3Options: OptionSpec[] = [
  OPTIONS.filesS3Endpoint,
  OPTIONS.filesS3Region,
  OPTIONS.filesS3ForcePathStyle,
];

const backupOptions: OptionSpec[] = [
  unneededWith(OPTIONS.databaseUrl, OPTIONS.noDatabase),
  ...storageOptions,
  OPTIONS.recipient,
  OPTIONS.passphrase,
  OPTIONS.passphraseFile,
  OPTIONS.encryption,
  OPTIONS.noEncryption,
  OPTIONS.compression,
  OPTIONS.schemaOnly,
  OPTIONS.dataOnly,
  OPTIONS.includeSchema,
  OPTIONS.excludeSchema,
  OPTIONS.includeTable,
  OPTIONS.excludeTable,
  OPTIONS.excludeTableData,
  OPTIONS.preset,
  OPTIONS.includeRoles,
  OPTIONS.files,
  OPTIONS.noDatabase,
  ...filesS3Options,
  OPTIONS.filesOnChange,
  OPTIONS.storageObjectsMismatch,
  OPTIONS.pgDumpArgs,
  OPTIONS.pgBinDir,
  ...pgClientOptions("pg_dump"),
  OPTIONS.s3Sse,
  OPTIONS.objectLockMode,
  OPTIONS.objectLockDays,
  OPTIONS.s3SseKmsKeyId,
  OPTIONS.minDestinations,
];

const copyOptions: OptionSpec[] = [
  OPTIONS.from,
  OPTIONS.to,
  OPTIONS.label,
  worded(
    OPTIONS.backup,
    "Which backups to copy: latest (default: the newest intact one), a backup id, or all (every intact backup the destination lacks).",
  ),
  OPTIONS.s3Endpoint,
  OPTIONS.s3Region,
  OPTIONS.s3ForcePathStyle,
  OPTIONS.s3Checksums,
  OPTIONS.identityFile,
  OPTIONS.identity,
  worded(
    OPTIONS.passphraseFile,
    "For backups made with a passphrase: a file whose first line is the passphrase, to decrypt the copies as a check.",
  ),
  worded(
    OPTIONS.passphrase,
    "For backups made with a passphrase: the passphrase, to decrypt the copies as a check. In the CLI use --passphrase-file or LIFEBOAT_PASSPHRASE.",
  ),
  worded(
    OPTIONS.objectLockMode,
    "S3 Object Lock retention for the copied objects at the destination: GOVERNANCE or COMPLIANCE (with object-lock-days; the destination bucket must have Object Lock enabled).",
  ),
  worded(
    OPTIONS.objectLockDays,
    "Days each copied backup stays locked at the destination, from the copy (with object-lock-mode).",
  ),
];

const pruneOptions: OptionSpec[] = [
  ...storageOptions,
  OPTIONS.keepLast,
  OPTIONS.keepHourly,
  OPTIONS.keepDaily,
  OPTIONS.keepWeekly,
  OPTIONS.keepMonthly,
  OPTIONS.keepYearly,
  OPTIONS.keepWithin,
  OPTIONS.minVerified,
  OPTIONS.safeAge,
  OPTIONS.dryRun,
];

const decryptionOptions: OptionSpec[] = [
  OPTIONS.identityFile,
  OPTIONS.identity,
  worded(
    OPTIONS.passphraseFile,
    "For a backup made with a passphrase: a file whose first line is the passphrase.",
  ),
  worded(
    OPTIONS.passphrase,
    "For a backup made with a passphrase: the passphrase. In the CLI use --passphrase-file or LIFEBOAT_PASSPHRASE.",
  ),
  worded(
    OPTIONS.pgBinDir,
    "Directory holding the pg_restore to use. By default one that reads the archive's version, from /usr/lib/postgresql/<major>/bin or PATH.",
  ),
  ...pgClientOptions("pg_restore"),
];

const verifyOptions: OptionSpec[] = [
  ...storageOptions,
  OPTIONS.backup,
  ...decryptionOptions,
  OPTIONS.maxAge,
  OPTIONS.maxSizeChange,
  OPTIONS.sizeChangeAction,
  OPTIONS.minSize,
  OPTIONS.junit,
];

const restoreTestOptions: OptionSpec[] = [
  ...storageOptions,
  OPTIONS.backup,
  ...decryptionOptions,
  OPTIONS.scratchDatabaseUrl,
  OPTIONS.assertions,
  OPTIONS.run,
  OPTIONS.runEnv,
  OPTIONS.tolerate,
  OPTIONS.keepOnFailure,
  OPTIONS.decryptToDisk,
  OPTIONS.jobs,
  OPTIONS.pgRestoreArgs,
  OPTIONS.mask,
  OPTIONS.maskedStorage,
  OPTIONS.maskedLabel,
  OPTIONS.maskedRecipient,
  OPTIONS.maskingKey,
  OPTIONS.maskingKeyFile,
  OPTIONS.maskCoverage,
  OPTIONS.maxTableDrift,
  OPTIONS.driftAction,
  OPTIONS.maxRestoreSeconds,
  OPTIONS.junit,
];

const statusOptions: OptionSpec[] = [
  OPTIONS.storage,
  OPTIONS.labels,
  OPTIONS.s3Endpoint,
  OPTIONS.s3Region,
  OPTIONS.s3ForcePathStyle,
  OPTIONS.s3Checksums,
  OPTIONS.trustedKey,
  worded(OPTIONS.maxAge, "A label is red when its newest good backup is older than this (default 26h)."),
  OPTIONS.maxRestoreAge,
  OPTIONS.minSuccessRate,
  OPTIONS.window,
  OPTIONS.html,
  OPTIONS.prometheus,
];

const restoreOptions: OptionSpec[] = [
  ...storageOptions,
  worded(
    OPTIONS.backup,
    "Which backup to restore: latest (the newest committed one under the label), a backup id, or before:<ISO time> (the newest one started at or before it, e.g. before:2026-11-22T01:00:00Z).",
  ),
  ...decryptionOptions,
  OPTIONS.targetDatabaseUrl,
  OPTIONS.confirm,
  OPTIONS.safetyBackup,
  OPTIONS.safetyLabel,
  OPTIONS.schema,
  OPTIONS.table,
  OPTIONS.clean,
  OPTIONS.noOwner,
  OPTIONS.noPrivileges,
  OPTIONS.strategy,
  OPTIONS.dropOld,
  OPTIONS.terminateConnections,
  worded(
    OPTIONS.pgRestoreArgs,
    "Extra pg_restore arguments, separated by spaces (e.g. --no-tablespaces --no-comments); the same allow-list as restore-test's. Connection, output, list, job and scope flags are refused (use --schema, --table, --clean).",
  ),
];

const restoreFilesOptions: OptionSpec[] = [
  ...storageOptions,
  worded(
    OPTIONS.backup,
    "Which backup's files to restore: latest (the newest committed one under the label), a backup id, or before:<ISO time>.",
  ),
  OPTIONS.identityFile,
  OPTIONS.identity,
  worded(
    OPTIONS.passphraseFile,
    "For a backup made with a passphrase: a file whose first line is the passphrase.",
  ),
  worded(
    OPTIONS.passphrase,
    "For a backup made with a passphrase: the passphrase. In the CLI use --passphrase-file or LIFEBOAT_PASSPHRASE.",
  ),
  OPTIONS.filesSource,
  worded(
    OPTIONS.to,
    "Where restore-files puts the files: s3://BUCKET[/PREFIX] (through the files-s3-* options and LIFEBOAT_FILES_AWS_* credentials) or a directory (created if missing).",
  ),
  worded(
    OPTIONS.confirm,
    "The target typed out: its bucket name for s3://BUCKET[/PREFIX], or the directory as given in to (or its absolute path). The restore is refused otherwise.",
  ),
  OPTIONS.overwrite,
  ...filesS3Options,
];

export const COMMANDS: CommandSpec[] = [
  {
    command: "backup",
    action: "backup-db",
    summary: "Dump a PostgreSQL database with pg_dump, encrypt it with age and stream it into storage.",
    options: [...backupOptions, ...signingOptions, ...reportOptions],
    outputs: [
      { name: "backup-id", description: "Id of the new backup (YYYYMMDDTHHMMSSZ-<random>)." },
      { name: "backup-key", description: "Storage key of the encrypted dump, relative to the storage URL." },
      { name: "manifest-key", description: "Storage key of the manifest, relative to the storage URL." },
      { name: "stored-bytes", description: "Size of the stored dump object in bytes." },
      { name: "sha256", description: "sha256 of the stored dump object." },
      { name: "duration-seconds", description: "Wall time of the backup in seconds." },
    ],
  },
  {
    command: "list",
    summary: "List the backups under a label, newest first.",
    options: storageOptions,
    outputs: [],
  },
  {
    command: "prune",
    action: "prune",
    summary:
      "Delete the backups a retention policy does not keep: never the newest, never below min-verified, never a locked one.",
    options: [...pruneOptions, ...signingOptions, ...reportOptions],
    outputs: [
      { name: "kept", description: "Number of backups kept." },
      {
        name: "deleted",
        description:
          "Number of backup folders deleted (with dry-run: that would be deleted), incomplete ones included.",
      },
      {
        name: "freed-bytes",
        description: "Bytes freed by the deletions (with dry-run: that would be freed).",
      },
    ],
  },
  {
    command: "verify",
    action: "verify-backup",
    summary:
      "Check a backup against its manifest: the stored object's sha256 and size, and with the identity its decrypted archive; plus freshness and size gates.",
    options: [...verifyOptions, ...signingOptions, ...reportOptions],
    outputs: [
      { name: "verified", description: "true when every check passed, else false." },
      { name: "backup-id", description: "Id of the backup that was checked." },
      { name: "backup-age-seconds", description: "Age of that backup in seconds." },
      { name: "stored-bytes", description: "Size of its stored object in bytes." },
      { name: "reason", description: "Why verification failed (empty when it passed)." },
    ],
  },
  {
    command: "restore-test",
    action: "restore-test",
    summary:
      "Restore a backup into a fresh scratch database, compare every table's row count with the manifest, run assertions and a command against it, then drop it.",
    options: [...restoreTestOptions, ...signingOptions, ...reportOptions, OPTIONS.reportArtifact],
    outputs: [
      { name: "passed", description: "true when the restore and every check passed, else false." },
      { name: "backup-id", description: "Id of the backup that was restored." },
      { name: "restore-seconds", description: "Seconds from the first byte read to the end of pg_restore." },
      { name: "tables-checked", description: "Number of tables whose row counts were compared." },
      { name: "mismatches", description: "Number of tables whose row count differs from the manifest." },
      {
        name: "masked-backup-id",
        description:
          "With mask: the id of the masked copy written under masked-label (empty when none was written).",
      },
      { name: "reason", description: "Why the test failed (empty when it passed)." },
    ],
  },
  {
    command: "status",
    summary:
      "Every label at a glance: newest backup and its age, last verify and restore-test, success rate, stored size and trend, and a verdict per label (exit 1 when any is red); as text, JSON, an HTML page or Prometheus metrics.",
    options: statusOptions,
    outputs: [],
  },
  {
    command: "restore",
    action: "restore-db",
    summary:
      "Restore a backup into a target database, refused unless confirm names it: into a new database that is checked and then swapped in where the role may rename the target, in place otherwise; a safety backup of the target is taken first.",
    options: [...restoreOptions, ...signingOptions, ...reportOptions],
    outputs: [
      { name: "backup-id", description: "Id of the backup that was restored." },
      {
        name: "safety-backup-id",
        description:
          "Id of the safety backup of the target taken before the restore (under safety-label); empty when safety-backup is false.",
      },
      { name: "restore-seconds", description: "Seconds from the first byte read to the end of pg_restore." },
      { name: "strategy", description: "swap or in-place: how the backup was restored (docs/restore.md)." },
      {
        name: "old-database",
        description:
          "After a swap: the name the target's previous database is kept under; empty when drop-old dropped it, or in place.",
      },
    ],
  },
  {
    command: "copy",
    action: "copy-backup",
    summary:
      "Copy committed backups of a label from one store to another, artifacts first and manifest last, re-reading each copy against the manifest; only what the destination lacks.",
    options: [...copyOptions, ...reportOptions],
    outputs: [
      { name: "copied", description: "Number of backups copied." },
      { name: "skipped", description: "Number of backups the destination already held." },
      { name: "copied-bytes", description: "Bytes written to the destination." },
    ],
  },
  {
    command: "restore-files",
    action: "restore-files",
    summary:
      "Put a backup's files (a --files source) back into a bucket or a directory, refused unless confirm names the target; existing files are kept unless overwrite.",
    options: [...restoreFilesOptions, ...reportOptions],
    outputs: [
      { name: "backup-id", description: "Id of the backup whose files were restored." },
      { name: "written", description: "Files and links written." },
      { name: "skipped", description: "Files left alone because they already exist at the target." },
      { name: "failed", description: "Files that could not be written or do not match the index." },
      { name: "bytes", description: "Bytes of file content written." },
    ],
  },
  {
    command: "doctor",
    summary:
      "Diagnose a connection before a backup: DNS and IPv4/IPv6 reachability, Supabase poolers, TLS, authentication, the server's version, and a pg_dump that can dump it.",
    options: [
      OPTIONS.databaseUrl,
      worded(
        OPTIONS.preset,
        "none (default), or supabase: check privileges only in the schemas the supabase preset dumps.",
      ),
      OPTIONS.pgBinDir,
      ...pgClientOptions("pg_dump"),
    ],
    outputs: [],
  },
  {
    command: "rekey",
    summary:
      "Re-wrap the age file key of existing backups for new recipients (key rotation): the payload is untouched, the header and the manifest are rewritten; needs the old identity.",
    options: [
      ...storageOptions,
      worded(
        OPTIONS.backup,
        "Which backups to rekey: latest (the newest committed one under the label), a backup id, or all (every intact backup of the label).",
      ),
      ...decryptionOptions,
      worded(
        OPTIONS.recipient,
        "age public key (age1...) of the new recipients (repeat the flag for several): afterwards only their identities open the rekeyed backups.",
      ),
      ...signingOptions,
    ],
    outputs: [],
  },
  {
    command: "audit",
    summary:
      "List a label's audit trail (restores, prunes): who, when, what, the outcome; with --trusted-key, each record's signature is checked and an unsigned one fails.",
    options: storageOptions,
    outputs: [],
  },
  {
    command: "keygen",
    summary:
      "Make an age key pair: the identity (secret) to a file, the recipient (public) to stdout; with --signing, a minisign signing key pair.",
    options: [OPTIONS.output, OPTIONS.signing],
    outputs: [],
  },
];

export const GLOBAL_CLI_OPTIONS: OptionSpec[] = [
  { name: "json", description: "Print one JSON object with the result on stdout.", type: "boolean" },
  { name: "debug", description: "Print stack traces with errors.", type: "boolean" },
  {
    name: "quiet",
    description: "Print no progress or information lines on stderr (warnings and errors still show).",
    type: "boolean",
  },
  { name: "help", description: "Show this help.", type: "boolean" },
];

export function commandSpec(command: string): CommandSpec {
  const spec = COMMANDS.find((candidate) => candidate.command === command);
  if (!spec) throw new Error(`no command ${command}`);
  return spec;
}

/**
 * The option's description, naming its accepted values when the description does not already:
 * --help and action.yml both show it, so a choice added to the table is never missing from either.
 */
export function describeOption(option: OptionSpec): string {
  const accepted =
    option.type === "choice"
      ? [...(option.choices ?? [])]
      : option.type === "true-false"
        ? [...(option.choices ?? []), "true", "false"]
        : [];
  const unnamed = accepted.filter((choice) => !option.description.includes(choice));
  const description = option.requiredUnless
    ? `${option.description} Required unless ${option.requiredUnless} is true.`
    : option.description;
  return unnamed.length === 0 ? description : `${description} One of: ${accepted.join(", ")}.`;
}
