/**
 * restore-files: one files source of a backup (a --files artifact) back into a directory or a
 * bucket. The target is named twice (to and confirm) and checked before a byte is read; the
 * artifact's stored bytes are checked against the manifest before anything reaches the target;
 * then it streams through decryption and decompression into the target entry by entry, each file
 * hashed on the way and compared with the archive's index. Existing files are skipped unless
 * overwrite.
 */
import { PassThrough } from "node:stream";
import { pipeline } from "node:stream/promises";
import { describeError, InputError, OperationError } from "../../domain/errors.js";
import { filesArtifacts, type FilesArtifact, type Manifest } from "../../domain/manifest.js";
import { DirectoryTarget } from "../../files/directory-target.js";
import { restoreFiles, type FilesTarget, type RestoreFilesResult } from "../../files/restore-files.js";
import type { FilesS3Options } from "../../files/s3-client.js";
import { S3Target } from "../../files/s3-target.js";
import { parseFilesSource } from "../../files/source-spec.js";
import { BackupRepository } from "../../repository/backup-repository.js";
import { openArtifactRead, readArtifact } from "../../repository/read-artifact.js";
import { restoreFilesConfirmations } from "../../settings/settings.js";
import type { RestoreFilesSettings } from "../../settings/types.js";
import type { Store } from "../../storage/store.js";
import type { Logger } from "../logger.js";
import { identitiesFor } from "../read-backup.js";

export interface RestoreFilesCommandResult {
  backupId: string;
  label: string;
  /** The source as the backup recorded it, and its artifact's name. */
  source: string;
  artifact: string;
  target: string;
  written: number;
  skippedExisting: number;
  failed: number;
  directories: number;
  /** Entries the target cannot hold (links and folders in a bucket). */
  unsupported: number;
  bytes: number;
  /** How many files the manifest says the source holds. */
  expectedFiles: number;
  /** Why the restore counts as failed, one sentence each (counts, no file names); empty when it passed. */
  failures: string[];
  passed: boolean;
}

/** The files artifact `--source` names: a number (1 for files-1...) or the source as given to backup. */
export function chooseFilesArtifact(manifest: Manifest, source: string | undefined): FilesArtifact {
  const all = filesArtifacts(manifest);
  const listing = all.map((artifact, index) => `${index + 1} (${artifact.source})`).join(", ");
  if (all.length === 0) {
    throw new InputError(`--backup "${manifest.backupId}": this backup holds no files sources`, {
      input: "backup",
    });
  }
  if (source === undefined) {
    if (all.length === 1) return all[0]!;
    throw new InputError(
      `--source: required; backup ${manifest.backupId} has ${all.length} files sources: ${listing}`,
      { input: "source" },
    );
  }
  const byNumber = /^\d+$/.test(source) ? all[Number(source) - 1] : undefined;
  const chosen = byNumber ?? all.find((artifact) => artifact.source === source || artifact.name === source);
  if (!chosen) {
    throw new InputError(`--source "${source}": expected one of ${listing}`, { input: "source" });
  }
  return chosen;
}

function openTarget(
  settings: RestoreFilesSettings,
  cwd: string,
  env: NodeJS.ProcessEnv,
): FilesTarget & { destroy?: () => void } {
  const spec = parseFilesSource(settings.to, { cwd, input: "to" });
  if (spec.kind === "directory")
    return new DirectoryTarget(spec.path, { overwrite: settings.overwrite, input: "to" });
  const s3: FilesS3Options = { env };
  if (settings.filesS3.endpoint) s3.endpoint = settings.filesS3.endpoint;
  if (settings.filesS3.region) s3.region = settings.filesS3.region;
  if (settings.filesS3.forcePathStyle) s3.forcePathStyle = true;
  return new S3Target(
    { bucket: spec.bucket, prefix: spec.prefix },
    { ...s3, overwrite: settings.overwrite, input: "to" },
  );
}

