import assert from "node:assert/strict";
import { spawn } from "node:child_process";
import { createHash } from "node:crypto";
import { readdirSync } from "node:fs";
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { Transform, Writable } from "node:stream";
import { pipeline } from "node:stream/promises";
import { after, before, describe, test } from "node:test";
import { createZstdCompress, zstdDecompressSync } from "node:zlib";
import { releaseInputWhenDone } from "../../src/pipeline/stage.js";
import { BULK_CHUNK_BYTES, createBulkPipe } from "../../src/streams/bulk-pipe.js";

// A child that writes in small pieces, as pg_dump does: `count` writes of `size` bytes (a
// deterministic pattern), then exits with `status`.
const WRITER = `
const size = Number(process.argv[1]), count = Number(process.argv[2]), status = Number(process.argv[3]);
const piece = Buffer.alloc(size);
let i = 0;
function next() {
  while (i < count) {
    for (let k = 0; k < size; k++) piece[k] = (i * 31 + k) & 255;
    i++;
    if (!process.stdout.write(Buffer.from(piece))) return process.stdout.once("drain", next);
  }
  process.exitCode = status;
}
next();`;

function expectedDigest(size: number, count: number): string {
  const hash = createHash("sha256");
  const piece = Buffer.alloc(size);
  for (let i = 0; i < count; i++) {
    for (let k = 0; k < size; k++) piece[k] = (i * 31 + k) & 255;
    hash.update(piece);
  }
  return hash.digest("hex");
}

describe("bulk pipe: a child's output in 1 MiB chunks", () => {
  let directory: string;
  before(async () => {
    directory = await mkdtemp(join(tmpdir(), "lifeboat-bulk-test-"));
  });
  after(async () => {
    await rm(directory, { recursive: true, force: true });
  });

  async function run(size: number, count: number, options: { slowReader?: boolean } = {}) {
    const bulk = createBulkPipe({ directory });
    assert.ok(bulk, "mkfifo is available on this machine");
    const child = spawn(process.execPath, ["-e", WRITER, String(size), String(count), "0"], {
      stdio: ["ignore", bulk.writeFd, "inherit"],
    });
    bulk.closeWriteEnd();
    const hash = createHash("sha256");
    const lengths: number[] = [];
    await pipeline(
      bulk.output,
      new Writable({
        write(chunk: Buffer, _encoding, callback) {
          lengths.push(chunk.length);
          hash.update(chunk);
          if (options.slowReader) setTimeout(callback, 5);
          else callback();
        },
      }),
    );
    await new Promise((resolve) => (child.exitCode === null ? child.once("exit", resolve) : resolve(null)));
    return { digest: hash.digest("hex"), lengths };
  }

  test("every byte arrives, in order, in full chunks but the last", async () => {
    const size = 4096;
    const count = 1000; // 4,096,000 bytes: 3 full chunks and a short one
    const { digest, lengths } = await run(size, count);
    assert.equal(digest, expectedDigest(size, count));
    assert.equal(
      lengths.reduce((a, b) => a + b, 0),
      size * count,
    );
    assert.deepEqual(lengths.slice(0, -1), [BULK_CHUNK_BYTES, BULK_CHUNK_BYTES, BULK_CHUNK_BYTES]);
    assert.equal(lengths.at(-1), size * count - 3 * BULK_CHUNK_BYTES);
  });

  test("a slow reader holds the writer back instead of buffering: still every byte", async () => {
    const { digest, lengths } = await run(1000, 5000, { slowReader: true });
    assert.equal(digest, expectedDigest(1000, 5000));
    assert.equal(lengths.length, Math.ceil(5_000_000 / BULK_CHUNK_BYTES));
  });

  test("chunks given back by a compressor are refilled, and the compressed bytes are still exact", async () => {
    const bulk = createBulkPipe({ directory });
    assert.ok(bulk);
    const size = 3000;
    const count = 8000; // 24 MB: 23 chunks
    const child = spawn(process.execPath, ["-e", WRITER, String(size), String(count), "0"], {
      stdio: ["ignore", bulk.writeFd, "inherit"],
    });
    bulk.closeWriteEnd();
    const seen = new Set<ArrayBufferLike>();
    let chunks = 0;
    const watch = new Writable({
      write(chunk: Buffer, _encoding, callback) {
        seen.add(chunk.buffer);
        chunks++;
        callback();
      },
    });
    // A tap in front of the compressor, as in the backup: it records which buffers went by.
    const tap = new Transform({
      transform(chunk: Buffer, _encoding, callback) {
        watch.write(chunk);
        callback(null, chunk);
      },
    });
    const compressor = createZstdCompress();
    releaseInputWhenDone(compressor, (chunk) => bulk.release(chunk));
    const compressed: Buffer[] = [];
    await pipeline(
      bulk.output,
      tap,
      compressor,
      new Writable({
        write(chunk: Buffer, _encoding, callback) {
          compressed.push(chunk);
          // A slow store: the compressor's input waits, so several chunks are in flight at once.
          setTimeout(callback, 1);
        },
      }),
    );
    const restored = zstdDecompressSync(Buffer.concat(compressed));
    assert.equal(createHash("sha256").update(restored).digest("hex"), expectedDigest(size, count));
    assert.equal(chunks, Math.ceil((size * count) / BULK_CHUNK_BYTES));
    assert.ok(seen.size < chunks / 2, `${seen.size} buffers for ${chunks} chunks: they were reused`);
    child.kill();
  });

  test("a child that writes nothing gives an empty stream", async () => {
    const { lengths } = await run(10, 0);
    assert.deepEqual(lengths, []);
  });

  test("nothing is left on disk once the pipe exists", () => {
    const bulk = createBulkPipe({ directory });
    assert.ok(bulk);
    try {
      assert.deepEqual(readdirSync(directory), []);
    } finally {
      bulk.closeWriteEnd();
      bulk.output.destroy();
    }
  });

  test("destroying the output stops the writer (EPIPE), it does not hang", async () => {
    const bulk = createBulkPipe({ directory });
    assert.ok(bulk);
    const child = spawn(process.execPath, ["-e", WRITER, "65536", "100000", "0"], {
      stdio: ["ignore", bulk.writeFd, "ignore"],
    });
    bulk.closeWriteEnd();
    const exited = new Promise<number | null>((resolve) => child.once("exit", (code) => resolve(code)));
    bulk.output.once("data", () => bulk.output.destroy());
    bulk.output.resume();
    const code = await exited;
    assert.notEqual(code, 0, "the writer failed once nobody read");
  });
});
