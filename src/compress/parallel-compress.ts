/**
 * Compression on several cores: the input is cut into fixed-size chunks, each compressed as an
 * independent zstd frame (or gzip member) in a worker thread, and the results are emitted in input
 * order. Concatenated zstd frames are one valid zstd stream, and concatenated gzip members one
 * valid gzip stream, so `zstd -d`, `gzip -d` and zlib read the output as they read a single-threaded
 * one. Memory is bounded: at most `threads + 1` chunks are in flight, and no new input is taken
 * while the reader lags behind.
 */
import { Transform, type TransformCallback } from "node:stream";
import { Worker } from "node:worker_threads";
import { constants, gzipSync, zstdCompressSync } from "node:zlib";
import { OperationError, describeError } from "../domain/errors.js";

export interface ParallelCompressOptions {
  method: "zstd" | "gzip";
  level: number;
  /** Worker threads; at least 1. */
  threads: number;
  /** Bytes of input per frame. */
  chunkSize: number;
}

/**
 * The worker's code, run with `eval` rather than from a file of its own: the CLI and the actions
 * are single-file bundles, and a worker file beside the bundle would be one more thing to ship.
 * It compresses what it is sent and transfers the result back without a copy.
 */
const WORKER_SOURCE = `
const { parentPort } = require("node:worker_threads");
const zlib = require("node:zlib");
parentPort.on("message", ({ id, method, level, input }) => {
  try {
    const data = Buffer.from(input.buffer, input.byteOffset, input.byteLength);
    // One output chunk of the worst-case size: zlib's default 16 KiB chunks cost a third more CPU.
    const chunkSize = data.length + (data.length >> 7) + 65536;
    const output = method === "zstd"
      ? zlib.zstdCompressSync(data, { chunkSize, params: {
          [zlib.constants.ZSTD_c_compressionLevel]: level,
          [zlib.constants.ZSTD_c_checksumFlag]: 1,
        } })
      : zlib.gzipSync(data, { chunkSize, level });
    // A copy that owns its ArrayBuffer, to be transferred; the input goes back to be refilled.
    const owned = new Uint8Array(output);
    parentPort.postMessage({ id, output: owned, input }, [owned.buffer, input.buffer]);
  } catch (error) {
    parentPort.postMessage({ id, error: String((error && error.message) || error) });
  }
});
`;

interface Reply {
  id: number;
  output?: Uint8Array;
  input?: Uint8Array;
  error?: string;
}

/** One frame of empty input, so that empty input still gives a valid stream, as zlib's does. */
function emptyFrame(method: "zstd" | "gzip", level: number): Buffer {
  return method === "zstd"
    ? zstdCompressSync(Buffer.alloc(0), { params: { [constants.ZSTD_c_compressionLevel]: level } })
    : gzipSync(Buffer.alloc(0), { level });
}

export class ParallelCompressStream extends Transform {
  readonly #options: ParallelCompressOptions;
  readonly #maxInFlight: number;
  readonly #workers: Worker[] = [];
  readonly #idle: Worker[] = [];
  readonly #queue: { id: number; input: Buffer }[] = [];
  readonly #results = new Map<number, Buffer>();
  /**
   * Input buffers back from the workers, refilled rather than allocated anew: a worker's isolate
   * frees transferred buffers only when its own GC runs, which a worker that allocates almost
   * nothing else seldom does, so fresh buffers would pile up there.
   */
  readonly #spare: Buffer[] = [];
  #submitted = 0;
  #emitted = 0;
  #buffer: Buffer | undefined;
  #filled = 0;
  /** The input callback, held while too much is in flight or the reader lags behind. */
  #held: TransformCallback | undefined;
  #flushed: TransformCallback | undefined;
  #closing = false;

  constructor(options: ParallelCompressOptions) {
    super({ readableHighWaterMark: options.chunkSize });
    this.#options = options;
    this.#maxInFlight = options.threads + 1;
  }

  /** Live worker threads (for tests: none may remain once the stream has ended or been destroyed). */
  get workerCount(): number {
    return this.#workers.length;
  }

  override _transform(chunk: Buffer, _encoding: BufferEncoding, callback: TransformCallback): void {
    const { chunkSize } = this.#options;
    let offset = 0;
    while (offset < chunk.length) {
      // A buffer that owns its ArrayBuffer (never a pool slice), so it can be transferred.
      this.#buffer ??= this.#spare.pop() ?? Buffer.allocUnsafeSlow(chunkSize);
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
    this.#stopWorkers().then(
      () => callback(error),
      () => callback(error),
    );
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
    const input = this.#buffer!.subarray(0, this.#filled);
    this.#buffer = undefined;
    this.#filled = 0;
    this.#queue.push({ id: this.#submitted++, input });
    this.#dispatch();
  }

  #dispatch(): void {
    while (this.#queue.length > 0) {
      const worker = this.#idle.pop() ?? this.#startWorker();
      if (!worker) return;
      const { id, input } = this.#queue.shift()!;
      const { method, level } = this.#options;
      worker.postMessage({ id, method, level, input }, [input.buffer as ArrayBuffer]);
    }
  }

  /** A new worker, unless all the threads allowed are running already. */
  #startWorker(): Worker | undefined {
    if (this.#workers.length >= this.#options.threads || this.#closing) return undefined;
    // No --import hooks (tsx in the tests): the worker's code is plain JavaScript.
    const worker = new Worker(WORKER_SOURCE, { eval: true, execArgv: [] });
    worker.on("message", (reply: Reply) => this.#onReply(worker, reply));
    worker.on("error", (error) => {
      this.destroy(new OperationError(`compression worker failed: ${describeError(error)}`));
    });
    worker.on("exit", (code) => {
      if (!this.#closing) this.destroy(new OperationError(`compression worker exited with code ${code}`));
    });
    this.#workers.push(worker);
    return worker;
  }

  #onReply(worker: Worker, reply: Reply): void {
    if (this.destroyed) return;
    if (reply.error !== undefined || !reply.output) {
      this.destroy(new OperationError(`${this.#options.method} compression failed: ${reply.error}`));
      return;
    }
    const { output, input } = reply;
    this.#results.set(reply.id, Buffer.from(output.buffer, output.byteOffset, output.byteLength));
    if (input) this.#spare.push(Buffer.from(input.buffer, 0, input.buffer.byteLength));
    this.#idle.push(worker);
    this.#dispatch();
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
    this.#stopWorkers().then(
      () => callback(),
      (error: unknown) => callback(error as Error),
    );
  }

  async #stopWorkers(): Promise<void> {
    this.#closing = true;
    const workers = this.#workers.splice(0);
    this.#idle.length = 0;
    await Promise.all(workers.map((worker) => worker.terminate()));
  }
}
