/**
 * Raw option values (from CLI flags and the environment, or from action inputs) parsed once into
 * typed settings. Every error names the option and what was expected, and is raised before
 * anything is read from or written to a database or a store.
 */
import { readFileSync } from "node:fs";
import { parseDatabaseUrl, type DatabaseUrl } from "../domain/database-url.js";
import { InputError } from "../domain/errors.js";
import { emptyScope, validateExtraArgs, validateScope } from "../domain/dump-plan.js";
import { validateLabel } from "../domain/layout.js";
import { applyPreset, parseIncludeRoles, parsePreset, type Preset } from "../domain/supabase-preset.js";
import type { DumpScope } from "../domain/manifest.js";
import { parsePercent, parseSize } from "../domain/size.js";
import type { VerifySettings } from "../commands/verify.js";
import type { RestoreTestSettings } from "../commands/restore-test.js";
import type { RestoreSettings } from "../commands/restore.js";
import { availableParallelism } from "node:os";
import { splitSqlStatements } from "../domain/sql-split.js";
import type { DecryptionKeys } from "../commands/read-backup.js";
import { formatDuration, parseDurationOption } from "../domain/duration.js";
import { validatePolicy, type RetentionPolicy } from "../domain/retention.js";
import type { PgClientSettings } from "../postgres/pg-dump-finder.js";

export type RawValue = string | string[] | boolean | undefined;
export type RawOptions = Record<string, RawValue>;

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

export interface BackupSettings extends StorageSettings {
  /** S3 Object Lock on the dump and manifest: retention mode and days. */
  objectLock?: { mode: "GOVERNANCE" | "COMPLIANCE"; days: number } | undefined;
  databaseUrl: DatabaseUrl;
  encryption: EncryptionSettings;
  compression: string;
  scope: DumpScope;
  extraArgs: string[];
  pgBinDir: string | undefined;
  pgVersion: PgClientSettings["pgVersion"];
  installPgClient: PgClientSettings["installPgClient"];
  /** The dump preset; absent means none (the scope already has the preset applied). */
  preset?: Preset;
  /** Also store the roles object (roles.sql.age); absent means false. */
  includeRoles?: boolean;
}

export function text(raw: RawOptions, name: string): string | undefined {
  const value = raw[name];
  if (Array.isArray(value)) return value.at(-1)?.trim() || undefined;
  if (typeof value === "boolean") return String(value);
  return value?.trim() || undefined;
}

export function required(raw: RawOptions, name: string, expected: string): string {
  const value = text(raw, name);
  if (value === undefined) throw new InputError(`--${name}: required; expected ${expected}`, { input: name });
  return value;
}

/** A list option: repeated flags, and each value split on new lines (action inputs) and commas. */
export function list(raw: RawOptions, name: string): string[] {
  const value = raw[name];
  const values = Array.isArray(value) ? value : typeof value === "string" ? [value] : [];
  return values
    .flatMap((item) => item.split(/[\n,]/))
    .map((item) => item.trim())
    .filter((item) => item !== "" && !item.startsWith("#"));
}

export function flag(raw: RawOptions, name: string): boolean {
  const value = raw[name];
  if (value === undefined || value === "") return false;
  if (typeof value === "boolean") return value;
  const normalized = String(Array.isArray(value) ? value.at(-1) : value)
    .trim()
    .toLowerCase();
  if (["true", "yes", "1", "on"].includes(normalized)) return true;
  if (["false", "no", "0", "off", ""].includes(normalized)) return false;
  throw new InputError(`--${name} "${String(value)}": expected true or false`, { input: name });
}

function oneOf<T extends string>(raw: RawOptions, name: string, choices: readonly T[], fallback: T): T {
  const value = text(raw, name) ?? fallback;
  if (!(choices as readonly string[]).includes(value)) {
    throw new InputError(`--${name} "${value}": expected ${choices.join(" or ")}`, { input: name });
  }
  return value as T;
}

