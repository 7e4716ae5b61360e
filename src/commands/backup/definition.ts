/** backup (the backup-db action): dump, compress, encrypt and store a database, manifest last. */
import { filesArtifacts } from "../../domain/manifest.js";
import { buildBackupReport } from "../../report/report.js";
import { parseBackupCommandSettings } from "../../settings/settings.js";
import { commandSpec } from "../../settings/spec.js";
import { runBackup, type BackupResult } from "../backup/run.js";
import type { CommandDefinition } from "../command.js";
import type { BackupSettings, FilesOnlyBackupSettings } from "../../settings/types.js";
import { runFilesOnlyBackup } from "./files-only.js";

export const backupCommand: CommandDefinition<BackupSettings | FilesOnlyBackupSettings, BackupResult> = {
  spec: commandSpec("backup"),
  parse: parseBackupCommandSettings,
  storage: (settings) => settings,
  run: (settings, deps) =>
    "noDatabase" in settings ? runFilesOnlyBackup(settings, deps) : runBackup(settings, deps),
  outputs: (result) => ({
    "backup-id": result.backupId,
    "backup-key": result.backupKey,
    "manifest-key": result.manifestKey,
    "stored-bytes": result.storedBytes,
    sha256: result.sha256,
    "duration-seconds": result.durationSeconds,
  }),
  text: (result) => result.backupId,
  json: (result, { storageUrl }) => ({
    backupId: result.backupId,
    label: result.label,
    storage: storageUrl,
    backupKey: result.backupKey,
    manifestKey: result.manifestKey,
    storedBytes: result.storedBytes,
    sha256: result.sha256,
    durationSeconds: result.durationSeconds,
    tables: result.manifest.tables.length,
    totalRows: result.manifest.totalRows,
    files: filesArtifacts(result.manifest).map((artifact) => ({
      source: artifact.source,
      name: artifact.name,
      files: artifact.files,
      bytes: artifact.bytes,
      storedBytes: artifact.stored.bytes,
      changed: artifact.changed,
      ...(artifact.storageObjects ? { storageObjects: artifact.storageObjects } : {}),
    })),
  }),
  report: (result, context) => buildBackupReport(result, { ...context, label: result.label }),
};
