/** prune: delete what the retention policy does not keep, never the last good backup. */
import { formatPruneDecisions, formatPruneTotals } from "../../report/prune-report.js";
import { buildPruneReport } from "../../report/report.js";
import { parsePruneSettings } from "../../settings/settings.js";
import type { PruneSettings } from "../../settings/types.js";
import { commandSpec } from "../../settings/spec.js";
import { auditedPrune } from "../audit/audited.js";
import type { CommandDefinition } from "../command.js";
import { pruneFailureMessage, runPrune, type PruneResult } from "../prune/run.js";

export const pruneCommand: CommandDefinition<PruneSettings, PruneResult> = {
  spec: commandSpec("prune"),
  parse: parsePruneSettings,
  storage: (settings) => settings,
  run: (settings, deps) => auditedPrune(settings, deps, () => runPrune(settings, deps)),
  failure: pruneFailureMessage,
  outputs: (result) => ({
    kept: result.kept,
    deleted: result.deleted,
    "freed-bytes": result.freedBytes,
  }),
  logLines: (result) => [formatPruneDecisions(result), formatPruneTotals(result)],
  text: (result) => `${formatPruneDecisions(result)}\n${formatPruneTotals(result)}`,
  json: (result) => ({ ...result }),
  report: (result, context) => buildPruneReport(result, { ...context, label: result.label }),
};
