/**
 * Compression on several cores: the input is cut into fixed-size chunks, each compressed as an
 * independent zstd frame (or gzip member) by zlib's one-shot asynchronous call, which runs on the
 * libuv thread pool, and the results are emitted in input order. Concatenated zstd frames are one
 * valid zstd stream, and concatenated gzip members one valid gzip stream, so `zstd -d`, `gzip -d`
 * and our decompressor read the output as they read a single-threaded one. Memory is bounded: at
 * most `threads + 1` chunks are in flight, and no new input is taken while the reader lags behind.
 *
 * Why the thread pool rather than worker_threads (both built and measured, docs/benchmarks.md): the
 * same parallelism and CPU time, ~80 MB less peak RSS (each worker is an isolate of its own, ~10 MB,
 * and the buffers passed through workers were collected late), and no thread to start or stop.
 */
import { Transform, type TransformCallback } from "node:stream";
import { constants, gzip, gzipSync, zstdCompress, zstdCompressSync } from "node:zlib";
import { OperationError, describeError } from "../domain/errors.js";

export interface ParallelCompressOptions {
  method: "zstd" | "gzip";
  level: number;
  /**
   * Chunks compressed at once, at least 1; more than the thread pool's size (UV_THREADPOOL_SIZE, 4
   * by default) only queue there.
   */
  threads: number;
  /** Bytes of input per frame. */
  chunkSize: number;
}

function zstdOptions(level: number, inputLength: number) {
  return {
    // One output chunk of the worst-case size: one callback per frame, not one per 16 KiB.
    chunkSize: inputLength + (inputLength >> 7) + 65536,
    params: { [constants.ZSTD_c_compressionLevel]: level, [constants.ZSTD_c_checksumFlag]: 1 },
  };
}

function gzipOptions(level: number, inputLength: number) {
  return { chunkSize: inputLength + (inputLength >> 7) + 65536, level };
}

/** One frame of empty input, so that empty input still gives a valid stream, as zlib's does. */
function emptyFrame(method: "zstd" | "gzip", level: number): Buffer {
  return method === "zstd"
    ? zstdCompressSync(Buffer.alloc(0), zstdOptions(level, 0))
    : gzipSync(Buffer.alloc(0), gzipOptions(level, 0));
}

export class ParallelCompressStream extends Transform {
  readonly #options: ParallelCompressOptions;
  readonly #maxInFlight: number;
  readonly #results = new Map<number, Buffer>();
  /** Input buffers whose compression is done, refilled rather than allocated anew. */
  readonly #spare: Buffer[] = [];
  #submitted = 0;
  #running = 0;
  #emitted = 0;
  #waiting: { id: number; input: Buffer }[] = [];
  #buffer: Buffer | undefined;
  #filled = 0;
  /** The input callback, held while too much is in flight or the reader lags behind. */
  #held: TransformCallback | undefined;
  #flushed: TransformCallback | undefined;

  constructor(options: ParallelCompressOptions) {
    super({ readableHighWaterMark: options.chunkSize });
    this.#options = options;
    this.#maxInFlight = options.threads + 1;
  }

  /** Chunks being compressed now (for tests: none start once the stream is destroyed). */
  get running(): number {
    return this.#running;
  }

  override _transform(chunk: Buffer, _encoding: BufferEncoding, callback: TransformCallback): void {
    const { chunkSize } = this.#options;
    let offset = 0;
    while (offset < chunk.length) {
      this.#buffer ??= this.#spare.pop() ?? Buffer.allocUnsafe(chunkSize);
      const copied = chunk.copy(this.#buffer, this.#filled, offset);
      this.#filled += copied;
      offset += copied;
      if (this.#filled === chunkSize) this.#submitFilled();
    }
    if (this.#mustWait()) this.#held = callback;
    else callback();
  }

  override _flush(callback: TransformCallback): void {
    if (this.#filled > 0) this.#submitFilled();
    if (this.#submitted === 0) this.push(emptyFrame(this.#options.method, this.#options.level));
    this.#flushed = callback;
    this.#finishIfDone();
  }

  override _read(size: number): void {
    super._read(size);
    this.#release();
  }

  override _destroy(error: Error | null, callback: (error?: Error | null) => void): void {
    // Chunks already in the pool finish there (a few milliseconds each) and are dropped.
    this.#waiting = [];
    this.#results.clear();
    this.#spare.length = 0;
    callback(error);
  }

  #mustWait(): boolean {
    return (
      this.#submitted - this.#emitted >= this.#maxInFlight ||
      this.readableLength >= this.readableHighWaterMark
    );
  }

  #release(): void {
    if (this.#held && !this.#mustWait()) {
      const callback = this.#held;
      this.#held = undefined;
      callback();
    }
  }

  #submitFilled(): void {
    this.#waiting.push({ id: this.#submitted++, input: this.#buffer!.subarray(0, this.#filled) });
    this.#buffer = undefined;
    this.#filled = 0;
    this.#start();
  }

  #start(): void {
    while (this.#running < this.#options.threads && this.#waiting.length > 0 && !this.destroyed) {
      const { id, input } = this.#waiting.shift()!;
      this.#running++;
      const done = (error: Error | null, output: Buffer) => this.#onDone(id, input, error, output);
      const { method, level } = this.#options;
      try {
        if (method === "zstd") zstdCompress(input, zstdOptions(level, input.length), done);
        else gzip(input, gzipOptions(level, input.length), done);
      } catch (error) {
        // zlib validates its options synchronously.
        process.nextTick(() => done(error as Error, Buffer.alloc(0)));
      }
    }
  }

  #onDone(id: number, input: Buffer, error: Error | null, output: Buffer): void {
    this.#running--;
    if (this.destroyed) return;
    if (error) {
      this.destroy(new OperationError(`${this.#options.method} compression failed: ${describeError(error)}`));
      return;
    }
    this.#spare.push(Buffer.from(input.buffer, input.byteOffset, this.#options.chunkSize));
    this.#results.set(id, output);
    this.#start();
    for (let next = this.#results.get(this.#emitted); next; next = this.#results.get(this.#emitted)) {
      this.#results.delete(this.#emitted++);
      this.push(next);
    }
    this.#release();
    this.#finishIfDone();
  }

  #finishIfDone(): void {
    if (!this.#flushed || this.#emitted < this.#submitted) return;
    const callback = this.#flushed;
    this.#flushed = undefined;
    callback();
  }
}
