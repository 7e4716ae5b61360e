/** restore (the restore-db action): a backup into a target database the user named and confirmed. */
import { buildRestoreReport } from "../../report/report.js";
import { parseRestoreSettings } from "../../settings/settings.js";
import { commandSpec } from "../../settings/spec.js";
import { auditedRestore } from "../audit/audited.js";
import type { CommandDefinition } from "../command.js";
import { restoreFailureMessage, runRestore, type RestoreResult } from "../restore/run.js";
import type { RestoreSettings } from "../../settings/types.js";

export const restoreCommand: CommandDefinition<RestoreSettings, RestoreResult> = {
  spec: commandSpec("restore"),
  parse: parseRestoreSettings,
  storage: (settings) => settings,
  run: (settings, deps) => auditedRestore(settings, deps, () => runRestore(settings, deps)),
  failure: restoreFailureMessage,
  outputs: (result) => ({
    "backup-id": result.backupId,
    "safety-backup-id": result.safetyBackup?.backupId ?? "",
    "restore-seconds": result.restoreSeconds,
    strategy: result.strategy,
    "old-database": result.oldDatabase ?? "",
  }),
  text: (result) => {
    const safety = result.safetyBackup
      ? `; safety backup ${result.safetyBackup.label}/${result.safetyBackup.backupId}`
      : "; no safety backup";
    const how =
      result.strategy === "swap"
        ? ` by swap (restored and checked in ${result.restoredInto}, then renamed; ${
            !result.passed
              ? "the target is untouched"
              : result.oldDatabase
                ? `the previous database is kept as ${result.oldDatabase}`
                : "the previous database was dropped"
          })`
        : " in place";
    const summary = `${result.backupId}: ${result.passed ? "restored" : "restore FAILED"} into ${result.targetDatabase}${how} in ${result.restoreSeconds}s${safety}`;
    return [summary, ...result.failures.map((line) => `${result.backupId}: ${line}`)].join("\n");
  },
  json: ({ pgRestoreLog: _log, ...json }) => json,
  report: (result, context) => buildRestoreReport(result, { ...context, label: result.label }),
};
