/**
 * Raw option values (from CLI flags and the environment, or from action inputs) parsed once into
 * typed settings. Each option is read by its table entry (spec.ts, through read-option.ts) and
 * the rules between options are lists checked by rules.ts; this file only assembles the result
 * and reads the files some options name. Every error names the option and what was expected, and
 * is raised before anything is read from or written to a database or a store.
 */
import { readFileSync } from "node:fs";
import { availableParallelism } from "node:os";
import { parsePublicKey, parseSecretKeyStructure } from "../crypto/minisign/index.js";
import { InputError } from "../domain/errors.js";
import { emptyScope } from "../domain/dump-plan.js";
import { parsePgDumpArgs, parsePgRestoreArgs } from "../domain/pg-args.js";
import { validateLabel } from "../domain/layout.js";
import { validatePolicy, type RetentionPolicy } from "../domain/retention.js";
import { parsePassThrough } from "../postgres/child-env.js";
import { splitSqlStatements } from "../domain/sql-split.js";
import { applyPreset } from "../domain/supabase-preset.js";
import { maskingKey } from "../masking/fakes.js";
import { parseMaskingRules } from "../masking/rules.js";
import { isBackupId } from "../domain/backup-id.js";
import { isGiven, readOptions, type OptionValues } from "./read-option.js";
import { checkRules, type Rule } from "./rules.js";
import { OPTIONS } from "./spec.js";
import { parseDestination, parseDestinations, sameStoreKey } from "./storage-list.js";
import { parseFilesSource } from "../files/source-spec.js";
import type {
  BackupSettings,
  CopySettings,
  FilesOnlyBackupSettings,
  FilesSettings,
  RestoreFilesSettings,
  DecryptionKeys,
  Destination,
  EncryptionSettings,
  EvidenceSettings,
  PgClientSettings,
  PruneSettings,
  RawOptions,
  RestoreSettings,
  MaskingSettings,
  RestoreTestSettings,
  StatusSettings,
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

/**
 * The storage URLs and label. Every command but backup acts on one store (prune, verify and list
 * each on the store they are given), so a second URL is refused there (`several`: backup's).
 */
export function parseStorageSettings(
  raw: RawOptions,
  options: { several?: boolean } = {},
): StorageSettings & { destinations: Destination[] } {
  const { storage, label, ...s3 } = readOptions(raw, STORAGE);
  checkRules({ storage, label, ...s3 }, STORAGE_RULES);
  const destinations = parseDestinations(storage, s3, OPTIONS.storage.name);
  if (destinations.length > 1 && !options.several) {
    throw new InputError(
      `--${OPTIONS.storage.name}: ${destinations.length} URLs given; this command acts on one store (run it once per store, docs/offsite.md)`,
      { input: OPTIONS.storage.name },
    );
  }
  const [first] = destinations as [Destination, ...Destination[]];
  const evidence = parseEvidenceSettings(raw);
  return {
    storage: first.storage,
    s3: first.s3,
    label: validateLabel(label),
    destinations,
    ...(evidence.trustedKeys.length > 0 || evidence.signingKeyText !== undefined ? { evidence } : {}),
  };
}

const COPY = {
  from: OPTIONS.from,
  to: OPTIONS.to,
  label: OPTIONS.label,
  backup: OPTIONS.backup,
  endpoint: OPTIONS.s3Endpoint,
  region: OPTIONS.s3Region,
  forcePathStyle: OPTIONS.s3ForcePathStyle,
  checksums: OPTIONS.s3Checksums,
  objectLockMode: OPTIONS.objectLockMode,
  objectLockDays: OPTIONS.objectLockDays,
};

/**
 * copy: two stores, each with its own credentials (LIFEBOAT_FROM_AWS_* and LIFEBOAT_TO_AWS_* when
 * set, or a URL's own `credentials=`), the label, which backups, and the destination's lock.
 */
export function parseCopySettings(raw: RawOptions): CopySettings {
  const v = readOptions(raw, COPY);
  const base = {
    endpoint: v.endpoint,
    region: v.region,
    forcePathStyle: v.forcePathStyle,
    checksums: v.checksums,
    sse: undefined,
    sseKmsKeyId: undefined,
  };
  const side = (text: string, input: string, prefix: string): Destination => {
    const destination = parseDestination(text, base, input);
    destination.s3.credentialsEnv ??= { prefix, optional: true };
    return destination;
  };
  const from = side(v.from, OPTIONS.from.name, "LIFEBOAT_FROM");
  const to = side(v.to, OPTIONS.to.name, "LIFEBOAT_TO");
  if (sameStoreKey(from) === sameStoreKey(to)) {
    throw new InputError(`--${OPTIONS.to.name} "${to.storage}": the same store as --${OPTIONS.from.name}`, {
      input: OPTIONS.to.name,
    });
  }
  const backup = v.backup;
  if (backup !== "latest" && backup !== "all" && !isBackupId(backup)) {
    throw new InputError(
      `--${OPTIONS.backup.name} "${backup}": expected latest, all or a backup id such as 20261122T010500Z-abc123`,
      { input: OPTIONS.backup.name },
    );
  }
  if ((v.objectLockMode === undefined) !== (v.objectLockDays === undefined)) {
    const missing = v.objectLockMode === undefined ? OPTIONS.objectLockMode : OPTIONS.objectLockDays;
    throw new InputError(
      `--${missing.name}: required with --object-lock-mode and --object-lock-days together`,
      { input: missing.name },
    );
  }
  let objectLock: CopySettings["objectLock"];
  if (v.objectLockMode !== undefined && v.objectLockDays !== undefined) {
    if (!to.storage.startsWith("s3://")) {
      throw new InputError(
        `--${OPTIONS.objectLockMode.name}: needs an s3:// destination with Object Lock enabled on the bucket`,
        { input: OPTIONS.objectLockMode.name },
      );
    }
    objectLock = { mode: v.objectLockMode, days: v.objectLockDays };
    // S3 refuses locked uploads without a request checksum.
    to.s3.checksums = "when-supported";
  }
  return { from, to, label: validateLabel(v.label), backup, keys: parseDecryptionKeys(raw), objectLock };
}

const EVIDENCE = {
  trustedKeys: OPTIONS.trustedKey,
  signingKeyFile: OPTIONS.signingKeyFile,
  signingKey: OPTIONS.signingKey,
};

/**
 * trusted-key entries are base64 public key lines or files holding one; an action input may hold
 * a whole minisign.pub, whose comment line is skipped. The key file wins over the inline key.
 */
export function parseEvidenceSettings(raw: RawOptions): EvidenceSettings {
  const v = readOptions(raw, EVIDENCE);
  const trustedKeys = v.trustedKeys
    .filter((entry) => !entry.startsWith("untrusted comment:"))
    .map(
      (entry) =>
        parsePublicKey(
          /^RW[A-Za-z0-9+/]+=*$/.test(entry) ? entry : readOptionFile(OPTIONS.trustedKey, entry),
          {
            input: OPTIONS.trustedKey.name,
          },
        ).base64,
    );
  const signingKeyText =
    v.signingKeyFile === undefined ? v.signingKey : readOptionFile(OPTIONS.signingKeyFile, v.signingKeyFile);
  if (signingKeyText !== undefined) {
    const input = v.signingKeyFile === undefined ? OPTIONS.signingKey.name : OPTIONS.signingKeyFile.name;
    const structure = parseSecretKeyStructure(signingKeyText, input);
    // No option carries a password: a CI job has no terminal to type it into (docs/evidence.md).
    if (structure.subarray(2, 4).toString("latin1") !== "\0\0") {
      throw new InputError(
        `${input}: the secret key is password-protected; give an unencrypted one (lifeboat keygen --signing, or minisign -G -W)`,
        { input },
      );
    }
  }
  return { trustedKeys: [...new Set(trustedKeys)], signingKeyText };
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
  minDestinations: OPTIONS.minDestinations,
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
  storage: StorageSettings & { destinations: Destination[] };
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
    broken: (v) => hasObjectLock(v) && v.storage.destinations.some((d) => !d.storage.startsWith("s3://")),
    message: () => "--object-lock-mode: needs s3:// storage with Object Lock enabled on the bucket",
  },
  {
    name: "object lock needs checksums",
    input: OPTIONS.s3Checksums,
    broken: (v) => hasObjectLock(v) && v.checksumsGiven && v.storage.s3.checksums === "when-required",
    message: () =>
      "--s3-checksums when-required: S3 refuses object-locked uploads without a checksum; drop it or use when-supported",
  },
  {
    name: "no more commits required than destinations",
    input: OPTIONS.minDestinations,
    broken: (v) => v.minDestinations !== undefined && v.minDestinations > v.storage.destinations.length,
    message: (v) =>
      `--min-destinations ${v.minDestinations}: expected at most the number of storage URLs (${v.storage.destinations.length})`,
  },
];

