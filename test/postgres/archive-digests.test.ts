import assert from "node:assert/strict";
import { createHash } from "node:crypto";
import { describe, test } from "node:test";
import fc from "fast-check";
import { TableDigester } from "../../src/postgres/archive/digests.js";

// What a table's digest must be, computed the slow and obvious way: the rows are the newlines of
// the COPY text (plus a last line without one), the end marker "\\.\n" (with pg_dump's two extra
// newlines) is not content.
function expected(text: Buffer, marker: string) {
  let newlines = 0;
  for (const byte of text) if (byte === 10) newlines++;
  const rows = newlines + (text.length > 0 && text.at(-1) !== 10 ? 1 : 0);
  return {
    rows,
    bytes: text.length,
    sha256: createHash("sha256").update(text).digest("hex"),
    endMarker: marker.length > 0,
  };
}

// Byte values that matter to the word-at-a-time newline count: the newline itself, its neighbours,
// bytes with the high bit set (0x8a = 0x0a | 0x80), zero, and the marker's characters.
const interesting = fc.constantFrom(0x0a, 0x0b, 0x09, 0x00, 0x8a, 0x80, 0xff, 0x7f, 0x5c, 0x2e, 0x41);
const row = fc.oneof(
  fc.uint8Array({ minLength: 0, maxLength: 40 }).map((bytes) => Buffer.from(bytes)),
  fc.array(interesting, { minLength: 0, maxLength: 60 }).map((bytes) => Buffer.from(bytes)),
  // Longer than the 512 bytes copied by hand: the Buffer.copy path.
  fc.array(interesting, { minLength: 500, maxLength: 1500 }).map((bytes) => Buffer.from(bytes)),
);

describe("TableDigester: rows, bytes and sha256 of a table's COPY data", () => {
  test("equal to a plain newline count and hash, however rows and chunks fall", () => {
    fc.assert(
      fc.property(
        fc.array(row, { maxLength: 80 }),
        fc.constantFrom("", "\\.\n", "\\.\n\n\n"),
        fc.integer({ min: 16, max: 4096 }),
        (rows, marker, stageBytes) => {
          // pg_dump writes one chunk per row; every chunk also passes through as its own write here.
          const text = Buffer.concat(rows);
          const chunks = marker ? [...rows, Buffer.from(marker)] : rows;
          const digester = new TableDigester(Buffer.alloc(stageBytes), "copy");
          for (const chunk of chunks) {
            // A source buffer with bytes around the chunk, as in the archive stream.
            const source = Buffer.concat([Buffer.from([0x0a, 1, 2]), chunk, Buffer.from([0x0a])]);
            const view = new DataView(source.buffer, source.byteOffset, source.length);
            digester.write(source, view, 3, 3 + chunk.length);
          }
          const result = digester.finish();
          // A marker only counts as one where it starts a line.
          const markerStartsLine = text.length === 0 || text.at(-1) === 10;
          if (marker && !markerStartsLine) {
            assert.deepEqual(
              { rows: result.rows, bytes: result.bytes, sha256: result.sha256, endMarker: result.endMarker },
              expected(Buffer.concat([text, Buffer.from(marker)]), ""),
            );
            return;
          }
          assert.deepEqual(
            { rows: result.rows, bytes: result.bytes, sha256: result.sha256, endMarker: result.endMarker },
            expected(text, marker),
          );
        },
      ),
      { numRuns: 400 },
    );
  });
});
