/**
 * The header and table of contents of a pg_dump custom-format archive, read from the front of the
 * stream. Layout as PostgreSQL's src/bin/pg_dump/pg_backup_archiver.c writes it (WriteHead,
 * WriteToc, WriteInt, WriteStr, WriteOffset) and pg_backup_custom.c (_WriteExtraToc); the version
 * gates are the ones ReadHead and ReadToc apply. README.md in this folder has the summary.
 */
import { ArchiveFormatError, ArchiveUnsupportedError } from "./errors.js";
import { decodeUtf8, decoderFor, encodingOfStatement, type TextDecoderFn } from "./text-encoding.js";

/** MAKE_ARCHIVE_VERSION in pg_backup_archiver.h. */
export function archiveVersion(major: number, minor: number, revision = 0): number {
  return (major * 256 + minor) * 256 + revision;
}

const K_VERS_1_3 = archiveVersion(1, 3); // copyStmt in TOC entries
const K_VERS_1_5 = archiveVersion(1, 5); // dependencies
const K_VERS_1_6 = archiveVersion(1, 6); // namespace
const K_VERS_1_7 = archiveVersion(1, 7); // offSize in the header, offsets with a flag byte
const K_VERS_1_8 = archiveVersion(1, 8); // catalog tableoid
const K_VERS_1_9 = archiveVersion(1, 9); // with-oids flag
const K_VERS_1_10 = archiveVersion(1, 10); // tablespace; server and pg_dump versions in the header
const K_VERS_1_11 = archiveVersion(1, 11); // section
const K_VERS_1_14 = archiveVersion(1, 14); // table access method
const K_VERS_1_15 = archiveVersion(1, 15); // compression algorithm byte instead of a level
const K_VERS_1_16 = archiveVersion(1, 16); // relkind; BLOB METADATA and several BLOBS entries

/** Oldest and newest versions this reader accepts: PostgreSQL 8.0's pg_dump to 17/18's. */
export const OLDEST_READABLE = K_VERS_1_10;
export const NEWEST_READABLE = archiveVersion(1, 16, 255);

/** Data block types (pg_backup_archiver.h); BLK_BLOB (2) was never written by a custom archive since 7.x. */
export const BLK_DATA = 1;
export const BLK_BLOBS = 3;

/** ArchiveFormat in pg_backup.h: archCustom. The directory format's toc.dat carries 5. */
const FORMAT_CUSTOM = 1;

/** K_OFFSET_* flags of a TOC entry's data position. */
export type DataState = "not-set" | "set" | "none";
const DATA_STATES: Record<number, DataState> = { 1: "not-set", 2: "set", 3: "none" };

const SECTIONS: Record<number, TocSection> = { 1: "none", 2: "pre-data", 3: "data", 4: "post-data" };
export type TocSection = "none" | "pre-data" | "data" | "post-data";

/** pg_compress_algorithm (PostgreSQL 16+ header byte); before 1.15 a nonzero level meant gzip. */
export type CompressionAlgorithm = "none" | "gzip" | "lz4" | "zstd";
const ALGORITHMS: CompressionAlgorithm[] = ["none", "gzip", "lz4", "zstd"];

export interface ArchiveHeader {
  /** "1.14.0": the archive format version (pg_dump 15 writes 1.14, 16 writes 1.15, 17+ 1.16). */
  version: string;
  versionNumber: number;
  intSize: number;
  offSize: number;
  compression: { algorithm: CompressionAlgorithm; level: number | null };
  /** Creation time as pg_dump's local clock showed it ("YYYY-MM-DD HH:MM:SS", no zone). */
  created: string | null;
  database: string | null;
  serverVersion: string | null;
  pgDumpVersion: string | null;
}

export interface TocEntry {
  dumpId: number;
  hadDumper: boolean;
  tableOid: number;
  oid: number;
  tag: string | null;
  desc: string | null;
  section: TocSection;
  namespace: string | null;
  tablespace: string | null;
  tableAccessMethod: string | null;
  /** pg_class.relkind as a character code, 1.16+ only. */
  relkind: number | null;
  owner: string | null;
  /** The COPY statement a restore runs; null for --inserts data and non-table entries. */
  copyStatement: string | null;
  dependencies: number[];
  dataState: DataState;
  /** The data block's byte offset, when pg_dump could seek back and record it (never on a pipe). */
  dataOffset: number | null;
}

/** Thrown by the cursor when the bytes so far end mid-field; the caller retries with more. */
export class NeedMoreBytes extends Error {
  constructor(readonly where: string) {
    super(`need more bytes: ${where}`);
  }
}

/** Strings longer than this in a header or TOC are taken as corruption rather than buffered. */
const MAX_TOC_STRING = 256 * 1024 * 1024;
const MAX_TOC_ENTRIES = 50_000_000;

/** Reads the archive's integer and string encodings from one buffer, front to back. */
export class ArchiveCursor {
  offset = 0;
  where = "the header";
  versionNumber = 0;
  intSize = 4;
  offSize = 8;
  /** How strings read: UTF-8 until the TOC's ENCODING entry names the dumped database's encoding. */
  decode: TextDecoderFn = decodeUtf8;
  /** That encoding, once read ("LATIN1"). */
  encoding: string | null = null;

