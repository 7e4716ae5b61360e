/** restore-files (the restore-files action): a backup's files source back into a bucket or directory. */
import { formatBytes } from "../../report/format.js";
import type { Report, ReportContext } from "../../report/report.js";
import { parseRestoreFilesSettings } from "../../settings/settings.js";
import { commandSpec } from "../../settings/spec.js";
import type { RestoreFilesSettings } from "../../settings/types.js";
import { auditedRestoreFiles } from "../audit/audited.js";
import type { CommandDefinition } from "../command.js";
import { restoreFilesFailure, runRestoreFiles, type RestoreFilesCommandResult } from "./run.js";

function counts(result: RestoreFilesCommandResult): string {
  return `${result.written} written, ${result.skippedExisting} skipped (already there), ${result.failed} failed, ${result.unsupported} not applicable; ${formatBytes(result.bytes)}`;
}

export function buildRestoreFilesReport(result: RestoreFilesCommandResult, context: ReportContext): Report {
  return {
    action: "restore-files",
    label: result.label,
    verdict: result.passed ? (context.loggedWarnings?.length ? "warn" : "pass") : "fail",
    title: `Lifeboat restore-files: ${result.label}/${result.backupId} ${result.passed ? "done" : "FAILED"}`,
    headline: result.passed
      ? `Files of ${result.backupId} (${result.source}) restored into ${result.target}: ${counts(result)}.`
      : `Restoring the files of ${result.backupId} into ${result.target} failed: ${result.failures[0] ?? "see the failures"}`,
    backupId: result.backupId,
    facts: [
      { label: "Backup", value: result.backupId },
      { label: "Source", value: `${result.source} (${result.artifact})` },
      { label: "Target", value: result.target },
      { label: "Written", value: String(result.written) },
      { label: "Skipped", value: String(result.skippedExisting) },
      { label: "Failed", value: String(result.failed) },
      { label: "Bytes", value: formatBytes(result.bytes) },
    ],
    failures: result.failures,
    warnings: [...(context.loggedWarnings ?? [])],
    sections: [],
    runUrl: context.runUrl,
    history: null,
  };
}

export const restoreFilesCommand: CommandDefinition<RestoreFilesSettings, RestoreFilesCommandResult> = {
  spec: commandSpec("restore-files"),
  parse: parseRestoreFilesSettings,
  storage: (settings) => settings,
  run: (settings, deps) => auditedRestoreFiles(settings, deps, () => runRestoreFiles(settings, deps)),
  failure: restoreFilesFailure,
  outputs: (result) => ({
    "backup-id": result.backupId,
    written: result.written,
    skipped: result.skippedExisting,
    failed: result.failed,
    bytes: result.bytes,
  }),
  text: (result) =>
    [
      `${result.backupId}: files of ${result.source} ${result.passed ? "restored" : "restore FAILED"} into ${result.target}: ${counts(result)}`,
      ...result.failures.map((line) => `${result.backupId}: ${line}`),
    ].join("\n"),
  json: (result) => ({ ...result }),
  report: (result, context) => buildRestoreFilesReport(result, { ...context, label: result.label }),
};
