/**
 * The files sources of a backup (--files, docs/files.md): each source checked before anything is
 * dumped or written, then read into one artifact (a pax tar whose last entry is its index,
 * compressed and encrypted like the dump) written through the backup's writer before the
 * manifest. With the supabase preset, the storage.objects rows of the dump's snapshot are compared
 * with the objects each s3:// source read.
 */
import type pg from "pg";
import { OperationError } from "../../domain/errors.js";
import type { Digest, FilesArtifact, StorageObjectsCheck } from "../../domain/manifest.js";
import type { Recipient } from "../../crypto/age/index.js";
import {
  openFilesSource,
  parseFilesSource,
  type FilesSource,
  type FilesSourceSpec,
} from "../../files/files-source.js";
import type { FileEntry } from "../../files/entry.js";
import type { FilesS3Options } from "../../files/s3-client.js";
import { compareStorageObjects, type StorageObjectRow } from "../../files/storage-consistency.js";
import { writeTar } from "../../files/tar-writer.js";
import { PLAINTEXT, STORED, writeStages } from "../../pipeline/artifact-stages.js";
import { runIntoConsumer } from "../../pipeline/pipeline.js";
import type { BackupWriter } from "../../repository/backup-repository.js";
import type { FilesSettings } from "../../settings/types.js";
import type { Logger } from "../logger.js";

/** `files-<n>.tar`, plus `.zst`/`.gz` for the compression and `.age` when encrypted. */
export function filesArtifactName(number: number, compression: string, encrypted: boolean): string {
  const method = compression.split(":", 1)[0];
  const compressed = method === "zstd" ? ".zst" : method === "gzip" ? ".gz" : "";
  return `files-${number}.tar${compressed}${encrypted ? ".age" : ""}`;
}

/**
 * A source's size is not known before it is read, and the store's multipart parts are sized up
 * front: parts sized for 1 TiB keep a large bucket under the 10,000-part limit (the default parts
 * stop at 160 GiB) and cost a small artifact nothing, memory staying within the store's bound.
 */
const FILES_SIZE_HINT = 1024 ** 4;

export interface FilesBackup {
  /** How many sources; 0 when --files was not given. */
  readonly count: number;
  /** With the supabase preset: reads storage.objects in the snapshot `client` holds. */
  readStorageObjects(client: pg.Client): Promise<void>;
  /** Reads every source into its artifact, in order; throws (after the writer is aborted by the caller). */
  write(options: {
    writer: BackupWriter;
    recipients: readonly Recipient[];
    compression: string;
    signal?: AbortSignal | undefined;
  }): Promise<FilesArtifact[]>;
  /** Frees the sources' connections. */
  destroy(): void;
}

interface Prepared {
  spec: FilesSourceSpec;
  source: FilesSource;
}

/**
 * Opens and checks every source: an unreachable endpoint, a missing bucket, refused credentials
 * or a missing directory is an InputError naming the source, before anything else happens.
 */
export async function prepareFilesBackup(
  settings: FilesSettings | undefined,
  context: { cwd: string; env: NodeJS.ProcessEnv; log: Logger; preset: string },
): Promise<FilesBackup> {
  const sources = settings?.sources ?? [];
  const s3: FilesS3Options = { env: context.env };
  if (settings?.s3.endpoint) s3.endpoint = settings.s3.endpoint;
  if (settings?.s3.region) s3.region = settings.s3.region;
  if (settings?.s3.forcePathStyle) s3.forcePathStyle = true;
  const prepared: Prepared[] = [];
  const destroy = () => {
    for (const { source } of prepared) source.destroy();
  };
  try {
    for (const text of sources) {
      const spec = parseFilesSource(text, { cwd: context.cwd, input: "files" });
      const source = openFilesSource(spec, s3);
      prepared.push({ spec, source });
      await source.check();
    }
  } catch (error) {
    destroy();
    throw error;
  }
  let rows: StorageObjectRow[] | undefined;
  const checkStorage = context.preset === "supabase" && prepared.some(({ spec }) => spec.kind === "s3");
  return {
    count: prepared.length,
    async readStorageObjects(client) {
      if (!checkStorage) return;
      rows = await readStorageObjectRows(client);
      if (rows === undefined)
        context.log.warn("files: no storage.objects table; the Storage consistency check is skipped");
    },
    async write(options) {
      const artifacts: FilesArtifact[] = [];
      for (const [index, { spec, source }] of prepared.entries()) {
        const artifact = await writeSource({
          ...options,
          number: index + 1,
          spec,
          source,
          onChange: settings?.onChange ?? "fail",
          rows,
        });
        const changed = artifact.changed > 0 ? `, ${artifact.changed} changed while read` : "";
        context.log.info(
          `Files ${spec.input}: ${artifact.files} files, ${artifact.bytes} bytes in ${artifact.name} (${artifact.stored.bytes} bytes stored${changed})`,
        );
        const skipped = source.skipped?.length ?? 0;
        if (skipped > 0) {
          // A count, not the names: file names stay inside the encrypted index.
          context.log.warn(
            `files ${spec.input}: ${skipped} socket(s), FIFO(s) or device(s) left out: they hold no file data to back up`,
          );
        }
        if (artifact.changed > 0) {
          context.log.warn(
            `files ${spec.input}: ${artifact.changed} file(s) changed or vanished while read; the index marks them`,
          );
        }
        const check = artifact.storageObjects;
        if (check && (check.missingFiles > 0 || check.filesWithoutRow > 0)) {
          const message = `files ${spec.input}: storage.objects and the objects read differ: ${check.missingFiles} row(s) without an object, ${check.filesWithoutRow} object(s) without a row (${check.matched} matched)`;
          if (settings?.storageObjectsMismatch === "fail") {
            throw new OperationError(`${message}; nothing was committed (--storage-objects-mismatch fail)`);
          }
          context.log.warn(message);
        }
        artifacts.push(artifact);
      }
      return artifacts;
    },
    destroy,
  };
}

