import * as core from "@actions/core";
import { restoreFailureMessage, runRestore } from "../../commands/restore.js";
import { OperationError } from "../../domain/errors.js";
import { formatBytes } from "../../report/format.js";
import { parseRestoreSettings } from "../../settings/settings.js";
import { commandSpec } from "../../settings/spec.js";
import { openStore } from "../../storage/open-store.js";
import { actionLogger, maskSecrets, readInputs } from "../inputs.js";

export async function run(): Promise<void> {
  const spec = commandSpec("restore");
  maskSecrets(spec);
  const settings = parseRestoreSettings(readInputs(spec));
  const store = await openStore(settings.storage, {
    cwd: process.env.GITHUB_WORKSPACE ?? process.cwd(),
    s3: settings.s3,
  });
  const result = await runRestore(settings, {
    store,
    env: process.env,
    now: () => new Date(),
    log: actionLogger,
  });
  const failure = restoreFailureMessage(result);
  core.setOutput("backup-id", result.backupId);
  core.setOutput("safety-backup-id", result.safetyBackup?.backupId ?? "");
  core.setOutput("restore-seconds", String(result.restoreSeconds));

  const summary = core.summary
    .addHeading(
      `Lifeboat restore: ${settings.label}/${result.backupId} into ${result.targetDatabase} ${result.passed ? "done" : "FAILED"}`,
      2,
    )
    .addTable([
      [
        { data: "Backup", header: true },
        { data: "Target", header: true },
        { data: "Scope", header: true },
        { data: "Read", header: true },
        { data: "Restore", header: true },
        { data: "Safety backup", header: true },
      ],
      [
        `${settings.label}/${result.backupId}`,
        `${result.targetServer}/${result.targetDatabase}`,
        result.pgRestoreArgs.length > 0 ? result.pgRestoreArgs.join(" ") : "whole database",
        formatBytes(result.bytesRead),
        `${result.restoreSeconds}s`,
        result.safetyBackup ? `${result.safetyBackup.label}/${result.safetyBackup.backupId}` : "none",
      ],
    ]);
  if (result.rowCheck) {
    summary.addRaw(
      `\n\n${result.rowCheck.tablesChecked} tables, ${result.rowCheck.mismatches.length} with a row count that differs from the manifest.\n\n`,
    );
  }
  if (result.failures.length > 0) summary.addList(result.failures);
  if (result.safetyBackup) {
    summary.addRaw(
      `\n\nTo undo this restore, restore the safety backup: backup \`${result.safetyBackup.backupId}\` under label \`${result.safetyBackup.label}\`.\n`,
    );
  }
  await summary.write();
  if (failure) throw new OperationError(failure);
}
