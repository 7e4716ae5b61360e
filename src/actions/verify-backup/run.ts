import * as core from "@actions/core";
import { runVerify, verifyFailureMessage, type VerifyResult } from "../../commands/verify.js";
import { OperationError } from "../../domain/errors.js";
import { buildVerifyReport } from "../../report/report.js";
import { parseVerifySettings } from "../../settings/settings.js";
import { commandSpec } from "../../settings/spec.js";
import { openStore } from "../../storage/open-store.js";
import type { Store } from "../../storage/store.js";
import { maskSecrets, readInputs } from "../inputs.js";
import { createReporter } from "../report.js";
import { actionsToolCache } from "../tool-cache.js";

export async function run(): Promise<void> {
  const spec = commandSpec("verify");
  maskSecrets(spec);
  const raw = readInputs(spec);
  const reporter = createReporter("verify-backup", spec, raw);
  await reporter.start();
  let store: Store | undefined;
  let result: VerifyResult;
  let label: string;
  try {
    const settings = parseVerifySettings(raw);
    label = settings.label;
    store = await openStore(settings.storage, {
      cwd: process.env.GITHUB_WORKSPACE ?? process.cwd(),
      s3: settings.s3,
    });
    result = await runVerify(settings, {
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
  const failure = verifyFailureMessage(result);
  core.setOutput("verified", String(result.verified));
  core.setOutput("backup-id", result.backupId);
  core.setOutput("backup-age-seconds", String(result.backupAgeSeconds));
  core.setOutput("stored-bytes", String(result.storedBytes));
  core.setOutput("reason", failure ?? "");

  const report = buildVerifyReport(result, {
    label,
    runUrl: reporter.runUrl,
    loggedWarnings: reporter.loggedWarnings,
  });
  await reporter.deliver(report, { store });
  if (failure) throw new OperationError(failure);
}