/** pg-bin-dir, pg-version (auto or a major such as 17) and install-pg-client (auto or never). */
export function parsePgClientSettings(raw: RawOptions): PgClientSettings {
  const versionText = text(raw, "pg-version") ?? "auto";
  let pgVersion: PgClientSettings["pgVersion"] = "auto";
  if (versionText.toLowerCase() !== "auto") {
    if (!/^\d{2}$/.test(versionText)) {
      throw new InputError(`--pg-version "${versionText}": expected auto or a major version such as 17`, {
        input: "pg-version",
      });
    }
    pgVersion = Number(versionText);
  }
  return {
    pgBinDir: text(raw, "pg-bin-dir"),
    pgVersion,
    installPgClient: oneOf(raw, "install-pg-client", ["auto", "never"] as const, "auto"),
  };
}

export function parseStorageSettings(raw: RawOptions): StorageSettings {
  const sse = text(raw, "s3-sse");
  if (sse !== undefined && sse !== "AES256" && sse !== "aws:kms") {
    throw new InputError(`--s3-sse "${sse}": expected AES256 or aws:kms`, { input: "s3-sse" });
  }
  const sseKmsKeyId = text(raw, "s3-sse-kms-key-id");
  if (sseKmsKeyId !== undefined && sse !== "aws:kms") {
    throw new InputError(`--s3-sse-kms-key-id: only used with --s3-sse aws:kms`, {
      input: "s3-sse-kms-key-id",
    });
  }
  const endpoint = text(raw, "s3-endpoint");
  if (endpoint !== undefined && !/^https?:\/\/[^\s/]+/.test(endpoint)) {
    throw new InputError(`--s3-endpoint "${endpoint}": expected an http:// or https:// URL`, {
      input: "s3-endpoint",
    });
  }
  return {
    storage: required(raw, "storage", "s3://bucket/prefix, file:///absolute/path or a directory path"),
    label: validateLabel(text(raw, "label") ?? "default"),
    s3: {
      endpoint,
      region: text(raw, "s3-region"),
      forcePathStyle: flag(raw, "s3-force-path-style"),
      checksums: oneOf(raw, "s3-checksums", ["when-required", "when-supported"] as const, "when-required"),
      sse,
      sseKmsKeyId,
    },
  };
}

function readPassphraseFile(path: string): string {
  let passphrase: string | undefined;
  try {
    passphrase = readFileSync(path, "utf8").split(/\r?\n/)[0];
  } catch (error) {
    throw new InputError(
      `--passphrase-file "${path}": cannot read it (${(error as NodeJS.ErrnoException).code ?? "error"})`,
      { input: "passphrase-file" },
    );
  }
  if (!passphrase) {
    throw new InputError(`--passphrase-file "${path}": the first line is empty`, {
      input: "passphrase-file",
    });
  }
  return passphrase;
}

/**
 * Encryption: public recipients, or one passphrase, or an explicit `none`. Neither is a bad input:
 * an unencrypted backup is never made by accident.
 */
export function parseEncryptionSettings(raw: RawOptions): EncryptionSettings {
  const mode = flag(raw, "no-encryption")
    ? "none"
    : oneOf(raw, "encryption", ["age", "none"] as const, "age");
  const recipients = list(raw, "recipient");
  const passphraseFile = text(raw, "passphrase-file");
  let passphrase = text(raw, "passphrase");
  if (passphraseFile !== undefined) passphrase = readPassphraseFile(passphraseFile);
  if (mode === "none") {
    if (recipients.length > 0 || passphrase !== undefined) {
      throw new InputError(
        "--encryption none: remove --recipient and the passphrase, or drop --encryption none",
        {
          input: "encryption",
        },
      );
    }
    return { kind: "none" };
  }
  if (recipients.length > 0 && passphrase !== undefined) {
    throw new InputError(
      "--recipient and a passphrase: choose one (age allows a passphrase only on its own)",
      {
        input: "recipient",
      },
    );
  }
  if (passphrase !== undefined) return { kind: "passphrase", passphrase };
  if (recipients.length === 0) {
    throw new InputError(
      "--recipient: required; expected an age public key (age1...), or a passphrase (--passphrase-file / LIFEBOAT_PASSPHRASE), or --encryption none to opt out of encryption",
      { input: "recipient" },
    );
  }
  return { kind: "recipients", recipients };
}

/**
 * Object Lock needs both options, an s3:// storage, and request checksums: S3 refuses locked
 * uploads without one, so the checksum mode follows unless the user set it otherwise.
 */
