import { isDumpKey, type CheckRecordRef } from "../../domain/layout.js";
import { backupStoredBytes, filesArtifacts, type Manifest } from "../../domain/manifest.js";
import { BackupRepository } from "../../repository/backup-repository.js";
import type { StorageSettings } from "../../settings/types.js";
import type { Store } from "../../storage/store.js";

export interface ListedBackup {
  backupId: string;
  startedAt: string;
  ageSeconds: number;
  /** Size of the stored dump object. */
  storedBytes: number;
  lastCheck: { kind: string; passed: boolean; at: string } | null;
  /** Its files sources (--files): how many, their files and bytes together; null when none. */
  files: { sources: number; files: number; bytes: number } | null;
  /** Why the backup is broken (an artifact missing or of another size, a damaged manifest); empty when intact. */
  problems: string[];
}

/**
 * The committed backups under the label, newest first: one listing of the label's prefix, and each
 * manifest, so that a broken backup is shown as one. Needs read access only.
 */
export async function listBackups(
  settings: StorageSettings,
  deps: { store: Store; now: () => Date },
): Promise<ListedBackup[]> {
  const repository = new BackupRepository(deps.store, settings.evidence);
  await repository.check("read");
  const now = deps.now().getTime();
  const inspected = await repository.inspect(settings.label, { checkRecords: false });
  return inspected
    .filter(({ folder }) => folder.committed)
    .map(({ folder, manifest, problems }) => {
      // The manifest names the dump (a rekeyed one has a new name); the key pattern is the fallback.
      const named = manifest?.artifacts.find((artifact) => artifact.kind === "dump")?.name;
      const dump = folder.objects.find((object) =>
        named ? object.key.endsWith(`/${named}`) : isDumpKey(object.key),
      );
      const last: CheckRecordRef | undefined = folder.checks.at(-1);
      return {
        backupId: folder.backupId,
        startedAt: folder.startedAt.toISOString(),
        ageSeconds: Math.max(0, Math.round((now - folder.startedAt.getTime()) / 1000)),
        // A files-only backup has no dump: its artifacts together.
        storedBytes: dump?.size ?? (manifest ? backupStoredBytes(manifest) : 0),
        lastCheck: last ? { kind: last.kind, passed: last.passed, at: last.time.toISOString() } : null,
        files: manifest ? filesTotals(manifest) : null,
        problems,
      };
    });
}

/** A backup's files sources added up, or null when it has none. */
export function filesTotals(manifest: Manifest): ListedBackup["files"] {
  const sources = filesArtifacts(manifest);
  if (sources.length === 0) return null;
  return {
    sources: sources.length,
    files: sources.reduce((sum, source) => sum + source.files, 0),
    bytes: sources.reduce((sum, source) => sum + source.bytes, 0),
  };
}
