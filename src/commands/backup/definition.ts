/** backup (the backup-db action): dump, compress, encrypt and store a database, manifest last. */
import { buildBackupReport } from "../../report/report.js";
import { previousTables, type PreviousTables } from "../../report/summary-sections.js";
import { parseBackupSettings } from "../../settings/settings.js";
import { commandSpec } from "../../settings/spec.js";
import { runBackup, type BackupResult } from "../backup/run.js";
import type { CommandDefinition } from "../command.js";
import type { BackupSettings } from "../../settings/types.js";

export const backupCommand: CommandDefinition<
  BackupSettings,
  BackupResult & { previousTables?: PreviousTables | null }
> = {
  spec: commandSpec("backup"),
  parse: parseBackupSettings,
  storage: (settings) => settings,
  run: async (settings, deps) => {
    const result = await runBackup(settings, deps);
    // For the job summary's per-table change; a store that cannot say leaves the column out.
    const previous = await previousTables(deps.store, result.label, result.backupId).catch(() => null);
    return { ...result, previousTables: previous ?? null };
  },
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
  }),
  report: (result, context) => buildBackupReport(result, { ...context, label: result.label }),
};
