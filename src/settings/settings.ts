/**
 * Raw option values (from CLI flags and the environment, or from action inputs) parsed once into
 * typed settings. Each option is read by its table entry (spec.ts, through read-option.ts) and
 * the rules between options are lists checked by rules.ts; this file only assembles the result
 * and reads the files some options name. Every error names the option and what was expected, and
 * is raised before anything is read from or written to a database or a store.
 */
import { readFileSync } from "node:fs";
import { availableParallelism } from "node:os";
import { InputError } from "../domain/errors.js";
import { emptyScope } from "../domain/dump-plan.js";
import { parsePgDumpArgs, parsePgRestoreArgs } from "../domain/pg-args.js";
import { validateLabel } from "../domain/layout.js";
import { validatePolicy, type RetentionPolicy } from "../domain/retention.js";
import { splitSqlStatements } from "../domain/sql-split.js";
import { applyPreset } from "../domain/supabase-preset.js";
import { isGiven, readOptions, type OptionValues } from "./read-option.js";
import { checkRules, type Rule } from "./rules.js";
import { OPTIONS } from "./spec.js";
import { parseFilesSource } from "../files/source-spec.js";
import type {
  BackupSettings,
  FilesOnlyBackupSettings,
  FilesSettings,
  RestoreFilesSettings,
  DecryptionKeys,
  EncryptionSettings,
  PgClientSettings,
  PruneSettings,
  RawOptions,
  RestoreSettings,
  RestoreTestSettings,
  StorageSettings,
  VerifySettings,
} from "./types.js";

export type { RawOptions, RawValue } from "./types.js";

/** The first line of a file an option names (a passphrase), or an error naming the option. */
function readOptionFile(option: { name: string }, path: string): string {
  try {
    return readFileSync(path, "utf8");
  } catch (error) {
    throw new InputError(
      `--${option.name} "${path}": cannot read it (${(error as NodeJS.ErrnoException).code ?? "error"})`,
      { input: option.name },
    );
  }
}

/** passphrase-file (CLI) wins over passphrase (action input, or LIFEBOAT_PASSPHRASE). */
function resolvePassphrase(values: { passphraseFile: string | undefined; passphrase: string | undefined }) {
  if (values.passphraseFile === undefined) return values.passphrase;
  const passphrase = readOptionFile(OPTIONS.passphraseFile, values.passphraseFile).split(/\r?\n/)[0];
  if (!passphrase) {
    throw new InputError(
      `--${OPTIONS.passphraseFile.name} "${values.passphraseFile}": the first line is empty`,
      {
        input: OPTIONS.passphraseFile.name,
      },
    );
  }
  return passphrase;
}

const PG_CLIENT = {
  pgBinDir: OPTIONS.pgBinDir,
  pgVersion: OPTIONS.pgVersion,
  installPgClient: OPTIONS.installPgClient,
};

/** pg-bin-dir, pg-version (auto or a major such as 17) and install-pg-client (auto or never). */
export function parsePgClientSettings(raw: RawOptions): PgClientSettings {
  return readOptions(raw, PG_CLIENT);
}

const STORAGE = {
  storage: OPTIONS.storage,
  label: OPTIONS.label,
  endpoint: OPTIONS.s3Endpoint,
  region: OPTIONS.s3Region,
  forcePathStyle: OPTIONS.s3ForcePathStyle,
  checksums: OPTIONS.s3Checksums,
  sse: OPTIONS.s3Sse,
  sseKmsKeyId: OPTIONS.s3SseKmsKeyId,
};

export const STORAGE_RULES: Rule<OptionValues<typeof STORAGE>>[] = [
  {
    name: "a KMS key only with aws:kms",
    input: OPTIONS.s3SseKmsKeyId,
    broken: (v) => v.sseKmsKeyId !== undefined && v.sse !== "aws:kms",
    message: () => "--s3-sse-kms-key-id: only used with --s3-sse aws:kms",
  },
];

export function parseStorageSettings(raw: RawOptions): StorageSettings {
  const { storage, label, ...s3 } = readOptions(raw, STORAGE);
  checkRules({ storage, label, ...s3 }, STORAGE_RULES);
  return { storage, label: validateLabel(label), s3 };
}

