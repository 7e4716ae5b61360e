/**
 * The report of one action run: what ran, on which backup, the verdict, the figures, the failures
 * and warnings, longer output in sections, the link to the run and the label's recent history.
 * Built from a command's result (or from the error it threw) and rendered three ways: Markdown for
 * the job summary and the pull request, Slack Block Kit for Slack. Pure: no I/O, no clock.
 *
 * Builders take only what is safe to show: redacted URLs, ids, sizes, counts and messages. The edge
 * that delivers a report scrubs every rendering once more for the secret inputs it knows.
 */
import type { BackupResult } from "../commands/backup/run.js";
import type { PruneDecision, PruneResult } from "../commands/prune/run.js";
import type { RestoreResult } from "../commands/restore/run.js";
import type { RestoreTestResult } from "../commands/restore-test/run.js";
import type { VerifyResult } from "../commands/verify/run.js";
import { describeError, LifeboatError } from "../domain/errors.js";
import { formatDifference } from "../domain/catalog-diff.js";
import { filesArtifacts } from "../domain/manifest.js";
import { catalogWarnings } from "../postgres/catalog-check.js";
import { formatAge, formatBytes } from "./format.js";
import type { History } from "./history.js";
import { formatPruneTotals, formatStarted } from "./prune-report.js";
import {
  restoreTestChecksSection,
  tableChangeSection,
  tablesSection,
  verifyChecksSection,
  type PreviousTables,
} from "./summary-sections.js";
import type { GateSettings } from "../domain/verify-gates.js";

export type ReportAction =
  "backup-db" | "verify-backup" | "restore-test" | "prune" | "restore-db" | "copy-backup" | "restore-files";
export type Verdict = "pass" | "warn" | "fail";

export interface Fact {
  label: string;
  value: string;
}

export interface ReportTable {
  header: string[];
  rows: string[][];
}

/** Longer content: a table, a paragraph or preformatted output (a log), shown or folded away. */
export interface ReportSection {
  title: string;
  text?: string;
  table?: ReportTable;
  code?: string;
  /** Folded (a <details> block) in Markdown; left out of Slack. */
  collapsed?: boolean;
}

export interface Report {
  action: ReportAction;
  label: string;
  verdict: Verdict;
  /** e.g. "Lifeboat backup: shop". */
  title: string;
  /** One sentence: what happened. */
  headline: string;
  backupId: string | null;
  facts: Fact[];
  failures: string[];
  warnings: string[];
  sections: ReportSection[];
  runUrl: string | null;
  history: History | null;
}

/** Common context the builders need besides the result. */
export interface ReportContext {
  label: string;
  runUrl: string | null;
  /** Warnings the command logged while it ran (merged with the result's own, without repeats). */
  loggedWarnings?: string[];
}

/** Rows of one table in a report; the renderers cut further for smaller targets. */
export const SECTION_ROWS = 500;
/** Characters of a log kept in a report section (its end: where the error is). */
export const LOG_TAIL = 8000;

export function tail(text: string, max = LOG_TAIL): string {
  if (text.length <= max) return text;
  return `... (${text.length - max} earlier characters left out)\n${text.slice(-max)}`;
}

function verdictOf(failed: boolean, warnings: string[]): Verdict {
  if (failed) return "fail";
  return warnings.length > 0 ? "warn" : "pass";
}

function merge(...lists: (string[] | undefined)[]): string[] {
  return [...new Set(lists.flatMap((list) => list ?? []))];
}

function seconds(value: number): string {
  return `${value}s`;
}

export function encryptionText(manifest: BackupResult["manifest"]): string {
  if (manifest.encryption.format === "none") return "none";
  return manifest.encryption.passphrase
    ? "age (passphrase)"
    : `age, ${manifest.encryption.recipients.length} recipient(s)`;
}

