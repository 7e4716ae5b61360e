import * as core from "@actions/core";
import { pruneFailureMessage, runPrune, type PruneDecision } from "../../commands/prune.js";
import { OperationError } from "../../domain/errors.js";
import { formatBytes } from "../../report/format.js";
import { formatPruneDecisions, formatPruneTotals, formatStarted } from "../../report/prune-report.js";
import { parsePruneSettings } from "../../settings/settings.js";
import { commandSpec } from "../../settings/spec.js";
import { openStore } from "../../storage/open-store.js";
import { actionLogger, maskSecrets, readInputs } from "../inputs.js";

/** Rows per table in the job summary, which GitHub caps at 1 MiB. */
const SUMMARY_ROWS = 500;

function rows(decisions: PruneDecision[], verdict: (decision: PruneDecision) => string): string[][] {
  return decisions
    .slice(0, SUMMARY_ROWS)
    .map((decision) => [
      decision.backupId,
      formatStarted(decision.startedAt),
      formatBytes(decision.bytes),
      !decision.committed ? "no manifest" : decision.verified ? "yes" : "no",
      verdict(decision),
      decision.reasons.join("; "),
    ]);
}

function header(last: string): { data: string; header: true }[] {
  return ["Backup", "Started (UTC)", "Size", "Verified", last, "Reasons"].map((data) => ({
    data,
    header: true,
  }));
}

export async function run(): Promise<void> {
  const spec = commandSpec("prune");
  maskSecrets(spec);
  const settings = parsePruneSettings(readInputs(spec));
  const store = await openStore(settings.storage, {
    cwd: process.env.GITHUB_WORKSPACE ?? process.cwd(),
    s3: settings.s3,
  });
  const result = await runPrune(settings, { store, now: () => new Date(), log: actionLogger });
  core.info(formatPruneDecisions(result));
  core.info(formatPruneTotals(result));
  core.setOutput("kept", String(result.kept));
  core.setOutput("deleted", String(result.deleted));
  core.setOutput("freed-bytes", String(result.freedBytes));

  const kept = result.decisions.filter((decision) => decision.action === "keep");
  const removed = result.decisions.filter((decision) => decision.action === "delete");
  const summary = core.summary
    .addHeading(`Lifeboat prune: ${result.label}${result.dryRun ? " (dry run)" : ""}`, 2)
    .addRaw(`${formatPruneTotals(result)}. Storage: \`${result.storage}/${result.label}/\``, true);
  for (const warning of result.warnings) summary.addRaw(`> [!WARNING]\n> ${warning}`, true);
  summary.addHeading(`Kept (${kept.length})`, 3).addTable([header("Kept"), ...rows(kept, () => "kept")]);
  if (kept.length > SUMMARY_ROWS) summary.addRaw(`... and ${kept.length - SUMMARY_ROWS} more.`, true);
  if (removed.length > 0) {
    summary
      .addHeading(`${result.dryRun ? "Would delete" : "Deleted"} (${removed.length})`, 3)
      .addTable([
        header(result.dryRun ? "Would delete" : "Deleted"),
        ...rows(removed, (decision) =>
          result.dryRun ? "would delete" : decision.deleted ? "deleted" : "FAILED",
        ),
      ]);
    if (removed.length > SUMMARY_ROWS) summary.addRaw(`... and ${removed.length - SUMMARY_ROWS} more.`, true);
  }
  const failure = pruneFailureMessage(result);
  if (failure) {
    summary
      .addHeading("Not deleted", 3)
      .addList(result.failed.slice(0, SUMMARY_ROWS).map((item) => `${item.key}: ${item.reason}`));
  }
  await summary.write();
  if (failure) throw new OperationError(failure);
}
