/**
 * The archive reader on archives from the real pg_dump (15 here): per-table row counts equal
 * count(*), per-table sha256 equals the sha256 of `COPY ... TO STDOUT`, large objects are counted
 * and digested, the tap passes the bytes through unchanged, and a cut or corrupted archive is an
 * error that names what was cut, never a summary that looks complete.
 */
import assert from "node:assert/strict";
import { PassThrough } from "node:stream";
import { after, before, describe, test } from "node:test";
import {
  ArchiveFormatError,
  ArchiveParser,
  ArchiveTruncatedError,
  ArchiveUnsupportedError,
  createArchiveTap,
  type ArchiveSummary,
  type TableSummary,
} from "../../src/postgres/archive/index.js";
import {
  copyOut,
  dumpArchive,
  dumpArchiveToFile,
  findBlock,
  parseInPieces,
  sha256,
  tapArchive,
} from "../helpers/pg-archive.js";
import { startCluster, type Cluster } from "../helpers/postgres-cluster.js";

const DB = "archive_src";
const TWIN = "archive_twin";

let cluster: Cluster;
let archive: Buffer;
let summary: ArchiveSummary;

function quoted(table: { schema: string | null; table: string | null }): string {
  const q = (name: string | null) => `"${(name ?? "").replaceAll('"', '""')}"`;
  return `${q(table.schema)}.${q(table.table)}`;
}

function byName(result: ArchiveSummary, name: string): TableSummary {
  const found = result.tables.find((table) => `${table.schema}.${table.table}` === name);
  assert.ok(found, `no TABLE DATA for ${name} in ${result.tables.map((t) => t.table).join(", ")}`);
  return found;
}

async function countOnly(database: string, table: TableSummary): Promise<number> {
  const [row] = await cluster.sql<{ n: string }>(database, `SELECT count(*) AS n FROM ONLY ${quoted(table)}`);
  return Number(row!.n);
}

/** Every table's rows match count(*) (ONLY: an inheritance parent's data is its own rows). */
async function assertCountsMatch(database: string, result: ArchiveSummary): Promise<void> {
  assert.ok(result.tables.length > 0);
  for (const table of result.tables) {
    assert.equal(table.rows, await countOnly(database, table), `rows of ${table.schema}.${table.table}`);
  }
}

async function largeObjectDigest(
  database: string,
): Promise<{ count: number; bytes: number; sha256: string }> {
  const rows = await cluster.sql<{ oid: string; n: number; h: string }>(
    database,
    `SELECT oid::text AS oid, length(lo_get(oid)) AS n, encode(sha256(lo_get(oid)), 'hex') AS h
       FROM pg_largeobject_metadata ORDER BY oid`,
  );
  const lines = rows.map((row) => `${row.oid} ${row.n} ${row.h}\n`).join("");
  return { count: rows.length, bytes: rows.reduce((sum, row) => sum + row.n, 0), sha256: sha256(lines) };
}

