/**
 * Every option of every command, in one place: the CLI's flags, the actions' inputs (the same
 * names, kebab-case), their help text and defaults. actions/<name>/action.yml is generated from
 * this table (scripts/sync-actions.ts) and a test keeps the two equal.
 */
import { CHANNEL_OPTIONS } from "../report/channels/index.js";

export type OptionType = "string" | "boolean" | "list";

export interface OptionSpec {
  name: string;
  description: string;
  type: OptionType;
  /** Default for both edges, as the text a user would type. */
  default?: string;
  /** Where the edges differ: the CLI's default (e.g. a local directory to try things out). */
  cliDefault?: string;
  /** Environment variable the CLI falls back to. */
  env?: string;
  /** Masked in the action before anything is logged; never echoed by the CLI. */
  secret?: boolean;
  required?: boolean;
  cliOnly?: boolean;
  actionOnly?: boolean;
  /** Placeholder in --help, e.g. URL. */
  value?: string;
}

export interface OutputSpec {
  name: string;
  description: string;
}

export interface CommandSpec {
  /** CLI subcommand. */
  command: string;
  /** Action folder under actions/, when the command has an action. */
  action?: string;
  summary: string;
  options: OptionSpec[];
  outputs: OutputSpec[];
}

const storageOptions: OptionSpec[] = [
  {
    name: "storage",
    description:
      "Where backups live: s3://bucket/prefix (AWS S3 or any S3-compatible store), file:///absolute/path, or a directory path.",
    type: "string",
    required: true,
    cliDefault: "./backups",
    env: "LIFEBOAT_STORAGE",
    value: "URL",
  },
  {
    name: "label",
    description:
      "Separates databases and environments in one storage location: backups go under <storage>/<label>/.",
    type: "string",
    default: "default",
    env: "LIFEBOAT_LABEL",
    value: "NAME",
  },
  {
    name: "s3-endpoint",
    description:
      "Endpoint of an S3-compatible store (R2, B2, MinIO, Supabase Storage, GCS interop); empty for AWS S3.",
    type: "string",
    env: "AWS_ENDPOINT_URL_S3",
    value: "URL",
  },
  {
    name: "s3-region",
    description: "S3 region; empty for the SDK's default chain (AWS_REGION), or us-east-1.",
    type: "string",
    value: "REGION",
  },
  {
    name: "s3-force-path-style",
    description:
      "Address the bucket in the path (https://endpoint/bucket/key), as MinIO and some stores need.",
    type: "boolean",
    default: "false",
  },
  {
    name: "s3-checksums",
    description:
      "when-required (default: checksums only where the S3 API demands them, which S3-compatible stores accept) or when-supported (the AWS SDK's default).",
    type: "string",
    default: "when-required",
    value: "MODE",
  },
];

/** How the PostgreSQL client tools are chosen, and installed when missing (docs/pg-client.md). */
const pgClientOptions = (tool: "pg_dump" | "pg_restore"): OptionSpec[] => [
  {
    name: "pg-version",
    description: `Major version of ${tool} to use: auto (default: ${tool === "pg_dump" ? "the server's own major when present, else the nearest newer one" : "one that reads the archive, the same major as the pg_dump that made it when present"}) or a major such as 17.`,
    type: "string",
    default: "auto",
    value: "MAJOR",
  },
  {
    name: "install-pg-client",
    description: `auto: when no suitable ${tool} is on the machine and it runs Linux with apt, download postgresql-client-<major> from the PostgreSQL apt repository into a tool directory (cached with actions/cache in Actions) without touching the system; never: use only what is installed.`,
    type: "string",
    default: "auto",
    cliDefault: "never",
    value: "MODE",
  },
];

/** Where an action reports: the job summary always; a pull request comment and Slack on request. */
const reportOptions: OptionSpec[] = [
  {
    name: "comment-on-pr",
    description:
      "auto (default): on pull_request events, keep one comment per label and action on the pull request, updated in place on every run; never: no comment.",
    type: "string",
    default: "auto",
    actionOnly: true,
    value: "MODE",
  },
  {
    name: "github-token",
    description:
      "Token for the pull request comment. The default GITHUB_TOKEN works when the job has pull-requests: write; without that right the comment is skipped with a warning.",
    type: "string",
    default: "${{ github.token }}",
    secret: true,
    actionOnly: true,
  },
  ...CHANNEL_OPTIONS,
];

