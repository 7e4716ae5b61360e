import * as core from "@actions/core";
import { pruneFailureMessage, runPrune, type PruneResult } from "../../commands/prune.js";
import { OperationError } from "../../domain/errors.js";
import { formatPruneDecisions, formatPruneTotals } from "../../report/prune-report.js";
import { buildPruneReport } from "../../report/report.js";
import { parsePruneSettings } from "../../settings/settings.js";
import { commandSpec } from "../../settings/spec.js";
import { openStore } from "../../storage/open-store.js";
import type { Store } from "../../storage/store.js";
import { maskSecrets, readInputs } from "../inputs.js";
import { createReporter } from "../report.js";

export async function run(): Promise<void> {
  const spec = commandSpec("prune");
  maskSecrets(spec);
  const raw = readInputs(spec);
  const reporter = createReporter("prune", spec, raw);
  await reporter.start();
  let store: Store | undefined;
  let result: PruneResult;
  try {
    const settings = parsePruneSettings(raw);
    store = await openStore(settings.storage, {
      cwd: process.env.GITHUB_WORKSPACE ?? process.cwd(),
      s3: settings.s3,
    });
    result = await runPrune(settings, { store, now: () => new Date(), log: reporter.log });
  } catch (error) {
    await reporter.deliver(reporter.errorReport(error), { store });
    throw error;
  }
  core.info(formatPruneDecisions(result));
  core.info(formatPruneTotals(result));
  core.setOutput("kept", String(result.kept));
  core.setOutput("deleted", String(result.deleted));
  core.setOutput("freed-bytes", String(result.freedBytes));

  const report = buildPruneReport(result, {
    label: result.label,
    runUrl: reporter.runUrl,
    loggedWarnings: reporter.loggedWarnings,
  });
  await reporter.deliver(report, { store });
  const failure = pruneFailureMessage(result);
  if (failure) throw new OperationError(failure);
}
