/**
 * copy: committed backups of a label from one store to another (docs/offsite.md). Per backup:
 * each artifact is streamed from the source (its digest checked against the source's manifest as
 * it passes, so a tampered source is refused), written to the destination (with its object lock),
 * read back and checked again (and, with the key, decrypted); the manifest goes last, in the
 * original's exact bytes. Anything that fails takes back what this copy wrote there, so the
 * destination never holds a manifest without its checked artifacts, and a copy cut short (a dead
 * store) leaves a folder without a manifest that the next copy completes.
 *
 * Only what the destination lacks is copied; a different backup under the same id is never
 * overwritten. Check records stay where they were written: a copy starts unverified at its
 * destination, and verify run there writes that store's own.
 */
import { PassThrough, Readable } from "node:stream";
import { pipeline } from "node:stream/promises";
import { InputError, NotFoundError, OperationError, describeError } from "../../domain/errors.js";
import { MANIFEST_FILE, manifestKey } from "../../domain/layout.js";
import type { Manifest } from "../../domain/manifest.js";
import { BackupRepository, type InspectedFolder } from "../../repository/backup-repository.js";
import { openArtifactRead, readArtifact } from "../../repository/read-artifact.js";
import { SIGNATURE_SUFFIX, signatureKey } from "../../repository/signatures.js";
import type { CopySettings } from "../../settings/types.js";
import { openStore } from "../../storage/open-store.js";
import type { Store } from "../../storage/store.js";
import type { Logger } from "../logger.js";
import { identitiesFor } from "../read-backup.js";

export interface CopyDeps {
  env: NodeJS.ProcessEnv;
  cwd: string;
  now: () => Date;
  log: Logger;
  signal?: AbortSignal;
  /** Already opened stores (tests of a store wrapper); default: opened from the settings. */
  stores?: { from: Store; to: Store };
}

export interface CopiedBackup {
  backupId: string;
  /** Bytes written to the destination (every artifact and the manifest). */
  bytes: number;
  /** Whether the copy was also decrypted and its plaintext checked. */
  decrypted: boolean;
}

export interface CopyResult {
  label: string;
  from: string;
  to: string;
  copied: CopiedBackup[];
  /** Backups the destination already held, byte for byte the same manifest. */
  present: string[];
  /** Backups that could not be copied, with why; any makes the run fail. */
  failed: { backupId: string; reason: string }[];
}

export async function runCopy(settings: CopySettings, deps: CopyDeps): Promise<CopyResult> {
  const { log, signal } = deps;
  const stores = deps.stores ?? {
    from: await openStore(settings.from.storage, {
      cwd: deps.cwd,
      s3: settings.from.s3,
      env: deps.env,
      input: "from",
    }),
    to: await openStore(settings.to.storage, {
      cwd: deps.cwd,
      s3: settings.to.s3,
      env: deps.env,
      input: "to",
    }),
  };
  const source = new BackupRepository(stores.from);
  const destination = new BackupRepository(stores.to);
  // Both ends are checked before anything is read or written: bad credentials are exit 2.
  await Promise.all([source.check("read"), destination.check("write")]);

  const label = settings.label;
  const inspected = await source.inspect(label, { checkRecords: false });
  const selected = selectBackups(inspected, settings.backup, label, source.url);
  const there = new Map((await destination.folders(label)).map((folder) => [folder.backupId, folder]));
  const result: CopyResult = {
    label,
    from: source.url,
    to: destination.url,
    copied: [],
    present: [],
    failed: [],
  };

  // Oldest first: a copy cut short still leaves the older history complete.
  for (const { manifest } of [...selected].reverse()) {
    signal?.throwIfAborted();
    const backupId = manifest.backupId;
    const sourceText = await source.readText(manifestKey(label, backupId));
    const existing = there.get(backupId);
    if (existing?.committed) {
      const theirs = await destination.readText(manifestKey(label, backupId)).catch(() => undefined);
      if (theirs === sourceText) {
        const problems = (await destination.inspectFolder(label, existing)).problems;
        if (problems.length === 0) {
          result.present.push(backupId);
          continue;
        }
        result.failed.push({
          backupId,
          reason: `${destination.url}/${label}/${backupId} is committed but damaged (${problems.join("; ")}); not overwritten: remove it with care, then copy again`,
        });
        continue;
      }
      result.failed.push({
        backupId,
        reason: `${destination.url}/${label}/${backupId} holds a different backup under the same id; never overwritten`,
      });
      continue;
    }
    try {
      const copied = await copyOne(source, destination, manifest, sourceText, settings, deps);
      result.copied.push(copied);
      log.info(
        `Copied ${label}/${backupId} to ${destination.url}: ${copied.bytes} bytes, re-read and checked${copied.decrypted ? " (decrypted too)" : ""}`,
      );
    } catch (error) {
      if (error instanceof InputError) throw error;
      if (signal?.aborted) throw error;
      result.failed.push({ backupId, reason: describeError(error) });
      log.warn(`Copy of ${label}/${backupId} failed: ${describeError(error)}`);
    }
  }
  return result;
}

