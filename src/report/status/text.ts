/** `lifeboat status` for a terminal: one aligned row per label, then the reasons of every label that is not green. */
import { formatAge, formatBytes, formatTable } from "../format.js";
import type { CheckSummary, LabelStatus, StatusModel } from "./model.js";

export function formatTrend(ratio: number | null): string {
  if (ratio === null) return "-";
  const pct = Math.round(ratio * 1000) / 10;
  return `${pct > 0 ? "+" : ""}${pct}%`;
}

export function formatRatio(ratio: number | null): string {
  return ratio === null ? "-" : `${Math.round(ratio * 1000) / 10}%`;
}

export function formatSeconds(value: number | null): string {
  if (value === null) return "-";
  return value < 90 ? `${Math.round(value * 10) / 10}s` : formatAge(value);
}

/** `pass 3.2h ago`, `FAIL 1.0d ago`, or `never`. */
export function formatCheck(check: CheckSummary | null): string {
  if (check === null) return "never";
  return `${check.passed ? "pass" : "FAIL"} ${formatAge(check.ageSeconds)} ago`;
}

/** Control characters would let a label or reason rewrite the terminal; show them escaped instead. */
export function printable(text: string): string {
  return text.replace(
    // eslint-disable-next-line no-control-regex
    /[\u0000-\u001f\u007f-\u009f]/g,
    (c) => `\\x${c.charCodeAt(0).toString(16).padStart(2, "0")}`,
  );
}

function row(label: LabelStatus): string[] {
  return [
    printable(label.label),
    label.verdict.toUpperCase(),
    label.newest ? `${formatAge(label.newest.ageSeconds)} ago` : "none",
    formatCheck(label.lastVerify),
    formatCheck(label.lastRestoreTest),
    formatSeconds(label.lastPassingRestoreTest?.restoreSeconds ?? null),
    label.successRate.ratio === null
      ? "-"
      : `${formatRatio(label.successRate.ratio)} (${label.successRate.succeeded}/${label.successRate.attempts})`,
    formatBytes(label.storage.totalBytes),
    formatTrend(label.storage.trendRatio),
    `${label.retention.verified}/${label.retention.backups}`,
  ];
}

export function renderStatusText(model: StatusModel): string {
  const lines: string[] = [];
  if (model.labels.length === 0) {
    lines.push("no labels: nothing is backed up here");
  } else {
    lines.push(
      formatTable(
        [
          "LABEL",
          "VERDICT",
          "NEWEST",
          "LAST VERIFY",
          "LAST RESTORE-TEST",
          "RESTORE",
          "SUCCESS",
          "STORED",
          "7D TREND",
          "VERIFIED",
        ],
        model.labels.map(row),
      ),
    );
  }
  const troubled = model.labels.filter((label) => label.reasons.length > 0);
  if (troubled.length > 0) lines.push("");
  for (const label of troubled) {
    lines.push(`${printable(label.label)} (${label.verdict}):`);
    for (const reason of label.reasons) lines.push(`  - ${printable(reason)}`);
  }
  lines.push(
    "",
    `${model.verdict.toUpperCase()}: ${model.counts.green} green, ${model.counts.amber} amber, ${model.counts.red} red` +
      (model.storage ? ` in ${printable(model.storage)}` : "") +
      ` at ${model.generatedAt}`,
  );
  return lines.join("\n") + "\n";
}