function parseObjectLock(raw: RawOptions, storage: StorageSettings): BackupSettings["objectLock"] {
  const modeText = text(raw, "object-lock-mode");
  const daysText = text(raw, "object-lock-days");
  if (modeText === undefined && daysText === undefined) return undefined;
  if (modeText === undefined || daysText === undefined) {
    const missing = modeText === undefined ? "object-lock-mode" : "object-lock-days";
    throw new InputError(`--${missing}: required with --object-lock-mode and --object-lock-days together`, {
      input: missing,
    });
  }
  const mode = modeText.toUpperCase();
  if (mode !== "GOVERNANCE" && mode !== "COMPLIANCE") {
    throw new InputError(`--object-lock-mode "${modeText}": expected GOVERNANCE or COMPLIANCE`, {
      input: "object-lock-mode",
    });
  }
  const days = Number(daysText);
  if (!Number.isInteger(days) || days < 1 || days > 36500) {
    throw new InputError(
      `--object-lock-days "${daysText}": expected a whole number of days from 1 to 36500`,
      {
        input: "object-lock-days",
      },
    );
  }
  if (!storage.storage.startsWith("s3://")) {
    throw new InputError(`--object-lock-mode: needs s3:// storage with Object Lock enabled on the bucket`, {
      input: "object-lock-mode",
    });
  }
  if (text(raw, "s3-checksums") === "when-required") {
    throw new InputError(
      "--s3-checksums when-required: S3 refuses object-locked uploads without a checksum; drop it or use when-supported",
      { input: "s3-checksums" },
    );
  }
  storage.s3.checksums = "when-supported";
  return { mode, days };
}

export function parseBackupSettings(raw: RawOptions): BackupSettings {
  const databaseUrl = parseDatabaseUrl(
    required(raw, "database-url", "postgresql://user:password@host:port/database"),
  );
  const storage = parseStorageSettings(raw);
  const preset = parsePreset(text(raw, "preset"));
  const includeRoles = parseIncludeRoles(text(raw, "include-roles"), preset);
  const scope = validateScope(
    applyPreset(preset, {
      ...emptyScope(),
      schemaOnly: flag(raw, "schema-only"),
      dataOnly: flag(raw, "data-only"),
      includeSchemas: list(raw, "include-schema"),
      excludeSchemas: list(raw, "exclude-schema"),
      includeTables: list(raw, "include-table"),
      excludeTables: list(raw, "exclude-table"),
      excludeTableData: list(raw, "exclude-table-data"),
    }),
  );
  const extraArgs = validateExtraArgs((text(raw, "pg-dump-args") ?? "").split(/\s+/).filter(Boolean));
  const objectLock = parseObjectLock(raw, storage);
  return {
    ...storage,
    objectLock,
    databaseUrl,
    encryption: parseEncryptionSettings(raw),
    compression: text(raw, "compression") ?? "auto",
    scope,
    extraArgs,
    ...parsePgClientSettings(raw),
    preset,
    includeRoles,
  };
}

export interface PruneSettings extends StorageSettings {
  policy: RetentionPolicy;
  dryRun: boolean;
}

/** A whole number >= 0 (`--keep-daily 7`); `fallback` when the option is absent. */
export function wholeNumber(raw: RawOptions, name: string, fallback: number): number {
  const value = text(raw, name);
  if (value === undefined) return fallback;
  const number = Number(value);
  if (!/^\d+$/.test(value) || !Number.isSafeInteger(number)) {
    throw new InputError(`--${name} "${value}": expected a whole number >= 0`, { input: name });
  }
  return number;
}

/** A folder without a manifest younger than this may be a backup in flight: never less than 1 hour. */
export const MIN_SAFE_AGE_MS = 3_600_000;