export function parseBackupSettings(raw: RawOptions): BackupSettings {
  const v = readOptions(raw, BACKUP);
  const storage = parseStorageSettings(raw, { several: true });
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
    for (const destination of storage.destinations) destination.s3.checksums = "when-supported";
  }
  return {
    ...storage,
    minDestinations: v.minDestinations,
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
  junit: OPTIONS.junit,
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
    junit: v.junit,
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
  runEnv: OPTIONS.runEnv,
  tolerate: OPTIONS.tolerate,
  keepOnFailure: OPTIONS.keepOnFailure,
  decryptToDisk: OPTIONS.decryptToDisk,
  jobs: OPTIONS.jobs,
  pgRestoreArgs: OPTIONS.pgRestoreArgs,
  maxTableDrift: OPTIONS.maxTableDrift,
  driftAction: OPTIONS.driftAction,
  maxRestoreSeconds: OPTIONS.maxRestoreSeconds,
  junit: OPTIONS.junit,
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

const MASKING = {
  mask: OPTIONS.mask,
  storage: OPTIONS.maskedStorage,
  label: OPTIONS.maskedLabel,
  recipients: OPTIONS.maskedRecipient,
  key: OPTIONS.maskingKey,
  keyFile: OPTIONS.maskingKeyFile,
  coverage: OPTIONS.maskCoverage,
};

/** The masked copy's settings: all or nothing, so a half-configured masking job never runs unmasked. */
function parseMaskingSettings(raw: RawOptions, source: StorageSettings): MaskingSettings | undefined {
  const v = readOptions(raw, MASKING);
  const named = (option: { name: string }) => `--${option.name}`;
  if (v.mask === undefined) {
    const given: [boolean, { name: string }][] = [
      [v.storage !== undefined, OPTIONS.maskedStorage],
      [v.label !== undefined, OPTIONS.maskedLabel],
      [v.recipients.length > 0, OPTIONS.maskedRecipient],
      [v.keyFile !== undefined, OPTIONS.maskingKeyFile],
    ];
    for (const [present, option] of given) {
      if (present) {
        throw new InputError(
          `${named(option)}: given without --${OPTIONS.mask.name}; add the rules file or drop it`,
          {
            input: option.name,
          },
        );
      }
    }
    return undefined;
  }
  const need = (value: unknown, option: { name: string }, what: string) => {
    if (value === undefined || (Array.isArray(value) && value.length === 0)) {
      throw new InputError(`${named(option)}: required with --${OPTIONS.mask.name} (${what})`, {
        input: option.name,
      });
    }
  };
  need(v.label, OPTIONS.maskedLabel, "the label the masked copy is stored under");
  need(v.recipients, OPTIONS.maskedRecipient, "the staging public key that can decrypt the masked copy");
  const label = v.label!;
  try {
    validateLabel(label);
  } catch {
    throw new InputError(
      `${named(OPTIONS.maskedLabel)} "${label}": expected 1 to 64 letters, digits, ".", "_" or "-", starting with a letter or digit`,
      { input: OPTIONS.maskedLabel.name },
    );
  }
  const destination =
    v.storage === undefined
      ? { storage: source.storage, s3: source.s3 }
      : parseDestination(v.storage, source.s3, OPTIONS.maskedStorage.name);
  if (sameStoreKey(destination) === sameStoreKey(source) && label === source.label) {
    throw new InputError(
      `${named(OPTIONS.maskedLabel)} "${label}": the backup's own label in the same storage; a masked copy needs a label (or storage) of its own`,
      { input: OPTIONS.maskedLabel.name },
    );
  }
  const secret =
    v.keyFile === undefined ? v.key : readOptionFile(OPTIONS.maskingKeyFile, v.keyFile).split(/\r?\n/)[0];
  if (!secret) {
    throw new InputError(
      `${named(OPTIONS.maskingKeyFile)}: required with --${OPTIONS.mask.name} (the masking secret; or LIFEBOAT_MASKING_KEY)`,
      { input: v.keyFile === undefined ? OPTIONS.maskingKey.name : OPTIONS.maskingKeyFile.name },
    );
  }
  return {
    rules: parseMaskingRules(readOptionFile(OPTIONS.mask, v.mask), v.mask),
    key: maskingKey(secret, v.keyFile === undefined ? OPTIONS.maskingKey.name : OPTIONS.maskingKeyFile.name),
    destination,
    label,
    recipients: v.recipients,
    coverage: v.coverage,
  };
}

export function parseRestoreTestSettings(raw: RawOptions): RestoreTestSettings {
  const v = readOptions(raw, RESTORE_TEST);
  const source = parseBackupSource(raw);
  const masking = parseMaskingSettings(raw, source);
  return {
    ...source,
    ...(masking ? { masking } : {}),
    scratchUrl: v.scratchUrl,
    assertions: readAssertions(v.assertions),
    run: v.run,
    runEnv: parsePassThrough(v.runEnv, OPTIONS.runEnv.name),
    tolerate: v.tolerate.map(compileTolerate),
    keepOnFailure: v.keepOnFailure,
    decryptToDisk: v.decryptToDisk,
    jobs: v.jobs ?? defaultJobs(),
    pgRestoreArgs:
      v.pgRestoreArgs === undefined ? [] : parsePgRestoreArgs(v.pgRestoreArgs, OPTIONS.pgRestoreArgs.name),
    maxTableDrift: v.maxTableDrift,
    driftAction: v.driftAction,
    maxRestoreSeconds: v.maxRestoreSeconds,
    junit: v.junit,
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
  strategy: OPTIONS.strategy,
  dropOld: OPTIONS.dropOld,
  terminateConnections: OPTIONS.terminateConnections,
  pgRestoreArgs: OPTIONS.pgRestoreArgs,
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
  {
    name: "swap restores the whole database",
    input: OPTIONS.strategy,
    broken: (v) => v.strategy === "swap" && (v.schemas.length > 0 || v.tables.length > 0),
    message: (v) =>
      `--strategy swap: replaces the whole database, so it cannot restore only --${v.schemas.length > 0 ? "schema" : "table"}; use --strategy in-place (or auto)`,
  },
  {
    name: "drop-old needs the swap",
    input: OPTIONS.dropOld,
    broken: (v) => v.dropOld && v.strategy === "in-place",
    message: () => `--drop-old: only the swap strategy keeps an old database; --strategy is in-place`,
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
    pgRestoreArgs:
      v.pgRestoreArgs === undefined ? [] : parsePgRestoreArgs(v.pgRestoreArgs, OPTIONS.pgRestoreArgs.name),
  };
}

const STATUS = {
  labels: OPTIONS.labels,
  maxAge: OPTIONS.maxAge,
  maxRestoreAge: OPTIONS.maxRestoreAge,
  minSuccessRate: OPTIONS.minSuccessRate,
  window: OPTIONS.window,
  html: OPTIONS.html,
  prometheus: OPTIONS.prometheus,
};

function statusLabel(label: string): string {
  if (isLabel(label)) return label;
  throw new InputError(
    `--${OPTIONS.labels.name} "${label}": expected labels of 1 to 64 letters, digits, ".", "_" or "-", starting with a letter or digit`,
    { input: OPTIONS.labels.name },
  );
}

/** status reads a whole store: the storage options without one label, and the labels to show. */
export function parseStatusSettings(raw: RawOptions): StatusSettings {
  const { storage, label: _label, ...s3 } = readOptions(raw, STORAGE);
  checkRules({ storage, label: _label, ...s3 }, STORAGE_RULES);
  const v = readOptions(raw, STATUS);
  const destinations = parseDestinations(storage, s3, OPTIONS.storage.name);
  if (destinations.length > 1) {
    throw new InputError(
      `--${OPTIONS.storage.name}: ${destinations.length} URLs given; status reads one store (run it once per store, docs/offsite.md)`,
      { input: OPTIONS.storage.name },
    );
  }
  const [first] = destinations as [Destination, ...Destination[]];
  const evidence = parseEvidenceSettings(raw);
  return {
    storage: first.storage,
    s3: first.s3,
    ...(evidence.trustedKeys.length > 0 ? { evidence } : {}),
    labels: [...new Set(v.labels.map(statusLabel))],
    maxAgeSeconds: v.maxAge === undefined ? undefined : v.maxAge / 1000,
    maxRestoreAgeSeconds: v.maxRestoreAge === undefined ? undefined : v.maxRestoreAge / 1000,
    minSuccessRate: v.minSuccessRate,
    window: v.window,
    html: v.html,
    prometheus: v.prometheus,
  };
}

const RESTORE_FILES = {
  source: OPTIONS.filesSource,
  to: OPTIONS.to,
  // Required, but its error names the target, so the check below says it is missing.
  confirm: { ...OPTIONS.confirm, required: false },
  overwrite: OPTIONS.overwrite,
};

/**
 * What `confirm` must say for a target: the bucket of an s3:// target, else the directory as
 * given or resolved. Pure, so the settings reader and the command agree.
 */
export function restoreFilesConfirmations(to: string, cwd: string): { expected: string; accepted: string[] } {
  const target = parseFilesSource(to, { cwd, input: OPTIONS.to.name });
  if (target.kind === "s3") return { expected: target.bucket, accepted: [target.bucket] };
  return { expected: to.trim(), accepted: [to.trim(), target.path] };
}

export function parseRestoreFilesSettings(raw: RawOptions): RestoreFilesSettings {
  const v = readOptions(raw, RESTORE_FILES);
  const storage = parseStorageSettings(raw);
  if (/^s3:\/\/\*\/*$/i.test(v.to.trim())) {
    throw new InputError(`--to "${v.to}": expected one bucket (s3://BUCKET[/PREFIX]) or a directory`, {
      input: OPTIONS.to.name,
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
