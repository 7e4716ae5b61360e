/**
 * Archive versions the local pg_dump (15) does not write, and data edge cases, on small archives
 * built byte by byte from pg_backup_archiver.c's layout (test/helpers/pg-archive.ts). The real
 * pg_dump archives are in archive-dump.test.ts.
 */
import assert from "node:assert/strict";
import { test } from "node:test";
import {
  ArchiveFormatError,
  ArchiveParser,
  ArchiveTruncatedError,
  ArchiveUnsupportedError,
} from "../../src/postgres/archive/index.js";
import { parseInPieces, sha256, syntheticArchive, type SyntheticEntry } from "../helpers/pg-archive.js";

const ENTRIES: SyntheticEntry[] = [
  { dumpId: 1, tag: "t", desc: "TABLE" },
  {
    dumpId: 2,
    tag: "t",
    desc: "TABLE DATA",
    copyStatement: "COPY public.t (id, s) FROM stdin;\n",
    chunks: ["1\ta\\nb\n", "2\tc\n", "\\.\n\n\n"],
    dependencies: [1],
  },
];

for (const minor of [10, 11, 12, 13, 14, 15, 16]) {
  test(`archive version 1.${minor}: header, TOC fields of that version, and the data`, () => {
    const result = parseInPieces(syntheticArchive({ minor, entries: ENTRIES }), [3]);
    assert.equal(result.archiveVersion, `1.${minor}.0`);
    assert.equal(result.header.database, "appdb");
    assert.equal(result.header.created, "2026-11-28 03:04:05");
    assert.deepEqual(
      result.header.compression,
      minor >= 15 ? { algorithm: "none", level: null } : { algorithm: "none", level: 0 },
    );
    const [table, data] = result.toc;
    assert.equal(table!.tableAccessMethod, minor >= 14 ? "heap" : null);
    assert.equal(table!.relkind, minor >= 16 ? 114 : null);
    // Before 1.11 there is no section field: the reader infers it from the entry type.
    assert.equal(table!.section, "pre-data");
    assert.equal(data!.section, "data");
    assert.deepEqual(data!.dependencies, [1]);
    assert.deepEqual(result.tables, [
      {
        dumpId: 2,
        schema: "public",
        table: "t",
        format: "copy",
        copyStatement: "COPY public.t (id, s) FROM stdin;\n",
        rows: 2,
        bytes: 11,
        sha256: sha256("1\ta\\nb\n2\tc\n"),
        statements: null,
        endMarker: true,
      },
    ]);
  });
}

test("versions outside 1.10 to 1.16 are refused with the version named", () => {
  assert.throws(
    () => parseInPieces(syntheticArchive({ minor: 17 }), [100]),
    (error: Error) => {
      assert.ok(error instanceof ArchiveUnsupportedError);
      assert.match(error.message, /version 1\.17\.0 is newer than this reader knows/);
      return true;
    },
  );
  assert.throws(
    () => parseInPieces(syntheticArchive({ minor: 9 }), [100]),
    /version 1\.9\.0 is older than this reader supports/,
  );
});

test("a directory-format toc.dat (format byte 5) is not a custom archive", () => {
  assert.throws(() => parseInPieces(syntheticArchive({ minor: 14, format: 5 }), [100]), /format byte is 5/);
});

test("compressed archives: a 1.15+ algorithm byte and a pre-1.15 level are both recognised", () => {
  assert.throws(
    () => parseInPieces(syntheticArchive({ minor: 16, compression: 3, entries: ENTRIES }), [100]),
    /compressed inside the archive \(zstd\)/,
  );
  assert.throws(
    () => parseInPieces(syntheticArchive({ minor: 15, compression: 2, entries: ENTRIES }), [100]),
    /\(lz4\)/,
  );
  // pg_dump's default (-1, zlib's default level) before 1.15 means gzip.
  assert.throws(
    () => parseInPieces(syntheticArchive({ minor: 12, compression: -1, entries: ENTRIES }), [100]),
    /\(gzip, level -1\)/,
  );
  assert.throws(
    () => parseInPieces(syntheticArchive({ minor: 16, compression: 9, entries: ENTRIES }), [100]),
    /unknown compression algorithm 9/,
  );
});

test("integer sizes other than pg_dump's 4 are read when they fit", () => {
  const result = parseInPieces(syntheticArchive({ minor: 14, intSize: 6, entries: ENTRIES }), [5]);
  assert.equal(result.header.intSize, 6);
  assert.equal(result.tables[0]!.rows, 2);
  assert.throws(
    () => parseInPieces(syntheticArchive({ minor: 14, intSize: 8 }), [100]),
    ArchiveUnsupportedError,
  );
});

function table(chunks: string[], copyStatement: string | null = "COPY public.t FROM stdin;\n") {
  const archive = syntheticArchive({
    minor: 14,
    entries: [{ dumpId: 7, tag: "t", desc: "TABLE DATA", copyStatement, chunks }],
  });
  // Every split point, to catch state carried wrongly across buffers.
  const whole = parseInPieces(archive, [archive.length]).tables[0]!;
  for (const size of [1, 2, 3, 5, 7]) assert.deepEqual(parseInPieces(archive, [size]).tables[0], whole);
  return whole;
}

