import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { createHash, randomBytes } from "node:crypto";
import { mkdtempSync, readdirSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { Readable, Writable, type Duplex } from "node:stream";
import { pipeline } from "node:stream/promises";
import { after, test } from "node:test";
import { setTimeout as sleep } from "node:timers/promises";
import { createZstdDecompress, gzipSync, zstdCompressSync } from "node:zlib";
import {
  createCompressor,
  createDecompressor,
  formatCompression,
  parseCompression,
  releaseDecompressed,
  FRAME_SIZE,
  type CompressionSpec,
} from "../../src/compress/index.js";
import { ParallelCompressStream } from "../../src/compress/parallel-compress.js";
import { ZstdFrameSplitter } from "../../src/compress/zstd-frames.js";
import { InputError, OperationError } from "../../src/domain/errors.js";

const MiB = 1024 * 1024;
const work = mkdtempSync(join(tmpdir(), "lifeboat-compress-"));
after(() => rmSync(work, { recursive: true, force: true }));

/**
 * Text shaped like COPY data (numbers, md5-like hex, tabs), compressible about 4-8x like a dump,
 * and different everywhere so that frames cannot all be the same.
 */
function dumpLike(bytes: number, seed = 0): Buffer {
  const lines: string[] = [];
  let length = 0;
  for (let row = seed; length < bytes; row++) {
    const hex = createHash("md5").update(String(row)).digest("hex");
    const line = `${row}\t${row % 97}\t${(row * 31) % 1000}\t${hex}${hex.slice(0, row % 32)}\n`;
    lines.push(line);
    length += line.length;
  }
  return Buffer.from(lines.join("")).subarray(0, bytes);
}

function pieces(data: Buffer, size: number): Buffer[] {
  const out: Buffer[] = [];
  for (let offset = 0; offset < data.length; offset += size) out.push(data.subarray(offset, offset + size));
  return out;
}

async function run(transform: Duplex, input: Buffer, pieceSize = 64 * 1024): Promise<Buffer> {
  const out: Buffer[] = [];
  await pipeline(
    Readable.from(pieces(input, pieceSize)),
    transform,
    new Writable({
      write(chunk: Buffer, _encoding, callback) {
        out.push(chunk);
        callback();
      },
    }),
  );
  return Buffer.concat(out);
}

/** Decompresses with the stock command-line tool (zstd -d or gzip -d). */
function stockDecompress(method: "zstd" | "gzip", compressed: Buffer): Buffer {
  const result = spawnSync(method, ["-d", "-c"], { input: compressed, maxBuffer: 1024 * MiB });
  assert.equal(result.status, 0, result.stderr?.toString());
  return result.stdout;
}

/** The threads of this process (Linux): a worker that was not terminated would still be one. */
function threadCount(): number {
  return readdirSync("/proc/self/task").length;
}

test("parseCompression reads zstd[:N], gzip[:N] and none, and names --compression otherwise", () => {
  assert.deepEqual(parseCompression("zstd:3"), { method: "zstd", level: 3 });
  assert.deepEqual(parseCompression(" ZSTD "), { method: "zstd", level: 1 });
  assert.deepEqual(parseCompression("gzip:9"), { method: "gzip", level: 9 });
  assert.deepEqual(parseCompression("gzip"), { method: "gzip", level: 1 });
  assert.deepEqual(parseCompression("none"), { method: "none" });
  assert.equal(formatCompression(parseCompression("zstd")), "zstd:1");
  for (const [text, why] of [
    ["zstd:0", "zstd levels go from 1 to 22"],
    ["zstd:23", "zstd levels go from 1 to 22"],
    ["gzip:10", "gzip levels go from 1 to 9"],
    ["lz4", "expected zstd[:1-22], gzip[:1-9] or none"],
    ["zstd:-1", "expected zstd[:1-22], gzip[:1-9] or none"],
    ["", "expected zstd[:1-22], gzip[:1-9] or none"],
  ] as const) {
    assert.throws(
      () => parseCompression(text),
      (error: unknown) =>
        error instanceof InputError &&
        error.input === "compression" &&
        error.message === `--compression "${text}": ${why}`,
      text,
    );
  }
});

for (const threads of [1, 2, 3]) {
  test(`zstd with ${threads} thread(s): several frames, read back by zstd -d and by our decompressor`, async () => {
    // Not a multiple of the frame size, in pieces that straddle frame boundaries.
    const input = dumpLike(3 * FRAME_SIZE + 12345, threads);
    const compressed = await run(createCompressor({ method: "zstd", level: 3 }, { threads }), input, 100_003);
    assert.ok(compressed.length < input.length / 2, `compressed to ${compressed.length} of ${input.length}`);
    const file = join(work, `threads-${threads}.zst`);
    writeFileSync(file, compressed);
    const listing = spawnSync("zstd", ["-lv", file], { encoding: "utf8" });
    const frames = Number(/# Zstandard Frames: (\d+)/.exec(listing.stdout)?.[1]);
    assert.equal(frames, threads === 1 ? 1 : 4);
    assert.ok(stockDecompress("zstd", compressed).equals(input));
    assert.ok((await run(createDecompressor("zstd"), compressed)).equals(input));
  });
}

test("gzip on several threads is a multi-member gzip file that gzip -d and our decompressor read", async () => {
  const input = dumpLike(2 * FRAME_SIZE + 777);
  const compressed = await run(createCompressor({ method: "gzip", level: 6 }, { threads: 2 }), input);
  assert.ok(compressed.length < input.length / 2);
  assert.ok(stockDecompress("gzip", compressed).equals(input));
  assert.ok((await run(createDecompressor("gzip"), compressed)).equals(input));
});

test("none passes bytes through unchanged, both ways", async () => {
  const input = dumpLike(100_000);
  const stored = await run(createCompressor({ method: "none" }), input);
  assert.ok(stored.equals(input));
  assert.ok((await run(createDecompressor("none"), stored)).equals(input));
});

test("empty input gives a valid empty stream", async () => {
  for (const spec of [
    { method: "zstd", level: 1 },
    { method: "gzip", level: 1 },
  ] as const) {
    for (const threads of [1, 2]) {
      const compressed = await run(createCompressor(spec, { threads }), Buffer.alloc(0));
      assert.ok(compressed.length > 0, `${spec.method}, ${threads} thread(s)`);
      assert.equal(stockDecompress(spec.method, compressed).length, 0);
      assert.equal((await run(createDecompressor(spec.method), compressed)).length, 0);
    }
  }
});

test("the decompressor reads concatenated frames and members written by other tools", async () => {
  const parts = [dumpLike(300_000, 1), dumpLike(5, 2), dumpLike(1_000_000, 3)];
  const zstdCli = parts.map((part) => spawnSync("zstd", ["-1", "-c"], { input: part }).stdout);
  const expected = Buffer.concat(parts);
  // The CLI's frames, one of ours from zlib, and an empty frame in between.
  const zstd = Buffer.concat([zstdCli[0]!, zstdCompressSync(Buffer.alloc(0)), zstdCli[1]!, zstdCli[2]!]);
  assert.ok((await run(createDecompressor("zstd"), zstd, 4096)).equals(expected));
  const gzip = Buffer.concat(parts.map((part) => gzipSync(part)));
  assert.ok((await run(createDecompressor("gzip"), gzip, 4096)).equals(expected));
});

test("release frees a zstd output buffer only at its last slice, once the sink is past it, and nothing else", async () => {
  const input = dumpLike(5 * MiB + 4321, 9);
  // Several frames, in writes that straddle their boundaries: zlib's output buffers then fill in
  // several slices each.
  const compressed = await run(createCompressor({ method: "zstd", level: 1 }, { threads: 2 }), input);
  const decompressor = createDecompressor("zstd");
  const copies: Buffer[] = [];
  let freed = 0;
  let slicesOfFreed = 0;
  const seen = new Map<ArrayBufferLike, Buffer[]>();
  await pipeline(
    Readable.from(pieces(compressed, 50_000)),
    decompressor,
    new Writable({
      write(chunk: Buffer, _encoding, callback) {
        copies.push(Buffer.from(chunk));
        const slices = seen.get(chunk.buffer) ?? [];
        slices.push(chunk);
        seen.set(chunk.buffer, slices);
        const before = chunk.buffer.byteLength;
        const end = chunk.byteOffset + chunk.length;
        releaseDecompressed(chunk);
        if (chunk.buffer.byteLength !== before) {
          freed++;
          slicesOfFreed += slices.length;
          assert.equal(end, before, "freed at the slice that ends the buffer");
          assert.ok(
            slices.every((slice) => slice.length === 0),
            "the slices before it read as empty now",
          );
        }
        callback();
      },
    }),
  );
  assert.ok(Buffer.concat(copies).equals(input));
  // 5 MiB out of 1 MiB buffers: the five full ones are freed, the last, partial one is left to
  // the garbage collector; the frames' slices show the sink got several pieces of some buffers.
  assert.equal(freed, 5);
  assert.ok(slicesOfFreed > 5, `${slicesOfFreed} slices in the freed buffers`);

  // Anything that is not the last slice of a spent zstd output buffer is left alone.
  const foreign = Buffer.alloc(MiB, 1);
  releaseDecompressed(foreign);
  assert.equal(foreign.length, MiB);
  const gunzipped = await run(createDecompressor("gzip"), gzipSync(input));
  releaseDecompressed(gunzipped);
  assert.ok(gunzipped.equals(input));
});

test("a corrupted zstd stream fails to decompress rather than yielding wrong bytes", async () => {
  const compressed = await run(createCompressor({ method: "zstd", level: 1 }, { threads: 2 }), dumpLike(MiB));
  compressed[Math.floor(compressed.length / 2)]! ^= 0x40;
  await assert.rejects(run(createDecompressor("zstd"), compressed));
});

/** Resolves once `compressor` has nothing left running in the thread pool. */
async function settled(compressor: ParallelCompressStream): Promise<void> {
  for (let waited = 0; compressor.running > 0; waited += 10) {
    assert.ok(waited < 5000, "chunks still running 5 s after the stream was destroyed");
    await sleep(10);
  }
}

test("an error in the input stream reaches the pipeline, and no chunk is left running", async () => {
  const compressor = createCompressor({ method: "zstd", level: 1 }, { threads: 2 });
  assert.ok(compressor instanceof ParallelCompressStream);
  async function* failing(): AsyncGenerator<Buffer> {
    yield dumpLike(FRAME_SIZE * 2 + 5);
    await sleep(20);
    throw new Error("pg_dump went away");
  }
  await assert.rejects(
    pipeline(Readable.from(failing()), compressor, new Writable({ write: (_c, _e, callback) => callback() })),
    /pg_dump went away/,
  );
  await settled(compressor);
});

test("destroying the stream mid-way starts no more chunks, emits nothing more, and leaves no thread behind", async () => {
  // Warm the thread pool first: its threads are started once per process, and stay.
  await run(createCompressor({ method: "zstd", level: 1 }, { threads: 4 }), dumpLike(4 * MiB));
  const before = threadCount();
  for (let round = 0; round < 3; round++) {
    const compressor = new ParallelCompressStream({ method: "zstd", level: 9, threads: 2, chunkSize: MiB });
    let emitted = 0;
    compressor.on("data", () => emitted++);
    compressor.write(dumpLike(8 * MiB, round));
    await sleep(5);
    const closed = new Promise((resolve) => compressor.on("close", resolve));
    compressor.destroy();
    await closed;
    const emittedAtDestroy = emitted;
    await settled(compressor);
    await sleep(20);
    assert.equal(emitted, emittedAtDestroy, "no frame is emitted after destroy");
    assert.ok(emitted < 8, `${emitted} of 8 frames emitted: destroy stopped the rest`);
  }
  assert.equal(threadCount(), before);
});

test("a failure in zlib fails the stream with an OperationError", async () => {
  // gzip has no level 42: zlib refuses it.
  const compressor = new ParallelCompressStream({ method: "gzip", level: 42, threads: 2, chunkSize: MiB });
  await assert.rejects(
    run(compressor, dumpLike(3 * MiB)),
    (error: unknown) => error instanceof OperationError && /^gzip compression failed: /.test(error.message),
  );
  await settled(compressor);
});

test("a reader that stops stops the input: at most a few frames are held", async () => {
  let produced = 0;
  const source = Readable.from(
    (function* () {
      // Incompressible, so every frame held is its full size.
      for (;;) {
        const chunk = randomBytes(256 * 1024);
        produced += chunk.length;
        yield chunk;
      }
    })(),
  );
  const threads = 2;
  const compressor = createCompressor({ method: "zstd", level: 1 }, { threads });
  let written = 0;
  const stuck = new Writable({
    highWaterMark: MiB,
    write(chunk: Buffer, _encoding, _callback) {
      written += chunk.length; // never calls back: the reader has stopped
    },
  });
  const done = pipeline(source, compressor, stuck).catch(() => undefined);
  await sleep(1500);
  // Frames in flight (threads + 1), one ready in the readable buffer, the one being filled, the
  // one written to the stuck reader, and the streams' own buffers.
  const bound = (threads + 4) * FRAME_SIZE + 4 * MiB;
  assert.ok(produced <= bound, `${produced} bytes taken from the source while the reader stopped`);
  assert.ok(written > 0);
  source.destroy();
  compressor.destroy();
  stuck.destroy();
  await done;
});

test("memory stays flat on a 512 MB stream", async () => {
  const block = dumpLike(8 * MiB);
  let sent = 0;
  let rssAtStart = 0;
  const source = Readable.from(
    (function* () {
      for (let index = 0; index < 64; index++) {
        // Each block slightly different so that no frame is a copy of another.
        const copy = Buffer.from(block);
        copy.writeUInt32LE(index, 0);
        sent += copy.length;
        if (index === 8) rssAtStart = process.memoryUsage().rss;
        yield copy;
      }
    })(),
  );
  let stored = 0;
  let peak = 0;
  await pipeline(
    source,
    createCompressor({ method: "zstd", level: 1 }, { threads: 2 }),
    new Writable({
      write(chunk: Buffer, _encoding, callback) {
        stored += chunk.length;
        peak = Math.max(peak, process.memoryUsage().rss);
        callback();
      },
    }),
  );
  assert.equal(sent, 512 * MiB);
  assert.ok(stored > 0 && stored < sent / 2, `stored ${stored} of ${sent}`);
  // Loose: garbage collection is lazy, but growth with the input (512 MB) would show.
  const growth = peak - rssAtStart;
  assert.ok(growth < 128 * MiB, `RSS grew by ${Math.round(growth / MiB)} MiB after the first 64 MiB`);
});

const specs: CompressionSpec[] = [{ method: "zstd", level: 19 }];
test("high levels still round-trip (zstd:19 on one frame)", async () => {
  const input = dumpLike(MiB);
  for (const spec of specs) {
    const compressed = await run(createCompressor(spec, { threads: 2 }), input);
    assert.ok(stockDecompress("zstd", compressed).equals(input));
  }
});

test("Node's own zstd decompressor drops the frames after one that ends inside a write (why ZstdFrameSplitter exists)", async () => {
  // If this starts failing, Node fixed it and the splitter in createDecompressor can go.
  const frames = [dumpLike(1000, 1), dumpLike(1000, 2)];
  const joined = Buffer.concat(frames.map((frame) => zstdCompressSync(frame)));
  const decoded = await run(createZstdDecompress(), joined, joined.length);
  assert.equal(decoded.length, 1000);
});

test("the frame splitter follows every kind of frame and block, byte by byte", async () => {
  const repeated = Buffer.alloc(300_000, 7); // RLE blocks
  const text = dumpLike(400_000, 9); // several compressed blocks
  const skippable = Buffer.concat([Buffer.from([0x5a, 0x2a, 0x4d, 0x18, 5, 0, 0, 0]), Buffer.from("hello")]);
  const stream = Buffer.concat([
    spawnSync("zstd", ["-1", "-c", "--content-size"], { input: repeated }).stdout,
    skippable,
    zstdCompressSync(Buffer.alloc(0)),
    spawnSync("zstd", ["-19", "-c", "--no-check"], { input: text }).stdout,
    spawnSync("zstd", ["--no-compress-literals", "-c"], { input: Buffer.from("x") }).stdout,
  ]);
  const splitter = new ZstdFrameSplitter();
  const chunks: Buffer[] = [];
  await pipeline(
    Readable.from(pieces(stream, 1)),
    splitter,
    new Writable({
      write(chunk: Buffer, _encoding, callback) {
        chunks.push(chunk);
        callback();
      },
    }),
  );
  assert.equal(splitter.frames, 5);
  assert.ok(Buffer.concat(chunks).equals(stream));
  const decoded = await run(createDecompressor("zstd"), stream, 7);
  assert.ok(decoded.equals(Buffer.concat([repeated, text, Buffer.from("x")])));
});

test("a truncated or foreign zstd stream fails with a message saying which", async () => {
  const whole = zstdCompressSync(dumpLike(100_000));
  await assert.rejects(
    run(createDecompressor("zstd"), whole.subarray(0, whole.length - 3)),
    /the zstd stream is truncated: it ends inside a frame/,
  );
  await assert.rejects(
    run(createDecompressor("zstd"), Buffer.concat([whole, Buffer.from("PGDMP")])),
    new RegExp(`the zstd stream is corrupted: no zstd frame starts at byte ${whole.length}`),
  );
  await assert.rejects(run(createDecompressor("zstd"), Buffer.alloc(0)), /the zstd stream is empty/);
});
