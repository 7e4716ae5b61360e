import * as core from "@actions/core";
import {
  restoreTestFailureMessage,
  runRestoreTest,
  type RestoreTestResult,
} from "../../commands/restore-test.js";
import { OperationError } from "../../domain/errors.js";
import { buildRestoreTestReport } from "../../report/report.js";
import { parseRestoreTestSettings } from "../../settings/settings.js";
import { commandSpec } from "../../settings/spec.js";
import { openStore } from "../../storage/open-store.js";
import type { Store } from "../../storage/store.js";
import { maskSecrets, readInputs } from "../inputs.js";
import { createReporter } from "../report.js";
import { actionsToolCache } from "../tool-cache.js";

export async function run(): Promise<void> {
  const spec = commandSpec("restore-test");
  maskSecrets(spec);
  const raw = readInputs(spec);
  const reporter = createReporter("restore-test", spec, raw);
  await reporter.start();
  let store: Store | undefined;
  let result: RestoreTestResult;
  let label: string;
  try {
    const settings = parseRestoreTestSettings(raw);
    label = settings.label;
    store = await openStore(settings.storage, {
      cwd: process.env.GITHUB_WORKSPACE ?? process.cwd(),
      s3: settings.s3,
    });
    result = await runRestoreTest(settings, {
      store,
      env: process.env,
      now: () => new Date(),
      log: reporter.log,
      toolCache: actionsToolCache(reporter.log),
    });
  } catch (error) {
    await reporter.deliver(reporter.errorReport(error), { store });
    throw error;
  }
  const failure = restoreTestFailureMessage(result);
  core.setOutput("passed", String(result.passed));
  core.setOutput("backup-id", result.backupId);
  core.setOutput("restore-seconds", String(result.restoreSeconds));
  core.setOutput("tables-checked", String(result.tablesChecked));
  core.setOutput("mismatches", String(result.mismatches.length));
  core.setOutput("reason", failure ?? "");

  const report = buildRestoreTestReport(result, {
    label,
    runUrl: reporter.runUrl,
    loggedWarnings: reporter.loggedWarnings,
  });
  await reporter.deliver(report, { store, restoreTest: result });
  if (failure) throw new OperationError(failure);
}
