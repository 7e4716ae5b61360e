/**
 * restore (action restore-db): a chosen backup restored into a target database that already
 * exists, typically the one it was taken from. Refused unless `confirm` names the target database;
 * by default a safety backup of the target is taken first, into the same storage and encrypted to
 * the same keys, so that the restore itself can be undone. Everything that can be checked is
 * checked before anything is written: the backup, the key, the target, the confirmation.
 *
 * Check first: the whole dump is read and decrypted once, and its stored and plaintext size and
 * sha256 compared with the manifest, before the safety backup and before pg_restore sees a byte.
 * The restore then reads it a second time, checked again on the way; an object swapped between the
 * two reads is reported as a failure (the safety backup undoes what it wrote).
 */
import type { DatabaseUrl } from "../../domain/database-url.js";
import { emptyScope } from "../../domain/dump-plan.js";
import { describeError, InputError, OperationError } from "../../domain/errors.js";
import { dumpArtifact, rolesArtifact, type Manifest } from "../../domain/manifest.js";
import { connect } from "../../postgres/connect.js";
import { preflight } from "../../postgres/doctor.js";
import type { ToolCache } from "../../postgres/pg-install.js";
import { runPgRestore } from "../../postgres/pg-restore.js";
import { compareRowCounts } from "../../postgres/row-counts.js";
import type { Identity } from "../../crypto/age/index.js";
import type {
  BackupSettings,
  DecryptionKeys,
  EncryptionSettings,
  RestoreSettings,
} from "../../settings/types.js";
import type { Store } from "../../storage/store.js";
import { formatBytes } from "../../report/format.js";
import { tapStage } from "../../pipeline/stage.js";
import { BackupRepository } from "../../repository/backup-repository.js";
import { openArtifactRead, readArtifact } from "../../repository/read-artifact.js";
import { runBackup } from "../backup/run.js";
import type { Logger } from "../logger.js";
import { readRolesObject } from "../roles-object.js";
import { findPgRestoreFor, identitiesFor } from "../read-backup.js";

export interface RestoreResult {
  passed: boolean;
  backupId: string;
  label: string;
  targetDatabase: string;
  targetServer: string;
  safetyBackup: { label: string; backupId: string; storedBytes: number } | null;
  /** Wall time from the first byte read from the store to the end of pg_restore. */
  restoreSeconds: number;
  bytesRead: number;
  pgRestoreArgs: string[];
  /** Whole-database restores only: tables whose row count differs from the manifest's. */
  rowCheck: {
    tablesChecked: number;
    mismatches: { table: string; expected: number; actual: number | null }[];
  } | null;
  restoreErrors: string[];
  failures: string[];
  pgRestoreLog: string;
}

export interface RestoreDeps {
  store: Store;
  env: NodeJS.ProcessEnv;
  now: () => Date;
  log: Logger;
  signal?: AbortSignal;
  /** How often a progress line is logged (default 5 s). */
  progressEveryMs?: number;
  /** Where an installed pg_restore/pg_dump is cached between runs (actions/cache); none on the CLI. */
  toolCache?: ToolCache;
}