test("COPY end marker: held back from the digest wherever the chunks split it, only at a line start", () => {
  const split = table(["1\n2\n\\", ".\n", "\n\n"]);
  assert.deepEqual([split.rows, split.bytes, split.endMarker], [2, 4, true]);
  assert.equal(split.sha256, sha256("1\n2\n"));
  const short = table(["1\n\\.\n"]);
  assert.deepEqual([short.rows, short.bytes, short.endMarker], [1, 2, true]);
  const none = table(["1\n2\n"]);
  assert.deepEqual([none.rows, none.bytes, none.endMarker], [2, 4, false]);
  // "x\." ends a row's value, not a marker line (COPY text escapes a data backslash as \\).
  const notAtLineStart = table(["x\\.\n"]);
  assert.deepEqual([notAtLineStart.rows, notAtLineStart.bytes, notAtLineStart.endMarker], [1, 4, false]);
  const onlyMarker = table(["\\.\n\n\n"]);
  assert.deepEqual([onlyMarker.rows, onlyMarker.bytes, onlyMarker.sha256], [0, 0, sha256("")]);
  const lastLineUnterminated = table(["1\n2"]);
  assert.equal(lastLineUnterminated.rows, 2);
});

test("a table larger than the staging buffer: counted and hashed across flushes", () => {
  const rows = Array.from({ length: 40_000 }, (_, i) => `${i}\t${"x".repeat(i % 300)}\n`);
  const archive = syntheticArchive({
    minor: 14,
    entries: [
      {
        dumpId: 7,
        tag: "t",
        desc: "TABLE DATA",
        copyStatement: "COPY t FROM stdin;\n",
        chunks: [...rows, "\\.\n"],
      },
    ],
  });
  const parser = new ArchiveParser({ stageBytes: 4096 });
  for (let at = 0; at < archive.length; at += 1000) parser.write(archive.subarray(at, at + 1000));
  const result = parser.end().tables[0]!;
  assert.equal(result.rows, 40_000);
  assert.equal(result.sha256, sha256(rows.join("")));
});

test("--inserts data: rows from statements, with quotes, escapes, parentheses and semicolons in values", () => {
  const statements = [
    "INSERT INTO public.t VALUES (1, 'a;b''c)(');\n",
    "INSERT INTO public.t VALUES (2, E'it\\'s (x); \\\\');\n",
    'INSERT INTO public.t (id, "odd (col);") VALUES (3, NULL);\n',
    "INSERT INTO public.t (id, v) OVERRIDING SYSTEM VALUE VALUES (4, '{\"(\"}');\n",
    "INSERT INTO public.t VALUES\n\t(5, 'x'),\n\t(6, 'y'),\n\t(7, ')');\n",
    "INSERT INTO public.\"VALUES\" VALUES (8, 'quoted table name');\n",
    "INSERT INTO public.t DEFAULT VALUES;\n",
  ];
  const result = table([...statements, "\n\n"], null);
  assert.equal(result.format, "inserts");
  assert.equal(result.statements, 7);
  assert.equal(result.rows, 9);
  assert.equal(result.sha256, sha256(statements.join("") + "\n\n"));
});

test("large objects across several BLOBS blocks (1.16 writes one per batch), an empty one included", () => {
  const parts: Buffer[] = [];
  const int = (value: number) => {
    const buffer = Buffer.alloc(5);
    buffer.writeUInt32LE(value, 1);
    parts.push(buffer);
  };
  const base = syntheticArchive({
    minor: 16,
    entries: [
      { dumpId: 3, tag: "BLOBS", desc: "BLOBS", chunks: [] },
      { dumpId: 4, tag: "BLOBS", desc: "BLOBS", chunks: [] },
    ],
  });
  // Cut the two empty BLK_DATA blocks the builder wrote and put BLK_BLOBS blocks there instead.
  const toc = base.subarray(0, base.length - 2 * (1 + 5 + 5));
  parts.push(toc);
  parts.push(Buffer.from([3]));
  int(3);
  int(16401);
  int(5);
  parts.push(Buffer.from("hello"));
  int(0);
  int(16402);
  int(0);
  int(0);
  parts.push(Buffer.from([3]));
  int(4);
  int(16403);
  int(2);
  parts.push(Buffer.from("ab"));
  int(1);
  parts.push(Buffer.from("c"));
  int(0);
  int(0);
  const archive = Buffer.concat(parts);
  const result = parseInPieces(archive, [2]);
  const line = (oid: number, content: string) => `${oid} ${content.length} ${sha256(content)}\n`;
  assert.deepEqual(result.largeObjects, {
    count: 3,
    bytes: 8,
    sha256: sha256(line(16401, "hello") + line(16402, "") + line(16403, "abc")),
    blocks: 2,
  });
  assert.throws(() => parseInPieces(archive.subarray(0, archive.length - 3), [64]), ArchiveTruncatedError);
});

test("a data block twice, or for an entry without data, is corrupt", () => {
  const archive = syntheticArchive({ minor: 14, entries: ENTRIES });
  const block = archive.subarray(archive.lastIndexOf(Buffer.from([1, 0, 2, 0, 0, 0])));
  assert.throws(
    () => parseInPieces(Buffer.concat([archive, block]), [64]),
    /a second data block for TABLE DATA/,
  );
  const toNoData = Buffer.from(block);
  toNoData.writeUInt32LE(1, 2);
  assert.throws(
    () => parseInPieces(Buffer.concat([archive.subarray(0, archive.length - block.length), toNoData]), [64]),
    /TABLE public\.t \(dump id 1\), which the TOC says has no data/,
  );
  assert.throws(
    () => parseInPieces(Buffer.concat([archive, Buffer.from([9])]), [64]),
    (error: Error) => error instanceof ArchiveFormatError && /unknown data block type 9/.test(error.message),
  );
});