const ENCRYPTION = {
  mode: OPTIONS.encryption,
  noEncryption: OPTIONS.noEncryption,
  recipients: OPTIONS.recipient,
  passphrase: OPTIONS.passphrase,
  passphraseFile: OPTIONS.passphraseFile,
};

type EncryptionValues = OptionValues<typeof ENCRYPTION>;

/** An unencrypted backup is never made by accident: `none` is said out loud, and alone. */
export const ENCRYPTION_RULES: Rule<EncryptionValues>[] = [
  {
    name: "none takes no keys",
    input: OPTIONS.encryption,
    broken: (v) => v.mode === "none" && (v.recipients.length > 0 || v.passphrase !== undefined),
    message: () => "--encryption none: remove --recipient and the passphrase, or drop --encryption none",
  },
  {
    name: "recipients or a passphrase, not both",
    input: OPTIONS.recipient,
    broken: (v) => v.mode === "age" && v.recipients.length > 0 && v.passphrase !== undefined,
    message: () => "--recipient and a passphrase: choose one (age allows a passphrase only on its own)",
  },
  {
    name: "age needs a key",
    input: OPTIONS.recipient,
    broken: (v) => v.mode === "age" && v.recipients.length === 0 && v.passphrase === undefined,
    message: () =>
      "--recipient: required; expected an age public key (age1...), or a passphrase (--passphrase-file / LIFEBOAT_PASSPHRASE), or --encryption none to opt out of encryption",
  },
];

/** Encryption: public recipients, or one passphrase, or an explicit `none`. */
export function parseEncryptionSettings(raw: RawOptions): EncryptionSettings {
  const read = readOptions(raw, ENCRYPTION);
  const values: EncryptionValues = {
    ...read,
    mode: read.noEncryption ? "none" : read.mode,
    passphrase: resolvePassphrase(read),
  };
  checkRules(values, ENCRYPTION_RULES);
  if (values.mode === "none") return { kind: "none" };
  if (values.passphrase !== undefined) return { kind: "passphrase", passphrase: values.passphrase };
  return { kind: "recipients", recipients: values.recipients };
}

const BACKUP = {
  databaseUrl: OPTIONS.databaseUrl,
  compression: OPTIONS.compression,
  schemaOnly: OPTIONS.schemaOnly,
  dataOnly: OPTIONS.dataOnly,
  includeSchemas: OPTIONS.includeSchema,
  excludeSchemas: OPTIONS.excludeSchema,
  includeTables: OPTIONS.includeTable,
  excludeTables: OPTIONS.excludeTable,
  excludeTableData: OPTIONS.excludeTableData,
  preset: OPTIONS.preset,
  includeRoles: OPTIONS.includeRoles,
  pgDumpArgs: OPTIONS.pgDumpArgs,
  objectLockMode: OPTIONS.objectLockMode,
  objectLockDays: OPTIONS.objectLockDays,
};

const FILES_S3 = {
  endpoint: OPTIONS.filesS3Endpoint,
  region: OPTIONS.filesS3Region,
  forcePathStyle: OPTIONS.filesS3ForcePathStyle,
};

const FILES = {
  sources: OPTIONS.files,
  onChange: OPTIONS.filesOnChange,
  storageObjectsMismatch: OPTIONS.storageObjectsMismatch,
};

/** --files and its options; each source's form is checked here, its reachability by backup's preflight. */
export function parseFilesSettings(raw: RawOptions): FilesSettings {
  const v = readOptions(raw, FILES);
  // Relative directories resolve at run time against the working directory; here only the form.
  for (const source of v.sources) parseFilesSource(source, { cwd: "/", input: OPTIONS.files.name });
  return { ...v, s3: readOptions(raw, FILES_S3) };
}

type BackupValues = OptionValues<typeof BACKUP> & {
  storage: StorageSettings;
  /** s3-checksums given by the user, not taken by default. */
  checksumsGiven: boolean;
};

const hasObjectLock = (v: BackupValues) => v.objectLockMode !== undefined || v.objectLockDays !== undefined;