/** One line per files source: counts only (file names stay in the encrypted index). */
function filesSections(manifest: BackupResult["manifest"]): { title: string; text: string }[] {
  const sources = filesArtifacts(manifest);
  if (sources.length === 0) return [];
  const lines = sources.map((source) => {
    const check = source.storageObjects;
    const storage = check
      ? `; storage.objects: ${check.matched} matched, ${check.missingFiles} rows without an object, ${check.filesWithoutRow} objects without a row`
      : "";
    const changed = source.changed > 0 ? `, ${source.changed} changed while read` : "";
    return `- \`${source.source}\`: ${source.files} files, ${formatBytes(source.bytes)} (${source.name}, ${formatBytes(source.stored.bytes)} stored${changed})${storage}`;
  });
  return [{ title: "Files", text: lines.join("\n") }];
}

export function buildBackupReport(
  /** previousTables: the previous backup's, for the per-table change (absent: not read). */
  result: BackupResult & { previousTables?: PreviousTables | null },
  context: ReportContext & { storageUrl: string },
): Report {
  const { manifest } = result;
  const warnings = merge(context.loggedWarnings);
  return {
    action: "backup-db",
    label: result.label,
    verdict: verdictOf(false, warnings),
    title: `Lifeboat backup: ${result.label}`,
    headline: `Backup ${result.backupId} stored: ${formatBytes(result.storedBytes)} in ${seconds(result.durationSeconds)}, ${manifest.tables.length} tables, ${manifest.totalRows} rows.`,
    backupId: result.backupId,
    facts: [
      { label: "Backup", value: result.backupId },
      { label: "Storage", value: `${context.storageUrl}/${result.backupKey}` },
      { label: "Stored", value: formatBytes(result.storedBytes) },
      { label: "Tables", value: String(manifest.tables.length) },
      { label: "Rows", value: String(manifest.totalRows) },
      { label: "Duration", value: seconds(result.durationSeconds) },
      { label: "Encryption", value: encryptionText(manifest) },
    ],
    failures: [],
    warnings,
    sections: [
      ...(manifest.source && manifest.dump
        ? [
            {
              title: "Source",
              text: `PostgreSQL ${manifest.source.serverVersion} (${manifest.source.database}), pg_dump ${manifest.tool.pgDumpVersion ?? "-"}, compression ${manifest.dump.compression}. sha256 of the stored object: \`${result.sha256}\``,
            },
          ]
        : []),
      ...(manifest.tables.length > 0 ? [tablesSection(manifest.tables, result.previousTables)] : []),
      ...filesSections(manifest),
    ],
    runUrl: context.runUrl,
    history: null,
  };
}

export function buildVerifyReport(
  /** gates: the gates as given, for the "Checks and gates" table (absent: not shown). */
  result: VerifyResult & { gates?: GateSettings },
  context: ReportContext,
): Report {
  const warnings = merge(result.warnings, context.loggedWarnings);
  return {
    action: "verify-backup",
    label: context.label,
    verdict: verdictOf(!result.verified, warnings),
    title: `Lifeboat verify: ${context.label} ${result.verified ? "passed" : "FAILED"}`,
    headline: result.verified
      ? `Backup ${result.backupId} verified (${result.kind === "verify-deep" ? "decrypted and read" : "stored object checked"}).`
      : `Backup ${result.backupId} failed verification: ${result.failures[0] ?? "see the failures"}`,
    backupId: result.backupId,
    facts: [
      { label: "Backup", value: result.backupId },
      {
        label: "Check",
        value: result.kind === "verify-deep" ? "decrypted, archive read" : "stored object sha256",
      },
      { label: "Result", value: result.verified ? "pass" : "fail" },
      { label: "Stored", value: formatBytes(result.storedBytes) },
      { label: "Age", value: formatAge(result.backupAgeSeconds) },
      ...(result.tablesListed === undefined
        ? []
        : [{ label: "Tables in archive", value: String(result.tablesListed) }]),
      ...(result.filesChecked === undefined
        ? []
        : [{ label: "Files checked", value: String(result.filesChecked) }]),
    ],
    failures: result.failures,
    warnings,
    sections: result.gates ? [verifyChecksSection(result, result.gates)] : [],
    runUrl: context.runUrl,
    history: null,
  };
}

