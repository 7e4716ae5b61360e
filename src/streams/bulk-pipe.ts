/**
 * A pipe from a child process whose output arrives in large chunks, for a child that writes a lot
 * in small pieces (pg_dump writes its archive 4 KiB at a time).
 *
 * A child's stdout piped the usual way reaches Node in reads of whatever the pipe held at that
 * moment, ~8 KiB on average for pg_dump: each read allocates a buffer and goes through the stream
 * machinery, and every stage after it (hashing, the archive parser, the compressor) pays its
 * per-chunk cost ~120,000 times per GB. Here the child writes into a FIFO, and Node reads it with
 * `net.Socket`'s `onread`, straight into the free end of a 1 MiB buffer: no allocation per read, no
 * copy, and the stream downstream sees one chunk per MiB (docs/benchmarks.md has the figures).
 *
 * The FIFO is made in a private directory and unlinked before the child starts: both ends are
 * open by then, so nothing is left on disk and no other process can open it. Where `mkfifo` is
 * missing (Windows), `createBulkPipe` returns undefined and the caller uses an ordinary pipe.
 */
import { spawnSync } from "node:child_process";
import { closeSync, constants, mkdtempSync, openSync, rmSync, unlinkSync } from "node:fs";
import { Socket } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { Readable } from "node:stream";

export const BULK_CHUNK_BYTES = 1024 * 1024;

export interface BulkPipe {
  /** The write end, to hand to the child as its stdout (`stdio: ["ignore", writeFd, ...]`). */
  writeFd: number;
  /** Call once the child was spawned (or failed to): the child holds its own copy of the write end. */
  closeWriteEnd(): void;
  /** What the child writes, in chunks of `chunkBytes` (the last one shorter); ends at EOF. */
  output: Readable;
}

export function createBulkPipe(
  options: { chunkBytes?: number; directory?: string } = {},
): BulkPipe | undefined {
  const chunkBytes = options.chunkBytes ?? BULK_CHUNK_BYTES;
  let directory: string;
  try {
    directory = mkdtempSync(join(options.directory ?? tmpdir(), "lifeboat-pipe-"));
  } catch {
    return undefined;
  }
  let readFd: number | undefined;
  let writeFd: number | undefined;
  try {
    const path = join(directory, "fifo");
    const made = spawnSync("mkfifo", ["-m", "600", path], { stdio: "ignore" });
    if (made.error || made.status !== 0) return undefined;
    // The read end first and non-blocking (an open for reading waits for a writer otherwise, and
    // libuv needs O_NONBLOCK); then the write end, which opens at once since a reader exists.
    readFd = openSync(path, constants.O_RDONLY | constants.O_NONBLOCK);
    writeFd = openSync(path, constants.O_WRONLY);
    unlinkSync(path);
  } catch {
    for (const fd of [readFd, writeFd]) if (fd !== undefined) closeQuietly(fd);
    return undefined;
  } finally {
    rmSync(directory, { recursive: true, force: true });
  }

  let chunk = Buffer.allocUnsafeSlow(chunkBytes);
  let fill = 0;
  const output = new Readable({
    // One chunk in the buffer is the back-pressure point: the socket pauses, the FIFO fills, and
    // the child blocks in write() until the stages after us caught up.
    highWaterMark: 1,
    read() {
      socket.resume();
    },
    destroy(error, callback) {
      socket.destroy();
      callback(error);
    },
  });
  const pushFull = () => {
    const full = chunk;
    chunk = Buffer.allocUnsafeSlow(chunkBytes);
    fill = 0;
    if (!output.push(full)) socket.pause();
  };
  const socket = new Socket({
    fd: readFd,
    readable: true,
    writable: false,
    onread: {
      buffer: () => chunk.subarray(fill),
      callback: (bytes: number) => {
        fill += bytes;
        if (fill === chunkBytes) pushFull();
        return true;
      },
    },
  });
  // EOF: the child and everything it started closed the write end.
  let ended = false;
  const end = () => {
    if (ended) return;
    ended = true;
    if (fill > 0) output.push(chunk.subarray(0, fill));
    output.push(null);
  };
  socket.on("end", end);
  socket.on("close", (hadError) => hadError || end());
  socket.on("error", (error) => {
    ended = true;
    output.destroy(error);
  });
  // Flowing, so that EOF is seen (the bytes themselves never go through the socket's own buffer).
  socket.resume();
  const writeEnd = writeFd;
  let writeClosed = false;
  return {
    writeFd: writeEnd,
    closeWriteEnd() {
      if (writeClosed) return;
      writeClosed = true;
      closeQuietly(writeEnd);
    },
    output,
  };
}

function closeQuietly(fd: number): void {
  try {
    closeSync(fd);
  } catch {
    // Already closed.
  }
}