  constructor(private readonly bytes: Buffer) {}

  byte(): number {
    if (this.offset >= this.bytes.length) throw new NeedMoreBytes(this.where);
    return this.bytes[this.offset++]!;
  }

  take(length: number): Buffer {
    if (this.offset + length > this.bytes.length) throw new NeedMoreBytes(this.where);
    const slice = this.bytes.subarray(this.offset, this.offset + length);
    this.offset += length;
    return slice;
  }

  /** WriteInt: a sign byte (from 1.1 on), then intSize bytes, least significant first. */
  int(): number {
    const sign = this.versionNumber > archiveVersion(1, 0) ? this.byte() : 0;
    let value = 0;
    let scale = 1;
    for (let i = 0; i < this.intSize; i++) {
      value += this.byte() * scale;
      scale *= 256;
    }
    if (sign > 1)
      throw new ArchiveFormatError(`pg_dump archive: bad integer sign byte ${sign} in ${this.where}`);
    return sign === 1 ? -value : value;
  }

  /** WriteStr: an int length, -1 for NULL, then the bytes (no terminator). */
  string(): string | null {
    const length = this.int();
    if (length < 0) return null;
    if (length > MAX_TOC_STRING) {
      throw new ArchiveFormatError(`pg_dump archive: implausible string length ${length} in ${this.where}`);
    }
    return this.decode(this.take(length));
  }

  /** Like string() for fields we do not keep (definitions can be large): skips the bytes. */
  skipString(): void {
    const length = this.int();
    if (length > MAX_TOC_STRING) {
      throw new ArchiveFormatError(`pg_dump archive: implausible string length ${length} in ${this.where}`);
    }
    if (length > 0) this.take(length);
  }

  /** WriteOffset: from 1.7 a flag byte then offSize bytes; before, an int (-1 unset, 0 no data). */
  dataPosition(): { state: DataState; offset: number | null } {
    if (this.versionNumber < K_VERS_1_7) {
      const value = this.int();
      if (value < 0) return { state: "not-set", offset: null };
      if (value === 0) return { state: "none", offset: null };
      return { state: "set", offset: value };
    }
    const flag = this.byte();
    const state = DATA_STATES[flag];
    if (!state)
      throw new ArchiveFormatError(`pg_dump archive: unexpected data offset flag ${flag} in ${this.where}`);
    let offset = 0;
    let scale = 1;
    for (let i = 0; i < this.offSize; i++) {
      offset += this.byte() * scale;
      scale *= 256;
    }
    return { state, offset: state === "set" ? offset : null };
  }
}

/** ReadHead. The cursor learns the version and integer sizes it needs for everything after. */
export function readHeader(cursor: ArchiveCursor): ArchiveHeader {
  cursor.where = "the header";
  const magic = cursor.take(5).toString("latin1");
  if (magic !== "PGDMP") {
    throw new ArchiveFormatError(
      "pg_dump archive: no PGDMP magic at the start: not a custom-format archive (pg_dump -Fc)",
    );
  }
  const major = cursor.byte();
  const minor = cursor.byte();
  const revision = major > 1 || (major === 1 && minor > 0) ? cursor.byte() : 0;
  const versionNumber = archiveVersion(major, minor, revision);
  const version = `${major}.${minor}.${revision}`;
  if (versionNumber < OLDEST_READABLE) {
    throw new ArchiveUnsupportedError(
      `pg_dump archive version ${version} is older than this reader supports (1.10, PostgreSQL 8.0)`,
    );
  }
  if (versionNumber > NEWEST_READABLE) {
    throw new ArchiveUnsupportedError(
      `pg_dump archive version ${version} is newer than this reader knows (up to 1.16, PostgreSQL 17 and 18)`,
    );
  }
  cursor.versionNumber = versionNumber;
  const intSize = cursor.byte();
  // Our integer reader is exact up to 6 bytes and pg_dump has only ever used sizeof(int) = 4.
  if (intSize < 1 || intSize > 6) {
    throw new ArchiveUnsupportedError(
      `pg_dump archive: integer size ${intSize} is not supported (expected 4)`,
    );
  }
  cursor.intSize = intSize;
  const offSize = versionNumber >= K_VERS_1_7 ? cursor.byte() : intSize;
  if (offSize < 1 || offSize > 16) {
    throw new ArchiveFormatError(`pg_dump archive: offset size ${offSize} is out of range`);
  }
  cursor.offSize = offSize;
  const format = cursor.byte();
  if (format !== FORMAT_CUSTOM) {
    throw new ArchiveUnsupportedError(
      `pg_dump archive format byte is ${format}, expected ${FORMAT_CUSTOM} (custom, pg_dump -Fc)`,
    );
  }
  let compression: ArchiveHeader["compression"];
  if (versionNumber >= K_VERS_1_15) {
    const code = cursor.byte();
    const algorithm = ALGORITHMS[code];
    if (!algorithm)
      throw new ArchiveUnsupportedError(`pg_dump archive: unknown compression algorithm ${code}`);
    compression = { algorithm, level: null };
  } else {
    // 1.10 to 1.14 store a zlib level (-1 is zlib's default); any nonzero level means gzip.
    const level = cursor.int();
    compression = { algorithm: level === 0 ? "none" : "gzip", level };
  }
  const parts = [0, 0, 0, 0, 0, 0, 0].map(() => cursor.int());
  const [sec, min, hour, mday, mon, year] = parts as [number, number, number, number, number, number];
  const pad = (value: number) => String(value).padStart(2, "0");
  const created = `${1900 + year}-${pad(mon + 1)}-${pad(mday)} ${pad(hour)}:${pad(min)}:${pad(sec)}`;
  const database = cursor.string();
  const serverVersion = cursor.string();
  const pgDumpVersion = cursor.string();
  return {
    version,
    versionNumber,
    intSize,
    offSize,
    compression,
    created,
    database,
    serverVersion,
    pgDumpVersion,
  };
}

