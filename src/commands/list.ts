import {
  groupBackupFolders,
  ENCRYPTED_DUMP_FILE,
  PLAIN_DUMP_FILE,
  type CheckRecordRef,
} from "../domain/layout.js";
import type { StorageSettings } from "../settings/types.js";
import type { ObjectInfo, Store } from "../storage/store.js";

export interface ListedBackup {
  backupId: string;
  startedAt: string;
  ageSeconds: number;
  /** Size of the stored dump object. */
  storedBytes: number;
  lastCheck: { kind: string; passed: boolean; at: string } | null;
}

/** The committed backups under the label, newest first, from one listing of the label's prefix. */
export async function listBackups(
  settings: StorageSettings,
  deps: { store: Store; now: () => Date },
): Promise<ListedBackup[]> {
  await deps.store.check();
  const objects: ObjectInfo[] = [];
  for await (const object of deps.store.list(`${settings.label}/`)) objects.push(object);
  const now = deps.now().getTime();
  return groupBackupFolders(settings.label, objects)
    .filter((folder) => folder.committed)
    .map((folder) => {
      const dump = folder.objects.find(
        (object) =>
          object.key.endsWith(`/${ENCRYPTED_DUMP_FILE}`) || object.key.endsWith(`/${PLAIN_DUMP_FILE}`),
      );
      const last: CheckRecordRef | undefined = folder.checks.at(-1);
      return {
        backupId: folder.backupId,
        startedAt: folder.startedAt.toISOString(),
        ageSeconds: Math.max(0, Math.round((now - folder.startedAt.getTime()) / 1000)),
        storedBytes: dump?.size ?? 0,
        lastCheck: last ? { kind: last.kind, passed: last.passed, at: last.time.toISOString() } : null,
      };
    });
}
