/**
 * backup --no-database: a backup of files sources only (a Firestore export, Storage buckets of a
 * project whose database is backed up elsewhere). The same folder, encryption, commit-last
 * manifest, verification and retention as a database backup; the manifest has no dump, no source
 * database and no pg_dump facts (docs/files.md).
 */
import { newBackupId } from "../../domain/backup-id.js";
import { formatCompression } from "../../compress/index.js";
import { parseCompression } from "../../domain/dump-plan.js";
import { describeError, LifeboatError, OperationError } from "../../domain/errors.js";
import { MANIFEST_SCHEMA_VERSION, type Manifest } from "../../domain/manifest.js";
import { provenanceFromEnv } from "../../domain/provenance.js";
import {
  BackupRepository,
  LEFTOVER_SAFE_AGE_MS,
  type BackupTarget,
} from "../../repository/backup-repository.js";
import type { FilesOnlyBackupSettings } from "../../settings/types.js";
import { LIFEBOAT_VERSION } from "../../version.js";
import { prepareFilesBackup } from "./files-artifacts.js";
import { encryptionFor, type BackupDeps, type BackupResult } from "./run.js";

export async function runFilesOnlyBackup(
  settings: FilesOnlyBackupSettings,
  deps: BackupDeps,
): Promise<BackupResult> {
  const { log } = deps;
  const target: BackupTarget = deps.target ?? new BackupRepository(deps.store);
  const started = deps.now();
  const startedMs = performance.now();
  const encryption = encryptionFor(settings);
  const compression = formatCompression(parseCompression(settings.compression));
  const files = await prepareFilesBackup(settings.files, {
    cwd: deps.cwd ?? process.cwd(),
    env: deps.env,
    log,
    preset: "none",
  });
  try {
    await target.check("write");
    await target.sweepLeftovers(settings.label, new Date(started.getTime() - LEFTOVER_SAFE_AGE_MS));
    const backupId = newBackupId(started);
    const retention = settings.objectLock && {
      mode: settings.objectLock.mode,
      until: new Date(started.getTime() + settings.objectLock.days * 86_400_000),
    };
    const writer = target.beginBackup(settings.label, backupId, { retention });
    log.info(
      `Backing up ${files.count} files source(s), no database, into ${writer.url}/${settings.label}/${backupId}/`,
    );
    let manifest: Manifest;
    let key: string;
    try {
      const artifacts = await files.write({
        writer,
        recipients: encryption.recipients,
        compression,
        signal: deps.signal,
      });
      const finished = deps.now();
      manifest = {
        schemaVersion: MANIFEST_SCHEMA_VERSION,
        backupId,
        label: settings.label,
        startedAt: started.toISOString(),
        finishedAt: finished.toISOString(),
        durationSeconds: Math.round(performance.now() - startedMs) / 1000,
        tool: { name: "lifeboat", version: LIFEBOAT_VERSION },
        encryption: encryption.info,
        artifacts,
        tables: [],
        totalRows: 0,
        objectLock: retention ? { mode: retention.mode, retainUntil: retention.until.toISOString() } : null,
        provenance: provenanceFromEnv(deps.env),
      };
      key = await writer.commit(manifest, { signal: deps.signal });
    } catch (error) {
      await writer.abort();
      throw error instanceof LifeboatError
        ? error
        : new OperationError(describeError(error), { cause: error });
    }
    const first = manifest.artifacts[0]!;
    const storedBytes = manifest.artifacts.reduce((sum, artifact) => sum + artifact.stored.bytes, 0);
    log.info(
      `Backup ${backupId} committed: ${manifest.artifacts.length} files artifact(s), ${storedBytes} bytes stored`,
    );
    return {
      backupId,
      label: settings.label,
      backupKey: `${settings.label}/${backupId}/${first.name}`,
      manifestKey: key,
      storedBytes,
      sha256: first.stored.sha256,
      durationSeconds: manifest.durationSeconds,
      manifest,
    };
  } finally {
    files.destroy();
  }
}