/** The backups `selector` names among the source's: latest, all, or one id; each must be intact. */
function selectBackups(
  folders: InspectedFolder[],
  selector: string,
  label: string,
  url: string,
): { manifest: Manifest }[] {
  const intact = folders.flatMap((folder) =>
    folder.manifest && folder.problems.length === 0 ? [{ manifest: folder.manifest }] : [],
  );
  if (selector === "all") return intact;
  if (selector === "latest") {
    if (!intact[0])
      throw new InputError(`--label "${label}": no backups under ${url}/${label}/`, { input: "label" });
    return [intact[0]];
  }
  const folder = folders.find((candidate) => candidate.folder.backupId === selector);
  if (!folder || !folder.folder.committed) {
    throw new InputError(`--backup "${selector}": no such backup under ${url}/${label}/`, {
      input: "backup",
    });
  }
  if (!folder.manifest || folder.problems.length > 0) {
    throw new OperationError(
      `--backup "${selector}": the source backup is damaged (${folder.problems.join("; ")}); refusing to copy it`,
    );
  }
  return [{ manifest: folder.manifest }];
}

async function copyOne(
  source: BackupRepository,
  destination: BackupRepository,
  manifest: Manifest,
  manifestText: string,
  settings: CopySettings,
  deps: CopyDeps,
): Promise<CopiedBackup> {
  const { label, backupId } = manifest;
  const retention = settings.objectLock && {
    mode: settings.objectLock.mode,
    until: new Date(deps.now().getTime() + settings.objectLock.days * 86_400_000),
  };
  const writer = destination.beginBackup(label, backupId, retention ? { retention } : {});
  const decrypt = settings.keys.identityText !== undefined || settings.keys.passphrase !== undefined;
  const identities = decrypt ? identitiesFor(manifest, settings.keys, backupId) : undefined;
  let bytes = 0;
  try {
    for (const artifact of manifest.artifacts) {
      // The source's bytes are checked as they pass; the put completes first, then the check
      // decides, and a mismatch takes the written object back below.
      const read = await openArtifactRead(source, manifest, artifact, undefined);
      // The shallow read stages pass the stored bytes through unchanged, measuring them.
      const measured = new PassThrough();
      const carried = pipeline([...read.streams, measured]).then(
        () => undefined,
        (error: unknown) => error,
      );
      const put = await writer.putArtifact(artifact.name, measured, {
        sizeHint: artifact.stored.bytes,
        ...(deps.signal ? { signal: deps.signal } : {}),
      });
      const readError = await carried;
      if (readError !== undefined) throw readError;
      const sourceProblems = read.check();
      if (sourceProblems.length > 0) {
        throw new OperationError(
          `the source backup ${source.url}/${label}/${backupId} does not match its manifest (${sourceProblems.join("; ")}); refusing to copy it`,
        );
      }
      bytes += put.bytes;
      const reread = await readArtifact(destination, manifest, artifact, identities);
      if (reread.problems.length > 0) {
        throw new OperationError(
          `the copy at ${destination.url}/${label}/${backupId} does not match the manifest on reading it back: ${reread.problems.join("; ")}`,
        );
      }
    }
    // A signed manifest keeps its signature: same bytes, same label and id, so it stays valid there.
    const signature = await source
      .readText(signatureKey(manifestKey(label, backupId)))
      .catch((error: unknown) => {
        if (error instanceof NotFoundError) return undefined;
        throw error;
      });
    if (signature !== undefined) {
      await writer.putArtifact(
        `${MANIFEST_FILE}${SIGNATURE_SUFFIX}`,
        Readable.from([Buffer.from(signature)]),
        {
          ...(deps.signal ? { signal: deps.signal } : {}),
        },
      );
      bytes += Buffer.byteLength(signature);
    }
    await writer.commit(manifest, { text: manifestText, ...(deps.signal ? { signal: deps.signal } : {}) });
    const written = await destination.readText(manifestKey(label, backupId));
    if (written !== manifestText) {
      await destination.deleteKeys(label, [manifestKey(label, backupId)]).catch(() => undefined);
      throw new OperationError(
        `the manifest read back from ${destination.url}/${label}/${backupId} differs from the one written`,
      );
    }
    bytes += Buffer.byteLength(manifestText);
  } catch (error) {
    await writer.abort();
    if (error instanceof NotFoundError) {
      throw new OperationError(`copying ${label}/${backupId}: ${describeError(error)}`, { cause: error });
    }
    throw error;
  }
  return { backupId, bytes, decrypted: identities !== undefined };
}

export function copyFailureMessage(result: CopyResult): string | undefined {
  if (result.failed.length === 0) return undefined;
  return `copy to ${result.to} failed for ${result.failed.length} backup(s): ${result.failed
    .map((entry) => `${entry.backupId}: ${entry.reason}`)
    .join("; ")}`;
}