export function parsePruneSettings(raw: RawOptions): PruneSettings {
  const within = text(raw, "keep-within");
  const safeAgeText = text(raw, "safe-age") ?? "24h";
  const policy: RetentionPolicy = {
    keepLast: wholeNumber(raw, "keep-last", 0),
    keepHourly: wholeNumber(raw, "keep-hourly", 0),
    keepDaily: wholeNumber(raw, "keep-daily", 0),
    keepWeekly: wholeNumber(raw, "keep-weekly", 0),
    keepMonthly: wholeNumber(raw, "keep-monthly", 0),
    keepYearly: wholeNumber(raw, "keep-yearly", 0),
    keepWithinMs: within === undefined ? 0 : parseDurationOption(within, "keep-within"),
    minVerified: wholeNumber(raw, "min-verified", 1),
    safeAgeMs: parseDurationOption(safeAgeText, "safe-age"),
  };
  if (policy.safeAgeMs < MIN_SAFE_AGE_MS) {
    throw new InputError(
      `--safe-age "${safeAgeText}": expected at least ${formatDuration(MIN_SAFE_AGE_MS)}, so that a backup in flight is never removed`,
      { input: "safe-age" },
    );
  }
  validatePolicy(policy);
  return { ...parseStorageSettings(raw), policy, dryRun: flag(raw, "dry-run") };
}

/** The key that decrypts a backup: an identity (file in the CLI, text in the action) or a passphrase. */
export function parseDecryptionKeys(raw: RawOptions): DecryptionKeys {
  const identityFile = text(raw, "identity-file");
  let identityText = text(raw, "identity");
  if (identityFile !== undefined) {
    try {
      identityText = readFileSync(identityFile, "utf8");
    } catch (error) {
      throw new InputError(
        `--identity-file "${identityFile}": cannot read it (${(error as NodeJS.ErrnoException).code ?? "error"})`,
        { input: "identity-file" },
      );
    }
  }
  const passphraseFile = text(raw, "passphrase-file");
  let passphrase = text(raw, "passphrase");
  if (passphraseFile !== undefined) passphrase = readPassphraseFile(passphraseFile);
  if (identityText !== undefined && passphrase !== undefined) {
    throw new InputError("--identity-file and a passphrase: give the one the backup was made with", {
      input: "identity-file",
    });
  }
  return { identityText, passphrase };
}

export function parseVerifySettings(raw: RawOptions): VerifySettings {
  const maxAge = text(raw, "max-age");
  const maxSizeChange = text(raw, "max-size-change");
  const minSize = text(raw, "min-size");
  return {
    ...parseStorageSettings(raw),
    backup: text(raw, "backup") ?? "latest",
    keys: parseDecryptionKeys(raw),
    ...parsePgClientSettings(raw),
    gates: {
      maxAgeSeconds: maxAge === undefined ? undefined : parseDurationOption(maxAge, "max-age") / 1000,
      maxSizeChange: maxSizeChange === undefined ? undefined : parsePercent(maxSizeChange, "max-size-change"),
      sizeChangeAction: oneOf(raw, "size-change-action", ["fail", "warn"] as const, "fail"),
      minSizeBytes: minSize === undefined ? undefined : parseSize(minSize, "min-size"),
    },
  };
}

/** pg_restore flags the restore owns: where it reads from, where it writes to, what it does. */
const PG_RESTORE_OWNED = [
  "-d",
  "--dbname",
  "-f",
  "--file",
  "-l",
  "--list",
  "-L",
  "--use-list",
  "-j",
  "--jobs",
  "-h",
  "--host",
  "-p",
  "--port",
  "-U",
  "--username",
  "-W",
  "--password",
  "-e",
  "--exit-on-error",
  "-F",
  "--format",
  "-C",
  "--create",
];

/** pg_restore's default parallelism: the CPUs, at most 4 (more rarely helps a scratch server). */
export function defaultJobs(): number {
  return Math.max(1, Math.min(4, availableParallelism()));
}

