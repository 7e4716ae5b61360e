/**
 * The audit records of the commands that act on a label's data (docs/evidence.md): each wraps its
 * run in one of these, which says what to record. Options are listed by name, so a secret (a
 * database URL's password, an identity, a key) can never end up in a record.
 */
import { BackupRepository } from "../../repository/backup-repository.js";
import { recordOperation } from "../../repository/audit-trail.js";
import type { PruneSettings, RestoreFilesSettings, RestoreSettings } from "../../settings/types.js";
import type { CommandDeps } from "../command.js";
import { pruneFailureMessage, type PruneResult } from "../prune/run.js";
import { restoreFailureMessage, type RestoreResult } from "../restore/run.js";
import { restoreFilesFailure, type RestoreFilesCommandResult } from "../restore-files/run.js";

export { recordOperation, type AuditedOperation, type AuditTarget } from "../../repository/audit-trail.js";

/** restore: the backup restored, the target server and database, and how. */
export function auditedRestore(
  settings: RestoreSettings,
  deps: CommandDeps,
  work: () => Promise<RestoreResult>,
): Promise<RestoreResult> {
  const repository = new BackupRepository(deps.store, settings.evidence);
  const target = settings.targetUrl;
  return recordOperation(
    repository,
    {
      kind: "restore",
      label: settings.label,
      target: { kind: "database", host: target.host, port: target.port, database: target.database },
      options: {
        storage: repository.url,
        backup: settings.backup,
        schemas: settings.schemas,
        tables: settings.tables,
        clean: settings.clean,
        noOwner: settings.noOwner,
        noPrivileges: settings.noPrivileges,
        safetyBackup: settings.safetyBackup,
        safetyLabel: settings.safetyLabel,
      },
      backups: (result) => (result ? [result.backupId] : []),
      failed: restoreFailureMessage,
      lockLike: (result) => result?.backupId,
    },
    deps,
    work,
  );
}

/** prune: the policy, and the backups it deleted. A dry run changes nothing and is not recorded. */
export function auditedPrune(
  settings: PruneSettings,
  deps: CommandDeps,
  work: () => Promise<PruneResult>,
): Promise<PruneResult> {
  if (settings.dryRun) return work();
  const repository = new BackupRepository(deps.store, settings.evidence);
  return recordOperation(
    repository,
    {
      kind: "prune",
      label: settings.label,
      target: { kind: "storage", url: repository.url },
      options: { policy: settings.policy, dryRun: settings.dryRun },
      backups: (result) =>
        (result?.decisions ?? [])
          .filter((decision) => decision.action === "delete" && decision.deleted !== false)
          .map((decision) => decision.backupId),
      failed: pruneFailureMessage,
      lockLike: (result) => result?.decisions.find((decision) => decision.action === "keep")?.backupId,
    },
    deps,
    work,
  );
}

/** restore-files: the backup, the bucket or directory written into, and whether it overwrote. */
export function auditedRestoreFiles(
  settings: RestoreFilesSettings,
  deps: CommandDeps,
  work: () => Promise<RestoreFilesCommandResult>,
): Promise<RestoreFilesCommandResult> {
  const repository = new BackupRepository(deps.store, settings.evidence);
  return recordOperation(
    repository,
    {
      kind: "restore-files",
      label: settings.label,
      // The target as the user named it (a bucket URL or a directory): never a credential.
      target: { kind: "storage", url: settings.to },
      options: {
        storage: repository.url,
        backup: settings.backup,
        source: settings.source ?? null,
        overwrite: settings.overwrite,
      },
      backups: (result) => (result ? [result.backupId] : []),
      failed: restoreFilesFailure,
      lockLike: (result) => result?.backupId,
    },
    deps,
    work,
  );
}