/**
 * Object Lock needs both options, an s3:// storage, and request checksums: S3 refuses locked
 * uploads without one, so the checksum mode follows unless the user set it otherwise.
 */
export const BACKUP_RULES: Rule<BackupValues>[] = [
  {
    name: "schema only or data only",
    input: OPTIONS.schemaOnly,
    broken: (v) => v.schemaOnly && v.dataOnly,
    message: () => "--schema-only and --data-only: choose one, not both",
  },
  {
    name: "object-lock days with the mode",
    input: OPTIONS.objectLockMode,
    broken: (v) => v.objectLockMode === undefined && v.objectLockDays !== undefined,
    message: () => "--object-lock-mode: required with --object-lock-mode and --object-lock-days together",
  },
  {
    name: "object-lock mode with the days",
    input: OPTIONS.objectLockDays,
    broken: (v) => v.objectLockMode !== undefined && v.objectLockDays === undefined,
    message: () => "--object-lock-days: required with --object-lock-mode and --object-lock-days together",
  },
  {
    name: "object lock only on S3",
    input: OPTIONS.objectLockMode,
    broken: (v) => hasObjectLock(v) && !v.storage.storage.startsWith("s3://"),
    message: () => "--object-lock-mode: needs s3:// storage with Object Lock enabled on the bucket",
  },
  {
    name: "object lock needs checksums",
    input: OPTIONS.s3Checksums,
    broken: (v) => hasObjectLock(v) && v.checksumsGiven && v.storage.s3.checksums === "when-required",
    message: () =>
      "--s3-checksums when-required: S3 refuses object-locked uploads without a checksum; drop it or use when-supported",
  },
];

export function parseBackupSettings(raw: RawOptions): BackupSettings {
  const v = readOptions(raw, BACKUP);
  const storage = parseStorageSettings(raw);
  checkRules({ ...v, storage, checksumsGiven: isGiven(raw, OPTIONS.s3Checksums) }, BACKUP_RULES);
  const scope = applyPreset(v.preset, {
    ...emptyScope(),
    schemaOnly: v.schemaOnly,
    dataOnly: v.dataOnly,
    includeSchemas: v.includeSchemas,
    excludeSchemas: v.excludeSchemas,
    includeTables: v.includeTables,
    excludeTables: v.excludeTables,
    excludeTableData: v.excludeTableData,
  });
  const extraArgs = v.pgDumpArgs === undefined ? [] : parsePgDumpArgs(v.pgDumpArgs, OPTIONS.pgDumpArgs.name);
  let objectLock: BackupSettings["objectLock"];
  if (v.objectLockMode !== undefined && v.objectLockDays !== undefined) {
    objectLock = { mode: v.objectLockMode, days: v.objectLockDays };
    storage.s3.checksums = "when-supported";
  }
  return {
    ...storage,
    objectLock,
    databaseUrl: v.databaseUrl,
    encryption: parseEncryptionSettings(raw),
    compression: v.compression,
    scope,
    extraArgs,
    ...parsePgClientSettings(raw),
    preset: v.preset,
    // auto: the roles belong to a Supabase dump, not to a plain one.
    includeRoles: v.includeRoles === "auto" ? v.preset === "supabase" : v.includeRoles,
    files: parseFilesSettings(raw),
  };
}

/** What backup runs with: a database backup, or with --no-database the files sources only. */
export function parseBackupCommandSettings(raw: RawOptions): BackupSettings | FilesOnlyBackupSettings {
  const { noDatabase } = readOptions(raw, { noDatabase: OPTIONS.noDatabase });
  return noDatabase ? parseFilesOnlyBackupSettings(raw) : parseBackupSettings(raw);
}

/** The dump's own options, which a files-only backup refuses rather than silently ignores. */
const DUMP_ONLY = [
  OPTIONS.schemaOnly,
  OPTIONS.dataOnly,
  OPTIONS.includeSchema,
  OPTIONS.excludeSchema,
  OPTIONS.includeTable,
  OPTIONS.excludeTable,
  OPTIONS.excludeTableData,
  OPTIONS.pgDumpArgs,
  OPTIONS.storageObjectsMismatch,
];

