/** restore-test: restore a backup into a scratch database and prove it (rows, assertions, a command). */
import { renderJUnit, restoreTestJUnit, writeJUnitFile } from "../../report/junit.js";
import { renderMarkdown } from "../../report/markdown.js";
import { buildRestoreTestReport, type Report } from "../../report/report.js";
import { parseRestoreTestSettings } from "../../settings/settings.js";
import { commandSpec } from "../../settings/spec.js";
import type { CommandDefinition } from "../command.js";
import { restoreTestFailureMessage, runRestoreTest, type RestoreTestResult } from "../restore-test/run.js";
import type { RestoreTestSettings } from "../../settings/types.js";

export const restoreTestCommand: CommandDefinition<RestoreTestSettings, RestoreTestResult> = {
  spec: commandSpec("restore-test"),
  parse: parseRestoreTestSettings,
  storage: (settings) => settings,
  run: async (settings, deps) => {
    const result = await runRestoreTest(settings, deps);
    if (settings.junit !== undefined) {
      const suite = restoreTestJUnit(result, { label: settings.label, now: deps.now() });
      const secrets = [settings.scratchUrl.password, settings.keys.passphrase, settings.keys.identityText];
      await writeJUnitFile(
        deps.cwd,
        settings.junit,
        renderJUnit(
          suite,
          secrets.filter((secret): secret is string => secret !== undefined),
        ),
      );
    }
    return result;
  },
  failure: restoreTestFailureMessage,
  outputs: (result, failure) => ({
    passed: result.passed,
    "backup-id": result.backupId,
    "restore-seconds": result.restoreSeconds,
    "tables-checked": result.tablesChecked,
    mismatches: result.mismatches.length,
    "masked-backup-id": result.masked?.backupId ?? "",
    reason: failure ?? "",
  }),
  text: (result) => {
    const passedAssertions = result.assertions.filter((assertion) => assertion.passed).length;
    const summary = `${result.backupId}: restored in ${result.restoreSeconds}s (${result.mode}), ${result.tablesChecked} tables checked, ${result.mismatches.length} mismatches, ${result.catalog.compared ? `catalog: ${result.catalog.failures} failures, ${result.catalog.warnings} warnings, ` : ""}${passedAssertions}/${result.assertions.length} assertions passed${result.run ? `, run exited ${result.run.exitCode}` : ""}`;
    // The user's command printed for the user: its output (scrubbed of the scratch URL's password
    // by the command itself) comes before the verdict, as it would in a terminal.
    const run = result.run ? [`$ ${result.run.command}`, result.run.output.trimEnd()].filter(Boolean) : [];
    const masked = result.masked
      ? [
          result.masked.backupId
            ? `masked copy: ${result.masked.storage}/${result.masked.label}/${result.masked.backupId} (${result.masked.maskedColumns} columns in ${result.masked.tablesMasked} tables masked and verified)`
            : `no masked copy written: ${result.masked.error ?? "unknown"}`,
        ]
      : [];
    return [...run, summary, ...masked, ...result.failures.map((line) => `${result.backupId}: ${line}`)].join(
      "\n",
    );
  },
  json: ({ pgRestoreLog: _log, ...json }) => json,
  report: (result, context) => buildRestoreTestReport(result, context),
  artifact: (result, report) => ({
    name: `lifeboat-restore-test-${report.label}-${result.backupId}`,
    title: "restore-test report",
    files: restoreTestArtifactFiles(report, result),
  }),
};

/** The files of the restore-test artifact: the report, the result (no secrets), the logs. */
export function restoreTestArtifactFiles(report: Report, result: RestoreTestResult): Record<string, string> {
  const { pgRestoreLog, run, ...rest } = result;
  const files: Record<string, string> = {
    "report.md": renderMarkdown(report, "summary"),
    "result.json": `${JSON.stringify(
      { ...rest, run: run ? { command: run.command, exitCode: run.exitCode } : null },
      null,
      2,
    )}\n`,
    "pg_restore.log": pgRestoreLog,
  };
  if (result.assertions.length > 0) {
    files["assertions.txt"] = result.assertions
      .map((assertion) => `${assertion.passed ? "PASS" : "FAIL"} ${assertion.sql}\n  ${assertion.detail}\n`)
      .join("\n");
  }
  if (run) files["command-output.log"] = `$ ${run.command}\n${run.output}`;
  return files;
}