export async function runRestore(settings: RestoreSettings, deps: RestoreDeps): Promise<RestoreResult> {
  const { store, log } = deps;
  const repository = new BackupRepository(store);
  // Reading is all the restore itself needs; a safety backup checks for writing on its own.
  await repository.check("read");
  const resolved = await repository.resolve(settings.label, settings.backup);
  const { manifest } = resolved;
  for (const skipped of resolved.skipped) {
    log.warn(`backup ${skipped.backupId} is broken and was passed over: ${skipped.problems.join("; ")}`);
  }
  const name = `${settings.label}/${manifest.backupId}`;
  if (resolved.problems.length > 0) {
    throw new OperationError(
      `backup ${name} is broken, so nothing was restored: ${resolved.problems.join("; ")}`,
    );
  }
  const identities = identitiesFor(manifest, settings.keys, name);
  const pgRestore = await findPgRestoreFor(manifest, settings, deps);
  await checkBeforeRestore(repository, manifest, identities, log);

  const target = settings.targetUrl;
  const where = `${target.host}:${target.port}/${target.database}`;
  await preflight(target, "target-database-url", { log });
  const client = await connect(target, "target-database-url");
  try {
    const current = (await client.query<{ name: string }>("SELECT current_database() AS name")).rows[0]!.name;
    if (current !== settings.confirm) {
      throw new InputError(
        `--confirm "${settings.confirm}": the target database is "${current}" (at ${target.host}:${target.port}); give its name to confirm that it is overwritten`,
        { input: "confirm" },
      );
    }
  } finally {
    await client.end().catch(() => undefined);
  }

  let safetyBackup: RestoreResult["safetyBackup"] = null;
  if (settings.safetyBackup) {
    log.info(
      `Safety backup of the target ${where} under ${store.url}/${settings.safetyLabel}/ before anything is overwritten`,
    );
    const backupSettings: BackupSettings = {
      storage: settings.storage,
      label: settings.safetyLabel,
      s3: settings.s3,
      databaseUrl: target,
      encryption: safetyEncryption(manifest, settings.keys),
      compression: "auto",
      scope: emptyScope(),
      extraArgs: [],
      pgBinDir: settings.pgBinDir,
      // pg-version pins the pg_restore; the safety backup takes the pg_dump that fits the target.
      pgVersion: "auto",
      installPgClient: settings.installPgClient,
    };
    try {
      const made = await runBackup(backupSettings, {
        store,
        env: deps.env,
        now: deps.now,
        log,
        signal: deps.signal,
        toolCache: deps.toolCache,
      });
      safetyBackup = { label: made.label, backupId: made.backupId, storedBytes: made.storedBytes };
    } catch (error) {
      if (error instanceof InputError) throw error;
      throw new OperationError(
        `the safety backup of the target failed, so nothing was restored: ${describeError(error)}`,
        { cause: error },
      );
    }
    log.info(
      `Safety backup ${settings.safetyLabel}/${safetyBackup.backupId} committed; restore it to undo this restore`,
    );
  } else {
    log.warn(
      "no safety backup of the target (safety-backup false): this restore cannot be undone by Lifeboat",
    );
  }

  const args = pgRestoreArgs(settings);
  const roles = rolesArtifact(manifest);
  if (roles) {
    // A restore goes into an existing database, whose cluster normally has the roles already.
    log.info(
      `${roles.name} (${roles.count} roles) is not applied by restore; apply it first by hand if the target's server lacks them (docs/supabase.md)`,
    );
  }
  const dump = dumpArtifact(manifest);
  log.info(
    `Restoring ${repository.url}/${name} (${formatBytes(dump.stored.bytes)}) into ${where}${args.length ? ` with ${args.join(" ")}` : ""}`,
  );
  const failures: string[] = [];
  const started = performance.now();
  const progress = { bytes: 0 };
  const every = deps.progressEveryMs ?? 5000;
  const timer = setInterval(() => log.info(progressLine(progress.bytes, dump.stored.bytes, started)), every);
  timer.unref();
  let outcome: Awaited<ReturnType<typeof runPgRestore>> | undefined;
  let plainError: string | undefined;
  try {
    const opened = await openArtifactRead(repository, manifest, dump, identities, {
      storedTaps: [
        tapStage("progress", {
          update: (chunk) => (progress.bytes += chunk.length),
          finish: () => progress.bytes,
        }),
      ],
    });
    outcome = await runPgRestore({
      pgRestore,
      target,
      args,
      input: opened.streams,
      jobs: 1,
      env: deps.env,
      signal: deps.signal,
    });
    plainError = opened.check()[0];
  } catch (error) {
    // Stopped by SIGINT/SIGTERM: pg_restore is stopped, and the run ends with the signal's code.
    if (deps.signal?.aborted) throw deps.signal.reason;
    failures.push(describeError(error));
  } finally {
    clearInterval(timer);
  }
  const restoreSeconds = Math.round((performance.now() - started) / 10) / 100;
  if (plainError) failures.push(plainError);
  const restoreErrors = outcome?.errors ?? [];
  if (restoreErrors.length > 0) {
    failures.push(`pg_restore reported ${restoreErrors.length} error(s): ${restoreErrors[0]}`);
  } else if (outcome && outcome.exitCode !== 0) {
    failures.push(
      `pg_restore exited with status ${outcome.exitCode}: ${outcome.log.trim().split("\n").at(-1) ?? ""}`,
    );
  }

  let rowCheck: RestoreResult["rowCheck"] = null;
  if (failures.length === 0 && settings.schemas.length === 0 && settings.tables.length === 0) {
    try {
      rowCheck = await checkRowCounts(target, manifest, settings.clean, log);
    } catch (error) {
      log.warn(`the row counts after the restore could not be read: ${describeError(error)}`);
    }
  }
  const passed = failures.length === 0;
  log.info(
    `${passed ? "Restored" : "Restore FAILED:"} ${name} into ${where}: ${formatBytes(progress.bytes)} read in ${restoreSeconds}s` +
      (rowCheck
        ? `, ${rowCheck.tablesChecked} tables, ${rowCheck.mismatches.length} row-count differences`
        : "") +
      (safetyBackup ? `; undo with the safety backup ${settings.safetyLabel}/${safetyBackup.backupId}` : ""),
  );
  return {
    passed,
    backupId: manifest.backupId,
    label: settings.label,
    targetDatabase: target.database,
    targetServer: `${target.host}:${target.port}`,
    safetyBackup,
    restoreSeconds,
    bytesRead: progress.bytes,
    pgRestoreArgs: args,
    rowCheck,
    restoreErrors,
    failures,
    pgRestoreLog: outcome?.log ?? "",
  };
}