export function parseFilesOnlyBackupSettings(raw: RawOptions): FilesOnlyBackupSettings {
  const { databaseUrl: _databaseUrl, ...options } = BACKUP;
  const v = readOptions(raw, options);
  const storage = parseStorageSettings(raw);
  checkRules(
    { ...v, databaseUrl: undefined as never, storage, checksumsGiven: isGiven(raw, OPTIONS.s3Checksums) },
    BACKUP_RULES,
  );
  const dumpOption = DUMP_ONLY.find((option) => isGiven(raw, option));
  const presetGiven = v.preset !== "none" || v.includeRoles === true;
  if (dumpOption || presetGiven) {
    const name = dumpOption?.name ?? (v.preset !== "none" ? OPTIONS.preset.name : OPTIONS.includeRoles.name);
    throw new InputError(`--${name}: applies to the database dump, which --no-database leaves out`, {
      input: name,
    });
  }
  const files = parseFilesSettings(raw);
  if (files.sources.length === 0) {
    throw new InputError(
      `--no-database: expected at least one --files source (a backup of nothing is no backup)`,
      {
        input: OPTIONS.noDatabase.name,
      },
    );
  }
  let objectLock: BackupSettings["objectLock"];
  if (v.objectLockMode !== undefined && v.objectLockDays !== undefined) {
    objectLock = { mode: v.objectLockMode, days: v.objectLockDays };
    storage.s3.checksums = "when-supported";
  }
  return {
    ...storage,
    noDatabase: true,
    objectLock,
    encryption: parseEncryptionSettings(raw),
    compression: v.compression,
    files,
  };
}

const PRUNE = {
  keepLast: OPTIONS.keepLast,
  keepHourly: OPTIONS.keepHourly,
  keepDaily: OPTIONS.keepDaily,
  keepWeekly: OPTIONS.keepWeekly,
  keepMonthly: OPTIONS.keepMonthly,
  keepYearly: OPTIONS.keepYearly,
  keepWithin: OPTIONS.keepWithin,
  minVerified: OPTIONS.minVerified,
  safeAge: OPTIONS.safeAge,
  dryRun: OPTIONS.dryRun,
};

export function parsePruneSettings(raw: RawOptions): PruneSettings {
  const v = readOptions(raw, PRUNE);
  // An absent keep-* option is no rule of that kind: 0.
  const policy: RetentionPolicy = {
    keepLast: v.keepLast ?? 0,
    keepHourly: v.keepHourly ?? 0,
    keepDaily: v.keepDaily ?? 0,
    keepWeekly: v.keepWeekly ?? 0,
    keepMonthly: v.keepMonthly ?? 0,
    keepYearly: v.keepYearly ?? 0,
    keepWithinMs: v.keepWithin ?? 0,
    minVerified: v.minVerified,
    safeAgeMs: v.safeAge,
  };
  validatePolicy(policy);
  return { ...parseStorageSettings(raw), policy, dryRun: v.dryRun };
}

const DECRYPTION = {
  identityFile: OPTIONS.identityFile,
  identity: OPTIONS.identity,
  passphraseFile: OPTIONS.passphraseFile,
  passphrase: OPTIONS.passphrase,
};

export const DECRYPTION_RULES: Rule<DecryptionKeys>[] = [
  {
    name: "one key",
    input: OPTIONS.identityFile,
    broken: (keys) => keys.identityText !== undefined && keys.passphrase !== undefined,
    message: () => "--identity-file and a passphrase: give the one the backup was made with",
  },
];

/** The key that decrypts a backup: an identity (file in the CLI, text in the action) or a passphrase. */
export function parseDecryptionKeys(raw: RawOptions): DecryptionKeys {
  const v = readOptions(raw, DECRYPTION);
  const keys: DecryptionKeys = {
    identityText:
      v.identityFile === undefined ? v.identity : readOptionFile(OPTIONS.identityFile, v.identityFile),
    passphrase: resolvePassphrase(v),
  };
  checkRules(keys, DECRYPTION_RULES);
  return keys;
}

