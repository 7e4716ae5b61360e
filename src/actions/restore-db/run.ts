import * as core from "@actions/core";
import { restoreFailureMessage, runRestore, type RestoreResult } from "../../commands/restore.js";
import { OperationError } from "../../domain/errors.js";
import { buildRestoreReport } from "../../report/report.js";
import { parseRestoreSettings } from "../../settings/settings.js";
import { commandSpec } from "../../settings/spec.js";
import { openStore } from "../../storage/open-store.js";
import type { Store } from "../../storage/store.js";
import { maskSecrets, readInputs } from "../inputs.js";
import { createReporter } from "../report.js";
import { actionsToolCache } from "../tool-cache.js";

export async function run(): Promise<void> {
  const spec = commandSpec("restore");
  maskSecrets(spec);
  const raw = readInputs(spec);
  const reporter = createReporter("restore-db", spec, raw);
  await reporter.start();
  let store: Store | undefined;
  let result: RestoreResult;
  try {
    const settings = parseRestoreSettings(raw);
    store = await openStore(settings.storage, {
      cwd: process.env.GITHUB_WORKSPACE ?? process.cwd(),
      s3: settings.s3,
    });
    result = await runRestore(settings, {
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
  const failure = restoreFailureMessage(result);
  core.setOutput("backup-id", result.backupId);
  core.setOutput("safety-backup-id", result.safetyBackup?.backupId ?? "");
  core.setOutput("restore-seconds", String(result.restoreSeconds));

  const report = buildRestoreReport(result, {
    label: result.label,
    runUrl: reporter.runUrl,
    loggedWarnings: reporter.loggedWarnings,
  });
  await reporter.deliver(report, { store });
  if (failure) throw new OperationError(failure);
}
