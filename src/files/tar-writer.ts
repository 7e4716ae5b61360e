/**
 * A streaming pax tar writer: entries in, tar bytes out, one entry at a time.
 *
 * Memory is bounded whatever the files' sizes: the output is a pull stream (a file is read only as
 * fast as the consumer takes the tar), and each file's bytes are hashed as they pass. Only the
 * index grows with the number of entries (about 150-250 bytes per entry) because its size must be
 * known before it can be written as the last tar entry.
 *
 * A file that yields more or fewer bytes than announced, changes while read or vanishes before it
 * is opened is never stored as a silent half-file: with `onChange: "fail"` (the default) the stream
 * fails with a FileChangedError; with "warn" the archive stays valid (truncated or zero-padded to
 * the size in its header), the index marks the file `changed`, and the summary lists it.
 */
import { createHash } from "node:crypto";
import { Readable } from "node:stream";
import { OperationError, describeError } from "../domain/errors.js";
import { VanishedError, defaultMode } from "./entry.js";
import type { FileEntry, OpenedFile } from "./entry.js";
import { INDEX_NAME, indexHeaderLine, indexLine } from "./files-index.js";
import type { ChangeReason, IndexRecord } from "./files-index.js";
import { encodeHeader, paddingFor, trailer, zeroBlocks } from "./tar-format.js";

export type ChangePolicy = "fail" | "warn";

export interface TarWriterOptions {
  /** What a file that changes or vanishes while read does: fail the archive (default) or warn. */
  onChange?: ChangePolicy;
  /** Recorded in the index's header line (it is encrypted with the archive). */
  source?: string;
}

export interface ChangedFile {
  path: string;
  reason: ChangeReason;
  /** The size in the tar header. */
  announced: number;
  /** The bytes the source actually gave (up to one past the announced size for "grew"). */
  read: number;
}

/**
 * The totals of a written archive. `changed` names files: log it for the operator if needed, but
 * put only counts in the plaintext manifest.
 */
export interface TarSummary {
  /** Regular files stored (changed ones included, vanished ones not). */
  files: number;
  directories: number;
  symlinks: number;
  /** Bytes of file content stored. */
  bytes: number;
  /** Bytes of the whole tar stream. */
  tarBytes: number;
  indexEntries: number;
  indexBytes: number;
  indexSha256: string;
  changed: ChangedFile[];
}

/** A file changed or vanished while read, under the "fail" policy. */
export class FileChangedError extends OperationError {
  readonly file: ChangedFile;
  constructor(file: ChangedFile) {
    const what =
      file.reason === "vanished"
        ? "vanished before it was read"
        : file.reason === "modified"
          ? "was modified while it was read"
          : `${file.reason} while it was read (announced ${file.announced} bytes, got ${file.reason === "grew" ? "more" : file.read})`;
    super(
      `files: "${file.path}" ${what}; run the backup again when the source is quiet, or let changed files only warn`,
    );
    this.file = file;
  }
}

const PAD_CHUNK = 64 * 1024;
const BATCH_BYTES = 64 * 1024;

function validatePath(path: string): void {
  if (path === "" || path.includes("\0"))
    throw new OperationError(`files: invalid entry path ${JSON.stringify(path)}`);
  if (path === INDEX_NAME) {
    throw new OperationError(
      `files: the source holds "${INDEX_NAME}" at its root, a name Lifeboat reserves for the archive's index`,
    );
  }
}

/**
 * Writes `entries` as a pax tar. Returns the tar stream and a summary that resolves once the
 * stream has produced its last byte (and rejects if it fails or is destroyed early).
 */