before(async () => {
  cluster = await startCluster();
  await cluster.createDatabase(DB);
  await cluster.sql(
    DB,
    `CREATE TABLE public.texts (id int PRIMARY KEY, body text, raw bytea);
     INSERT INTO public.texts VALUES
       (1, E'line one\\nline two', '\\x00010203ff'::bytea),
       (2, E'tab\\there', NULL),
       (3, E'back\\\\slash \\\\. and \\\\N', ''::bytea),
       (4, 'unicode: żółw 🐢 日本語', '\\x0a0d5c'::bytea),
       (5, E'\\\\.', NULL),
       (6, '', NULL),
       (7, NULL, NULL),
       (8, E'ends with a newline\\n', NULL),
       (9, E'carriage\\rreturn', NULL),
       (10, 'paren ( ; ) '' quote "double"', '\\x28293b27'::bytea);
     CREATE TABLE public.empty_table (id int);
     CREATE TABLE public.no_columns ();
     INSERT INTO public.no_columns DEFAULT VALUES;
     INSERT INTO public.no_columns DEFAULT VALUES;
     INSERT INTO public.no_columns DEFAULT VALUES;
     CREATE TABLE public.measurements (id int, at date, v text) PARTITION BY RANGE (at);
     CREATE TABLE public.measurements_2025 PARTITION OF public.measurements
       FOR VALUES FROM ('2025-01-01') TO ('2026-01-01');
     CREATE TABLE public.measurements_2026 PARTITION OF public.measurements
       FOR VALUES FROM ('2026-01-01') TO ('2027-01-01');
     INSERT INTO public.measurements
       SELECT i, date '2025-01-01' + (i % 700), 'm' || i FROM generate_series(1, 5000) i;
     CREATE TABLE public.animals (id int, name text);
     CREATE TABLE public.dogs (breed text) INHERITS (public.animals);
     INSERT INTO public.animals VALUES (1, 'generic'), (2, 'other');
     INSERT INTO public.dogs VALUES (3, 'rex', 'collie'), (4, 'fido', 'pug'), (5, 'spot', 'mutt');
     CREATE TABLE public.ident (id int GENERATED ALWAYS AS IDENTITY, v text);
     INSERT INTO public.ident (v) VALUES ('a'), ('b');
     CREATE SCHEMA "Odd Schema";
     CREATE TABLE "Odd Schema"."Mixed Case" (id int, "quoted (col)" text);
     INSERT INTO "Odd Schema"."Mixed Case" VALUES (1, 'x'), (2, 'y'), (3, 'z');
     CREATE TABLE public.big (id int, payload text);
     INSERT INTO public.big SELECT i, repeat(md5(i::text), 1 + i % 5) FROM generate_series(1, 100000) i;
     CREATE MATERIALIZED VIEW public.texts_view AS SELECT id, body FROM public.texts;
     CREATE UNLOGGED TABLE public.scratch (id int);
     INSERT INTO public.scratch VALUES (1), (2);
     CREATE SEQUENCE public.counter;
     SELECT nextval('public.counter');
     SELECT lo_from_bytea(0, 'first large object');
     SELECT lo_from_bytea(0, ''::bytea);
     SELECT lo_from_bytea(0, decode(repeat('ab', 40000), 'hex'));`,
  );
  await cluster.sql("postgres", `CREATE DATABASE ${TWIN} TEMPLATE ${DB}`);
  archive = await dumpArchive(cluster, DB);
  summary = (await tapArchive(archive)).summary;
});

after(async () => {
  await cluster?.stop();
});