export function buildRestoreTestReport(result: RestoreTestResult, context: ReportContext): Report {
  const warnings = merge(
    [
      ...result.toleratedErrors.map((error) => `tolerated pg_restore error: ${error}`),
      ...catalogWarnings(result.catalog),
      ...(result.masked?.coverageWarnings ?? []),
    ],
    context.loggedWarnings,
  );
  const maskedFailure = result.passed && result.masked?.error !== undefined;
  const passedAssertions = result.assertions.filter((assertion) => assertion.passed).length;
  const sections: ReportSection[] = [restoreTestChecksSection(result)];
  if (result.checks?.drift.previousBackupId) {
    sections.push(tableChangeSection(result.checks.drift.tables, result.checks.drift.previousBackupId));
  }
  if (result.mismatches.length > 0) {
    sections.push({
      title: `Row count mismatches (${result.mismatches.length})`,
      table: {
        header: ["Table", "Manifest", "Restored"],
        rows: result.mismatches
          .slice(0, SECTION_ROWS)
          .map((row) => [
            row.table,
            String(row.expected),
            row.actual === null ? "missing" : String(row.actual),
          ]),
      },
    });
  }
  if (result.assertions.length > 0) {
    sections.push({
      title: `Assertions (${passedAssertions}/${result.assertions.length} passed)`,
      collapsed: passedAssertions === result.assertions.length,
      table: {
        header: ["Result", "SQL", "Detail"],
        rows: result.assertions
          .slice(0, SECTION_ROWS)
          .map((assertion) => [
            assertion.passed ? "pass" : "FAIL",
            oneLine(assertion.sql, 200),
            assertion.detail,
          ]),
      },
    });
  }
  if (result.catalog.differences.length > 0) {
    sections.push({
      title: `Catalog differences (${result.catalog.failures} failures, ${result.catalog.warnings} warnings)`,
      collapsed: result.catalog.failures === 0,
      code: result.catalog.differences.map(formatDifference).join("\n"),
    });
  }
  if (result.run) {
    sections.push({
      title: "Command output",
      collapsed: true,
      code: tail(result.run.output),
    });
  }
  if (result.pgRestoreLog.trim()) {
    sections.push({ title: "pg_restore log", collapsed: true, code: tail(result.pgRestoreLog) });
  }
  return {
    action: "restore-test",
    label: context.label,
    verdict: verdictOf(!result.passed || maskedFailure, warnings),
    title: `Lifeboat restore-test: ${context.label} ${result.passed ? (maskedFailure ? "passed, masked copy FAILED" : "passed") : "FAILED"}`,
    headline: maskedFailure
      ? `Backup ${result.backupId} restored and checked, but no masked copy was written: ${result.masked!.error}`
      : result.passed
        ? `Backup ${result.backupId} restored in ${seconds(result.restoreSeconds)}; ${result.tablesChecked} tables match the manifest's row counts.`
        : `Restore-test of ${result.backupId} failed: ${result.failures[0] ?? "see the failures"}`,
    backupId: result.backupId,
    facts: [
      { label: "Backup", value: result.backupId },
      { label: "Restore", value: `${seconds(result.restoreSeconds)} (${result.mode})` },
      { label: "Tables checked", value: String(result.tablesChecked) },
      ...(result.files
        ? [
            {
              label: "Files checked",
              value: `${result.files.files} in ${result.files.sources} source(s), ${formatBytes(result.files.bytes)}`,
            },
          ]
        : []),
      { label: "Mismatches", value: String(result.mismatches.length) },
      {
        label: "Catalog",
        value: result.catalog.compared
          ? `${result.catalog.failures} failures, ${result.catalog.warnings} warnings`
          : "not compared",
      },
      { label: "Assertions", value: `${passedAssertions}/${result.assertions.length}` },
      { label: "Command", value: result.run ? `exit ${result.run.exitCode ?? "killed"}` : "-" },
      ...(result.masked
        ? [
            {
              label: "Masked copy",
              value: result.masked.backupId
                ? `${result.masked.label}/${result.masked.backupId} (${result.masked.maskedColumns} columns in ${result.masked.tablesMasked} tables)`
                : "not written",
            },
          ]
        : []),
    ],
    failures: maskedFailure ? [...result.failures, `masked copy: ${result.masked!.error}`] : result.failures,
    warnings,
    sections,
    runUrl: context.runUrl,
    history: null,
  };
}