/** The rows of storage.objects, or undefined when the database has no such table. */
async function readStorageObjectRows(client: pg.Client): Promise<StorageObjectRow[] | undefined> {
  const exists = await client.query<{ found: boolean }>(
    "SELECT to_regclass('storage.objects') IS NOT NULL AS found",
  );
  if (!exists.rows[0]?.found) return undefined;
  const { rows } = await client.query<{ bucket: string; name: string }>(
    "SELECT bucket_id AS bucket, name FROM storage.objects WHERE bucket_id IS NOT NULL AND name IS NOT NULL",
  );
  return rows;
}

async function writeSource(options: {
  writer: BackupWriter;
  recipients: readonly Recipient[];
  compression: string;
  signal?: AbortSignal | undefined;
  number: number;
  spec: FilesSourceSpec;
  source: FilesSource;
  onChange: "fail" | "warn";
  rows: StorageObjectRow[] | undefined;
}): Promise<FilesArtifact> {
  const { spec } = options;
  const encrypted = options.recipients.length > 0;
  const name = filesArtifactName(options.number, options.compression, encrypted);
  // Only the paths of files are kept, and only when they are compared with storage.objects.
  const paths: string[] | undefined = options.rows && spec.kind === "s3" ? [] : undefined;
  const entries = paths ? recordPaths(options.source.entries(), paths) : options.source.entries();
  const tar = writeTar(entries, { onChange: options.onChange, source: spec.input });
  const { results } = await runIntoConsumer(
    tar.stream,
    writeStages({ recipients: options.recipients, compression: options.compression }),
    (output) =>
      options.writer.putArtifact(name, output, {
        sizeHint: FILES_SIZE_HINT,
        ...(options.signal ? { signal: options.signal } : {}),
      }),
  );
  const summary = await tar.summary;
  // A file listed but gone before it was read (warn policy) was not read: it is no object found.
  const vanished = new Set(
    summary.changed.filter((file) => file.reason === "vanished").map((file) => file.path),
  );
  const artifact: FilesArtifact = {
    name,
    kind: "files",
    stored: results.get<Digest>(STORED),
    plaintext: results.get<Digest>(PLAINTEXT),
    compression: options.compression,
    encryption: encrypted ? "age-v1" : "none",
    source: spec.input,
    files: summary.files,
    directories: summary.directories,
    symlinks: summary.symlinks,
    bytes: summary.bytes,
    indexSha256: summary.indexSha256,
    changed: summary.changed.length,
  };
  if (paths && options.rows && spec.kind === "s3") {
    const read = paths.filter((path) => !vanished.has(path));
    const compared = compareStorageObjects(options.rows, read, { bucket: spec.bucket, prefix: spec.prefix });
    const check: StorageObjectsCheck = {
      rows: compared.matched + compared.missingFiles.length,
      matched: compared.matched,
      missingFiles: compared.missingFiles.length,
      filesWithoutRow: compared.filesWithoutRow.length,
    };
    artifact.storageObjects = check;
  }
  return artifact;
}

async function* recordPaths(entries: AsyncIterable<FileEntry>, paths: string[]): AsyncGenerator<FileEntry> {
  for await (const entry of entries) {
    if (entry.type === "file") paths.push(entry.path);
    yield entry;
  }
}
