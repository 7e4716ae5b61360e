/** How prune's decisions read for people: the CLI's table and the job summary's rows. */
import type { PruneDecision, PruneResult } from "../commands/prune/run.js";
import { formatBytes, formatTable } from "./format.js";

export function formatStarted(iso: string): string {
  return iso.replace("T", " ").replace(/\.\d{3}Z$/, "");
}

function verdict(decision: PruneDecision, dryRun: boolean): string {
  if (decision.action === "keep") return "keep";
  if (dryRun) return "would delete";
  return decision.deleted === false ? "DELETE FAILED" : "deleted";
}

/** Every decision, newest first, with its reasons: what --dry-run prints. */
export function formatPruneDecisions(result: PruneResult): string {
  if (result.decisions.length === 0) return `no backups under ${result.storage}/${result.label}/`;
  return formatTable(
    ["BACKUP ID", "STARTED (UTC)", "SIZE", "VERIFIED", "DECISION", "REASONS"],
    result.decisions.map((decision) => [
      decision.backupId,
      formatStarted(decision.startedAt),
      formatBytes(decision.bytes),
      !decision.committed ? "-" : decision.verified ? "yes" : "no",
      verdict(decision, result.dryRun),
      decision.reasons.join("; "),
    ]),
  );
}

/** One line: `kept 12 backups; deleted 3 backups and 1 incomplete folder, 1.2 GiB freed`. */
export function formatPruneTotals(result: PruneResult): string {
  const folders = (count: number, word: string) => `${count} ${word}${count === 1 ? "" : "s"}`;
  const deleted = result.dryRun ? "would delete" : "deleted";
  const freed = result.dryRun ? "would be freed" : "freed";
  const incomplete = result.deletedIncomplete
    ? ` and ${folders(result.deletedIncomplete, "incomplete folder")}`
    : "";
  const keptIncomplete = result.keptIncomplete
    ? ` (and ${folders(result.keptIncomplete, "folder")} without a manifest, younger than the safe age or locked)`
    : "";
  return (
    `${result.dryRun ? "dry run: " : ""}kept ${folders(result.kept, "backup")}${keptIncomplete}; ` +
    `${deleted} ${folders(result.deletedBackups, "backup")}${incomplete}, ${formatBytes(result.freedBytes)} ${freed}` +
    (result.failed.length ? `; ${result.failed.length} object(s) could not be deleted` : "")
  );
}
