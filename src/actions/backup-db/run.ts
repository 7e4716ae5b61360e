import * as core from "@actions/core";
import { runBackup, type BackupResult } from "../../commands/backup.js";
import { buildBackupReport } from "../../report/report.js";
import { parseBackupSettings } from "../../settings/settings.js";
import { commandSpec } from "../../settings/spec.js";
import { openStore } from "../../storage/open-store.js";
import type { Store } from "../../storage/store.js";
import { maskSecrets, readInputs } from "../inputs.js";
import { createReporter } from "../report.js";
import { actionsToolCache } from "../tool-cache.js";

export async function run(): Promise<void> {
  const spec = commandSpec("backup");
  maskSecrets(spec);
  const raw = readInputs(spec);
  const reporter = createReporter("backup-db", spec, raw);
  await reporter.start();
  let store: Store | undefined;
  let result: BackupResult;
  try {
    const settings = parseBackupSettings(raw);
    store = await openStore(settings.storage, {
      cwd: process.env.GITHUB_WORKSPACE ?? process.cwd(),
      s3: settings.s3,
    });
    const controller = new AbortController();
    process.once("SIGTERM", () => controller.abort(new Error("the job was cancelled (SIGTERM)")));
    process.once("SIGINT", () => controller.abort(new Error("the job was cancelled (SIGINT)")));
    result = await runBackup(settings, {
      store,
      env: process.env,
      now: () => new Date(),
      log: reporter.log,
      toolCache: actionsToolCache(reporter.log),
      signal: controller.signal,
    });
  } catch (error) {
    await reporter.deliver(reporter.errorReport(error), { store });
    throw error;
  }
  core.setOutput("backup-id", result.backupId);
  core.setOutput("backup-key", result.backupKey);
  core.setOutput("manifest-key", result.manifestKey);
  core.setOutput("stored-bytes", String(result.storedBytes));
  core.setOutput("sha256", result.sha256);
  core.setOutput("duration-seconds", String(result.durationSeconds));

  const report = buildBackupReport(result, {
    label: result.label,
    runUrl: reporter.runUrl,
    loggedWarnings: reporter.loggedWarnings,
    storageUrl: store.url,
  });
  await reporter.deliver(report, { store });
}
