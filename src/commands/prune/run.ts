/**
 * prune: list the label once, read each backup's manifest (a backup whose artifacts are missing or
 * of another size is broken: kept, reported, never the newest or verified) and the check records
 * that decide whether it is verified (each counts only if it checked the bytes the manifest
 * describes), ask the store for object locks on what would go, decide with the pure retention
 * policy (src/domain/retention.ts), print, and delete.
 *
 * Deletion runs in two passes so that a partial failure never leaves a backup that looks whole but
 * is not: first the manifests of the backups to remove (each one then stops being a backup), then
 * the rest of the folders whose manifest is gone. Each pass sends at most 1000 keys per
 * deleteMany (one S3 DeleteObjects). Keys that could not be deleted are reported, never hidden.
 */
import { OperationError } from "../../domain/errors.js";
import { MANIFEST_FILE } from "../../domain/layout.js";
import {
  isVerified,
  planRetention,
  type BackupState,
  type ObjectLockState,
  type ReasonRule,
  type RetentionPlan,
} from "../../domain/retention.js";
import type { PruneSettings } from "../../settings/types.js";
import {
  BackupRepository,
  DELETE_BATCH_KEYS,
  type InspectedFolder,
} from "../../repository/backup-repository.js";
import type { ObjectInfo, ObjectLock, Store } from "../../storage/store.js";
import type { Logger } from "../logger.js";

export { DELETE_BATCH_KEYS };

export interface PruneDeps {
  store: Store;
  now: () => Date;
  log: Logger;
  /** Aborted by the first SIGINT or SIGTERM: nothing more is deleted. */
  signal?: AbortSignal;
}

export interface PruneDecision {
  backupId: string;
  startedAt: string;
  /** False for a folder without a manifest (failed, interrupted or in flight). */
  committed: boolean;
  verified: boolean;
  /** Why a committed backup is broken (an artifact missing or of another size); empty when intact. */
  problems?: string[];
  bytes: number;
  objects: number;
  action: "keep" | "delete";
  rules: ReasonRule[];
  reasons: string[];
  /** After a real run: whether every object of a folder to delete was deleted. */
  deleted?: boolean;
}

export interface PruneResult {
  storage: string;
  label: string;
  dryRun: boolean;
  /** Committed backups kept. */
  kept: number;
  /** Folders without a manifest kept because they are younger than the safe age (or locked). */
  keptIncomplete: number;
  /** Folders deleted (with dry-run: to delete), backups and incomplete folders alike. */
  deleted: number;
  deletedBackups: number;
  deletedIncomplete: number;
  /** Bytes of the objects deleted (with dry-run: to delete). */
  freedBytes: number;
  objectsDeleted: number;
  /** Newest first, one per folder under the label. */
  decisions: PruneDecision[];
  warnings: string[];
  /** Keys that could not be deleted, with the store's reason. Empty on success. */
  failed: { key: string; reason: string }[];
}

function lockState(locks: ObjectLock[]): ObjectLockState | undefined {
  if (locks.length === 0) return undefined;
  const state: ObjectLockState = {};
  if (locks.some((lock) => lock.legalHold)) state.legalHold = true;
  for (const lock of locks) {
    if (lock.retainUntil && (!state.until || lock.retainUntil > state.until)) {
      state.until = lock.retainUntil;
      if (lock.mode) state.mode = lock.mode;
    }
  }
  return state;
}

function stateOf(inspected: InspectedFolder, lock: ObjectLockState | undefined): BackupState {
  const { folder } = inspected;
  const newestObject = folder.objects.reduce<Date | undefined>(
    (latest, object) => (!latest || object.lastModified > latest ? object.lastModified : latest),
    undefined,
  );
  const state: BackupState = {
    id: folder.backupId,
    time: folder.startedAt,
    bytes: folder.bytes,
    committed: folder.committed,
    verified: inspected.problems.length === 0 && isVerified(inspected.matchingChecks),
  };
  if (inspected.problems.length > 0) state.broken = inspected.problems;
  if (newestObject) state.lastModified = newestObject;
  if (lock) state.lock = lock;
  return state;
}

/**
 * Plans with the object locks of every folder the policy would remove. A lock turns a removal into
 * a keep, which may in turn free a min-verified keep for removal: so ask again for the folders that
 * newly became removals, until none is left unasked (each round asks about new folders only).
 */
async function planWithLocks(
  inspected: InspectedFolder[],
  settings: PruneSettings,
  repository: BackupRepository,
  now: Date,
): Promise<RetentionPlan> {
  const locks = new Map<string, ObjectLockState | undefined>();
  const byId = new Map(inspected.map((entry) => [entry.folder.backupId, entry.folder]));
  for (;;) {
    const states = inspected.map((entry) => stateOf(entry, locks.get(entry.folder.backupId)));
    const plan = planRetention(states, settings.policy, now);
    if (!repository.canLock) return plan;
    const unasked = plan.decisions.filter((decision) => !decision.keep && !locks.has(decision.backup.id));
    if (unasked.length === 0) return plan;
    const keys = unasked.flatMap((decision) =>
      byId.get(decision.backup.id)!.objects.map((object) => object.key),
    );
    const found = await repository.objectLocks(keys);
    for (const decision of unasked) {
      const folder = byId.get(decision.backup.id)!;
      const folderLocks = folder.objects.flatMap((object) => {
        const lock = found.get(object.key);
        return lock ? [lock] : [];
      });
      locks.set(folder.backupId, lockState(folderLocks));
    }
  }
}