export function parseRestoreTestSettings(raw: RawOptions): RestoreTestSettings {
  const assertionsPath = text(raw, "assertions");
  let assertions: RestoreTestSettings["assertions"];
  if (assertionsPath !== undefined) {
    let sql: string;
    try {
      sql = readFileSync(assertionsPath, "utf8");
    } catch (error) {
      throw new InputError(
        `--assertions "${assertionsPath}": cannot read it (${(error as NodeJS.ErrnoException).code ?? "error"})`,
        { input: "assertions" },
      );
    }
    const split = splitSqlStatements(sql);
    if (split.problem) {
      throw new InputError(`--assertions "${assertionsPath}": does not parse: ${split.problem}`, {
        input: "assertions",
      });
    }
    if (split.statements.length === 0) {
      throw new InputError(`--assertions "${assertionsPath}": holds no SQL statement`, {
        input: "assertions",
      });
    }
    assertions = { path: assertionsPath, statements: split.statements };
  }
  const tolerate = list(raw, "tolerate").map((pattern) => {
    try {
      return new RegExp(pattern);
    } catch (error) {
      throw new InputError(
        `--tolerate "${pattern}": not a regular expression (${(error as Error).message})`,
        {
          input: "tolerate",
        },
      );
    }
  });
  const pgRestoreArgs = (text(raw, "pg-restore-args") ?? "").split(/\s+/).filter(Boolean);
  for (const arg of pgRestoreArgs) {
    const flag = arg.startsWith("--") ? arg.split("=")[0]! : arg.slice(0, 2);
    if (PG_RESTORE_OWNED.includes(flag)) {
      throw new InputError(`--pg-restore-args: "${arg}" is not allowed (the restore-test sets it)`, {
        input: "pg-restore-args",
      });
    }
  }
  const jobsText = text(raw, "jobs");
  const jobs = jobsText === undefined ? defaultJobs() : Number(jobsText);
  if (!Number.isInteger(jobs) || jobs < 1 || jobs > 64) {
    throw new InputError(`--jobs "${jobsText}": expected a whole number from 1 to 64`, { input: "jobs" });
  }
  return {
    ...parseStorageSettings(raw),
    backup: text(raw, "backup") ?? "latest",
    keys: parseDecryptionKeys(raw),
    scratchUrl: parseDatabaseUrl(
      required(raw, "scratch-database-url", "postgresql://user:password@host:port/postgres"),
      "scratch-database-url",
    ),
    assertions,
    run: text(raw, "run"),
    tolerate,
    keepOnFailure: flag(raw, "keep-on-failure"),
    decryptToDisk: oneOf(raw, "decrypt-to-disk", ["auto", "never"] as const, "auto"),
    jobs,
    pgRestoreArgs,
    ...parsePgClientSettings(raw),
  };
}

/**
 * restore: the target and its confirmation are checked here (the name typed in `confirm` against
 * the database name in the URL) and again against current_database() once connected.
 */
export function parseRestoreSettings(raw: RawOptions): RestoreSettings {
  const targetUrl = parseDatabaseUrl(
    required(raw, "target-database-url", "postgresql://user:password@host:port/database"),
    "target-database-url",
  );
  const confirm = text(raw, "confirm");
  if (confirm === undefined) {
    throw new InputError(
      `--confirm: required; expected the target database's name ("${targetUrl.database}"), typed out to confirm that it is overwritten`,
      { input: "confirm" },
    );
  }
  if (confirm !== targetUrl.database) {
    throw new InputError(
      `--confirm "${confirm}": expected the target database's name "${targetUrl.database}" (from --target-database-url); nothing was restored`,
      { input: "confirm" },
    );
  }
  const storage = parseStorageSettings(raw);
  const safetyLabelText = text(raw, "safety-label");
  const safetyLabel = safetyLabelText ?? `${storage.label}-safety`;
  try {
    validateLabel(safetyLabel);
  } catch (error) {
    if (safetyLabelText !== undefined) throw error;
    throw new InputError(
      `--label "${storage.label}": the safety label "${safetyLabel}" is too long; give --safety-label`,
      { input: "safety-label" },
    );
  }
  if (safetyLabel === storage.label) {
    throw new InputError(
      `--safety-label "${safetyLabel}": expected a label other than the one being restored from`,
      { input: "safety-label" },
    );
  }
  return {
    ...storage,
    backup: text(raw, "backup") ?? "latest",
    keys: parseDecryptionKeys(raw),
    targetUrl,
    confirm,
    safetyBackup: raw["safety-backup"] === undefined ? true : flag(raw, "safety-backup"),
    safetyLabel,
    schemas: list(raw, "schema"),
    tables: list(raw, "table"),
    clean: flag(raw, "clean"),
    noOwner: flag(raw, "no-owner"),
    noPrivileges: flag(raw, "no-privileges"),
    ...parsePgClientSettings(raw),
  };
}