/** What verify, restore-test and restore share: which backup, where, the key, and pg_restore. */
function parseBackupSource(raw: RawOptions, storage = parseStorageSettings(raw)) {
  return {
    ...storage,
    backup: readOptions(raw, { backup: OPTIONS.backup }).backup,
    keys: parseDecryptionKeys(raw),
    ...parsePgClientSettings(raw),
  };
}

const VERIFY = {
  maxAge: OPTIONS.maxAge,
  maxSizeChange: OPTIONS.maxSizeChange,
  sizeChangeAction: OPTIONS.sizeChangeAction,
  minSize: OPTIONS.minSize,
};

export function parseVerifySettings(raw: RawOptions): VerifySettings {
  const v = readOptions(raw, VERIFY);
  return {
    ...parseBackupSource(raw),
    gates: {
      maxAgeSeconds: v.maxAge === undefined ? undefined : v.maxAge / 1000,
      maxSizeChange: v.maxSizeChange,
      sizeChangeAction: v.sizeChangeAction,
      minSizeBytes: v.minSize,
    },
  };
}

/** pg_restore's default parallelism: the CPUs, at most 4 (more rarely helps a scratch server). */
export function defaultJobs(): number {
  return Math.max(1, Math.min(4, availableParallelism()));
}

const RESTORE_TEST = {
  scratchUrl: OPTIONS.scratchDatabaseUrl,
  assertions: OPTIONS.assertions,
  run: OPTIONS.run,
  tolerate: OPTIONS.tolerate,
  keepOnFailure: OPTIONS.keepOnFailure,
  decryptToDisk: OPTIONS.decryptToDisk,
  jobs: OPTIONS.jobs,
  pgRestoreArgs: OPTIONS.pgRestoreArgs,
};

function readAssertions(path: string | undefined): RestoreTestSettings["assertions"] {
  if (path === undefined) return undefined;
  const option = OPTIONS.assertions;
  const split = splitSqlStatements(readOptionFile(option, path));
  if (split.problem) {
    throw new InputError(`--${option.name} "${path}": does not parse: ${split.problem}`, {
      input: option.name,
    });
  }
  if (split.statements.length === 0) {
    throw new InputError(`--${option.name} "${path}": holds no SQL statement`, { input: option.name });
  }
  return { path, statements: split.statements };
}

function compileTolerate(pattern: string): RegExp {
  try {
    return new RegExp(pattern);
  } catch (error) {
    throw new InputError(
      `--${OPTIONS.tolerate.name} "${pattern}": not a regular expression (${(error as Error).message})`,
      { input: OPTIONS.tolerate.name },
    );
  }
}

export function parseRestoreTestSettings(raw: RawOptions): RestoreTestSettings {
  const v = readOptions(raw, RESTORE_TEST);
  return {
    ...parseBackupSource(raw),
    scratchUrl: v.scratchUrl,
    assertions: readAssertions(v.assertions),
    run: v.run,
    tolerate: v.tolerate.map(compileTolerate),
    keepOnFailure: v.keepOnFailure,
    decryptToDisk: v.decryptToDisk,
    jobs: v.jobs ?? defaultJobs(),
    pgRestoreArgs:
      v.pgRestoreArgs === undefined ? [] : parsePgRestoreArgs(v.pgRestoreArgs, OPTIONS.pgRestoreArgs.name),
  };
}

const RESTORE = {
  targetUrl: OPTIONS.targetDatabaseUrl,
  // Required, but its error names the target's database, so the rules below say it is missing.
  confirm: { ...OPTIONS.confirm, required: false },
  safetyBackup: OPTIONS.safetyBackup,
  safetyLabel: OPTIONS.safetyLabel,
  schemas: OPTIONS.schema,
  tables: OPTIONS.table,
  clean: OPTIONS.clean,
  noOwner: OPTIONS.noOwner,
  noPrivileges: OPTIONS.noPrivileges,
};

type RestoreValues = OptionValues<typeof RESTORE> & { label: string };

function isLabel(label: string): boolean {
  try {
    validateLabel(label);
    return true;
  } catch {
    return false;
  }
}

const defaultSafetyLabel = (label: string) => `${label}-safety`;

