/**
 * What a label holds: one listing of `<label>/` grouped into backup folders, and the manifest of
 * the backup a command asked for (an id, or `latest`: the newest committed one).
 */
import { isBackupId } from "../domain/backup-id.js";
import { InputError, NotFoundError, OperationError, describeError } from "../domain/errors.js";
import { groupBackupFolders, manifestKey, type BackupFolder } from "../domain/layout.js";
import { parseManifest, type Manifest } from "../domain/manifest.js";
import type { ObjectInfo, Store } from "../storage/store.js";

export async function listFolders(store: Store, label: string): Promise<BackupFolder[]> {
  const objects: ObjectInfo[] = [];
  for await (const object of store.list(`${label}/`)) objects.push(object);
  return groupBackupFolders(label, objects);
}

export async function readText(store: Store, key: string): Promise<string> {
  const chunks: Buffer[] = [];
  for await (const chunk of await store.get(key)) chunks.push(Buffer.from(chunk as Buffer));
  return Buffer.concat(chunks).toString("utf8");
}

export async function readManifest(store: Store, label: string, backupId: string): Promise<Manifest> {
  const key = manifestKey(label, backupId);
  let text: string;
  try {
    text = await readText(store, key);
  } catch (error) {
    if (error instanceof NotFoundError) throw error;
    throw new OperationError(`reading ${store.url}/${key} failed: ${describeError(error)}`, { cause: error });
  }
  try {
    const manifest = parseManifest(text, `${store.url}/${key}`);
    if (manifest.backupId !== backupId || manifest.label !== label) {
      throw new OperationError(
        `${store.url}/${key} names backup ${manifest.label}/${manifest.backupId}, not ${label}/${backupId}: the manifest does not belong to its folder`,
      );
    }
    return manifest;
  } catch (error) {
    // A manifest that does not parse is a damaged backup, not bad input.
    if (error instanceof InputError) throw new OperationError(error.message, { cause: error });
    throw error;
  }
}

export interface ResolvedBackup {
  folder: BackupFolder;
  manifest: Manifest;
  /** Every committed folder of the label, newest first (for gates that compare with others). */
  committed: BackupFolder[];
}

/**
 * The backup `selector` names under the label: `latest` (the newest committed one) or a backup id.
 * An unknown id, a folder without a manifest or an empty label is bad input (exit 2).
 */
export async function resolveBackup(store: Store, label: string, selector: string): Promise<ResolvedBackup> {
  const folders = await listFolders(store, label);
  const committed = folders.filter((folder) => folder.committed);
  let folder: BackupFolder | undefined;
  if (selector === "latest") {
    folder = committed[0];
    if (!folder)
      throw new InputError(`--label "${label}": no backups under ${store.url}/${label}/`, { input: "label" });
  } else {
    if (!isBackupId(selector)) {
      throw new InputError(
        `--backup "${selector}": expected latest or a backup id such as 20261122T010500Z-abc123`,
        {
          input: "backup",
        },
      );
    }
    folder = folders.find((candidate) => candidate.backupId === selector);
    if (!folder) {
      throw new InputError(`--backup "${selector}": no such backup under ${store.url}/${label}/`, {
        input: "backup",
      });
    }
    if (!folder.committed) {
      throw new InputError(
        `--backup "${selector}": the folder has no manifest, so it is not a backup (in flight, or failed)`,
        { input: "backup" },
      );
    }
  }
  return { folder, manifest: await readManifest(store, label, folder.backupId), committed };
}
