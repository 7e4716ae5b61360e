/** list: the committed backups under a label, newest first, with size, age and last check. */
import { formatAge, formatBytes, formatTable } from "../../report/format.js";
import { parseStorageSettings } from "../../settings/settings.js";
import type { StorageSettings } from "../../settings/types.js";
import { commandSpec } from "../../settings/spec.js";
import type { CommandDefinition } from "../command.js";
import { listBackups, type ListedBackup } from "../list/run.js";

export const listCommand: CommandDefinition<StorageSettings, ListedBackup[]> = {
  spec: commandSpec("list"),
  parse: parseStorageSettings,
  storage: (settings) => settings,
  run: (settings, deps) => listBackups(settings, deps),
  text: (backups, { storageUrl, settings }) =>
    backups.length
      ? formatTable(
          ["BACKUP ID", "STARTED (UTC)", "SIZE", "AGE", "LAST CHECK", "FILES"],
          backups.map((backup) => [
            backup.backupId,
            backup.startedAt.replace("T", " ").replace(/\.\d{3}Z$/, ""),
            formatBytes(backup.storedBytes),
            formatAge(backup.ageSeconds),
            backup.lastCheck ? `${backup.lastCheck.kind} ${backup.lastCheck.passed ? "pass" : "FAIL"}` : "-",
            backup.files
              ? `${backup.files.files} in ${backup.files.sources} source(s), ${formatBytes(backup.files.bytes)}`
              : "-",
          ]),
        )
      : `no backups under ${storageUrl}/${settings.label}/`,
  json: (backups, { storageUrl, settings }) => ({ storage: storageUrl, label: settings.label, backups }),
};