/**
 * The target and its confirmation are checked here (the name typed in `confirm` against the
 * database name in the URL) and again against current_database() once connected.
 */
export const RESTORE_RULES: Rule<RestoreValues>[] = [
  {
    name: "confirm given",
    input: OPTIONS.confirm,
    broken: (v) => v.confirm === undefined,
    message: (v) =>
      `--confirm: required; expected the target database's name ("${v.targetUrl.database}"), typed out to confirm that it is overwritten`,
  },
  {
    name: "confirm names the target database",
    input: OPTIONS.confirm,
    broken: (v) => v.confirm !== v.targetUrl.database,
    message: (v) =>
      `--confirm "${v.confirm}": expected the target database's name "${v.targetUrl.database}" (from --target-database-url); nothing was restored`,
  },
  {
    name: "the default safety label fits",
    input: OPTIONS.safetyLabel,
    broken: (v) => v.safetyLabel === undefined && !isLabel(defaultSafetyLabel(v.label)),
    message: (v) =>
      `--label "${v.label}": the safety label "${defaultSafetyLabel(v.label)}" is too long; give --safety-label`,
  },
  {
    name: "the safety label differs from the label",
    input: OPTIONS.safetyLabel,
    broken: (v) => (v.safetyLabel ?? defaultSafetyLabel(v.label)) === v.label,
    message: (v) =>
      `--safety-label "${v.safetyLabel}": expected a label other than the one being restored from`,
  },
];

export function parseRestoreSettings(raw: RawOptions): RestoreSettings {
  const v = readOptions(raw, RESTORE);
  if (v.safetyLabel !== undefined) validateLabel(v.safetyLabel);
  const storage = parseStorageSettings(raw);
  // The confirmation first: a restore with the wrong target says so before anything else.
  checkRules({ ...v, label: storage.label }, RESTORE_RULES);
  return {
    ...parseBackupSource(raw, storage),
    ...v,
    confirm: v.confirm!,
    safetyLabel: v.safetyLabel ?? defaultSafetyLabel(storage.label),
  };
}

const RESTORE_FILES = {
  source: OPTIONS.filesSource,
  to: OPTIONS.filesTo,
  // Required, but its error names the target, so the check below says it is missing.
  confirm: { ...OPTIONS.confirm, required: false },
  overwrite: OPTIONS.overwrite,
};

/**
 * What `confirm` must say for a target: the bucket of an s3:// target, else the directory as
 * given or resolved. Pure, so the settings reader and the command agree.
 */
export function restoreFilesConfirmations(to: string, cwd: string): { expected: string; accepted: string[] } {
  const target = parseFilesSource(to, { cwd, input: OPTIONS.filesTo.name });
  if (target.kind === "s3") return { expected: target.bucket, accepted: [target.bucket] };
  return { expected: to.trim(), accepted: [to.trim(), target.path] };
}

export function parseRestoreFilesSettings(raw: RawOptions): RestoreFilesSettings {
  const v = readOptions(raw, RESTORE_FILES);
  const storage = parseStorageSettings(raw);
  if (/^s3:\/\/\*\/*$/i.test(v.to.trim())) {
    throw new InputError(`--to "${v.to}": expected one bucket (s3://BUCKET[/PREFIX]) or a directory`, {
      input: OPTIONS.filesTo.name,
    });
  }
  const { expected, accepted } = restoreFilesConfirmations(v.to, process.cwd());
  if (v.confirm === undefined) {
    throw new InputError(
      `--confirm: required; expected "${expected}" (the target named by --to), typed out to confirm that files are written there`,
      { input: OPTIONS.confirm.name },
    );
  }
  if (!accepted.includes(v.confirm)) {
    throw new InputError(
      `--confirm "${v.confirm}": expected "${expected}" (the target named by --to); nothing was restored`,
      { input: OPTIONS.confirm.name },
    );
  }
  return {
    ...storage,
    backup: readOptions(raw, { backup: OPTIONS.backup }).backup,
    keys: parseDecryptionKeys(raw),
    source: v.source,
    to: v.to.trim(),
    confirm: v.confirm,
    overwrite: v.overwrite,
    filesS3: readOptions(raw, FILES_S3),
  };
}