const backupOptions: OptionSpec[] = [
  {
    name: "database-url",
    description:
      "PostgreSQL connection URL of the database to back up: postgresql://user:password@host:port/database.",
    type: "string",
    required: true,
    env: "DATABASE_URL",
    secret: true,
    value: "URL",
  },
  ...storageOptions,
  {
    name: "recipient",
    description:
      "age public key (age1...) that can decrypt the backup; several for key rotation (repeat the flag, or one per line in the action). Only public keys: the backup never needs a secret.",
    type: "list",
    env: "LIFEBOAT_RECIPIENTS",
    value: "AGE1...",
  },
  {
    name: "passphrase",
    description:
      "Encrypt with this passphrase (age scrypt) instead of public keys. In the CLI use --passphrase-file or LIFEBOAT_PASSPHRASE.",
    type: "string",
    secret: true,
    actionOnly: true,
    env: "LIFEBOAT_PASSPHRASE",
  },
  {
    name: "passphrase-file",
    description:
      "Read the passphrase (age scrypt) from this file instead of using public keys; its first line counts.",
    type: "string",
    cliOnly: true,
    value: "PATH",
  },
  {
    name: "encryption",
    description: "age (default), or none to store the dump unencrypted (an explicit opt-out).",
    type: "string",
    default: "age",
    value: "MODE",
  },
  {
    name: "no-encryption",
    description: "Same as --encryption none.",
    type: "boolean",
    cliOnly: true,
  },
  {
    name: "compression",
    description:
      "pg_dump's compression: auto (zstd with pg_dump 16+, else gzip:1), none, gzip[:1-9], lz4[:1-12], zstd[:1-22].",
    type: "string",
    default: "auto",
    value: "METHOD",
  },
  { name: "schema-only", description: "Dump the schema only, no data.", type: "boolean", default: "false" },
  { name: "data-only", description: "Dump the data only, no schema.", type: "boolean", default: "false" },
  {
    name: "include-schema",
    description: "Dump only schemas matching this pg_dump pattern (repeatable; one per line in the action).",
    type: "list",
    value: "PATTERN",
  },
  {
    name: "exclude-schema",
    description: "Leave out schemas matching this pg_dump pattern (repeatable).",
    type: "list",
    value: "PATTERN",
  },
  {
    name: "include-table",
    description: "Dump only tables matching this pg_dump pattern (repeatable).",
    type: "list",
    value: "PATTERN",
  },
  {
    name: "exclude-table",
    description: "Leave out tables matching this pg_dump pattern (repeatable).",
    type: "list",
    value: "PATTERN",
  },
  {
    name: "exclude-table-data",
    description: "Keep these tables' definitions but not their rows (repeatable).",
    type: "list",
    value: "PATTERN",
  },
  {
    name: "preset",
    description:
      "none (default), or supabase: the schemas a Supabase project's user owns in full, the data of auth and storage, none of the platform's own schemas, plus the roles (docs/supabase.md).",
    type: "string",
    default: "none",
    value: "NAME",
  },
  {
    name: "include-roles",
    description:
      "auto (default: true with preset supabase), true or false: also store the roles (pg_dumpall --roles-only --no-role-passwords) as a second encrypted object, roles.sql.age, that restore-test applies first.",
    type: "string",
    default: "auto",
    value: "BOOL",
  },
  {
    name: "pg-dump-args",
    description:
      "Extra pg_dump arguments, separated by spaces (e.g. --no-owner --no-privileges). Output, format, connection and scope flags are refused: they have options of their own.",
    type: "string",
    value: "ARGS",
  },
  {
    name: "pg-bin-dir",
    description:
      "Directory holding the pg_dump to use. By default one that can dump the server, from /usr/lib/postgresql/<major>/bin or PATH: the server's own major if present, else the nearest newer one.",
    type: "string",
    value: "DIR",
  },
  ...pgClientOptions("pg_dump"),
  {
    name: "s3-sse",
    description: "Server-side encryption for stored objects: AES256 or aws:kms (with s3-sse-kms-key-id).",
    type: "string",
    value: "MODE",
  },
  {
    name: "object-lock-mode",
    description:
      "S3 Object Lock retention for the dump and manifest: GOVERNANCE or COMPLIANCE (with object-lock-days; the bucket must have Object Lock enabled). A leaked credential then cannot delete backups either; prune leaves them alone until the lock expires.",
    type: "string",
    value: "MODE",
  },
  {
    name: "object-lock-days",
    description: "Days each backup stays locked (with object-lock-mode).",
    type: "string",
    value: "DAYS",
  },
  {
    name: "s3-sse-kms-key-id",
    description: "KMS key id for s3-sse aws:kms.",
    type: "string",
    value: "KEY",
  },
];