export async function runRestoreFiles(
  settings: RestoreFilesSettings,
  deps: { store: Store; env: NodeJS.ProcessEnv; cwd: string; log: Logger },
): Promise<RestoreFilesCommandResult> {
  const { log } = deps;
  // The confirmation again, against the directory as this run resolves it.
  const { expected, accepted } = restoreFilesConfirmations(settings.to, deps.cwd);
  if (!accepted.includes(settings.confirm)) {
    throw new InputError(
      `--confirm "${settings.confirm}": expected "${expected}" (the target named by --to); nothing was restored`,
      {
        input: "confirm",
      },
    );
  }
  const repository = new BackupRepository(deps.store);
  await repository.check("read");
  const { manifest } = await repository.resolve(settings.label, settings.backup);
  const name = `${settings.label}/${manifest.backupId}`;
  const artifact = chooseFilesArtifact(manifest, settings.source);
  const identities = identitiesFor(manifest, settings.keys, name);
  const target = openTarget(settings, deps.cwd, deps.env);
  try {
    await target.check();
    // The stored bytes against the manifest first: nothing reaches the target from an artifact
    // that is not the one the backup committed.
    const stored = await readArtifact(repository, manifest, artifact, undefined);
    if (stored.problems.length > 0) {
      throw new OperationError(`${stored.problems[0]}; nothing was restored`);
    }
    log.info(
      `Restoring ${artifact.files} files (${artifact.source}) of ${repository.url}/${name}/${artifact.name} into ${target.description}${settings.overwrite ? ", overwriting" : ""}`,
    );
    const { restored, problems } = await streamInto(repository, manifest, artifact, identities, target);
    const failures = [...problems];
    if (restored.failed > 0) failures.push(`${restored.failed} file(s) could not be written`);
    if (restored.damaged.length > 0)
      failures.push(`${restored.damaged.length} file(s) written differ from the index`);
    if (!restored.indexChecked && problems.length === 0) failures.push(`${artifact.name} holds no index`);
    for (const failure of restored.failures.slice(0, 10)) log.warn(`"${failure.path}": ${failure.reason}`);
    for (const path of restored.damaged.slice(0, 10)) log.warn(`"${path}": differs from the index`);
    return {
      backupId: manifest.backupId,
      label: settings.label,
      source: artifact.source,
      artifact: artifact.name,
      target: target.description,
      written: restored.written,
      skippedExisting: restored.skippedExisting,
      failed: restored.failed + restored.damaged.length,
      directories: restored.directories,
      unsupported: restored.unsupported,
      bytes: restored.bytes,
      expectedFiles: artifact.files,
      failures,
      passed: failures.length === 0,
    };
  } finally {
    target.destroy?.();
  }
}

/** store -> decrypt -> decompress -> the target, entry by entry; then the digests against the manifest. */
async function streamInto(
  repository: BackupRepository,
  manifest: Manifest,
  artifact: FilesArtifact,
  identities: Parameters<typeof openArtifactRead>[3],
  target: FilesTarget,
): Promise<{ restored: RestoreFilesResult; problems: string[] }> {
  const opened = await openArtifactRead(repository, manifest, artifact, identities);
  const sink = new PassThrough();
  const piping = pipeline([...opened.streams, sink]);
  const restoring = restoreFiles(sink, target).catch((error: unknown) => {
    sink.destroy(error instanceof Error ? error : new Error(String(error)));
    throw error;
  });
  const [piped, restored] = await Promise.allSettled([piping, restoring]);
  if (restored.status === "rejected") {
    const reason = restored.reason as unknown;
    throw reason instanceof InputError
      ? reason
      : new OperationError(`restoring ${artifact.name} failed: ${describeError(reason)}`, { cause: reason });
  }
  if (piped.status === "rejected") {
    throw new OperationError(`reading ${artifact.name} failed: ${describeError(piped.reason)}`, {
      cause: piped.reason,
    });
  }
  return { restored: restored.value, problems: opened.check() };
}

/** The one-line error of a restore that ran and failed, or undefined when it passed. */
export function restoreFilesFailure(result: RestoreFilesCommandResult): string | undefined {
  if (result.passed) return undefined;
  const more = result.failures.length > 1 ? ` (and ${result.failures.length - 1} more)` : "";
  return `restoring the files of ${result.backupId} into ${result.target} failed: ${result.failures[0]}${more}`;
}
