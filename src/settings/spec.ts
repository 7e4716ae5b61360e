/**
 * Every option of every command, in one place: the CLI's flags, the actions' inputs (the same
 * names, kebab-case), their help text and defaults. actions/<name>/action.yml is generated from
 * this table (scripts/sync-actions.ts) and a test keeps the two equal.
 */
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
  {
    name: "s3-sse",
    description: "Server-side encryption for stored objects: AES256 or aws:kms (with s3-sse-kms-key-id).",
    type: "string",
    value: "MODE",
  },
  {
    name: "s3-sse-kms-key-id",
    description: "KMS key id for s3-sse aws:kms.",
    type: "string",
    value: "KEY",
  },
];

export const COMMANDS: CommandSpec[] = [
  {
    command: "backup",
    action: "backup-db",
    summary: "Dump a PostgreSQL database with pg_dump, encrypt it with age and stream it into storage.",
    options: backupOptions,
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
