/**
 * The status of every label in a store, as a pure function of what was read and `now`: the figures
 * that `lifeboat status` prints as text, JSON, an HTML page and Prometheus metrics, and a verdict
 * per label (green, amber, red) with its reasons. docs/status.md describes every field; the field
 * names are part of the JSON output's contract (schemaVersion 1).
 *
 * The inputs mirror what a store holds (docs/format.md): per label, every backup folder with its
 * manifest's facts (none when the folder has no manifest: a backup in flight or one that died)
 * and its check records. The shell that reads the store builds them; nothing here does I/O.
 */
import { InputError } from "../../domain/errors.js";
import { createRedactor, redactUrl } from "../../domain/redact.js";
import { isVerified } from "../../domain/retention.js";
import { HISTORY_WINDOW, IN_FLIGHT_MS, historyStats, type HistoryPoint } from "../history.js";

export const STATUS_SCHEMA_VERSION = 1;

export type StatusCheckKind = "verify" | "verify-deep" | "restore-test";

/** One check record (src/commands/check-record.ts) as status needs it. */
export interface StatusCheckInput {
  kind: StatusCheckKind;
  passed: boolean;
  at: Date;
  /** A passing restore-test's `details.restoreSeconds`; absent or null otherwise. */
  restoreSeconds?: number | null;
  /** The record's `failures` (untrusted text: redacted and escaped by the renderers). */
  failures?: string[];
}

/** The manifest's facts (src/domain/manifest.ts). */
export interface StatusManifestFacts {
  finishedAt: Date;
  durationSeconds: number;
  /** `object.bytes`: the stored (encrypted) dump. */
  storedBytes: number;
}

/** One backup folder under the label. */
export interface StatusBackupInput {
  backupId: string;
  /** From the backup id (src/domain/backup-id.ts). */
  startedAt: Date;
  /** Null when the folder has no (readable) manifest: not a backup. */
  manifest: StatusManifestFacts | null;
  checks: StatusCheckInput[];
}

export interface StatusLabelInput {
  label: string;
  backups: StatusBackupInput[];
  /** Set when the label could not be read (the store's error, one line): the label is red. */
  error?: string;
}

export interface StatusThresholds {
  /** Red when the newest good backup finished longer ago than this. Default 26 h. */
  maxAgeSeconds: number;
  /** Red when no restore-test passed within this; null: restore-tests are not judged. Default null. */
  maxRestoreAgeSeconds: number | null;
  /** Amber when the success rate over the window is below this (0..1). Default 0.9. */
  minSuccessRate: number;
  /** Backup folders in the success-rate window (docs/reports.md). Default 30. */
  window: number;
}

export const DEFAULT_THRESHOLDS: StatusThresholds = {
  maxAgeSeconds: 26 * 3600,
  maxRestoreAgeSeconds: null,
  minSuccessRate: 0.9,
  window: HISTORY_WINDOW,
};

/** How far back the stored-size trend looks. */
export const TREND_SECONDS = 7 * 86400;
/** How many check records the "latest checks" list keeps per label. */
export const LATEST_CHECKS = 5;

export type Verdict = "green" | "amber" | "red";

export interface CheckSummary {
  backupId: string;
  kind: StatusCheckKind;
  passed: boolean;
  at: string;
  ageSeconds: number;
  /** Restore time of a passing restore-test; null otherwise. */
  restoreSeconds: number | null;
  /** The first failure line of a failed check (redacted); null when it passed. */
  failure: string | null;
}

/** One committed backup in the window, oldest first: the charts' points. */
export interface SeriesPoint {
  backupId: string;
  startedAt: string;
  storedBytes: number;
  durationSeconds: number;
  /** The newest passing restore-test of this backup; null when none measured it. */
  restoreSeconds: number | null;
}

