import * as core from "@actions/core";
import { restoreTestFailureMessage, runRestoreTest } from "../../commands/restore-test.js";
import { OperationError } from "../../domain/errors.js";
import { parseRestoreTestSettings } from "../../settings/settings.js";
import { commandSpec } from "../../settings/spec.js";
import { openStore } from "../../storage/open-store.js";
import { actionLogger, maskSecrets, readInputs } from "../inputs.js";

export async function run(): Promise<void> {
  const spec = commandSpec("restore-test");
  maskSecrets(spec);
  const settings = parseRestoreTestSettings(readInputs(spec));
  const store = await openStore(settings.storage, {
    cwd: process.env.GITHUB_WORKSPACE ?? process.cwd(),
    s3: settings.s3,
  });
  const result = await runRestoreTest(settings, {
    store,
    env: process.env,
    now: () => new Date(),
    log: actionLogger,
  });
  const failure = restoreTestFailureMessage(result);
  core.setOutput("passed", String(result.passed));
  core.setOutput("backup-id", result.backupId);
  core.setOutput("restore-seconds", String(result.restoreSeconds));
  core.setOutput("tables-checked", String(result.tablesChecked));
  core.setOutput("mismatches", String(result.mismatches.length));
  core.setOutput("reason", failure ?? "");

  const summary = core.summary
    .addHeading(`Lifeboat restore-test: ${settings.label} ${result.passed ? "passed" : "FAILED"}`, 2)
    .addTable([
      [
        { data: "Backup", header: true },
        { data: "Restore", header: true },
        { data: "Tables checked", header: true },
        { data: "Mismatches", header: true },
        { data: "Assertions", header: true },
        { data: "Command", header: true },
      ],
      [
        result.backupId,
        `${result.restoreSeconds}s (${result.mode})`,
        String(result.tablesChecked),
        String(result.mismatches.length),
        `${result.assertions.filter((assertion) => assertion.passed).length}/${result.assertions.length}`,
        result.run ? `exit ${result.run.exitCode}` : "-",
      ],
    ]);
  if (result.failures.length > 0) summary.addList(result.failures);
  if (result.run)
    summary.addDetails("Command output", `\n\n\`\`\`\n${result.run.output.slice(-8000)}\n\`\`\`\n`);
  await summary.write();
  if (failure) throw new OperationError(failure);
}
