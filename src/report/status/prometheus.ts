/**
 * The status figures in the Prometheus text exposition format (version 0.0.4), for the
 * node_exporter textfile collector or a Pushgateway. Conventions followed: a `lifeboat_` prefix,
 * base units in the name (`_seconds`, `_bytes`, `_ratio`), points in time as gauges of Unix
 * seconds (`_timestamp_seconds`), one HELP and TYPE line per family, no sample timestamps (the
 * textfile collector refuses them), label values escaped (`\\`, `\"`, `\n`).
 *
 * A figure that does not exist (no restore-test ever measured) has no sample, except the
 * last-success timestamps, which are 0 for "never" so that `time() - x > N` alerts fire on a label
 * that never succeeded. docs/status.md lists every metric.
 */
import { randomBytes } from "node:crypto";
import { open, rename, rm } from "node:fs/promises";
import { basename, dirname, join } from "node:path";
import type { LabelStatus, StatusModel, Verdict } from "./model.js";

type Labels = Record<string, string>;

interface Family {
  name: string;
  help: string;
  samples: { labels: Labels; value: number }[];
}

/** Escapes a label value: backslash, double quote and line feed. */
export function escapeLabelValue(value: string): string {
  return value.replace(/\\/g, "\\\\").replace(/"/g, '\\"').replace(/\n/g, "\\n");
}

function escapeHelp(text: string): string {
  return text.replace(/\\/g, "\\\\").replace(/\n/g, "\\n");
}

/** Go's strconv formatting as Prometheus reads it: integers plainly, NaN and infinities by name. */
export function formatValue(value: number): string {
  if (Number.isNaN(value)) return "NaN";
  if (value === Infinity) return "+Inf";
  if (value === -Infinity) return "-Inf";
  return String(value);
}

function seconds(iso: string): number {
  return Date.parse(iso) / 1000;
}

const VERDICTS: Verdict[] = ["green", "amber", "red"];

export function statusFamilies(model: StatusModel): Family[] {
  const family = (name: string, help: string): Family => ({ name, help, samples: [] });
  const f = {
    lastSuccess: family(
      "lifeboat_last_success_timestamp_seconds",
      "Unix time of the last success per kind: backup (the newest good backup finished: committed, its latest check not failed), verify (newest passing verify or verify-deep), restore_test (newest passing restore-test); 0 when never.",
    ),
    lastCheckPassed: family(
      "lifeboat_last_check_passed",
      "1 when the newest check of the kind (verify, restore_test) passed, 0 when it failed; absent when there was none.",
    ),
    age: family("lifeboat_backup_age_seconds", "Seconds since the newest committed backup finished."),
    stored: family("lifeboat_stored_bytes", "Stored bytes of every committed backup's dump under the label."),
    size: family("lifeboat_backup_size_bytes", "Stored bytes of the newest backup's dump."),
    backups: family("lifeboat_backups", "Committed backups under the label."),
    verified: family(
      "lifeboat_verified_backups",
      "Committed backups proved by a restore-test or deep verify.",
    ),
    incomplete: family(
      "lifeboat_incomplete_backups",
      "Backup folders without a manifest (in flight or failed).",
    ),
    restore: family(
      "lifeboat_restore_duration_seconds",
      "Restore time measured by the newest passing restore-test.",
    ),
    duration: family("lifeboat_backup_duration_seconds", "Duration of the newest committed backup."),
    ratio: family(
      "lifeboat_success_ratio",
      "Succeeded backups over attempts in the window of the newest backup folders (docs/reports.md).",
    ),
    attempts: family("lifeboat_success_window_attempts", "Backup folders in the success-rate window."),
    healthy: family("lifeboat_label_healthy", "1 when the label's verdict is green or amber, 0 when red."),
    verdict: family(
      "lifeboat_label_verdict",
      "1 for the label's verdict (green, amber, red), 0 for the others.",
    ),
    generated: family("lifeboat_status_timestamp_seconds", "Unix time at which this status was computed."),
    labels: family("lifeboat_labels", "Labels in this status, by verdict."),
  };
  const add = (target: Family, labels: Labels, value: number | null | undefined) => {
    if (value !== null && value !== undefined) target.samples.push({ labels, value });
  };
  const perLabel = (status: LabelStatus) => {
    const label = { label: status.label };
    add(
      f.lastSuccess,
      { ...label, kind: "backup" },
      status.newestGood ? seconds(status.newestGood.finishedAt) : 0,
    );
    add(
      f.lastSuccess,
      { ...label, kind: "verify" },
      status.lastPassingVerify ? seconds(status.lastPassingVerify.at) : 0,
    );
    add(
      f.lastSuccess,
      { ...label, kind: "restore_test" },
      status.lastPassingRestoreTest ? seconds(status.lastPassingRestoreTest.at) : 0,
    );
    add(
      f.lastCheckPassed,
      { ...label, kind: "verify" },
      status.lastVerify ? Number(status.lastVerify.passed) : null,
    );
    add(
      f.lastCheckPassed,
      { ...label, kind: "restore_test" },
      status.lastRestoreTest ? Number(status.lastRestoreTest.passed) : null,
    );
    add(f.age, label, status.newest?.ageSeconds);
    add(f.stored, label, status.storage.totalBytes);
    add(f.size, label, status.storage.newestBytes);
    add(f.backups, label, status.retention.backups);
    add(f.verified, label, status.retention.verified);
    add(f.incomplete, label, status.retention.incomplete);
    add(f.restore, label, status.lastPassingRestoreTest?.restoreSeconds);
    add(f.duration, label, status.newest?.durationSeconds);
    add(f.ratio, label, status.successRate.ratio);
    add(f.attempts, label, status.successRate.attempts);
    add(f.healthy, label, status.verdict === "red" ? 0 : 1);
    for (const verdict of VERDICTS) add(f.verdict, { ...label, verdict }, Number(status.verdict === verdict));
  };
  for (const status of model.labels) perLabel(status);
  add(f.generated, {}, seconds(model.generatedAt));
  for (const verdict of VERDICTS) add(f.labels, { verdict }, model.counts[verdict]);
  return Object.values(f);
}

export function renderPrometheus(model: StatusModel): string {
  const lines: string[] = [];
  for (const family of statusFamilies(model)) {
    if (family.samples.length === 0) continue;
    lines.push(`# HELP ${family.name} ${escapeHelp(family.help)}`, `# TYPE ${family.name} gauge`);
    for (const { labels, value } of family.samples) {
      const pairs = Object.entries(labels).map(([key, text]) => `${key}="${escapeLabelValue(text)}"`);
      lines.push(`${family.name}${pairs.length > 0 ? `{${pairs.join(",")}}` : ""} ${formatValue(value)}`);
    }
  }
  return lines.join("\n") + "\n";
}

/**
 * Writes `text` so that a reader sees the old file or the new one, never half of one: a temporary
 * file in the same directory (same filesystem, so rename is atomic), flushed to disk, then renamed
 * over the target. The temporary name starts with a dot and does not end in `.prom`, so the
 * textfile collector never reads it.
 */
export async function writeFileAtomic(path: string, text: string): Promise<void> {
  const temp = join(dirname(path), `.${basename(path)}.${process.pid}.${randomBytes(6).toString("hex")}.tmp`);
  try {
    const handle = await open(temp, "wx", 0o644);
    try {
      await handle.writeFile(text, "utf8");
      await handle.sync();
    } finally {
      await handle.close();
    }
    await rename(temp, path);
  } catch (error) {
    await rm(temp, { force: true });
    throw error;
  }
}
