/**
 * A report in GitHub Markdown: the job summary (up to 1 MiB) and the sticky pull request comment
 * (up to 65,536 characters, so tables and logs are cut shorter, and a hidden marker comes first so
 * that the next run finds the comment and updates it in place).
 */
import { restoreTimeChart, sizeChart } from "./chart.js";
import {
  historyLine,
  reportMarker,
  VERDICT_EMOJI,
  VERDICT_WORD,
  type Report,
  type ReportSection,
  type ReportTable,
} from "./report.js";

export type MarkdownTarget = "summary" | "comment";

const LIMITS: Record<MarkdownTarget, { rows: number; code: number; total: number }> = {
  summary: { rows: 500, code: 8000, total: 1_000_000 },
  comment: { rows: 30, code: 3000, total: 60_000 },
};

/** Text outside code: HTML-significant characters escaped, so that `<name>` shows as written. */
export function escapeText(text: string): string {
  return text.replace(/&/g, "&amp;").replace(/</g, "&lt;").replace(/>/g, "&gt;");
}

function escapeCell(text: string): string {
  return escapeText(text).replace(/\|/g, "\\|").replace(/\r?\n/g, "<br>");
}

export function markdownTable(table: ReportTable, maxRows = Infinity): string {
  const line = (cells: string[]) => `| ${cells.map(escapeCell).join(" | ")} |`;
  const rows = table.rows.slice(0, maxRows);
  const lines = [line(table.header), `| ${table.header.map(() => "---").join(" | ")} |`, ...rows.map(line)];
  if (table.rows.length > rows.length)
    lines.push("", `... and ${table.rows.length - rows.length} more rows.`);
  return lines.join("\n");
}

/** A fenced block that no backtick run in the text can close early. */
export function codeBlock(text: string, max: number): string {
  const body =
    text.length > max ? `... (${text.length - max} earlier characters left out)\n${text.slice(-max)}` : text;
  const longest = Math.max(0, ...[...body.matchAll(/`+/g)].map((match) => match[0].length));
  const fence = "`".repeat(Math.max(3, longest + 1));
  return `${fence}text\n${body.replace(/\n+$/, "")}\n${fence}`;
}

function section(part: ReportSection, target: MarkdownTarget): string {
  const limits = LIMITS[target];
  const body: string[] = [];
  if (part.text) body.push(escapeText(part.text));
  if (part.table) body.push(markdownTable(part.table, limits.rows));
  if (part.code !== undefined) body.push(codeBlock(part.code, limits.code));
  const title = escapeText(part.title);
  if (part.collapsed) return `<details><summary>${title}</summary>\n\n${body.join("\n\n")}\n\n</details>`;
  return `<h3>${title}</h3>\n\n${body.join("\n\n")}`;
}

function list(items: string[], max: number): string {
  const shown = items.slice(0, max).map((item) => `- ${escapeText(item)}`);
  if (items.length > max) shown.push(`- ... and ${items.length - max} more`);
  return shown.join("\n");
}

export function renderMarkdown(report: Report, target: MarkdownTarget = "summary"): string {
  const limits = LIMITS[target];
  const parts: string[] = [];
  if (target === "comment") parts.push(reportMarker(report));
  parts.push(`<h2>${escapeText(report.title)}</h2>`);
  parts.push(
    `${VERDICT_EMOJI[report.verdict]} **${VERDICT_WORD[report.verdict]}**: ${escapeText(report.headline)}`,
  );
  if (report.facts.length > 0) {
    parts.push(
      markdownTable({
        header: report.facts.map((fact) => fact.label),
        rows: [report.facts.map((fact) => fact.value)],
      }),
    );
  }
  if (report.failures.length > 0) {
    parts.push(`**Failures**\n\n${list(report.failures, limits.rows)}`);
  }
  for (const warning of report.warnings.slice(0, limits.rows)) {
    parts.push(`> [!WARNING]\n> ${escapeText(warning).replace(/\r?\n/g, "\n> ")}`);
  }
  for (const part of report.sections) parts.push(section(part, target));
  if (report.history) {
    const charts = [sizeChart(report.history.points), restoreTimeChart(report.history.points)].filter(
      (chart): chart is string => chart !== undefined,
    );
    parts.push(
      `<h3>Recent backups: ${escapeText(report.history.label)}</h3>\n\n${escapeText(historyLine(report.history))}.`,
      ...charts,
    );
  }
  const footer = [report.runUrl ? `[Workflow run](${report.runUrl})` : "", "Lifeboat"].filter(Boolean);
  parts.push(`<sub>${footer.join(" · ")}</sub>`);
  const text = `${parts.join("\n\n")}\n`;
  if (text.length <= limits.total) return text;
  const note = `\n\n... (the report was cut at ${limits.total} characters; the job summary has all of it)\n`;
  return text.slice(0, limits.total - note.length) + note;
}