describe("a pg_dump 15 -Fc -Z0 archive", () => {
  test("header: version 1.14, 4-byte ints, no compression, the database and versions", () => {
    assert.equal(summary.archiveVersion, "1.14.0");
    assert.equal(summary.header.intSize, 4);
    assert.deepEqual(summary.header.compression, { algorithm: "none", level: 0 });
    assert.equal(summary.header.database, DB);
    assert.match(summary.header.pgDumpVersion ?? "", /^15\./);
    assert.match(summary.header.created ?? "", /^\d{4}-\d\d-\d\d \d\d:\d\d:\d\d$/);
    assert.equal(summary.archiveBytes, archive.length);
    assert.equal(summary.dataScanned, true);
  });

  test("rows equal count(*) for every table, text with escapes, bytea, empty and columnless ones", async () => {
    await assertCountsMatch(DB, summary);
    assert.equal(byName(summary, "public.texts").rows, 10);
    assert.equal(byName(summary, "public.empty_table").rows, 0);
    assert.equal(byName(summary, "public.empty_table").bytes, 0);
    assert.equal(byName(summary, "public.no_columns").rows, 3);
    assert.equal(byName(summary, "public.big").rows, 100_000);
    assert.equal(byName(summary, "Odd Schema.Mixed Case").rows, 3);
    // pg_dump 15 ends each table's COPY data with "\.": not a row, not in the digest.
    assert.ok(summary.tables.every((table) => table.endMarker && table.format === "copy"));
  });

  test("each table's sha256 and bytes are those of COPY ... TO STDOUT", async () => {
    for (const table of summary.tables) {
      const copied = await copyOut(cluster, DB, quoted(table));
      assert.equal(table.bytes, copied.length, `bytes of ${table.table}`);
      assert.equal(table.sha256, sha256(copied), `sha256 of ${table.table}`);
    }
  });

  test("partitions have their own data entries, the partitioned parent none; inheritance parent holds only its rows", () => {
    const names = summary.tables.map((table) => table.table);
    assert.ok(names.includes("measurements_2025") && names.includes("measurements_2026"));
    assert.ok(!names.includes("measurements"));
    assert.ok(summary.toc.some((entry) => entry.desc === "TABLE" && entry.tag === "measurements"));
    const partitions =
      byName(summary, "public.measurements_2025").rows + byName(summary, "public.measurements_2026").rows;
    assert.equal(partitions, 5000);
    assert.equal(byName(summary, "public.animals").rows, 2);
    assert.equal(byName(summary, "public.dogs").rows, 3);
  });

  test("entries without a data block (materialized view data, sequence values) are not missing data", () => {
    const kinds = new Set(
      summary.toc.filter((entry) => entry.dataState !== "none").map((entry) => entry.desc),
    );
    assert.deepEqual([...kinds].sort(), ["BLOBS", "TABLE DATA"]);
    assert.ok(
      summary.toc.some((entry) => entry.desc === "MATERIALIZED VIEW DATA" && entry.dataState === "none"),
    );
    assert.ok(summary.toc.some((entry) => entry.desc === "SEQUENCE SET" && entry.dataState === "none"));
    assert.equal(byName(summary, "public.scratch").rows, 2);
  });

  test("large objects: counted (the empty one too), their bytes, and a digest the database reproduces", async () => {
    const expected = await largeObjectDigest(DB);
    assert.equal(expected.count, 3);
    assert.deepEqual(
      {
        count: summary.largeObjects.count,
        bytes: summary.largeObjects.bytes,
        sha256: summary.largeObjects.sha256,
      },
      expected,
    );
    assert.equal(summary.largeObjects.blocks, 1);
  });

  test("the TOC: TABLE DATA entries depend on their TABLE, carry no offset on a pipe, and name owner and schema", () => {
    const data = summary.toc.find((entry) => entry.desc === "TABLE DATA" && entry.tag === "texts")!;
    const table = summary.toc.find((entry) => entry.desc === "TABLE" && entry.tag === "texts")!;
    assert.deepEqual(data.dependencies, [table.dumpId]);
    assert.equal(data.dataState, "not-set");
    assert.equal(data.section, "data");
    assert.equal(data.namespace, "public");
    assert.equal(data.owner, "postgres");
    assert.equal(table.dataState, "none");
    assert.equal(table.tableAccessMethod, "heap");
    assert.match(data.copyStatement ?? "", /^COPY public\.texts \(id, body, raw\) FROM stdin;/);
  });

  test("the tap passes every byte through unchanged", async () => {
    const { output } = await tapArchive(archive, 4096);
    assert.ok(output.equals(archive));
  });

  test("the result does not depend on how the stream is cut into chunks", () => {
    const strip = (result: ArchiveSummary) => ({ ...result, header: { ...result.header } });
    const pieces = parseInPieces(archive, [1, 2, 3, 5, 4099, 7]);
    assert.deepEqual(strip(pieces), strip(summary));
  });
});