export async function runPrune(settings: PruneSettings, deps: PruneDeps): Promise<PruneResult> {
  const { log } = deps;
  const repository = new BackupRepository(deps.store, settings.evidence);
  const { label } = settings;
  await repository.check(settings.dryRun ? "read" : "write");
  const root = `${label}/`;
  const now = deps.now();
  if (!settings.dryRun) {
    // A local backup killed outright leaves a temporary file that no listing shows: sweep it.
    const swept = await repository.sweepLeftovers(label, new Date(now.getTime() - settings.policy.safeAgeMs));
    if (swept.length > 0) log.info(`removed ${swept.length} temporary file(s) left by killed backups`);
  }
  const inspected = await repository.inspect(label, { checkRecords: true });
  const folders = inspected.map((entry) => entry.folder);
  const plan = await planWithLocks(inspected, settings, repository, now);
  for (const warning of plan.warnings) log.warn(warning);

  const byId = new Map(folders.map((folder) => [folder.backupId, folder]));
  const problemsOf = new Map(inspected.map((entry) => [entry.folder.backupId, entry.problems]));
  const decisions: PruneDecision[] = plan.decisions.map((decision) => {
    const folder = byId.get(decision.backup.id)!;
    return {
      backupId: folder.backupId,
      startedAt: folder.startedAt.toISOString(),
      committed: folder.committed,
      verified: decision.backup.verified,
      problems: problemsOf.get(folder.backupId) ?? [],
      bytes: folder.bytes,
      objects: folder.objects.length,
      action: decision.keep ? "keep" : "delete",
      rules: decision.reasons.map((reason) => reason.rule),
      reasons: decision.reasons.map((reason) => reason.text),
    };
  });
  const kept = decisions.filter((decision) => decision.action === "keep");
  const doomed = decisions.filter((decision) => decision.action === "delete");
  const result: PruneResult = {
    storage: repository.url,
    label,
    dryRun: settings.dryRun,
    kept: kept.filter((decision) => decision.committed).length,
    keptIncomplete: kept.filter((decision) => !decision.committed).length,
    deleted: 0,
    deletedBackups: 0,
    deletedIncomplete: 0,
    freedBytes: 0,
    objectsDeleted: 0,
    decisions,
    warnings: plan.warnings,
    failed: [],
  };
  if (settings.dryRun) {
    result.deleted = doomed.length;
    result.deletedBackups = doomed.filter((decision) => decision.committed).length;
    result.deletedIncomplete = doomed.length - result.deletedBackups;
    result.freedBytes = doomed.reduce((sum, decision) => sum + decision.bytes, 0);
    result.objectsDeleted = doomed.reduce((sum, decision) => sum + decision.objects, 0);
    return result;
  }

  // Only keys of the folders being deleted, all inside <label>/<backup-id>/: prune never reaches
  // outside its label's prefix, whatever the listing held.
  const keysOf = (decision: PruneDecision): ObjectInfo[] => {
    const prefix = `${root}${decision.backupId}/`;
    const own = byId.get(decision.backupId)!.objects;
    for (const object of own) {
      if (!object.key.startsWith(prefix)) {
        throw new OperationError(`refusing to delete "${object.key}": it is not inside ${prefix}`);
      }
    }
    return own;
  };
  const sizes = new Map<string, number>();
  for (const decision of doomed) for (const object of keysOf(decision)) sizes.set(object.key, object.size);
  const progress = { done: 0, total: sizes.size };
  if (doomed.length > 0) {
    log.info(`deleting ${doomed.length} folder(s), ${sizes.size} object(s), under ${repository.url}/${root}`);
  }

  const manifestOf = (decision: PruneDecision) => `${root}${decision.backupId}/${MANIFEST_FILE}`;
  const deleteKeys = (keys: string[]) =>
    repository.deleteKeys(label, keys, (count) => {
      progress.done += count;
      if (progress.total > DELETE_BATCH_KEYS)
        log.info(`deleted ${progress.done} of ${progress.total} objects`);
    });
  // Stopped before a pass, nothing of it is deleted; stopped between the passes, what is left are
  // folders without a manifest (no longer backups), which the next prune removes.
  deps.signal?.throwIfAborted();
  const first = await deleteKeys(doomed.filter((decision) => decision.committed).map(manifestOf));
  deps.signal?.throwIfAborted();
  const uncommitted = new Set(first.deleted);
  // A backup whose manifest could not be deleted stays whole: nothing else of it is touched.
  const rest = doomed.filter((decision) => !decision.committed || uncommitted.has(manifestOf(decision)));
  const second = await deleteKeys(
    rest.flatMap((decision) =>
      keysOf(decision)
        .map((object) => object.key)
        .filter((key) => !uncommitted.has(key)),
    ),
  );
  const gone = new Set([...first.deleted, ...second.deleted]);
  result.failed = [...first.failed, ...second.failed];
  for (const decision of doomed) {
    decision.deleted = keysOf(decision).every((object) => gone.has(object.key));
    if (!decision.deleted) continue;
    result.deleted++;
    if (decision.committed) result.deletedBackups++;
    else result.deletedIncomplete++;
  }
  for (const key of gone) result.freedBytes += sizes.get(key) ?? 0;
  result.objectsDeleted = gone.size;
  return result;
}

/** One line for a run that could not delete everything it meant to (exit code 1). */
export function pruneFailureMessage(result: PruneResult): string | undefined {
  if (result.failed.length === 0) return undefined;
  const [firstFailure] = result.failed;
  const notDeleted = result.decisions.filter((decision) => decision.deleted === false).length;
  return (
    `prune could not delete ${result.failed.length} object(s), so ${notDeleted} folder(s) remain: ` +
    `"${firstFailure!.key}": ${firstFailure!.reason}` +
    (result.failed.length > 1 ? ` (and ${result.failed.length - 1} more; see the result)` : "")
  );
}
