/** backup (the backup-db action): dump, compress, encrypt and store a database, manifest last. */
import { filesArtifacts } from "../../domain/manifest.js";
import { buildBackupReport, type Report } from "../../report/report.js";
import { previousTables, type PreviousTables } from "../../report/summary-sections.js";
import { BackupRepository } from "../../repository/backup-repository.js";
import { FanOutTarget, type DestinationOutcome } from "../../repository/fan-out-target.js";
import { parseBackupCommandSettings } from "../../settings/settings.js";
import { commandSpec } from "../../settings/spec.js";
import { openStore } from "../../storage/open-store.js";
import { runBackup, type BackupResult } from "../backup/run.js";
import type { CommandDefinition, CommandDeps } from "../command.js";
import type { BackupSettings, FilesOnlyBackupSettings } from "../../settings/types.js";
import { runFilesOnlyBackup } from "./files-only.js";

/** A backup's result, with each destination's outcome when there were several. */
export type BackupOutcome = BackupResult & {
  destinations?: DestinationOutcome[];
  /** The previous backup's per-table rows, for the job summary's change column (null: unknown). */
  previousTables?: PreviousTables | null;
};

/**
 * With several storage URLs, one fan-out target over a repository per store (the first is the
 * store the runner opened); the dump is made once and streamed into each (docs/offsite.md).
 */
async function backupTo(
  settings: BackupSettings | FilesOnlyBackupSettings,
  deps: CommandDeps,
): Promise<BackupOutcome> {
  // A files-only backup (--no-database) goes to the one store it names.
  if ("noDatabase" in settings) return runFilesOnlyBackup(settings, deps);
  const destinations = settings.destinations ?? [];
  if (destinations.length <= 1) return withPrevious(await runBackup(settings, deps), deps);
  const others = await Promise.all(
    destinations
      .slice(1)
      .map((destination) =>
        openStore(destination.storage, { cwd: deps.cwd, s3: destination.s3, env: deps.env }),
      ),
  );
  const target = new FanOutTarget(
    [deps.store, ...others].map((store) => new BackupRepository(store, settings.evidence)),
    { minCommits: settings.minDestinations, warn: (message) => deps.log.warn(message) },
  );
  const result = await runBackup(settings, { ...deps, target });
  return withPrevious({ ...result, destinations: target.outcomes() }, deps);
}

/** For the job summary's per-table change; a store that cannot say leaves the column out. */
async function withPrevious(result: BackupOutcome, deps: CommandDeps): Promise<BackupOutcome> {
  const previous = await previousTables(deps.store, result.label, result.backupId).catch(() => null);
  return { ...result, previousTables: previous ?? null };
}

export const backupCommand: CommandDefinition<BackupSettings | FilesOnlyBackupSettings, BackupOutcome> = {
  spec: commandSpec("backup"),
  parse: parseBackupCommandSettings,
  storage: (settings) => settings,
  run: backupTo,
  outputs: (result) => ({
    "backup-id": result.backupId,
    "backup-key": result.backupKey,
    "manifest-key": result.manifestKey,
    "stored-bytes": result.storedBytes,
    sha256: result.sha256,
    "duration-seconds": result.durationSeconds,
  }),
  logLines: (result) =>
    (result.destinations ?? []).map((destination) =>
      destination.manifestKey !== undefined
        ? `Committed in ${destination.url}`
        : `Not committed in ${destination.url}: ${destination.error ?? "unknown"}`,
    ),
  text: (result) => result.backupId,
  json: (result, { storageUrl }) => ({
    backupId: result.backupId,
    label: result.label,
    storage: storageUrl,
    backupKey: result.backupKey,
    manifestKey: result.manifestKey,
    storedBytes: result.storedBytes,
    sha256: result.sha256,
    durationSeconds: result.durationSeconds,
    tables: result.manifest.tables.length,
    totalRows: result.manifest.totalRows,
    files: filesArtifacts(result.manifest).map((artifact) => ({
      source: artifact.source,
      name: artifact.name,
      files: artifact.files,
      bytes: artifact.bytes,
      storedBytes: artifact.stored.bytes,
      changed: artifact.changed,
      ...(artifact.storageObjects ? { storageObjects: artifact.storageObjects } : {}),
    })),
    ...(result.destinations ? { destinations: result.destinations } : {}),
  }),
  report: (result, context) =>
    withDestinations(buildBackupReport(result, { ...context, label: result.label }), result),
};

/**
 * The report with a row per destination when there were several; one that did not commit (which
 * min-destinations allowed, or the run would have failed) turns a pass into a warning.
 */
function withDestinations(report: Report, result: BackupOutcome): Report {
  const destinations = result.destinations;
  if (!destinations) return report;
  const missed = destinations.filter((destination) => destination.manifestKey === undefined);
  return {
    ...report,
    verdict: missed.length > 0 && report.verdict === "pass" ? "warn" : report.verdict,
    warnings: [
      ...report.warnings,
      ...missed.map(
        (destination) => `not committed in ${destination.url}: ${destination.error ?? "unknown"}`,
      ),
    ],
    sections: [
      ...report.sections,
      {
        title: "Destinations",
        table: {
          header: ["Store", "Result"],
          rows: destinations.map((destination) => [
            destination.url,
            destination.manifestKey !== undefined ? "committed" : `FAILED: ${destination.error ?? "unknown"}`,
          ]),
        },
      },
    ],
  };
}