/** ReadToc plus the custom format's per-entry data position (_ReadExtraToc). */
export function readToc(cursor: ArchiveCursor): TocEntry[] {
  const version = cursor.versionNumber;
  cursor.where = "the TOC entry count";
  const count = cursor.int();
  if (count < 0 || count > MAX_TOC_ENTRIES) {
    throw new ArchiveFormatError(`pg_dump archive: implausible TOC entry count ${count}`);
  }
  const entries: TocEntry[] = [];
  for (let index = 0; index < count; index++) {
    cursor.where = `TOC entry ${index + 1} of ${count}`;
    const dumpId = cursor.int();
    if (dumpId <= 0) throw new ArchiveFormatError(`pg_dump archive: dump id ${dumpId} in ${cursor.where}`);
    const hadDumper = cursor.int() !== 0;
    const tableOid = version >= K_VERS_1_8 ? Number(cursor.string() ?? "0") : 0;
    const oid = Number(cursor.string() ?? "0");
    const tag = cursor.string();
    const desc = cursor.string();
    const section = version >= K_VERS_1_11 ? SECTIONS[cursor.int()] : inferSection(desc);
    if (!section) throw new ArchiveFormatError(`pg_dump archive: unknown section in ${cursor.where}`);
    // pg_dump writes the ENCODING entry first: every name after it is in that encoding.
    if (desc === "ENCODING") {
      const encoding = encodingOfStatement(cursor.string() ?? "");
      if (encoding) {
        cursor.encoding = encoding;
        cursor.decode = decoderFor(encoding);
      }
    } else cursor.skipString(); // defn
    cursor.skipString(); // dropStmt
    const copyStatement = version >= K_VERS_1_3 ? cursor.string() : null;
    const namespace = version >= K_VERS_1_6 ? cursor.string() : null;
    const tablespace = version >= K_VERS_1_10 ? cursor.string() : null;
    const tableAccessMethod = version >= K_VERS_1_14 ? cursor.string() : null;
    const relkind = version >= K_VERS_1_16 ? cursor.int() : null;
    const owner = cursor.string();
    if (version >= K_VERS_1_9) cursor.skipString(); // "true" once meant WITH OIDS
    const dependencies: number[] = [];
    if (version >= K_VERS_1_5) {
      for (;;) {
        const dependency = cursor.string();
        if (dependency === null) break;
        dependencies.push(Number(dependency));
      }
    }
    const position = cursor.dataPosition();
    entries.push({
      dumpId,
      hadDumper,
      tableOid,
      oid,
      tag,
      desc,
      section,
      namespace,
      tablespace,
      tableAccessMethod,
      relkind,
      owner,
      copyStatement: copyStatement === "" ? null : copyStatement,
      dependencies,
      dataState: position.state,
      dataOffset: position.offset,
    });
  }
  return entries;
}

/** Archives before 1.11 (PostgreSQL 8.4) carry no section; ReadToc infers it from the type. */
function inferSection(desc: string | null): TocSection {
  switch (desc) {
    case "COMMENT":
    case "ACL":
    case "ACL LANGUAGE":
      return "none";
    case "TABLE DATA":
    case "BLOBS":
    case "BLOB COMMENTS":
      return "data";
    case "CONSTRAINT":
    case "CHECK CONSTRAINT":
    case "FK CONSTRAINT":
    case "INDEX":
    case "RULE":
    case "TRIGGER":
      return "post-data";
    default:
      return "pre-data";
  }
}

/**
 * The dumped database's encoding from the front of an archive: a string once the ENCODING entry
 * (pg_dump writes it first) is in `bytes`; undefined while more bytes may bring it; null when the
 * archive has none or does not read.
 */
export function archiveEncoding(bytes: Buffer): string | null | undefined {
  const cursor = new ArchiveCursor(bytes);
  try {
    readHeader(cursor);
    readToc(cursor);
  } catch (error) {
    if (cursor.encoding !== null) return cursor.encoding;
    return error instanceof NeedMoreBytes ? undefined : null;
  }
  return cursor.encoding;
}
