/** copy (the copy-backup action): committed backups of a label into another store, checked. */
import type { Report } from "../../report/report.js";
import { parseCopySettings } from "../../settings/settings.js";
import { commandSpec } from "../../settings/spec.js";
import type { CopySettings } from "../../settings/types.js";
import type { CommandDefinition } from "../command.js";
import { copyFailureMessage, runCopy, type CopyResult } from "./run.js";

function summary(result: CopyResult): string {
  const copied = result.copied.length;
  return `${copied} backup${copied === 1 ? "" : "s"} of ${result.label} copied from ${result.from} to ${result.to}; ${result.present.length} already there${result.failed.length > 0 ? `; ${result.failed.length} FAILED` : ""}`;
}

export const copyCommand: CommandDefinition<CopySettings, CopyResult> = {
  spec: commandSpec("copy"),
  parse: parseCopySettings,
  // Two stores, each opened with its own credentials by the command itself.
  run: (settings, deps) => runCopy(settings, deps),
  failure: copyFailureMessage,
  outputs: (result) => ({
    copied: result.copied.length,
    skipped: result.present.length,
    "copied-bytes": result.copied.reduce((sum, entry) => sum + entry.bytes, 0),
  }),
  logLines: (result) => [summary(result)],
  text: (result) =>
    [
      ...result.copied.map((entry) => `copied ${entry.backupId} (${entry.bytes} bytes)`),
      ...result.present.map((id) => `present ${id}`),
      ...result.failed.map((entry) => `FAILED ${entry.backupId}: ${entry.reason}`),
      summary(result),
    ].join("\n"),
  json: (result) => ({ ...result }),
  report: (result, context): Report => ({
    action: "copy-backup",
    label: result.label,
    verdict: result.failed.length > 0 ? "fail" : "pass",
    title: `Lifeboat copy: ${result.label}${result.failed.length > 0 ? " FAILED" : ""}`,
    headline: summary(result),
    backupId: result.copied.at(-1)?.backupId ?? null,
    facts: [
      { label: "From", value: result.from },
      { label: "To", value: result.to },
      { label: "Copied", value: String(result.copied.length) },
      { label: "Already there", value: String(result.present.length) },
    ],
    failures: result.failed.map((entry) => `${entry.backupId}: ${entry.reason}`),
    warnings: context.loggedWarnings ?? [],
    sections: [],
    runUrl: context.runUrl,
    history: null,
  }),
};
