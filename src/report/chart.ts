/**
 * Charts of a label's recent backups as Mermaid `xychart-beta` blocks, which GitHub renders in
 * Markdown (job summaries, comments): stored size per backup, and restore time per backup where a
 * restore-test measured it. No chart from fewer than two points.
 */
import type { HistoryPoint } from "./history.js";

export const MIN_CHART_POINTS = 2;
const LABEL_MAX = 16;

const SIZE_UNITS = ["B", "KiB", "MiB", "GiB", "TiB"] as const;

/** A category label: short, and without the characters that would end Mermaid's quoted string. */
export function chartLabel(text: string): string {
  const clean = text.replace(/["\\\n\r`[\]]/g, "").trim();
  return clean.length > LABEL_MAX ? clean.slice(0, LABEL_MAX) : clean;
}

function round(value: number): number {
  return Math.round(value * 100) / 100;
}

/**
 * x labels `MM-DD HH:MM` (UTC); where two collide, `MM-DD HH:MM:SS`; where those still collide,
 * `HH:MM:SS <id suffix>` (the backup id's random part tells them apart).
 */
export function pointLabels(points: Pick<HistoryPoint, "startedAt" | "backupId">[]): string[] {
  const iso = points.map((point) => point.startedAt.toISOString());
  const unique = (labels: string[], index: number) =>
    labels.indexOf(labels[index]!) === labels.lastIndexOf(labels[index]!);
  const minutes = iso.map((text) => `${text.slice(5, 10)} ${text.slice(11, 16)}`);
  const seconds = iso.map((text, index) =>
    unique(minutes, index) ? minutes[index]! : `${text.slice(5, 10)} ${text.slice(11, 19)}`,
  );
  return seconds.map((label, index) =>
    chartLabel(
      unique(seconds, index)
        ? label
        : `${iso[index]!.slice(11, 19)} ${points[index]!.backupId.split("-").at(-1)!.slice(0, 7)}`,
    ),
  );
}

function block(
  title: string,
  labels: string[],
  axis: string,
  values: number[],
  kind: "bar" | "line",
): string {
  const max = Math.max(...values);
  const top = max > 0 ? round(max * 1.1) : 1;
  return [
    "```mermaid",
    "xychart-beta",
    `  title "${title.replace(/"/g, "")}"`,
    `  x-axis [${labels.map((label) => `"${label}"`).join(", ")}]`,
    `  y-axis "${axis}" 0 --> ${top}`,
    `  ${kind} [${values.join(", ")}]`,
    "```",
  ].join("\n");
}

/** Stored size of each backup with a manifest, oldest first; undefined below two points. */
export function sizeChart(points: HistoryPoint[]): string | undefined {
  const sized = points.filter((point) => point.storedBytes !== null);
  if (sized.length < MIN_CHART_POINTS) return undefined;
  const max = Math.max(...sized.map((point) => point.storedBytes!));
  let unit = 0;
  while (unit < SIZE_UNITS.length - 1 && max >= 1024 ** (unit + 1)) unit++;
  const values = sized.map((point) => round(point.storedBytes! / 1024 ** unit));
  return block("Stored size per backup", pointLabels(sized), SIZE_UNITS[unit]!, values, "bar");
}

/** Restore seconds of each backup a restore-test measured, oldest first; undefined below two points. */
export function restoreTimeChart(points: HistoryPoint[]): string | undefined {
  const timed = points.filter((point) => point.restoreSeconds !== null);
  if (timed.length < MIN_CHART_POINTS) return undefined;
  return block(
    "Restore time per backup",
    pointLabels(timed),
    "seconds",
    timed.map((point) => round(point.restoreSeconds!)),
    "line",
  );
}