export function writeTar(
  entries: AsyncIterable<FileEntry> | Iterable<FileEntry>,
  options: TarWriterOptions = {},
): { stream: Readable; summary: Promise<TarSummary> } {
  const policy = options.onChange ?? "fail";
  let settle: { resolve: (summary: TarSummary) => void; reject: (error: unknown) => void };
  const summary = new Promise<TarSummary>((resolve, reject) => {
    settle = { resolve, reject };
  });
  // The caller may await only the stream; a rejection is reported there too.
  summary.catch(() => undefined);

  async function* produce(): AsyncGenerator<Buffer> {
    const index: Buffer[] = [Buffer.from(indexHeaderLine(options.source))];
    const totals = { files: 0, directories: 0, symlinks: 0, bytes: 0, tarBytes: 0, indexEntries: 0 };
    const changed: ChangedFile[] = [];
    let finished = false;
    // Small pieces (headers, small files, padding) go out in batches: one stream chunk per piece
    // costs more than the piece when there are many small files.
    const batch: Buffer[] = [];
    let batched = 0;
    const flush = function* (): Generator<Buffer> {
      if (batched === 0) return;
      const out = batch.length === 1 ? batch[0]! : Buffer.concat(batch, batched);
      batch.length = 0;
      batched = 0;
      yield out;
    };
    const emit = function* (chunk: Buffer): Generator<Buffer> {
      totals.tarBytes += chunk.length;
      if (chunk.length >= BATCH_BYTES) {
        yield* flush();
        yield chunk;
        return;
      }
      batch.push(chunk);
      batched += chunk.length;
      if (batched >= BATCH_BYTES) yield* flush();
    };
    const record = (line: IndexRecord): void => {
      index.push(Buffer.from(indexLine(line)));
      totals.indexEntries += 1;
    };
    const noteChange = (file: ChangedFile): void => {
      if (policy === "fail") throw new FileChangedError(file);
      changed.push(file);
    };

    try {
      for await (const entry of entries) {
        validatePath(entry.path);
        const mode = entry.mode ?? defaultMode(entry.type);
        if (entry.type !== "file") {
          yield* emit(encodeHeader({ ...entry, mode, size: 0 }));
          const line: IndexRecord = { path: entry.path, type: entry.type, mtime: entry.mtime.toISOString() };
          if (entry.type === "symlink") line.linkTarget = entry.linkTarget ?? "";
          record(line);
          if (entry.type === "directory") totals.directories += 1;
          else totals.symlinks += 1;
          continue;
        }

        let opened: OpenedFile;
        try {
          if (!entry.open) throw new OperationError(`files: "${entry.path}" has no content to read`);
          const result = await entry.open();
          opened = result instanceof Readable ? { stream: result } : result;
        } catch (error) {
          if (!(error instanceof VanishedError)) throw error;
          noteChange({ path: entry.path, reason: "vanished", announced: entry.size, read: 0 });
          record({
            path: entry.path,
            type: "file",
            size: 0,
            mtime: entry.mtime.toISOString(),
            changed: "vanished",
          });
          continue;
        }

        const announced = opened.size ?? entry.size;
        const mtime = opened.mtime ?? entry.mtime;
        const etag = opened.etag ?? entry.etag;
        const hash = createHash("sha256");
        let read = 0;
        let reason: ChangeReason | undefined;
        try {
          yield* emit(encodeHeader({ path: entry.path, type: "file", size: announced, mtime, mode }));
          try {
            for await (const chunk of opened.stream as AsyncIterable<Buffer>) {
              if (read + chunk.length > announced) {
                const part = chunk.subarray(0, announced - read);
                hash.update(part);
                read += chunk.length;
                if (part.length > 0) yield* emit(part);
                reason = "grew";
                break;
              }
              hash.update(chunk);
              read += chunk.length;
              yield* emit(chunk);
            }
          } catch (error) {
            if (error instanceof VanishedError) reason = "vanished";
            else {
              throw new OperationError(`files: reading "${entry.path}" failed: ${describeError(error)}`, {
                cause: error,
              });
            }
          }
          if (reason === undefined && read < announced) reason = "shrank";
          if (reason === undefined && opened.changedSince && (await opened.changedSince()))
            reason = "modified";
          if (reason !== undefined) {
            noteChange({
              path: entry.path,
              reason: reason === "vanished" ? "shrank" : reason,
              announced,
              read,
            });
          }
          // Under "warn" the archive stays valid: the missing bytes become zeros.
          const stored = Math.min(read, announced);
          for (let missing = announced - stored; missing > 0; missing -= PAD_CHUNK) {
            const zeros = Buffer.alloc(Math.min(missing, PAD_CHUNK));
            hash.update(zeros);
            yield* emit(zeros);
          }
          yield* emit(zeroBlocks(paddingFor(announced)));
        } finally {
          opened.stream.destroy();
        }
        const line: IndexRecord = {
          path: entry.path,
          type: "file",
          size: announced,
          sha256: hash.digest("hex"),
          mtime: mtime.toISOString(),
        };
        if (etag !== undefined) line.etag = etag;
        if (reason !== undefined) line.changed = reason === "vanished" ? "shrank" : reason;
        record(line);
        totals.files += 1;
        totals.bytes += announced;
      }

      const indexBytes = Buffer.concat(index);
      index.length = 0;
      const indexSha256 = createHash("sha256").update(indexBytes).digest("hex");
      yield* emit(
        encodeHeader({
          path: INDEX_NAME,
          type: "file",
          size: indexBytes.length,
          mtime: new Date(),
          mode: 0o600,
        }),
      );
      yield* emit(indexBytes);
      yield* emit(zeroBlocks(paddingFor(indexBytes.length)));
      yield* emit(trailer(totals.tarBytes));
      yield* flush();
      finished = true;
      settle.resolve({ ...totals, indexBytes: indexBytes.length, indexSha256, changed });
    } catch (error) {
      settle.reject(error);
      throw error;
    } finally {
      if (!finished) settle.reject(new OperationError("files: the tar stream was closed before its end"));
    }
  }

  const stream = Readable.from(produce(), { objectMode: false, highWaterMark: 64 * 1024 });
  return { stream, summary };
}