/**
 * Reads the whole dump (decrypted) and the roles object's stored bytes, and compares them with the
 * manifest, before anything is written anywhere. A wrong passphrase (which no public key reveals)
 * is bad input; any difference is a failed backup, and nothing is restored.
 */
async function checkBeforeRestore(
  repository: BackupRepository,
  manifest: Manifest,
  identities: Identity[],
  log: Logger,
): Promise<void> {
  const name = `${manifest.label}/${manifest.backupId}`;
  log.info(`Checking ${repository.url}/${name} against its manifest before restoring it`);
  const read = await readArtifact(repository, manifest, dumpArtifact(manifest), identities);
  const problems = [...read.problems, ...(await readRolesObject(repository, manifest, undefined)).problems];
  if (problems.length === 0) return;
  if (
    manifest.encryption.format !== "none" &&
    manifest.encryption.passphrase &&
    /passphrase is incorrect|no identity matches/.test(problems[0]!)
  ) {
    throw new InputError(`--passphrase-file: the passphrase does not decrypt backup ${name}`, {
      input: "passphrase-file",
    });
  }
  throw new OperationError(
    `backup ${name} does not match its manifest, so nothing was restored: ${problems.join("; ")}`,
  );
}

/** The safety backup is readable with the same key as the backup being restored. */
function safetyEncryption(manifest: Manifest, keys: DecryptionKeys): EncryptionSettings {
  const { encryption } = manifest;
  if (encryption.format === "none") return { kind: "none" };
  if (encryption.passphrase) return { kind: "passphrase", passphrase: keys.passphrase! };
  return { kind: "recipients", recipients: encryption.recipients };
}

export function pgRestoreArgs(
  settings: Pick<RestoreSettings, "schemas" | "tables" | "clean" | "noOwner" | "noPrivileges">,
): string[] {
  return [
    ...(settings.clean ? ["--clean", "--if-exists"] : []),
    ...(settings.noOwner ? ["--no-owner"] : []),
    ...(settings.noPrivileges ? ["--no-privileges"] : []),
    ...settings.schemas.map((schema) => `--schema=${schema}`),
    ...settings.tables.map((table) => `--table=${table}`),
  ];
}

/** Informational: without clean, rows already in the target stay, so a difference is a warning. */
async function checkRowCounts(
  target: DatabaseUrl,
  manifest: Manifest,
  clean: boolean,
  log: Logger,
): Promise<NonNullable<RestoreResult["rowCheck"]>> {
  const client = await connect(target, "target-database-url");
  try {
    const mismatches = await compareRowCounts(client, manifest.tables);
    for (const mismatch of mismatches.slice(0, 5)) {
      log.warn(
        `${mismatch.table}: ${mismatch.actual === null ? "missing" : `${mismatch.actual} rows`} after the restore, the manifest counted ${mismatch.expected}${clean ? "" : " (without clean, rows already in the target stay)"}`,
      );
    }
    return { tablesChecked: manifest.tables.length, mismatches };
  } finally {
    await client.end().catch(() => undefined);
  }
}

export function progressLine(bytes: number, total: number, startedMs: number): string {
  const seconds = Math.max((performance.now() - startedMs) / 1000, 0.001);
  const percent = total > 0 ? ` (${Math.min(100, Math.floor((bytes / total) * 100))}%)` : "";
  return `restore: ${formatBytes(bytes)} of ${formatBytes(total)} read${percent}, ${formatBytes(Math.round(bytes / seconds))}/s, ${Math.round(seconds)}s elapsed`;
}

export function restoreFailureMessage(result: RestoreResult): string | undefined {
  if (result.passed) return undefined;
  const more = result.failures.length > 1 ? ` (and ${result.failures.length - 1} more)` : "";
  const undo = result.safetyBackup
    ? `; the target's previous content is in the safety backup ${result.safetyBackup.label}/${result.safetyBackup.backupId}`
    : "";
  return `restore of ${result.label}/${result.backupId} failed: ${result.failures[0]}${more}${undo}`;
}
