import assert from "node:assert/strict";
import { createHash } from "node:crypto";
import { Readable } from "node:stream";
import { test } from "node:test";
import type { FileEntry } from "../../src/files/entry.js";
import { writeTar } from "../../src/files/tar-writer.js";
import { INDEX_NAME, parseIndex } from "../../src/files/files-index.js";
import { readTar } from "../../src/files/tar-reader.js";
import { collect } from "./files-helpers.js";

const GIB = 1024 ** 3;
const MIB = 1024 ** 2;

/** `size` bytes made on the fly, 1 MiB at a time, never held together. */
function generated(size: number): Readable {
  const block = Buffer.alloc(MIB);
  for (let i = 0; i < MIB; i += 4) block.writeUInt32LE((i * 2654435761) >>> 0, i);
  let sent = 0;
  return new Readable({
    highWaterMark: MIB,
    read() {
      if (sent >= size) return void this.push(null);
      const chunk = Buffer.from(block.subarray(0, Math.min(MIB, size - sent)));
      chunk.writeUInt32LE(sent / MIB, 0); // every MiB differs, so a misplaced chunk changes the digest
      sent += chunk.length;
      this.push(chunk);
    },
  });
}

test(
  "a 1 GiB file streams through the writer and the reader with flat memory, hashed on the way",
  { timeout: 600_000 },
  async () => {
    const entry: FileEntry = {
      path: "big/one-gib.bin",
      type: "file",
      size: GIB,
      mtime: new Date(),
      open: async () => generated(GIB),
    };
    const { stream, summary } = writeTar([entry]);
    global.gc?.();
    const baseline = process.memoryUsage().rss;
    let peak = baseline;
    /** The peak once a quarter has streamed: from then on memory must stay flat. */
    let warm: number | undefined;
    const sampler = setInterval(() => {
      peak = Math.max(peak, process.memoryUsage().rss);
    }, 50);
    try {
      let read = "";
      let index = "";
      for await (const tarEntry of readTar(stream)) {
        if (tarEntry.path === INDEX_NAME) index = (await collect(tarEntry.body)).toString("utf8");
        else {
          const hash = createHash("sha256");
          let chunks = 0;
          let bytes = 0;
          for await (const chunk of tarEntry.body) {
            hash.update(chunk as Buffer);
            bytes += (chunk as Buffer).length;
            // Sampled here too: a stream fed from memory may never yield to the timer.
            if (++chunks % 64 === 0) {
              const rss = process.memoryUsage().rss;
              peak = Math.max(peak, rss);
              if (bytes >= GIB / 4 && warm === undefined) warm = peak;
            }
          }
          read = hash.digest("hex");
        }
      }
      const totals = await summary;
      const expected = createHash("sha256");
      for await (const chunk of generated(GIB)) expected.update(chunk as Buffer);
      const digest = expected.digest("hex");
      assert.equal(read, digest, "the bytes read back are the bytes generated");
      const record = parseIndex(index).records[0];
      assert.deepEqual([record?.path, record?.size, record?.sha256], ["big/one-gib.bin", GIB, digest]);
      assert.equal(totals.bytes, GIB);
      assert.equal(totals.tarBytes % 10240, 0);
    } finally {
      clearInterval(sampler);
    }
    assert.ok(warm !== undefined);
    const grown = (peak - baseline) / MIB;
    const drift = (peak - warm) / MIB;
    assert.ok(grown < 128, `RSS grew by ${grown.toFixed(0)} MiB while 1 GiB streamed`);
    assert.ok(drift < 32, `RSS kept growing (${drift.toFixed(0)} MiB) after the first 256 MiB`);
  },
);