describe("dump options", () => {
  test("written to a file: the TOC records each block's offset, and the data reads the same", async () => {
    const file = await dumpArchiveToFile(cluster, DB);
    const { summary: result } = await tapArchive(file);
    const withData = result.toc.filter((entry) => entry.dataState !== "none");
    assert.ok(withData.length > 0);
    for (const entry of withData) {
      assert.equal(entry.dataState, "set");
      assert.equal(entry.dataOffset, findBlock(file, entry.dumpId, entry.desc === "BLOBS" ? 3 : 1));
    }
    const digests = (tables: TableSummary[]) =>
      tables.map((table) => [table.table, table.rows, table.sha256]);
    assert.deepEqual(digests(result.tables), digests(summary.tables));
  });

  test("--schema-only: TOC only, no tables, no error", async () => {
    const { summary: result } = await tapArchive(await dumpArchive(cluster, DB, ["--schema-only"]));
    assert.deepEqual(result.tables, []);
    assert.equal(result.largeObjects.count, 0);
    assert.ok(result.toc.some((entry) => entry.desc === "TABLE" && entry.tag === "big"));
    assert.ok(!result.toc.some((entry) => entry.desc === "TABLE DATA"));
  });

  test("--data-only: the data entries without their tables, counts right", async () => {
    const { summary: result } = await tapArchive(await dumpArchive(cluster, DB, ["--data-only"]));
    assert.ok(!result.toc.some((entry) => entry.desc === "TABLE"));
    await assertCountsMatch(DB, result);
    assert.equal(result.largeObjects.count, 3);
  });

  test("--exclude-table-data: that table has no data entry; the others are whole", async () => {
    const { summary: result } = await tapArchive(
      await dumpArchive(cluster, DB, ["--exclude-table-data=public.big"]),
    );
    assert.ok(!result.tables.some((table) => table.table === "big"));
    assert.ok(result.toc.some((entry) => entry.desc === "TABLE" && entry.tag === "big"));
    await assertCountsMatch(DB, result);
  });

  for (const options of [["--inserts"], ["--column-inserts"], ["--inserts", "--rows-per-insert=7"]]) {
    test(`${options.join(" ")}: rows counted from the INSERT statements`, async () => {
      const { summary: result } = await tapArchive(await dumpArchive(cluster, DB, options));
      assert.ok(result.tables.every((table) => table.format === "inserts" && table.copyStatement === null));
      await assertCountsMatch(DB, result);
      const big = byName(result, "public.big");
      assert.equal(
        big.statements,
        options.includes("--rows-per-insert=7") ? Math.ceil(100_000 / 7) : 100_000,
      );
    });
  }

  test("--load-via-partition-root: still one entry per partition, its COPY aimed at the root", async () => {
    const { summary: result } = await tapArchive(
      await dumpArchive(cluster, DB, ["--load-via-partition-root"]),
    );
    const partition = byName(result, "public.measurements_2026");
    assert.match(partition.copyStatement ?? "", /^COPY public\.measurements /);
    await assertCountsMatch(DB, result);
    assert.equal(partition.sha256, byName(summary, "public.measurements_2026").sha256);
  });

  test("-Z1: compressed data is detected and refused, naming -Z0; toc-only mode still reads the TOC", async () => {
    const compressed = await dumpArchive(cluster, DB, ["-Z1"]);
    await assert.rejects(tapArchive(compressed), (error: Error) => {
      assert.ok(error instanceof ArchiveUnsupportedError);
      assert.match(error.message, /compressed inside the archive \(gzip, level 1\).*-Z0/);
      return true;
    });
    const parser = new ArchiveParser({ compressed: "toc-only" });
    parser.write(compressed);
    const result = parser.end();
    assert.equal(result.dataScanned, false);
    assert.deepEqual(result.tables, []);
    assert.equal(result.toc.filter((entry) => entry.desc === "TABLE DATA").length, summary.tables.length);
  });
});

describe("what the digest means", () => {
  test("content-identical databases give equal digests; one changed row changes only that table's", async () => {
    const twin = (await tapArchive(await dumpArchive(cluster, TWIN))).summary;
    const digests = (result: ArchiveSummary) =>
      Object.fromEntries(result.tables.map((table) => [`${table.schema}.${table.table}`, table.sha256]));
    assert.deepEqual(digests(twin), digests(summary));

    await cluster.sql(TWIN, "UPDATE public.texts SET body = 'changed' WHERE id = 6");
    const changed = digests((await tapArchive(await dumpArchive(cluster, TWIN))).summary);
    const original = digests(summary);
    const differing = Object.keys(original).filter((name) => original[name] !== changed[name]);
    assert.deepEqual(differing, ["public.texts"]);
  });
});