function decisionRows(decisions: PruneDecision[], verdict: (decision: PruneDecision) => string): string[][] {
  return decisions
    .slice(0, SECTION_ROWS)
    .map((decision) => [
      decision.backupId,
      formatStarted(decision.startedAt),
      formatBytes(decision.bytes),
      !decision.committed ? "no manifest" : decision.verified ? "yes" : "no",
      verdict(decision),
      decision.reasons.join("; "),
    ]);
}

export function buildPruneReport(result: PruneResult, context: ReportContext): Report {
  const warnings = merge(result.warnings, context.loggedWarnings);
  const failed = result.failed.length > 0;
  const kept = result.decisions.filter((decision) => decision.action === "keep");
  const removed = result.decisions.filter((decision) => decision.action === "delete");
  const header = (last: string) => ["Backup", "Started (UTC)", "Size", "Verified", last, "Reasons"];
  const more = (count: number) => (count > SECTION_ROWS ? ` ... and ${count - SECTION_ROWS} more.` : "");
  const sections: ReportSection[] = [
    {
      title: `Kept (${kept.length})`,
      table: { header: header("Kept"), rows: decisionRows(kept, () => "kept") },
      ...(kept.length > SECTION_ROWS ? { text: more(kept.length) } : {}),
    },
  ];
  if (removed.length > 0) {
    const verb = result.dryRun ? "Would delete" : "Deleted";
    sections.push({
      title: `${verb} (${removed.length})`,
      table: {
        header: header(verb),
        rows: decisionRows(removed, (decision) =>
          result.dryRun ? "would delete" : decision.deleted ? "deleted" : "FAILED",
        ),
      },
      ...(removed.length > SECTION_ROWS ? { text: more(removed.length) } : {}),
    });
  }
  return {
    action: "prune",
    label: result.label,
    verdict: verdictOf(failed, warnings),
    title: `Lifeboat prune: ${result.label}${result.dryRun ? " (dry run)" : ""}`,
    headline: `${formatPruneTotals(result)}. Storage: \`${result.storage}/${result.label}/\``,
    backupId: null,
    facts: [
      { label: "Kept", value: String(result.kept) },
      { label: result.dryRun ? "Would delete" : "Deleted", value: String(result.deleted) },
      { label: result.dryRun ? "Would free" : "Freed", value: formatBytes(result.freedBytes) },
      { label: "Mode", value: result.dryRun ? "dry run" : "delete" },
    ],
    failures: result.failed.slice(0, SECTION_ROWS).map((item) => `${item.key}: ${item.reason}`),
    warnings,
    sections,
    runUrl: context.runUrl,
    history: null,
  };
}

export function buildRestoreReport(result: RestoreResult, context: ReportContext): Report {
  const warnings = merge(context.loggedWarnings);
  const sections: ReportSection[] = [];
  if (result.rowCheck) {
    sections.push({
      title: "Row counts",
      text: `${result.rowCheck.tablesChecked} tables, ${result.rowCheck.mismatches.length} with a row count that differs from the manifest.`,
      ...(result.rowCheck.mismatches.length > 0
        ? {
            table: {
              header: ["Table", "Manifest", "Restored"],
              rows: result.rowCheck.mismatches
                .slice(0, SECTION_ROWS)
                .map((row) => [
                  row.table,
                  String(row.expected),
                  row.actual === null ? "missing" : String(row.actual),
                ]),
            },
          }
        : {}),
    });
  }
  if (result.safetyBackup) {
    sections.push({
      title: "Undo",
      text: `To undo this restore, restore the safety backup: backup \`${result.safetyBackup.backupId}\` under label \`${result.safetyBackup.label}\`.`,
    });
  }
  if (result.pgRestoreLog.trim()) {
    sections.push({ title: "pg_restore log", collapsed: true, code: tail(result.pgRestoreLog) });
  }
  return {
    action: "restore-db",
    label: result.label,
    verdict: verdictOf(!result.passed, warnings),
    title: `Lifeboat restore: ${result.label}/${result.backupId} into ${result.targetDatabase} ${result.passed ? "done" : "FAILED"}`,
    headline: result.passed
      ? `Backup ${result.backupId} restored into ${result.targetDatabase} in ${seconds(result.restoreSeconds)}.`
      : `Restore of ${result.backupId} into ${result.targetDatabase} failed: ${result.failures[0] ?? "see the failures"}`,
    backupId: result.backupId,
    facts: [
      { label: "Backup", value: `${result.label}/${result.backupId}` },
      { label: "Target", value: `${result.targetServer}/${result.targetDatabase}` },
      { label: "Strategy", value: `${result.strategy} (${result.strategyReason})` },
      ...(result.oldDatabase ? [{ label: "Previous database kept as", value: result.oldDatabase }] : []),
      {
        label: "Scope",
        value: result.pgRestoreArgs.length > 0 ? result.pgRestoreArgs.join(" ") : "whole database",
      },
      { label: "Read", value: formatBytes(result.bytesRead) },
      { label: "Restore", value: seconds(result.restoreSeconds) },
      {
        label: "Safety backup",
        value: result.safetyBackup ? `${result.safetyBackup.label}/${result.safetyBackup.backupId}` : "none",
      },
    ],
    failures: result.failures,
    warnings,
    sections,
    runUrl: context.runUrl,
    history: null,
  };
}

