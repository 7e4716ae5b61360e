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
  /**
   * Gives a chunk of `output` back to be filled again, once nothing holds it any more (the stage
   * that copies or compresses it called back). Optional: chunks never given back are collected as
   * usual. Anything that is not one of this pipe's chunks is ignored.
   */
  release(chunk: Buffer): void;
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

  // Chunks given back, refilled rather than allocated anew: a fresh 1 MiB buffer per MiB read lives
  // just long enough (queued in the stages, compressed on the thread pool) to be promoted to V8's old
  // generation, and ~300 of them per GB set off a full garbage collection every dozen or so (21
  // against 5 for a 0.3 GB dump, measured with --trace-gc).
  const ours = new WeakSet<ArrayBufferLike>();
  const spare: Buffer[] = [];
  const fresh = () => {
    const buffer = spare.pop() ?? Buffer.allocUnsafeSlow(chunkBytes);
    ours.add(buffer.buffer);
    return buffer;
  };
  let chunk = fresh();
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
    chunk = fresh();
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
    release(given: Buffer) {
      // Only whole chunks of ours, each once: a buffer is ours again only after fresh() took it.
      if (!ours.has(given.buffer) || given.byteOffset !== 0 || spare.length >= MAX_SPARE) return;
      ours.delete(given.buffer);
      spare.push(given.length === chunkBytes ? given : Buffer.from(given.buffer, 0, chunkBytes));
    },
  };
}

/** Chunks kept for reuse: those in flight at once, ~4 to 8 (taps, compressor, its thread pool). */
const MAX_SPARE = 16;

function closeQuietly(fd: number): void {
  try {
    closeSync(fd);
  } catch {
    // Already closed.
  }
}