describe("damaged archives", () => {
  function entryId(tag: string, desc = "TABLE DATA"): number {
    return summary.toc.find((entry) => entry.tag === tag && entry.desc === desc)!.dumpId;
  }

  async function assertTruncated(bytes: Buffer, pattern: RegExp): Promise<void> {
    await assert.rejects(tapArchive(bytes), (error: Error) => {
      assert.ok(error instanceof ArchiveTruncatedError, `${error.name}: ${error.message}`);
      assert.match(error.message, pattern);
      return true;
    });
  }

  test("cut inside the header, inside the TOC, inside a chunk, at a chunk length, between blocks", async () => {
    const bigBlock = findBlock(archive, entryId("big"));
    const lastBlock = Math.max(
      ...summary.toc
        .filter((e) => e.dataState !== "none")
        .map((e) => findBlock(archive, e.dumpId, e.desc === "BLOBS" ? 3 : 1)),
    );
    await assertTruncated(archive.subarray(0, 0), /before the header \(empty stream\)/);
    await assertTruncated(archive.subarray(0, 9), /inside the header/);
    await assertTruncated(archive.subarray(0, 2000), /inside TOC entry \d+ of \d+/);
    await assertTruncated(
      archive.subarray(0, bigBlock + 5000),
      /inside the data of TABLE DATA public\.big \(dump id \d+\), \d+ of a \d+-byte chunk read/,
    );
    await assertTruncated(
      archive.subarray(0, bigBlock + 8),
      /inside the data of TABLE DATA public\.big .*at a chunk length/,
    );
    await assertTruncated(archive.subarray(0, bigBlock + 3), /in the header of the data block/);
    await assertTruncated(archive.subarray(0, lastBlock), /ended before the data of 1 TOC entry/);
    await assertTruncated(archive.subarray(0, archive.length - 1), /truncated/);
  });

  test("cut inside the large objects names the large object", async () => {
    const blobs = findBlock(archive, entryId("BLOBS", "BLOBS"), 3);
    await assertTruncated(archive.subarray(0, blobs + 30), /large object \d+/);
  });

  test("a chunk length made shorter or longer is an error, not a summary", async () => {
    const lengthAt = findBlock(archive, entryId("big")) + 6;
    const original = archive.readUInt32LE(lengthAt + 1);
    const shorter = Buffer.from(archive);
    shorter.writeUInt32LE(original - 3, lengthAt + 1);
    assert.throws(() => parseInPieces(shorter, [65536]), ArchiveFormatError);
    const longer = Buffer.from(archive);
    longer.writeUInt32LE(original + 1000, lengthAt + 1);
    assert.throws(() => parseInPieces(longer, [65536]), ArchiveFormatError);
    const negative = Buffer.from(archive);
    negative[lengthAt] = 1;
    assert.throws(() => parseInPieces(negative, [65536]), /bad chunk length \(sign byte 1\).*corrupt/);
  });

  test("a data block for a dump id the TOC does not list is an error", () => {
    const block = findBlock(archive, entryId("texts"));
    const bad = Buffer.from(archive);
    bad.writeUInt32LE(999_999, block + 2);
    assert.throws(() => parseInPieces(bad, [65536]), /dump id 999999, which the TOC does not list/);
  });

  test("a tap destroyed before the end rejects its summary rather than leaving it pending", async () => {
    const tap = createArchiveTap();
    const source = new PassThrough();
    source.pipe(tap.stream);
    source.write(archive.subarray(0, 100_000));
    tap.stream.destroy();
    await assert.rejects(tap.summary, /closed before the archive ended/);
  });

  test("not an archive at all", () => {
    assert.throws(
      () => parseInPieces(Buffer.from("-- PostgreSQL database dump\n".repeat(100)), [65536]),
      /no PGDMP magic/,
    );
  });
});
