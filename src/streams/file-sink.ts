/**
 * A file as a pipeline's sink that says when each chunk is written: `afterWrite(chunk)` runs once
 * the kernel has the whole chunk, before the next one is written. restore-test writes its private
 * archive file through it and frees each plaintext chunk there (releaseDecompressed in
 * src/compress), which fs.createWriteStream has no place for.
 */
import { close, open, write } from "node:fs";
import { Writable } from "node:stream";

export interface FileSinkOptions {
  /** Permissions of a new file (the file is created or truncated). */
  mode: number;
  /** Called with each chunk once it is written in full, in order. */
  afterWrite?: (chunk: Buffer) => void;
}

export interface FileSink extends Writable {
  /** Bytes written to the file so far, in full. */
  readonly bytesWritten: number;
}

export function createFileSink(path: string, options: FileSinkOptions): FileSink {
  let fd: number | undefined;
  let bytesWritten = 0;
  // A write in flight: the descriptor is closed only once it has returned, or a write still queued
  // on the thread pool could land in whatever the number is given to next.
  let writing = false;
  let closeWhenIdle: (() => void) | undefined;
  const closeFile = (callback: (error: Error | null) => void) => {
    if (writing) {
      closeWhenIdle = () => closeFile(callback);
      return;
    }
    if (fd === undefined) {
      callback(null);
      return;
    }
    const closing = fd;
    fd = undefined;
    close(closing, (error) => callback(error));
  };
  const sink = new Writable({
    construct(callback) {
      open(path, "w", options.mode, (error, opened) => {
        fd = opened;
        callback(error);
      });
    },
    write(chunk: Buffer, _encoding, callback) {
      let offset = 0;
      const settle = (error?: Error) => {
        writing = false;
        const closing = closeWhenIdle;
        closeWhenIdle = undefined;
        callback(error);
        closing?.();
      };
      // write(2) may take less than asked (a full disk reports ENOSPC on the next call).
      const next = (error: Error | null, written: number) => {
        if (error) return settle(error);
        offset += written;
        bytesWritten += written;
        if (offset < chunk.length) {
          if (fd === undefined || closeWhenIdle)
            return settle(new Error("the file was closed while it was written"));
          write(fd, chunk, offset, chunk.length - offset, null, next);
          return;
        }
        options.afterWrite?.(chunk);
        settle();
      };
      if (fd === undefined) return callback(new Error("the file is not open"));
      writing = true;
      write(fd, chunk, 0, chunk.length, null, next);
    },
    final(callback) {
      closeFile(callback);
    },
    destroy(error, callback) {
      closeFile((closeError) => callback(error ?? closeError));
    },
  });
  return Object.defineProperty(sink, "bytesWritten", { get: () => bytesWritten }) as FileSink;
}