export interface LabelStatus {
  label: string;
  verdict: Verdict;
  /** Why the verdict is not green, worst first; empty when green. */
  reasons: string[];
  /** The label could not be read (redacted); null otherwise. */
  error: string | null;
  newest: {
    backupId: string;
    finishedAt: string;
    ageSeconds: number;
    durationSeconds: number;
    storedBytes: number;
  } | null;
  /** The newest committed backup whose latest check did not fail (the "good" one the age rule uses). */
  newestGood: { backupId: string; finishedAt: string; ageSeconds: number } | null;
  /** The newest verify or verify-deep record, whatever its outcome. */
  lastVerify: CheckSummary | null;
  lastPassingVerify: CheckSummary | null;
  /** The newest restore-test record, whatever its outcome. */
  lastRestoreTest: CheckSummary | null;
  lastPassingRestoreTest: CheckSummary | null;
  successRate: {
    /** Backup folders in the window (docs/reports.md). */
    attempts: number;
    succeeded: number;
    /** succeeded / attempts; null with no attempt. */
    ratio: number | null;
    window: number;
  };
  storage: {
    /** Sum of the stored dumps of every committed backup. */
    totalBytes: number;
    /** The newest backup's stored dump; null without a backup. */
    newestBytes: number | null;
    /** The newest backup that finished at least TREND_SECONDS before now; null when none is that old. */
    weekAgoBytes: number | null;
    /** (newestBytes - weekAgoBytes) / weekAgoBytes; null when either is missing or weekAgoBytes is 0. */
    trendRatio: number | null;
  };
  retention: {
    /** Committed backups. */
    backups: number;
    /** Committed backups that a restore-test or deep verify proved (src/domain/retention.ts isVerified). */
    verified: number;
    /** Folders without a manifest (in flight or failed). */
    incomplete: number;
  };
  series: SeriesPoint[];
  /** The newest check records, newest first, at most LATEST_CHECKS. */
  latestChecks: CheckSummary[];
}

export interface StatusModel {
  schemaVersion: typeof STATUS_SCHEMA_VERSION;
  generatedAt: string;
  /** Where the labels were read from, without credentials; null when not given. */
  storage: string | null;
  thresholds: StatusThresholds;
  verdict: Verdict;
  /** 1 when any label is red, else 0. */
  exitCode: 0 | 1;
  counts: Record<Verdict, number>;
  labels: LabelStatus[];
}

export interface StatusOptions {
  now: Date;
  thresholds?: Partial<StatusThresholds>;
  /** The storage URL, shown redacted. */
  storage?: string;
  /** Secrets to mask in any text that reaches the output (as src/domain/redact.ts does). */
  secrets?: readonly string[];
}

const RANK: Record<Verdict, number> = { green: 0, amber: 1, red: 2 };

function worst(verdicts: Iterable<Verdict>): Verdict {
  let result: Verdict = "green";
  for (const verdict of verdicts) if (RANK[verdict] > RANK[result]) result = verdict;
  return result;
}

function seconds(from: Date, now: Date): number {
  return Math.max(0, Math.round((now.getTime() - from.getTime()) / 1000));
}

/** `26h`, `8d`, `1d12h`: thresholds as people write them. */
function span(totalSeconds: number): string {
  const s = Math.max(0, Math.round(totalSeconds));
  const d = Math.floor(s / 86400);
  const h = Math.floor((s % 86400) / 3600);
  const m = Math.floor((s % 3600) / 60);
  if (d > 0) return h > 0 ? `${d}d${h}h` : `${d}d`;
  if (h > 0) return m > 0 ? `${h}h${m}m` : `${h}h`;
  return m > 0 ? `${m}m` : `${s}s`;
}

function percent(ratio: number): string {
  return `${Math.round(ratio * 1000) / 10}%`;
}

const byTime = (a: { at: Date }, b: { at: Date }) => a.at.getTime() - b.at.getTime();

/** Thresholds are user input (CLI options): a bad one is bad input, named by its option. */
function validThresholds(partial: Partial<StatusThresholds> | undefined): StatusThresholds {
  const t = { ...DEFAULT_THRESHOLDS, ...partial };
  const bad = (input: string, expected: string) =>
    new InputError(`--${input}: expected ${expected}`, { input });
  if (!(t.maxAgeSeconds > 0)) throw bad("max-age", "a duration longer than 0");
  if (t.maxRestoreAgeSeconds !== null && !(t.maxRestoreAgeSeconds > 0)) {
    throw bad("max-restore-age", "a duration longer than 0");
  }
  if (!(t.minSuccessRate >= 0 && t.minSuccessRate <= 1))
    throw bad("min-success-rate", "a percentage from 0% to 100%");
  if (!Number.isSafeInteger(t.window) || t.window < 1)
    throw bad("window", "a whole number of backups, at least 1");
  return t;
}

export function buildStatus(inputs: readonly StatusLabelInput[], options: StatusOptions): StatusModel {
  const thresholds = validThresholds(options.thresholds);
  const redact = createRedactor(options.secrets ?? []);
  const labels = [...inputs]
    .sort((a, b) => (a.label < b.label ? -1 : a.label > b.label ? 1 : 0))
    .map((input) => labelStatus(input, options.now, thresholds, redact));
  const counts: Record<Verdict, number> = { green: 0, amber: 0, red: 0 };
  for (const label of labels) counts[label.verdict]++;
  const verdict = worst(labels.map((label) => label.verdict));
  return {
    schemaVersion: STATUS_SCHEMA_VERSION,
    generatedAt: options.now.toISOString(),
    storage: options.storage === undefined ? null : redact(redactUrl(options.storage)),
    thresholds,
    // An empty selection is not a healthy one: nothing is being backed up.
    verdict: labels.length === 0 ? "red" : verdict,
    exitCode: labels.length === 0 || verdict === "red" ? 1 : 0,
    counts,
    labels,
  };
}