const keepCount = (period: string): OptionSpec => ({
  name: `keep-${period}`,
  description:
    period === "last"
      ? "Keep the N newest backups."
      : `Keep the newest backup in each of the last N ${{ hourly: "hours", daily: "days", weekly: "ISO weeks (Monday to Sunday)", monthly: "months", yearly: "years" }[period]} that have a backup (UTC).`,
  type: "string",
  value: "N",
});

const pruneOptions: OptionSpec[] = [
  ...storageOptions,
  keepCount("last"),
  keepCount("hourly"),
  keepCount("daily"),
  keepCount("weekly"),
  keepCount("monthly"),
  keepCount("yearly"),
  {
    name: "keep-within",
    description:
      "Keep every backup taken less than this long before the newest backup: a duration such as 36h, 7d, 2w or 1d12h (units w, d, h, m, s).",
    type: "string",
    value: "DURATION",
  },
  {
    name: "min-verified",
    description:
      "Never leave fewer than this many backups with a passing restore-test or deep verify (when fewer exist, every one is kept and prune warns).",
    type: "string",
    default: "1",
    value: "N",
  },
  {
    name: "safe-age",
    description:
      "Folders without a manifest (failed or interrupted backups) are removed only once older than this (at least 1h), so a backup in flight is never touched.",
    type: "string",
    default: "24h",
    value: "DURATION",
  },
  {
    name: "dry-run",
    description: "Print every decision with its reason and delete nothing.",
    type: "boolean",
    default: "false",
  },
];

const decryptionOptions: OptionSpec[] = [
  {
    name: "identity-file",
    description:
      "File holding the age identity (AGE-SECRET-KEY-1...) that decrypts the backup. Only jobs that decrypt need it.",
    type: "string",
    cliOnly: true,
    value: "PATH",
  },
  {
    name: "identity",
    description:
      "The age identity (AGE-SECRET-KEY-1...) that decrypts the backup, e.g. from a secret. In the CLI use --identity-file or LIFEBOAT_IDENTITY.",
    type: "string",
    secret: true,
    actionOnly: true,
    env: "LIFEBOAT_IDENTITY",
  },
  {
    name: "passphrase-file",
    description: "For a backup made with a passphrase: a file whose first line is the passphrase.",
    type: "string",
    cliOnly: true,
    value: "PATH",
  },
  {
    name: "passphrase",
    description:
      "For a backup made with a passphrase: the passphrase. In the CLI use --passphrase-file or LIFEBOAT_PASSPHRASE.",
    type: "string",
    secret: true,
    actionOnly: true,
    env: "LIFEBOAT_PASSPHRASE",
  },
  {
    name: "pg-bin-dir",
    description:
      "Directory holding the pg_restore to use. By default one that reads the archive's version, from /usr/lib/postgresql/<major>/bin or PATH.",
    type: "string",
    value: "DIR",
  },
  ...pgClientOptions("pg_restore"),
];

const backupSelector: OptionSpec = {
  name: "backup",
  description: "Which backup: latest (the newest committed one under the label) or a backup id.",
  type: "string",
  default: "latest",
  value: "ID",
};

