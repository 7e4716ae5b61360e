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

export function createFileSink(path: string, options: FileSinkOptions): Writable {
  let fd: number | undefined;
  const closeFile = (callback: (error: Error | null) => void) => {
    if (fd === undefined) {
      callback(null);
      return;
    }
    const closing = fd;
    fd = undefined;
    close(closing, (error) => callback(error));
  };
  return new Writable({
    construct(callback) {
      open(path, "w", options.mode, (error, opened) => {
        fd = opened;
        callback(error);
      });
    },
    write(chunk: Buffer, _encoding, callback) {
      let offset = 0;
      // write(2) may take less than asked (a full disk reports ENOSPC on the next call).
      const next = (error: Error | null, written: number) => {
        if (error) {
          callback(error);
          return;
        }
        offset += written;
        if (offset < chunk.length) {
          write(fd!, chunk, offset, chunk.length - offset, null, next);
          return;
        }
        options.afterWrite?.(chunk);
        callback();
      };
      write(fd!, chunk, 0, chunk.length, null, next);
    },
    final(callback) {
      closeFile(callback);
    },
    destroy(error, callback) {
      closeFile((closeError) => callback(error ?? closeError));
    },
  });
}
