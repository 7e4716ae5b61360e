/**
 * prune: list the label once, ask the store for object locks on what would go, decide with the
 * pure retention policy (src/domain/retention.ts), print, and delete.
 *
 * Deletion runs in two passes so that a partial failure never leaves a backup that looks whole but
 * is not: first the manifests of the backups to remove (each one then stops being a backup), then
 * the rest of the folders whose manifest is gone. Each pass sends at most 1000 keys per
 * deleteMany (one S3 DeleteObjects). Keys that could not be deleted are reported, never hidden.
 */
import { describeError, OperationError } from "../domain/errors.js";
import { groupBackupFolders, MANIFEST_FILE, type BackupFolder } from "../domain/layout.js";
import {
  isVerified,
  planRetention,
  type BackupState,
  type ObjectLockState,
  type ReasonRule,
  type RetentionPlan,
} from "../domain/retention.js";
import type { PruneSettings } from "../settings/types.js";
import type { DeleteResult, ObjectInfo, ObjectLock, Store } from "../storage/store.js";
import type { Logger } from "./logger.js";

/** Keys per deleteMany call: S3's DeleteObjects limit. */
export const DELETE_BATCH_KEYS = 1000;

export interface PruneDeps {
  store: Store;
  now: () => Date;
  log: Logger;
}

export interface PruneDecision {
  backupId: string;
  startedAt: string;
  /** False for a folder without a manifest (failed, interrupted or in flight). */
  committed: boolean;
  verified: boolean;
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

function stateOf(folder: BackupFolder, lock: ObjectLockState | undefined): BackupState {
  const newestObject = folder.objects.reduce<Date | undefined>(
    (latest, object) => (!latest || object.lastModified > latest ? object.lastModified : latest),
    undefined,
  );
  const state: BackupState = {
    id: folder.backupId,
    time: folder.startedAt,
    bytes: folder.bytes,
    committed: folder.committed,
    verified: isVerified(folder.checks),
  };
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
  folders: BackupFolder[],
  settings: PruneSettings,
  store: Store,
  now: Date,
): Promise<RetentionPlan> {
  const locks = new Map<string, ObjectLockState | undefined>();
  const byId = new Map(folders.map((folder) => [folder.backupId, folder]));
  for (;;) {
    const states = folders.map((folder) => stateOf(folder, locks.get(folder.backupId)));
    const plan = planRetention(states, settings.policy, now);
    if (!store.objectLocks) return plan;
    const unasked = plan.decisions.filter((decision) => !decision.keep && !locks.has(decision.backup.id));
    if (unasked.length === 0) return plan;
    const keys = unasked.flatMap((decision) =>
      byId.get(decision.backup.id)!.objects.map((object) => object.key),
    );
    const found = await store.objectLocks(keys);
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

/** deleteMany in batches of DELETE_BATCH_KEYS; a batch that throws counts as failed for each key. */
async function deleteInBatches(
  store: Store,
  keys: string[],
  log: Logger,
  progress: { done: number; total: number },
): Promise<DeleteResult> {
  const result: DeleteResult = { deleted: [], failed: [] };
  for (let start = 0; start < keys.length; start += DELETE_BATCH_KEYS) {
    const batch = keys.slice(start, start + DELETE_BATCH_KEYS);
    try {
      const outcome = await store.deleteMany(batch);
      result.deleted.push(...outcome.deleted);
      result.failed.push(...outcome.failed);
    } catch (error) {
      const reason = describeError(error);
      for (const key of batch) result.failed.push({ key, reason });
    }
    progress.done += batch.length;
    if (progress.total > DELETE_BATCH_KEYS) log.info(`deleted ${progress.done} of ${progress.total} objects`);
  }
  return result;
}

export async function runPrune(settings: PruneSettings, deps: PruneDeps): Promise<PruneResult> {
  const { store, log } = deps;
  const { label } = settings;
  await store.check();
  const root = `${label}/`;
  const objects: ObjectInfo[] = [];
  for await (const object of store.list(root)) objects.push(object);
  const folders = groupBackupFolders(label, objects);
  const now = deps.now();
  const plan = await planWithLocks(folders, settings, store, now);
  for (const warning of plan.warnings) log.warn(warning);

  const byId = new Map(folders.map((folder) => [folder.backupId, folder]));
  const decisions: PruneDecision[] = plan.decisions.map((decision) => {
    const folder = byId.get(decision.backup.id)!;
    return {
      backupId: folder.backupId,
      startedAt: folder.startedAt.toISOString(),
      committed: folder.committed,
      verified: decision.backup.verified,
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
    storage: store.url,
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
    log.info(`deleting ${doomed.length} folder(s), ${sizes.size} object(s), under ${store.url}/${root}`);
  }

  const manifestOf = (decision: PruneDecision) => `${root}${decision.backupId}/${MANIFEST_FILE}`;
  const first = await deleteInBatches(
    store,
    doomed.filter((decision) => decision.committed).map(manifestOf),
    log,
    progress,
  );
  const uncommitted = new Set(first.deleted);
  // A backup whose manifest could not be deleted stays whole: nothing else of it is touched.
  const rest = doomed.filter((decision) => !decision.committed || uncommitted.has(manifestOf(decision)));
  const second = await deleteInBatches(
    store,
    rest.flatMap((decision) =>
      keysOf(decision)
        .map((object) => object.key)
        .filter((key) => !uncommitted.has(key)),
    ),
    log,
    progress,
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