export function labelStatus(
  input: StatusLabelInput,
  now: Date,
  thresholds: StatusThresholds,
  redact: (text: string) => string = createRedactor([]),
): LabelStatus {
  const summarize = (backupId: string, check: StatusCheckInput): CheckSummary => ({
    backupId,
    kind: check.kind,
    passed: check.passed,
    at: check.at.toISOString(),
    ageSeconds: seconds(check.at, now),
    restoreSeconds:
      check.passed && check.kind === "restore-test" && typeof check.restoreSeconds === "number"
        ? check.restoreSeconds
        : null,
    failure: check.passed ? null : redact(check.failures?.[0] ?? "failed"),
  });
  // Newest first, as backup ids sort by time.
  const folders = [...input.backups].sort((a, b) =>
    a.backupId < b.backupId ? 1 : a.backupId > b.backupId ? -1 : 0,
  );
  const committed = folders.filter((folder) => folder.manifest !== null);
  const lastCheck = (folder: StatusBackupInput) => [...folder.checks].sort(byTime).at(-1);

  const allChecks = folders
    .flatMap((folder) => folder.checks.map((check) => ({ folder, check, at: check.at })))
    .sort(byTime);
  const newestOf = (match: (check: StatusCheckInput) => boolean) => {
    const found = allChecks.filter(({ check }) => match(check)).at(-1);
    return found ? summarize(found.folder.backupId, found.check) : null;
  };
  const isVerify = (check: StatusCheckInput) => check.kind === "verify" || check.kind === "verify-deep";
  const lastVerify = newestOf(isVerify);
  const lastPassingVerify = newestOf((check) => isVerify(check) && check.passed);
  const lastRestoreTest = newestOf((check) => check.kind === "restore-test");
  const lastPassingRestoreTest = newestOf((check) => check.kind === "restore-test" && check.passed);

  const newestFolder = committed[0];
  const newest = newestFolder?.manifest
    ? {
        backupId: newestFolder.backupId,
        finishedAt: newestFolder.manifest.finishedAt.toISOString(),
        ageSeconds: seconds(newestFolder.manifest.finishedAt, now),
        durationSeconds: newestFolder.manifest.durationSeconds,
        storedBytes: newestFolder.manifest.storedBytes,
      }
    : null;
  const goodFolder = committed.find((folder) => lastCheck(folder)?.passed !== false);
  const newestGood = goodFolder?.manifest
    ? {
        backupId: goodFolder.backupId,
        finishedAt: goodFolder.manifest.finishedAt.toISOString(),
        ageSeconds: seconds(goodFolder.manifest.finishedAt, now),
      }
    : null;

  // The success rate is the job summary's (docs/reports.md): same window, same rule, same code.
  const windowFolders = folders
    .filter(
      (folder) => folder.manifest !== null || now.getTime() - folder.startedAt.getTime() >= IN_FLIGHT_MS,
    )
    .slice(0, thresholds.window);
  const restoreSecondsOf = (folder: StatusBackupInput): number | null => {
    const passing = folder.checks
      .filter((check) => check.kind === "restore-test" && check.passed)
      .sort(byTime);
    const value = passing.at(-1)?.restoreSeconds;
    return typeof value === "number" && Number.isFinite(value) && value >= 0 ? value : null;
  };
  const points: HistoryPoint[] = windowFolders.map((folder) => ({
    backupId: folder.backupId,
    startedAt: folder.startedAt,
    committed: folder.manifest !== null,
    storedBytes: folder.manifest?.storedBytes ?? null,
    finishedAt: folder.manifest?.finishedAt ?? folder.startedAt,
    lastCheckPassed: lastCheck(folder)?.passed ?? null,
    restoreSeconds: restoreSecondsOf(folder),
  }));
  const stats = historyStats(points, now);

  const newestBytes = newest?.storedBytes ?? null;
  const weekAgoFolder = committed.find(
    (folder) =>
      folder.manifest && now.getTime() - folder.manifest.finishedAt.getTime() >= TREND_SECONDS * 1000,
  );
  const weekAgoBytes = weekAgoFolder?.manifest?.storedBytes ?? null;

  const series: SeriesPoint[] = windowFolders
    .filter((folder) => folder.manifest !== null)
    .map((folder) => ({
      backupId: folder.backupId,
      startedAt: folder.startedAt.toISOString(),
      storedBytes: folder.manifest!.storedBytes,
      durationSeconds: folder.manifest!.durationSeconds,
      restoreSeconds: restoreSecondsOf(folder),
    }))
    .reverse();

  const status: LabelStatus = {
    label: input.label,
    verdict: "green",
    reasons: [],
    error: input.error === undefined ? null : redact(input.error),
    newest,
    newestGood,
    lastVerify,
    lastPassingVerify,
    lastRestoreTest,
    lastPassingRestoreTest,
    successRate: {
      attempts: stats.attempts,
      succeeded: stats.succeeded,
      ratio: stats.successRate,
      window: thresholds.window,
    },
    storage: {
      totalBytes: committed.reduce((sum, folder) => sum + folder.manifest!.storedBytes, 0),
      newestBytes,
      weekAgoBytes,
      trendRatio: newestBytes !== null && weekAgoBytes ? (newestBytes - weekAgoBytes) / weekAgoBytes : null,
    },
    retention: {
      backups: committed.length,
      verified: committed.filter((folder) =>
        isVerified(
          folder.checks.map((check) => ({ kind: check.kind, passed: check.passed, time: check.at })),
        ),
      ).length,
      incomplete: folders.length - committed.length,
    },
    series,
    latestChecks: allChecks
      .slice(-LATEST_CHECKS)
      .reverse()
      .map(({ folder, check }) => summarize(folder.backupId, check)),
  };
  const judged = judge(status, thresholds);
  status.verdict = judged.verdict;
  status.reasons = judged.reasons.map(redact);
  return status;
}

