/**
 * The archive tap: a Transform to put between pg_dump's stdout and the compressor. Bytes pass
 * through unchanged (the same Buffer objects); the parser reads them on the way and `summary`
 * settles when the stream ends: the archive's TOC, per-table rows and digests, large objects.
 *
 * A malformed or truncated archive fails the stream as well as `summary`: a dump whose contents
 * cannot be accounted for is not one to store as good.
 */
import { Transform, type TransformCallback } from "node:stream";
import { ArchiveTruncatedError } from "./errors.js";
import { ArchiveParser, type ArchiveParserOptions, type ArchiveSummary } from "./parser.js";

export interface ArchiveTap {
  stream: Transform;
  /** Resolves after the stream's end with what the archive held; rejects on a bad archive. */
  summary: Promise<ArchiveSummary>;
  /** Live, for progress lines: tables whose data went by, of those the TOC lists. */
  progress(): { tablesDone: number; tablesTotal: number };
}

export function createArchiveTap(options: ArchiveParserOptions = {}): ArchiveTap {
  const parser = new ArchiveParser(options);
  let resolve!: (summary: ArchiveSummary) => void;
  let reject!: (error: unknown) => void;
  let settled = false;
  const summary = new Promise<ArchiveSummary>((ok, fail) => {
    resolve = ok;
    reject = fail;
  });
  // Callers that only watch the stream's own error must not get an unhandled rejection too.
  summary.catch(() => undefined);
  const fail = (error: unknown) => {
    if (!settled) reject(error);
    settled = true;
  };

  const stream = new Transform({
    transform(chunk: Buffer, _encoding: BufferEncoding, callback: TransformCallback) {
      try {
        parser.write(chunk);
      } catch (error) {
        fail(error);
        callback(error as Error);
        return;
      }
      callback(null, chunk);
    },
    flush(callback: TransformCallback) {
      try {
        const result = parser.end();
        settled = true;
        resolve(result);
        callback();
      } catch (error) {
        fail(error);
        callback(error as Error);
      }
    },
  });
  stream.on("close", () =>
    fail(new ArchiveTruncatedError("pg_dump archive: the stream was closed before the archive ended")),
  );
  return { stream, summary, progress: () => parser.progress };
}
