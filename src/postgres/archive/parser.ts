/**
 * A streaming reader of pg_dump's custom-format archive: write() it the bytes as they come, end()
 * returns what the archive holds (TOC, per-table rows, bytes and sha256, large objects).
 *
 * On a pipe pg_dump writes the header and the whole TOC first, then one data block per TABLE DATA
 * or BLOBS entry, and nothing after the last block (pg_backup_custom.c _CloseArchive rewrites the
 * TOC only when it can seek). A data block (_StartData / _StartLOs, _EndData / _EndLOs) is
 *   BLK_DATA  (1 byte) dumpId (int)  { length (int) bytes }*  0 (int)
 *   BLK_BLOBS (1 byte) dumpId (int)  { oid (int) { length (int) bytes }* 0 (int) }*  0 (int)
 * where with compression "none" the bytes are the dump's own (COPY text, INSERT statements, large
 * object contents); otherwise they are a compressed stream this reader does not open.
 *
 * Only the header and TOC are buffered (until they parse); after that the state is the current
 * block's, and each table's bytes are hashed as they pass.
 */
import { LargeObjectDigester, TableDigester, type LargeObjectsDigest, type TableDigest } from "./digests.js";
import { ArchiveFormatError, ArchiveTruncatedError, ArchiveUnsupportedError } from "./errors.js";
import {
  ArchiveCursor,
  BLK_BLOBS,
  BLK_DATA,
  NeedMoreBytes,
  readHeader,
  readToc,
  type ArchiveHeader,
  type TocEntry,
} from "./format.js";

export interface ArchiveParserOptions {
  /**
   * What to do when the archive's data is compressed inside it (pg_dump without -Z0): "reject"
   * (the default) fails at the header, since rows cannot be counted; "toc-only" reads the header
   * and TOC and passes over the data unread.
   */
  compressed?: "reject" | "toc-only";
  /** Staging buffer per table (bytes hashed and scanned at a time). */
  stageBytes?: number;
}

export interface TableSummary extends TableDigest {
  dumpId: number;
  schema: string | null;
  table: string | null;
  /** "copy" (COPY text) or "inserts" (--inserts / --column-inserts SQL). */
  format: "copy" | "inserts";
  /** The statement a restore loads this data with: names the partition root under --load-via-partition-root. */
  copyStatement: string | null;
}

export interface ArchiveSummary {
  /** The archive format version, e.g. "1.14.0" for pg_dump 15. */
  archiveVersion: string;
  header: ArchiveHeader;
  toc: TocEntry[];
  /** One per TABLE DATA block, in archive order. Empty when the data was not scanned. */
  tables: TableSummary[];
  largeObjects: LargeObjectsDigest & { blocks: number };
  /** False when a compressed archive was read with compressed: "toc-only". */
  dataScanned: boolean;
  /** All bytes the archive stream carried. */
  archiveBytes: number;
}

const enum Phase {
  Head,
  Data,
  Skip,
  Done,
}

const enum Step {
  BlockType,
  Int,
  Body,
}

const enum IntFor {
  BlockId,
  ChunkLength,
  LargeObjectOid,
}

const FIRST_ATTEMPT_BYTES = 64 * 1024;

export class ArchiveParser {
  private phase = Phase.Head;
  private readonly options: Required<ArchiveParserOptions>;
  private total = 0;

  // Header and TOC, until they parse.
  private pending: Buffer[] = [];
  private pendingBytes = 0;
  private nextAttemptAt = FIRST_ATTEMPT_BYTES;
  private header: ArchiveHeader | null = null;
  private toc: TocEntry[] = [];
  private byId = new Map<number, TocEntry>();

  // Data blocks.
  private stage: Buffer | null = null;
  private intWidth = 5;
  private step = Step.BlockType;
  private intFor = IntFor.BlockId;
  private intBytes: number[] = [];
  private remaining = 0;
  private chunkLength = 0;
  private blockType = 0;
  private blockStart = 0;
  private entry: TocEntry | null = null;
  private table: TableDigester | null = null;
  private readonly largeObjects = new LargeObjectDigester();
  private largeObjectBlocks = 0;
  private inLargeObject = false;
  private readonly seen = new Set<number>();
  private readonly tables: TableSummary[] = [];
  private tablesWithData: number | undefined;
  private viewBuffer: Buffer | null = null;
  private view: DataView | null = null;
  /** Archive offset of the first byte of the buffer being scanned. */
  private base = 0;