/**
 * The verdict rules (docs/status.md):
 * red    the label could not be read; no backup; the newest good backup (committed, latest check
 *        not failed) is older than maxAge or there is none; with maxRestoreAge set, no restore-test
 *        passed within it.
 * amber  the newest backup's latest check failed (an older good one is still fresh enough); the
 *        newest restore-test failed; the success rate is below minSuccessRate; no backup is
 *        verified (no restore-test or deep verify ever proved one).
 */
export function judge(
  status: LabelStatus,
  thresholds: StatusThresholds,
): { verdict: Verdict; reasons: string[] } {
  const red: string[] = [];
  const amber: string[] = [];
  if (status.error !== null) red.push(`could not read the label: ${status.error}`);
  else if (status.newest === null) red.push("no backup");
  else if (status.newestGood === null) red.push("no good backup: every backup's latest check failed");
  else if (status.newestGood.ageSeconds > thresholds.maxAgeSeconds) {
    red.push(
      `newest good backup is ${span(status.newestGood.ageSeconds)} old (max-age ${span(thresholds.maxAgeSeconds)})`,
    );
  }
  let reported: CheckSummary | undefined;
  if (
    status.newest !== null &&
    status.newestGood !== null &&
    status.newestGood.backupId !== status.newest.backupId
  ) {
    const failed = status.latestChecks.find(
      (check) => check.backupId === status.newest!.backupId && !check.passed,
    );
    reported = failed;
    amber.push(
      `newest backup ${status.newest.backupId} failed its latest check${failed ? ` (${failed.kind}: ${failed.failure})` : ""}`,
    );
  }
  if (status.error === null && status.newest !== null && thresholds.maxRestoreAgeSeconds !== null) {
    const limit = span(thresholds.maxRestoreAgeSeconds);
    if (status.lastPassingRestoreTest === null)
      red.push(`no passing restore-test (max-restore-age ${limit})`);
    else if (status.lastPassingRestoreTest.ageSeconds > thresholds.maxRestoreAgeSeconds) {
      red.push(
        `last passing restore-test was ${span(status.lastPassingRestoreTest.ageSeconds)} ago (max-restore-age ${limit})`,
      );
    }
  }
  const restoreTest = status.lastRestoreTest;
  // Said once: the newest backup's failed restore-test is already the reason above.
  if (
    restoreTest &&
    !restoreTest.passed &&
    !(reported?.kind === "restore-test" && reported.at === restoreTest.at)
  ) {
    amber.push(`latest restore-test failed (${restoreTest.backupId}: ${restoreTest.failure ?? "failed"})`);
  }
  const ratio = status.successRate.ratio;
  if (ratio !== null && ratio < thresholds.minSuccessRate) {
    amber.push(
      `success rate ${percent(ratio)} (${status.successRate.succeeded}/${status.successRate.attempts}) is below ${percent(thresholds.minSuccessRate)}`,
    );
  }
  if (status.retention.backups > 0 && status.retention.verified === 0) {
    amber.push("no verified backup: no restore-test or deep verify has passed");
  }
  const reasons = [...red, ...amber];
  return { verdict: red.length > 0 ? "red" : amber.length > 0 ? "amber" : "green", reasons };
}

/** The JSON output: the model itself, stable field names (docs/status.md). */
export function renderStatusJson(model: StatusModel): string {
  return JSON.stringify(model, null, 2) + "\n";
}