const verifyOptions: OptionSpec[] = [
  ...storageOptions,
  backupSelector,
  ...decryptionOptions,
  {
    name: "max-age",
    description:
      "Fail when the newest backup under the label is older than this (e.g. 26h): a dead-man's switch for scheduled backups.",
    type: "string",
    value: "DURATION",
  },
  {
    name: "max-size-change",
    description:
      "Fail (or warn, see size-change-action) when the stored size moved more than this against the previous backup, e.g. 50%.",
    type: "string",
    value: "PERCENT",
  },
  {
    name: "size-change-action",
    description: "fail (default) or warn when max-size-change is exceeded.",
    type: "string",
    default: "fail",
    value: "ACTION",
  },
  {
    name: "min-size",
    description: "Fail when the stored object is smaller than this, e.g. 1MB.",
    type: "string",
    value: "SIZE",
  },
];

const restoreTestOptions: OptionSpec[] = [
  ...storageOptions,
  backupSelector,
  ...decryptionOptions,
  {
    name: "scratch-database-url",
    description:
      "PostgreSQL server to restore into, as a URL whose role may CREATE DATABASE (a service container's superuser, say). A fresh database with a unique name is created there and dropped afterwards.",
    type: "string",
    required: true,
    secret: true,
    env: "LIFEBOAT_SCRATCH_DATABASE_URL",
    value: "URL",
  },
  {
    name: "assertions",
    description:
      "SQL file of checks run against the restored copy: every statement must return one row whose first column is true.",
    type: "string",
    value: "PATH",
  },
  {
    name: "run",
    description:
      "Shell command run against the restored copy, with DATABASE_URL (and PGHOST, PGPORT, PGDATABASE, PGUSER, PGPASSWORD) pointing at it: where a deploy's migrations are rehearsed on real data.",
    type: "string",
    value: "COMMAND",
  },
  {
    name: "tolerate",
    description:
      "Regular expression for pg_restore errors that do not fail the test (repeatable; one per line in the action), e.g. role .* does not exist.",
    type: "list",
    value: "REGEX",
  },
  {
    name: "keep-on-failure",
    description: "Keep the scratch database when the test fails, for inspection.",
    type: "boolean",
    default: "false",
  },
  {
    name: "decrypt-to-disk",
    description:
      "auto (default): decrypt to a private temporary file when it fits on local disk, for a parallel pg_restore; never: stream into pg_restore, so no plaintext ever touches the disk.",
    type: "string",
    default: "auto",
    value: "MODE",
  },
  {
    name: "jobs",
    description:
      "pg_restore's parallel jobs when the decrypted archive fits on local disk (default: CPUs, at most 4).",
    type: "string",
    value: "N",
  },
  {
    name: "pg-restore-args",
    description:
      "Extra pg_restore arguments, separated by spaces (e.g. --no-owner --no-privileges). Connection, output, list and job flags are refused.",
    type: "string",
    value: "ARGS",
  },
];

const restoreOptions: OptionSpec[] = [
  ...storageOptions,
  {
    name: "backup",
    description:
      "Which backup to restore: latest (the newest committed one under the label), a backup id, or before:<ISO time> (the newest one started at or before it, e.g. before:2026-11-22T01:00:00Z).",
    type: "string",
    default: "latest",
    value: "ID",
  },
  ...decryptionOptions,
  {
    name: "target-database-url",
    description:
      "PostgreSQL connection URL of the database to restore into (it must exist): postgresql://user:password@host:port/database.",
    type: "string",
    required: true,
    secret: true,
    env: "LIFEBOAT_TARGET_DATABASE_URL",
    value: "URL",
  },
  {
    name: "confirm",
    description:
      "The target database's name, typed out: the restore is refused unless it equals the database name in target-database-url (and current_database() once connected).",
    type: "string",
    required: true,
    value: "DATABASE",
  },
  {
    name: "safety-backup",
    description:
      "true (default): first back up the target database into the same storage, encrypted to the same keys as the backup being restored, so that the restore can be undone; false to skip it.",
    type: "string",
    default: "true",
    value: "BOOL",
  },
  {
    name: "safety-label",
    description: "Label of the safety backup (default: <label>-safety).",
    type: "string",
    value: "NAME",
  },
  {
    name: "schema",
    description:
      "Restore only this schema (pg_restore --schema; repeatable, one per line in the action). Default: the whole database.",
    type: "list",
    value: "NAME",
  },
  {
    name: "table",
    description:
      "Restore only this table (pg_restore --table; repeatable, one per line in the action). Default: the whole database.",
    type: "list",
    value: "NAME",
  },
  {
    name: "clean",
    description:
      "Drop each object before recreating it (pg_restore --clean --if-exists); without it, the restore fails on objects that already exist.",
    type: "boolean",
    default: "false",
  },
  {
    name: "no-owner",
    description: "Do not set object ownership to the original owners (pg_restore --no-owner).",
    type: "boolean",
    default: "false",
  },
  {
    name: "no-privileges",
    description: "Do not restore access privileges (GRANT/REVOKE) (pg_restore --no-privileges).",
    type: "boolean",
    default: "false",
  },
];