const ACTION_WORD: Record<ReportAction, string> = {
  "backup-db": "backup",
  "verify-backup": "verify",
  "restore-test": "restore-test",
  prune: "prune",
  "restore-db": "restore",
  "copy-backup": "copy",
  "restore-files": "restore-files",
};

/**
 * The report of a command that threw before it had a result: bad input, a store or database that
 * could not be reached, a dump that died. The failure is still reported (Slack on failure is for
 * exactly this), with the same one line the step fails with.
 */
export function buildErrorReport(action: ReportAction, error: unknown, context: ReportContext): Report {
  const badInput = error instanceof LifeboatError && error.exitCode === 2;
  const message = `${badInput ? "bad input: " : ""}${describeError(error)}`;
  return {
    action,
    label: context.label,
    verdict: "fail",
    title: `Lifeboat ${ACTION_WORD[action]}: ${context.label} FAILED`,
    headline: message,
    backupId: null,
    facts: [
      { label: "Label", value: context.label },
      { label: "Result", value: badInput ? "bad input or configuration (nothing written)" : "failed" },
    ],
    failures: [message],
    warnings: merge(context.loggedWarnings),
    sections: [],
    runUrl: context.runUrl,
    history: null,
  };
}

function oneLine(text: string, max: number): string {
  const line = text.replace(/\s+/g, " ").trim();
  return line.length > max ? `${line.slice(0, max - 3)}...` : line;
}

/** The hidden marker that finds a report's pull request comment again: one per action and label. */
export function reportMarker(report: Pick<Report, "action" | "label">): string {
  const label = report.label.replace(/[^A-Za-z0-9._-]/g, "_").slice(0, 64) || "_";
  return `<!-- lifeboat:report ${report.action} ${label} -->`;
}

/** Whether notify-on asks for a message about this verdict. */
export function shouldNotify(
  notifyOn: "failure" | "success" | "always" | "never",
  verdict: Verdict,
): boolean {
  switch (notifyOn) {
    case "always":
      return true;
    case "never":
      return false;
    case "failure":
      return verdict === "fail";
    case "success":
      return verdict !== "fail";
  }
}

export const VERDICT_EMOJI: Record<Verdict, string> = { pass: "✅", warn: "⚠️", fail: "❌" };
export const VERDICT_WORD: Record<Verdict, string> = {
  pass: "passed",
  warn: "passed with warnings",
  fail: "failed",
};

/** Figures of a history in one line, for Slack and the summary: age of the newest, success rate. */
export function historyLine(history: History): string {
  const { stats } = history;
  const parts: string[] = [];
  parts.push(
    stats.newestAgeSeconds === null
      ? "no backup yet"
      : `newest backup ${formatAge(stats.newestAgeSeconds)} old`,
  );
  if (stats.attempts > 0) {
    parts.push(
      `${stats.succeeded}/${stats.attempts} succeeded (${Math.round((stats.successRate ?? 0) * 100)}%) over the last ${stats.attempts} backup${stats.attempts === 1 ? "" : "s"}`,
    );
  }
  if (stats.restoreTested > 0) parts.push(`${stats.restoreTested} restore-tested`);
  return parts.join(" · ");
}
