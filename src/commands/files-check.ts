/**
 * Every files artifact of a backup read through and each file checked against its archive's index
 * (docs/files.md): what restore-test does beside restoring the database. Counts only in the
 * result: file names stay in the encrypted index.
 */
import type { Identity } from "../crypto/age/index.js";
import { filesArtifacts, type Manifest } from "../domain/manifest.js";
import { archiveProblems, verifyArchiveSink } from "../files/verify-archive.js";
import type { BackupRepository } from "../repository/backup-repository.js";
import type { CheckedArtifact } from "../repository/check-record.js";
import { readArtifact } from "../repository/read-artifact.js";

export interface FilesCheck {
  sources: number;
  /** Files found intact in the archives. */
  files: number;
  bytes: number;
  problems: string[];
  /** The artifacts read to their end, for the check record. */
  checked: CheckedArtifact[];
}

/** Undefined when the backup has no files sources. */
export async function checkFilesArtifacts(
  repository: BackupRepository,
  manifest: Manifest,
  identities: readonly Identity[],
): Promise<FilesCheck | undefined> {
  const artifacts = filesArtifacts(manifest);
  if (artifacts.length === 0) return undefined;
  const result: FilesCheck = { sources: artifacts.length, files: 0, bytes: 0, problems: [], checked: [] };
  for (const artifact of artifacts) {
    const archive = verifyArchiveSink({ expectedIndexSha256: artifact.indexSha256 });
    const read = await readArtifact(repository, manifest, artifact, identities, { sink: archive.sink });
    result.problems.push(...read.problems);
    if (read.stored) {
      result.checked.push({ name: artifact.name, bytes: read.stored.bytes, sha256: read.stored.sha256 });
    }
    if (read.problems.length > 0) continue;
    const verified = await archive.result;
    result.problems.push(...archiveProblems(artifact, verified));
    result.files += verified.files;
    result.bytes += verified.bytes;
  }
  return result;
}