  constructor(options: ArchiveParserOptions = {}) {
    this.options = {
      compressed: options.compressed ?? "reject",
      stageBytes: options.stageBytes ?? 256 * 1024,
    };
  }

  write(chunk: Buffer): void {
    if (chunk.length === 0) return;
    this.total += chunk.length;
    switch (this.phase) {
      case Phase.Head:
        // Copied: the header and TOC may need several chunks, and a writer may reuse a chunk
        // once write() returned (the backup's pg_dump pipe does).
        this.pending.push(Buffer.from(chunk));
        this.pendingBytes += chunk.length;
        if (this.pendingBytes >= this.nextAttemptAt) this.tryHead(false);
        return;
      case Phase.Data:
        this.scan(chunk, 0);
        return;
      case Phase.Skip:
        return;
      case Phase.Done:
        throw new ArchiveFormatError("pg_dump archive: bytes written after end()");
    }
  }

  /** For progress lines: TABLE DATA blocks read, of those the TOC lists with data (0 before the TOC). */
  get progress(): { tablesDone: number; tablesTotal: number } {
    this.tablesWithData ??=
      this.phase === Phase.Head
        ? undefined
        : this.toc.filter((entry) => entry.desc === "TABLE DATA" && entry.dataState !== "none").length;
    return { tablesDone: this.tables.length, tablesTotal: this.tablesWithData ?? 0 };
  }

  end(): ArchiveSummary {
    if (this.phase === Phase.Done) throw new ArchiveFormatError("pg_dump archive: end() called twice");
    if (this.phase === Phase.Head) this.tryHead(true);
    if (this.phase === Phase.Data) this.checkComplete();
    this.phase = Phase.Done;
    const header = this.header!;
    return {
      archiveVersion: header.version,
      header,
      toc: this.toc,
      tables: this.tables,
      largeObjects: { ...this.largeObjects.finish(), blocks: this.largeObjectBlocks },
      dataScanned: this.stage !== null,
      archiveBytes: this.total,
    };
  }

  /** Parses header and TOC from what has arrived; when they are complete, moves on to the data. */
  private tryHead(final: boolean): void {
    const bytes = this.pending.length === 1 ? this.pending[0]! : Buffer.concat(this.pending);
    this.pending = [bytes];
    const cursor = new ArchiveCursor(bytes);
    let tocStart = 0;
    try {
      const header = readHeader(cursor);
      if (header.compression.algorithm !== "none" && this.options.compressed === "reject") {
        const level = header.compression.level === null ? "" : `, level ${header.compression.level}`;
        throw new ArchiveUnsupportedError(
          `pg_dump archive data is compressed inside the archive (${header.compression.algorithm}${level}): ` +
            "row counts and table digests need an uncompressed archive (pg_dump -Z0)",
        );
      }
      tocStart = cursor.offset;
      const toc = readToc(cursor);
      this.header = header;
      this.toc = toc;
    } catch (error) {
      if (!(error instanceof NeedMoreBytes)) throw error;
      if (final) {
        const what =
          bytes.length === 0
            ? "before the header (empty stream)"
            : `inside ${error.where}, after ${bytes.length} bytes` +
              (tocStart > 0 ? ` (the TOC starts at byte ${tocStart})` : "");
        throw new ArchiveTruncatedError(`pg_dump archive truncated: the stream ended ${what}`);
      }
      // Retry when the buffered bytes have doubled: linear work overall, however large the TOC.
      this.nextAttemptAt = this.pendingBytes * 2;
      return;
    }
    for (const entry of this.toc) {
      if (this.byId.has(entry.dumpId)) {
        throw new ArchiveFormatError(`pg_dump archive: dump id ${entry.dumpId} appears twice in the TOC`);
      }
      this.byId.set(entry.dumpId, entry);
    }
    this.pending = [];
    if (this.header!.compression.algorithm !== "none") {
      this.phase = Phase.Skip;
      return;
    }
    this.phase = Phase.Data;
    this.stage = Buffer.allocUnsafe(this.options.stageBytes);
    this.intWidth = 1 + this.header!.intSize;
    // The data may start inside the buffer the TOC ended in; offsets count from the archive start.
    this.base = 0;
    this.scan(bytes, cursor.offset);
  }

