/**
 * `lifeboat status --html`: one self-contained page. Inline CSS and inline SVG only, system fonts,
 * no script, and a Content-Security-Policy that forbids every fetch, so the page opens the same
 * from a laptop's disk, GitHub Pages or an e-mail attachment, and cannot leak who looked at it.
 * Responsive down to a 360 px phone (the label table turns into cards) and printable (a print
 * stylesheet keeps the verdict colours and avoids splitting a label across pages). Every text from
 * the store (labels, reasons, failure lines, backup ids) is escaped: it is untrusted.
 */
import { formatAge, formatBytes } from "../format.js";
import type { CheckSummary, LabelStatus, SeriesPoint, StatusModel, Verdict } from "./model.js";
import { formatCheck, formatRatio, formatSeconds, formatTrend } from "./text.js";

export function escapeHtml(text: string): string {
  return text
    .replace(/&/g, "&amp;")
    .replace(/</g, "&lt;")
    .replace(/>/g, "&gt;")
    .replace(/"/g, "&quot;")
    .replace(/'/g, "&#39;");
}

const CSS = `
:root{--red:#b3261e;--red-bg:#fdecea;--amber:#8a5a00;--amber-fill:#f2b01e;--amber-bg:#fff4d6;--green:#1e7d32;--green-bg:#e8f5e9;--ink:#1b1b1f;--muted:#5f6368;--line:#d9dce1;--chart:#1f5fbf}
*{box-sizing:border-box}
html{-webkit-text-size-adjust:100%}
body{margin:0;padding:16px;font:15px/1.45 system-ui,-apple-system,"Segoe UI",Roboto,"Helvetica Neue",Arial,sans-serif;color:var(--ink);background:#fff;overflow-wrap:break-word}
main,header{max-width:1200px;margin:0 auto}
h1{font-size:1.5rem;margin:0 0 4px}
h2{font-size:1.2rem;margin:0 0 8px;display:flex;flex-wrap:wrap;gap:8px;align-items:center}
h3{font-size:1rem;margin:16px 0 6px}
.meta{color:var(--muted);margin:0 0 16px}
.badge{display:inline-block;padding:1px 8px;border-radius:10px;font-weight:700;font-size:.8rem;letter-spacing:.04em;color:#fff;white-space:nowrap}
.v-red .badge,.badge.v-red{background:var(--red)}
.v-amber .badge,.badge.v-amber{background:var(--amber-fill);color:#1b1b1f}
.v-green .badge,.badge.v-green{background:var(--green)}
table{border-collapse:collapse;width:100%}
th,td{text-align:left;vertical-align:top;padding:6px 8px;border-bottom:1px solid var(--line)}
thead th{font-size:.8rem;color:var(--muted);font-weight:600}
tr.label-row{border-left:6px solid transparent}
tr.label-row.v-red{border-left-color:var(--red);background:var(--red-bg)}
tr.label-row.v-amber{border-left-color:var(--amber-fill);background:var(--amber-bg)}
tr.label-row.v-green{border-left-color:var(--green);background:var(--green-bg)}
tr.label-row a{color:inherit}
ul.reasons{margin:0;padding-left:18px}
.label-name,ul.reasons li,h2 span,td.detail{overflow-wrap:anywhere;min-width:0}
th.label-name{min-width:8rem}
.fail{color:var(--red);font-weight:600}
.pass{color:var(--green)}
section.label{margin:28px 0;padding-top:12px;border-top:2px solid var(--line)}
.charts{display:grid;grid-template-columns:repeat(auto-fit,minmax(min(100%,280px),1fr));gap:12px}
figure{margin:0;border:1px solid var(--line);border-radius:6px;padding:8px}
figcaption{font-size:.85rem;font-weight:600;margin-bottom:4px}
svg.chart{display:block;width:100%;height:auto}
svg.chart text{font:11px system-ui,-apple-system,"Segoe UI",Roboto,sans-serif;fill:var(--muted)}
svg.chart .axis{stroke:var(--line);stroke-width:1}
svg.chart .series{fill:none;stroke:var(--chart);stroke-width:2;stroke-linejoin:round}
svg.chart .point{fill:var(--chart)}
.empty{color:var(--muted);font-style:italic}
.num{font-variant-numeric:tabular-nums}
@media (max-width:760px){
 body{padding:10px}
 table.labels thead{display:none}
 table.labels,table.labels tbody,table.labels tr,table.labels th,table.labels td{display:block;width:100%}
 table.labels tr.label-row{margin:0 0 12px;border:1px solid var(--line);border-left-width:6px;border-radius:6px}
 table.labels td,table.labels th{border:0;padding:3px 10px}
 table.labels td[data-title]::before{content:attr(data-title) ": ";color:var(--muted);font-size:.85rem}
 table.checks thead{display:none}
 table.checks,table.checks tbody,table.checks tr{display:block;width:100%}
 table.checks tr{padding:6px 0;border-bottom:1px solid var(--line)}
 table.checks td{display:inline;border:0;padding:0 8px 0 0;white-space:nowrap}
 table.checks td.detail{display:block;white-space:normal}
}
@media print{
 *{-webkit-print-color-adjust:exact;print-color-adjust:exact}
 body{padding:0;font-size:10pt}
 a{color:inherit;text-decoration:none}
 section.label{break-inside:avoid;page-break-inside:avoid}
 figure{break-inside:avoid}
 .charts{grid-template-columns:repeat(3,1fr)}
}
`;

interface ChartSpec {
  title: string;
  unit: (value: number) => string;
  values: { at: number; value: number | null; id: string }[];
}

const W = 320;
const H = 150;
const PAD = { left: 56, right: 10, top: 10, bottom: 24 };

function shortDate(ms: number): string {
  return new Date(ms).toISOString().slice(5, 16).replace("T", " ");
}

/** A line chart over time as inline SVG, with a dot per measured point. */
export function lineChart(spec: ChartSpec): string {
  const points = spec.values.filter(
    (point): point is { at: number; value: number; id: string } => point.value !== null,
  );
  const caption = `<figcaption>${escapeHtml(spec.title)}</figcaption>`;
  if (points.length === 0) return `<figure>${caption}<p class="empty">no data yet</p></figure>`;
  const times = spec.values.map((point) => point.at);
  const t0 = Math.min(...times);
  const t1 = Math.max(...times);
  const max = Math.max(...points.map((point) => point.value)) || 1;
  const plotW = W - PAD.left - PAD.right;
  const plotH = H - PAD.top - PAD.bottom;
  const x = (at: number) => PAD.left + (t1 === t0 ? plotW / 2 : ((at - t0) / (t1 - t0)) * plotW);
  const y = (value: number) => PAD.top + plotH - (value / (max * 1.1)) * plotH;
  const r = (n: number) => Math.round(n * 10) / 10;
  // Backups that nothing measured (no restore-test) are skipped, not drawn as zero: the line joins the measured ones.
  const path = points
    .map((point, index) => `${index === 0 ? "M" : "L"}${r(x(point.at))} ${r(y(point.value))}`)
    .join("");
  const circles = points
    .map(
      (point) =>
        `<circle class="point" cx="${r(x(point.at))}" cy="${r(y(point.value))}" r="3"><title>${escapeHtml(
          `${point.id}: ${spec.unit(point.value)}`,
        )}</title></circle>`,
    )
    .join("");
  const summary = `${spec.title}: ${points.length} point${points.length === 1 ? "" : "s"}, latest ${spec.unit(points.at(-1)!.value)}, highest ${spec.unit(max)}`;
  return (
    `<figure>${caption}<svg class="chart" viewBox="0 0 ${W} ${H}" role="img" aria-label="${escapeHtml(summary)}" xmlns="http://www.w3.org/2000/svg">` +
    `<title>${escapeHtml(summary)}</title>` +
    `<line class="axis" x1="${PAD.left}" y1="${PAD.top + plotH}" x2="${W - PAD.right}" y2="${PAD.top + plotH}"/>` +
    `<line class="axis" x1="${PAD.left}" y1="${PAD.top}" x2="${PAD.left}" y2="${PAD.top + plotH}"/>` +
    `<text x="${PAD.left - 4}" y="${r(y(max)) + 4}" text-anchor="end">${escapeHtml(spec.unit(max))}</text>` +
    `<text x="${PAD.left - 4}" y="${PAD.top + plotH + 4}" text-anchor="end">0</text>` +
    `<text x="${PAD.left}" y="${H - 6}">${escapeHtml(shortDate(t0))}</text>` +
    (t1 !== t0
      ? `<text x="${W - PAD.right}" y="${H - 6}" text-anchor="end">${escapeHtml(shortDate(t1))}</text>`
      : "") +
    (points.length > 1 ? `<path class="series" d="${path}"/>` : "") +
    circles +
    `</svg></figure>`
  );
}

function charts(series: SeriesPoint[]): string {
  const at = (point: SeriesPoint) => Date.parse(point.startedAt);
  return `<div class="charts">${[
    lineChart({
      title: "Stored size",
      unit: formatBytes,
      values: series.map((point) => ({ at: at(point), value: point.storedBytes, id: point.backupId })),
    }),
    lineChart({
      title: "Backup duration",
      unit: (value) => formatSeconds(value),
      values: series.map((point) => ({ at: at(point), value: point.durationSeconds, id: point.backupId })),
    }),
    lineChart({
      title: "Restore time (restore-test)",
      unit: (value) => formatSeconds(value),
      values: series.map((point) => ({ at: at(point), value: point.restoreSeconds, id: point.backupId })),
    }),
  ].join("")}</div>`;
}

function badge(verdict: Verdict): string {
  return `<span class="badge v-${verdict}">${verdict.toUpperCase()}</span>`;
}

function checkCell(check: CheckSummary | null): string {
  const text = escapeHtml(formatCheck(check));
  if (check === null) return `<span class="empty">${text}</span>`;
  return `<span class="${check.passed ? "pass" : "fail"}">${text}</span>`;
}

function reasonsList(reasons: string[]): string {
  if (reasons.length === 0) return `<span class="pass">all good</span>`;
  return `<ul class="reasons">${reasons.map((reason) => `<li>${escapeHtml(reason)}</li>`).join("")}</ul>`;
}

function labelRow(status: LabelStatus, index: number): string {
  const cell = (title: string, html: string, cls = "") =>
    `<td data-title="${escapeHtml(title)}"${cls ? ` class="${cls}"` : ""}>${html}</td>`;
  return (
    `<tr class="label-row v-${status.verdict}" data-verdict="${status.verdict}">` +
    `<th scope="row" class="label-name"><a href="#label-${index}">${escapeHtml(status.label)}</a></th>` +
    cell("Verdict", badge(status.verdict), "verdict") +
    cell(
      "Newest backup",
      status.newest
        ? escapeHtml(`${formatAge(status.newest.ageSeconds)} ago`)
        : `<span class="fail">none</span>`,
      "num",
    ) +
    cell("Last verify", checkCell(status.lastVerify)) +
    cell("Last restore-test", checkCell(status.lastRestoreTest)) +
    cell(
      "Restore time",
      escapeHtml(formatSeconds(status.lastPassingRestoreTest?.restoreSeconds ?? null)),
      "num",
    ) +
    cell(
      "Success rate",
      escapeHtml(
        status.successRate.ratio === null
          ? "-"
          : `${formatRatio(status.successRate.ratio)} (${status.successRate.succeeded}/${status.successRate.attempts})`,
      ),
      "num",
    ) +
    cell(
      "Stored",
      escapeHtml(
        status.storage.trendRatio === null
          ? formatBytes(status.storage.totalBytes)
          : `${formatBytes(status.storage.totalBytes)} (7d ${formatTrend(status.storage.trendRatio)})`,
      ),
      "num",
    ) +
    cell("Verified", escapeHtml(`${status.retention.verified} of ${status.retention.backups}`), "num") +
    cell("Reasons", reasonsList(status.reasons), "reasons-cell") +
    `</tr>`
  );
}

function checksTable(checks: CheckSummary[]): string {
  if (checks.length === 0) return `<p class="empty">no check yet</p>`;
  const rows = checks
    .map(
      (check) =>
        `<tr><td class="num">${escapeHtml(check.at.replace("T", " ").slice(0, 16))}</td>` +
        `<td>${escapeHtml(check.kind)}</td>` +
        `<td class="${check.passed ? "pass" : "fail"}">${check.passed ? "pass" : "FAIL"}</td>` +
        `<td>${escapeHtml(check.backupId)}</td>` +
        `<td class="detail">${escapeHtml(
          check.passed
            ? check.restoreSeconds !== null
              ? `restored in ${formatSeconds(check.restoreSeconds)}`
              : ""
            : (check.failure ?? ""),
        )}</td></tr>`,
    )
    .join("");
  return `<table class="checks"><thead><tr><th>When (UTC)</th><th>Check</th><th>Result</th><th>Backup</th><th>Detail</th></tr></thead><tbody>${rows}</tbody></table>`;
}

function labelSection(status: LabelStatus, index: number): string {
  return (
    `<section class="label v-${status.verdict}" id="label-${index}">` +
    `<h2><span>${escapeHtml(status.label)}</span>${badge(status.verdict)}</h2>` +
    (status.reasons.length > 0 ? reasonsList(status.reasons) : "") +
    `<h3>Over time</h3>${charts(status.series)}` +
    `<h3>Latest checks</h3>${checksTable(status.latestChecks)}` +
    `</section>`
  );
}

export function renderStatusHtml(model: StatusModel): string {
  const title = `Lifeboat status: ${model.verdict.toUpperCase()}`;
  const summary = `${model.counts.green} green, ${model.counts.amber} amber, ${model.counts.red} red`;
  const meta = [
    `generated ${model.generatedAt.replace("T", " ").slice(0, 16)} UTC`,
    model.storage ? `storage ${model.storage}` : "",
    `max-age ${formatSeconds(model.thresholds.maxAgeSeconds)}`,
    model.thresholds.maxRestoreAgeSeconds !== null
      ? `max-restore-age ${formatSeconds(model.thresholds.maxRestoreAgeSeconds)}`
      : "",
  ]
    .filter(Boolean)
    .join(" · ");
  const body =
    model.labels.length === 0
      ? `<p class="fail">No labels: nothing is backed up here.</p>`
      : `<table class="labels"><thead><tr><th>Label</th><th>Verdict</th><th>Newest backup</th><th>Last verify</th>` +
        `<th>Last restore-test</th><th>Restore time</th><th>Success rate</th><th>Stored</th><th>Verified</th><th>Reasons</th></tr></thead>` +
        `<tbody>${model.labels.map(labelRow).join("")}</tbody></table>` +
        model.labels.map(labelSection).join("");
  return (
    `<!doctype html>\n<html lang="en"><head><meta charset="utf-8">` +
    `<meta name="viewport" content="width=device-width,initial-scale=1">` +
    `<meta http-equiv="Content-Security-Policy" content="default-src 'none'; style-src 'unsafe-inline'">` +
    `<meta name="robots" content="noindex">` +
    `<title>${escapeHtml(title)}</title><style>${CSS}</style></head>` +
    `<body><header><h1>Lifeboat status ${badge(model.verdict)}</h1>` +
    `<p class="meta">${escapeHtml(summary)} · ${escapeHtml(meta)}</p></header>` +
    `<main>${body}</main></body></html>\n`
  );
}
