/**
 * Lifeboat's compression stages: a Transform that compresses (zstd or gzip, on all the cores
 * allowed) or passes through, and the matching decompressor for the read path.
 */
import { availableParallelism } from "node:os";
import { Duplex, PassThrough, pipeline, type Transform } from "node:stream";
import { constants, createGunzip, createGzip, createZstdCompress, createZstdDecompress } from "node:zlib";
import { ParallelCompressStream } from "./parallel-compress.js";
import { ZstdFrameSplitter } from "./zstd-frames.js";
import type { CompressionMethod, CompressionSpec } from "./spec.js";

export {
  DEFAULT_COMPRESSION,
  formatCompression,
  parseCompression,
  type CompressionMethod,
  type CompressionSpec,
} from "./spec.js";

/**
 * Input per frame. Each frame starts with an empty window, so larger frames compress slightly
 * better; 4 MiB frames cost under 0.5% of size against one stream at level 1, and keep the memory
 * in flight at (threads + 1) x 4 MiB (docs/benchmarks.md, "Compression engine").
 */
export const FRAME_SIZE = 4 * 1024 * 1024;
/**
 * pg_dump, a single process, writes at ~200-400 MB/s; zstd level 1 runs at ~300 MB/s per core, so
 * threads beyond this only cost memory, even on the 64-core runners.
 */
export const MAX_THREADS = 8;
/** zlib's default 16 KiB output chunks cost a third of the single-stream speed. */
const STREAM_CHUNK_SIZE = 256 * 1024;

export interface CompressorOptions {
  /** Worker threads for zstd and gzip; default: the cores available, at most MAX_THREADS. */
  threads?: number;
}

/** The default thread count: every core the process may use, up to MAX_THREADS. */
export function defaultThreads(): number {
  return Math.max(1, Math.min(availableParallelism(), MAX_THREADS));
}

/**
 * A Transform that compresses as `spec` says. With one thread it is zlib's own stream (no worker
 * to start, the same output format); with more, independent frames compressed in worker threads.
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

function splitThenDecompress(): Duplex {
  const splitter = new ZstdFrameSplitter();
  const decompressor = createZstdDecompress({ chunkSize: STREAM_CHUNK_SIZE });
  // pipeline destroys both on an error in either; the Duplex then fails with that error.
  pipeline(splitter, decompressor, () => undefined);
  return Duplex.from({ writable: splitter, readable: decompressor });
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