  /** The data-block state machine over one buffer, from `from`. */
  private scan(buffer: Buffer, from: number): void {
    const length = buffer.length;
    const intWidth = this.intWidth;
    let i = from;
    while (i < length) {
      switch (this.step) {
        case Step.Body: {
          const available = length - i;
          const take = this.remaining < available ? this.remaining : available;
          if (this.blockType === BLK_DATA) this.table!.write(buffer, this.viewOf(buffer), i, i + take);
          else this.largeObjects.write(buffer, i, i + take);
          i += take;
          this.remaining -= take;
          if (this.remaining === 0) {
            this.step = Step.Int;
            this.intFor = IntFor.ChunkLength;
          }
          break;
        }
        case Step.Int: {
          if (
            this.intFor === IntFor.ChunkLength &&
            this.blockType === BLK_DATA &&
            this.intBytes.length === 0 &&
            length - i >= intWidth
          ) {
            i = this.scanChunks(buffer, i);
            break;
          }
          let value: number;
          if (this.intBytes.length === 0 && length - i >= intWidth) {
            value = this.decodeInt(buffer, i, i + this.header!.intSize + 1);
            i += intWidth;
          } else {
            this.intBytes.push(buffer[i++]!);
            if (this.intBytes.length < intWidth) break;
            value = this.decodeInt(Buffer.from(this.intBytes), 0, intWidth);
            this.intBytes = [];
          }
          this.onInt(value);
          break;
        }
        default: {
          this.blockStart = this.base + i;
          const type = buffer[i++]!;
          if (type !== BLK_DATA && type !== BLK_BLOBS) {
            throw new ArchiveFormatError(
              `pg_dump archive: unknown data block type ${type} at byte ${this.blockStart}: the archive is corrupt`,
            );
          }
          this.blockType = type;
          this.step = Step.Int;
          this.intFor = IntFor.BlockId;
        }
      }
    }
    this.base += length;
  }

  /**
   * The hot path: a table's chunks back to back in one buffer (pg_dump 15 -Z0 writes one chunk per
   * row). Returns where it stopped: the table's end, a chunk running past the buffer, or fewer
   * bytes left than an int takes (the general path collects those).
   */
  private scanChunks(buffer: Buffer, i: number): number {
    const length = buffer.length;
    const intWidth = this.intWidth;
    const table = this.table!;
    const view = this.viewOf(buffer);
    while (length - i >= intWidth) {
      if (buffer[i] !== 0) this.decodeInt(buffer, i, i + intWidth); // throws: a length is never negative
      let value: number;
      if (intWidth === 5) {
        value = view.getUint32(i + 1, true);
      } else {
        value = 0;
        let scale = 1;
        for (let k = i + 1; k < i + intWidth; k++) {
          value += buffer[k]! * scale;
          scale *= 256;
        }
      }
      i += intWidth;
      if (value === 0) {
        this.finishTable();
        this.step = Step.BlockType;
        return i;
      }
      if (length - i >= value) {
        table.write(buffer, view, i, i + value);
        i += value;
      } else {
        table.write(buffer, view, i, length);
        this.chunkLength = value;
        this.remaining = value - (length - i);
        this.step = Step.Body;
        return length;
      }
    }
    return i;
  }

  private viewOf(buffer: Buffer): DataView {
    if (this.viewBuffer !== buffer) {
      this.viewBuffer = buffer;
      this.view = new DataView(buffer.buffer, buffer.byteOffset, buffer.length);
    }
    return this.view!;
  }

  /** ReadInt. Every int in a data block (ids, lengths, oids) is non-negative: sign byte 0. */
  private decodeInt(buffer: Buffer, start: number, end: number): number {
    const sign = buffer[start]!;
    if (sign !== 0) {
      throw new ArchiveFormatError(
        `pg_dump archive: bad ${this.intName()} (sign byte ${sign}) ${this.locate()}: the archive is corrupt`,
      );
    }
    let value = 0;
    let scale = 1;
    for (let i = start + 1; i < end; i++) {
      value += buffer[i]! * scale;
      scale *= 256;
    }
    return value;
  }