export const COMMANDS: CommandSpec[] = [
  {
    command: "backup",
    action: "backup-db",
    summary: "Dump a PostgreSQL database with pg_dump, encrypt it with age and stream it into storage.",
    options: [...backupOptions, ...reportOptions],
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
    options: [...pruneOptions, ...reportOptions],
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
    options: [...verifyOptions, ...reportOptions],
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
    options: [
      ...restoreTestOptions,
      ...reportOptions,
      {
        name: "report-artifact",
        description:
          "auto (default): upload the restore-test report (pg_restore log, assertion and command output) as a workflow artifact when the artifact service is available, with a notice when it is not; never: do not upload.",
        type: "string",
        default: "auto",
        actionOnly: true,
        value: "MODE",
      },
    ],
    outputs: [
      { name: "passed", description: "true when the restore and every check passed, else false." },
      { name: "backup-id", description: "Id of the backup that was restored." },
      { name: "restore-seconds", description: "Seconds from the first byte read to the end of pg_restore." },
      { name: "tables-checked", description: "Number of tables whose row counts were compared." },
      { name: "mismatches", description: "Number of tables whose row count differs from the manifest." },
      { name: "reason", description: "Why the test failed (empty when it passed)." },
    ],
  },
  {
    command: "restore",
    action: "restore-db",
    summary:
      "Restore a backup into a target database, refused unless confirm names it; a safety backup of the target is taken first.",
    options: [...restoreOptions, ...reportOptions],
    outputs: [
      { name: "backup-id", description: "Id of the backup that was restored." },
      {
        name: "safety-backup-id",
        description:
          "Id of the safety backup of the target taken before the restore (under safety-label); empty when safety-backup is false.",
      },
      { name: "restore-seconds", description: "Seconds from the first byte read to the end of pg_restore." },
    ],
  },
  {
    command: "doctor",
    summary:
      "Diagnose a connection before a backup: DNS and IPv4/IPv6 reachability, Supabase poolers, TLS, authentication, the server's version, and a pg_dump that can dump it.",
    options: [
      backupOptions.find((option) => option.name === "database-url")!,
      {
        ...backupOptions.find((option) => option.name === "preset")!,
        description:
          "none (default), or supabase: check privileges only in the schemas the supabase preset dumps.",
      },
      backupOptions.find((option) => option.name === "pg-bin-dir")!,
      ...pgClientOptions("pg_dump"),
    ],
    outputs: [],
  },
  {
    command: "keygen",
    summary: "Make an age key pair: the identity (secret) to a file, the recipient (public) to stdout.",
    options: [
      {
        name: "output",
        description: "File to write the identity to (created with mode 0600; refused if it exists).",
        type: "string",
        required: true,
        value: "PATH",
      },
    ],
    outputs: [],
  },
];

export const GLOBAL_CLI_OPTIONS: OptionSpec[] = [
  { name: "json", description: "Print one JSON object with the result on stdout.", type: "boolean" },
  { name: "debug", description: "Print stack traces with errors.", type: "boolean" },
  { name: "help", description: "Show this help.", type: "boolean" },
];

export function commandSpec(command: string): CommandSpec {
  const spec = COMMANDS.find((candidate) => candidate.command === command);
  if (!spec) throw new Error(`no command ${command}`);
  return spec;
}
