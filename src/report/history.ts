/**
 * A label's recent backups, for the dashboard in every job summary: one listing of `<label>/`, then
 * the manifests and the latest passing restore-test record of the newest backups, read a few at a
 * time. The figures (`historyStats`) are a pure function of the points and now.
 *
 * Window: the newest HISTORY_WINDOW backup folders under the label (by backup id), with or without
 * a manifest, except folders without one younger than IN_FLIGHT_MS (a backup still running).
 * Success rate: succeeded / attempts over the window, where every folder in it is an attempt, and
 * a success is a folder with an intact backup (a manifest whose artifacts are all there, at their
 * size) whose latest check record, when it has any, passed. See docs/reports.md.
 */
import type { CheckRecordRef } from "../domain/layout.js";
import { backupStoredBytes } from "../domain/manifest.js";
import { BackupRepository, mapBounded } from "../repository/backup-repository.js";
import type { Store } from "../storage/store.js";

export { mapBounded };

export const HISTORY_WINDOW = 30;
export const HISTORY_READS_IN_PARALLEL = 6;
/** A folder without a manifest younger than this may be a backup still being written. */
export const IN_FLIGHT_MS = 3_600_000;

export interface HistoryPoint {
  backupId: string;
  startedAt: Date;
  committed: boolean;
  /** The stored object's size from the manifest; null without a (readable) manifest. */
  storedBytes: number | null;
  /** When the backup finished (the manifest's finishedAt), else its start. */
  finishedAt: Date;
  /** Why a committed backup is broken (an artifact missing or of another size); empty when intact. */
  problems?: string[];
  /** The latest check record's outcome; null when the backup was never checked. */
  lastCheckPassed: boolean | null;
  /** Seconds of the latest passing restore-test, when there is one. */
  restoreSeconds: number | null;
}

export interface HistoryStats {
  /** Folders in the window (attempts). */
  attempts: number;
  succeeded: number;
  /** succeeded / attempts; null with no attempt. */
  successRate: number | null;
  /** Seconds since the newest committed backup finished; null when there is none. */
  newestAgeSeconds: number | null;
  newestBackupId: string | null;
  /** Backups in the window with a passing restore-test. */
  restoreTested: number;
}

export interface History {
  label: string;
  /** Oldest first (the order of a chart's x axis). */
  points: HistoryPoint[];
  stats: HistoryStats;
}

function latestPassingRestoreTest(checks: CheckRecordRef[]): CheckRecordRef | undefined {
  return checks.filter((check) => check.kind === "restore-test" && check.passed).at(-1);
}

/** Restore seconds from a restore-test check record's text (`details.restoreSeconds`). */
export function restoreSecondsFromRecord(text: string): number | null {
  try {
    const record = JSON.parse(text) as { details?: { restoreSeconds?: unknown } };
    const value = record.details?.restoreSeconds;
    return typeof value === "number" && Number.isFinite(value) && value >= 0 ? value : null;
  } catch {
    return null;
  }
}

export async function loadHistory(
  store: Store,
  label: string,
  options: { now: Date; window?: number; parallel?: number },
): Promise<History> {
  const repository = new BackupRepository(store);
  const window = options.window ?? HISTORY_WINDOW;
  const folders = (await repository.folders(label))
    .filter(
      (folder) => folder.committed || options.now.getTime() - folder.startedAt.getTime() >= IN_FLIGHT_MS,
    )
    .slice(0, window);
  const points = await mapBounded(folders, options.parallel ?? HISTORY_READS_IN_PARALLEL, async (folder) => {
    const lastCheck = folder.checks.at(-1);
    const point: HistoryPoint = {
      backupId: folder.backupId,
      startedAt: folder.startedAt,
      committed: folder.committed,
      storedBytes: null,
      finishedAt: folder.startedAt,
      problems: [],
      lastCheckPassed: lastCheck ? lastCheck.passed : null,
      restoreSeconds: null,
    };
    if (!folder.committed) return point;
    // A manifest that cannot be read leaves a gap in the chart; verify reports the damage.
    const { manifest, problems } = await repository.inspectFolder(label, folder);
    point.problems = problems;
    if (manifest) {
      point.storedBytes = backupStoredBytes(manifest);
      const finished = new Date(manifest.finishedAt);
      if (!Number.isNaN(finished.getTime())) point.finishedAt = finished;
    }
    const restoreTest = latestPassingRestoreTest(folder.checks);
    if (restoreTest) {
      point.restoreSeconds = await repository
        .readText(restoreTest.key)
        .then(restoreSecondsFromRecord)
        .catch(() => null);
    }
    return point;
  });
  points.reverse();
  return { label, points, stats: historyStats(points, options.now) };
}

/** The dashboard's figures over the points of a window (any order). */
export function historyStats(points: HistoryPoint[], now: Date): HistoryStats {
  const committed = points.filter((point) => point.committed);
  const newest = committed.reduce<HistoryPoint | undefined>(
    (best, point) => (!best || point.backupId > best.backupId ? point : best),
    undefined,
  );
  const succeeded = committed.filter(
    (point) => point.lastCheckPassed !== false && (point.problems?.length ?? 0) === 0,
  ).length;
  return {
    attempts: points.length,
    succeeded,
    successRate: points.length === 0 ? null : succeeded / points.length,
    newestAgeSeconds: newest
      ? Math.max(0, Math.round((now.getTime() - newest.finishedAt.getTime()) / 1000))
      : null,
    newestBackupId: newest?.backupId ?? null,
    restoreTested: points.filter((point) => point.restoreSeconds !== null).length,
  };
}
