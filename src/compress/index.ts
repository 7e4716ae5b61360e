/**
 * Lifeboat's compression stages: a Transform that compresses (zstd or gzip, on all the cores
 * allowed) or passes through, and the matching decompressor for the read path.
 */
import { availableParallelism } from "node:os";
import { Duplex, PassThrough, pipeline, Transform } from "node:stream";
import { constants, createGunzip, createGzip, createZstdCompress, createZstdDecompress } from "node:zlib";
import { ParallelCompressStream } from "./parallel-compress.js";
import { ZstdFrameSplitter } from "./zstd-frames.js";
import type { CompressionMethod, CompressionSpec } from "../domain/compression.js";

export {
  DEFAULT_COMPRESSION,
  formatCompression,
  parseCompression,
  type CompressionMethod,
  type CompressionSpec,
} from "../domain/compression.js";

/**
 * Input per frame. Each frame starts with an empty window, so larger frames compress slightly
 * better: 4 MiB frames store about 1% more than one zlib stream at level 1 (the same as `zstd -1`),
 * 16 MiB frames gain nothing measurable, and the memory in flight is (threads + 1) x 4 MiB
 * (docs/benchmarks.md, "Compression engine").
 */
export const FRAME_SIZE = 4 * 1024 * 1024;
/**
 * Chunks compressed at once at most: the libuv thread pool's default size, on which zlib runs.
 * pg_dump, a single process, writes at ~200-400 MB/s and zstd level 1 runs at ~600 MB/s per core,
 * so more only pays at high levels (set UV_THREADPOOL_SIZE and pass `threads` for those).
 */
export const MAX_THREADS = 4;
/** zlib's default 16 KiB output chunks are much slower for zstd (FIELD-NOTES). */
const STREAM_CHUNK_SIZE = 256 * 1024;
const DECOMPRESS_CHUNK_SIZE = 1024 * 1024;

export interface CompressorOptions {
  /** Threads for zstd and gzip; default: defaultThreads(). */
  threads?: number;
}

/**
 * The default thread count: the cores the process may use but one, which pg_dump (a process of its
 * own, on the critical path) needs, and at most MAX_THREADS. On a 2-core runner that is one: zlib's
 * stream (itself on the libuv thread pool, off the main thread) at ~600 MB/s for level 1 already
 * outruns pg_dump.
 */
export function defaultThreads(): number {
  return Math.max(1, Math.min(availableParallelism() - 1, MAX_THREADS));
}

/**
 * A Transform that compresses as `spec` says. With one thread it is zlib's own stream; with more,
 * independent frames compressed at once on the thread pool (ParallelCompressStream).
 */
export function createCompressor(spec: CompressionSpec, options: CompressorOptions = {}): Transform {
  if (spec.method === "none") return new PassThrough();
  const threads = Math.max(1, Math.floor(options.threads ?? defaultThreads()));
  if (threads === 1) {
    return spec.method === "zstd"
      ? createZstdCompress({
          chunkSize: STREAM_CHUNK_SIZE,
          params: { [constants.ZSTD_c_compressionLevel]: spec.level, [constants.ZSTD_c_checksumFlag]: 1 },
        })
      : createGzip({ level: spec.level, chunkSize: STREAM_CHUNK_SIZE });
  }
  return new ParallelCompressStream({
    method: spec.method,
    level: spec.level,
    threads,
    chunkSize: FRAME_SIZE,
  });
}

// ES2024; Node 22 and later have it. Typed here because the project's lib is ES2023.
const transferArrayBuffer = (ArrayBuffer.prototype as { transfer?: (length?: number) => ArrayBuffer })
  .transfer;

/** Output buffers of the zstd decompressors that zlib no longer writes into: see releaseDecompressed. */
const spent = new WeakSet<ArrayBufferLike>();

/**
 * Frees the memory under `chunk` at once when it is the last slice of an output buffer of a zstd
 * decompressor made here; anything else is ignored. For the sink at the end of a read pipeline,
 * once nothing reads `chunk` or any chunk before it any more (its write finished): the chunks
 * before it may share that memory, and afterwards read as empty. Without it the garbage collector
 * frees the buffers, one full collection per ~64 MiB of plaintext (docs/benchmarks.md, "restore-test
 * and verify"); freed early, the allocator hands the same memory to the next buffer.
 */
export function releaseDecompressed(chunk: Buffer): void {
  const { buffer } = chunk;
  // Only the last slice: the decompressor marked the buffer before the sink got the slices ahead of it.
  if (chunk.byteOffset + chunk.length === buffer.byteLength && spent.delete(buffer)) {
    transferArrayBuffer?.call(buffer, 0);
  }
}

function splitThenDecompress(): Duplex {
  const splitter = new ZstdFrameSplitter();
  // 1 MiB pieces out: a quarter of the buffers 256 KiB ones make, each living long enough (written
  // to a file, piped to pg_restore) to reach V8's old generation; 12 full collections instead of 17
  // reading a 0.3 GB archive, and ~25% less CPU for verify.
  const decompressor = createZstdDecompress({ chunkSize: DECOMPRESS_CHUNK_SIZE });
  // zlib emits slices of a fresh DECOMPRESS_CHUNK_SIZE buffer until it is full, then allocates the
  // next one: a slice that ends its buffer is that buffer's last, and zlib no longer writes into it.
  const marker = new Transform({
    transform(chunk: Buffer, _encoding, callback) {
      const { buffer } = chunk;
      if (
        buffer.byteLength === DECOMPRESS_CHUNK_SIZE &&
        chunk.byteOffset + chunk.length === buffer.byteLength
      ) {
        spent.add(buffer);
      }
      callback(null, chunk);
    },
  });
  // pipeline destroys all three on an error in any; the Duplex then fails with that error.
  pipeline(splitter, decompressor, marker, () => undefined);
  return Duplex.from({ writable: splitter, readable: marker });
}

/**
 * A stream that undoes `method`'s compression: a zstd stream of any number of frames, or a gzip
 * stream of any number of members, as our compressor, the zstd and gzip tools and pigz write them.
 * It fails on corrupted or truncated input.
 */
export function createDecompressor(method: CompressionMethod): Duplex {
  switch (method) {
    case "zstd":
      // Node's zstd decompressor drops the frames after one that ends inside a write: see
      // zstd-frames.ts. Each write it gets ends at a frame boundary at the latest.
      return splitThenDecompress();
    case "gzip":
      return createGunzip({ chunkSize: STREAM_CHUNK_SIZE });
    case "none":
      return new PassThrough();
  }
}