  private onInt(value: number): void {
    switch (this.intFor) {
      case IntFor.BlockId: {
        const entry = this.byId.get(value);
        const kind = this.blockType === BLK_DATA ? "data" : "large-object";
        if (!entry) {
          throw new ArchiveFormatError(
            `pg_dump archive: ${kind} block at byte ${this.blockStart} is for dump id ${value}, which the TOC does not list`,
          );
        }
        if (this.seen.has(value)) {
          throw new ArchiveFormatError(`pg_dump archive: a second data block for ${describe(entry)}`);
        }
        if (entry.dataState === "none") {
          throw new ArchiveFormatError(
            `pg_dump archive: data block for ${describe(entry)}, which the TOC says has no data`,
          );
        }
        this.seen.add(value);
        this.entry = entry;
        if (this.blockType === BLK_DATA) {
          this.table = new TableDigester(this.stage!, entry.copyStatement ? "copy" : "inserts");
          this.intFor = IntFor.ChunkLength;
        } else {
          this.largeObjectBlocks++;
          this.intFor = IntFor.LargeObjectOid;
        }
        return;
      }
      case IntFor.ChunkLength:
        if (value > 0) {
          this.chunkLength = value;
          this.remaining = value;
          this.step = Step.Body;
          return;
        }
        if (this.blockType === BLK_DATA) {
          this.finishTable();
          this.step = Step.BlockType;
        } else {
          this.largeObjects.end();
          this.inLargeObject = false;
          this.intFor = IntFor.LargeObjectOid;
        }
        return;
      case IntFor.LargeObjectOid:
        if (value === 0) {
          this.entry = null;
          this.step = Step.BlockType;
          return;
        }
        this.largeObjects.start(value);
        this.inLargeObject = true;
        this.intFor = IntFor.ChunkLength;
        return;
    }
  }

  private finishTable(): void {
    const entry = this.entry!;
    const digest = this.table!.finish();
    this.tables.push({
      dumpId: entry.dumpId,
      schema: entry.namespace,
      table: entry.tag,
      format: this.table!.format,
      copyStatement: entry.copyStatement,
      ...digest,
    });
    this.table = null;
    this.entry = null;
  }

  /** At the end of the stream: between blocks, and no entry that has data left without its block. */
  private checkComplete(): void {
    if (this.step !== Step.BlockType) {
      throw new ArchiveTruncatedError(`pg_dump archive truncated: the stream ended ${this.locate()}`);
    }
    const missing = this.toc.filter((entry) => entry.dataState !== "none" && !this.seen.has(entry.dumpId));
    if (missing.length > 0) {
      throw new ArchiveTruncatedError(
        `pg_dump archive truncated: the stream ended before the data of ${missing.length} TOC ` +
          `${missing.length === 1 ? "entry" : "entries"} (first: ${describe(missing[0]!)})`,
      );
    }
  }

  private intName(): string {
    switch (this.intFor) {
      case IntFor.BlockId:
        return "block dump id";
      case IntFor.ChunkLength:
        return "chunk length";
      case IntFor.LargeObjectOid:
        return "large object oid";
    }
  }

  /** Where the reader is, for messages: which entry, which part of its block. */
  private locate(): string {
    if (this.step === Step.Int && this.intFor === IntFor.BlockId) {
      return `in the header of the data block at byte ${this.blockStart}`;
    }
    const entry = this.entry ? describe(this.entry) : "an unknown entry";
    if (this.step === Step.Body) {
      const read = this.chunkLength - this.remaining;
      const object = this.inLargeObject ? ` (large object ${this.largeObjects.oid})` : "";
      return `inside the data of ${entry}${object}, ${read} of a ${this.chunkLength}-byte chunk read`;
    }
    if (this.intFor === IntFor.LargeObjectOid)
      return `inside the large-object block of ${entry}, at a large object oid`;
    const object = this.inLargeObject ? ` (large object ${this.largeObjects.oid})` : "";
    return `inside the data of ${entry}${object}, at a chunk length`;
  }
}

function describe(entry: TocEntry): string {
  const name = entry.namespace ? `${entry.namespace}.${entry.tag}` : (entry.tag ?? "");
  return `${entry.desc ?? "entry"} ${name} (dump id ${entry.dumpId})`.replace(/\s+/g, " ");
}
