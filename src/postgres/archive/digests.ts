/**
 * What a data block's bytes add up to: rows, bytes and a sha256 per table, and a count and digest
 * of the large objects. Fed the payload of each length-prefixed chunk as it passes.
 */
import { createHash, type Hash } from "node:crypto";

const NEWLINE = 10;
const BACKSLASH = 92;
const DOT = 46;

/**
 * pg_dump (15 and earlier at least) ends each table's COPY data with "\\.\n\n\n"; the COPY end
 * marker is not table content, so it is held back from the digest until the table's end shows
 * whether the last bytes are the marker. Five bytes is the longest form.
 */
const HOLD_BACK = 5;

/** Chunks up to this size are copied by hand rather than with Buffer.copy. */
const SHORT_COPY = 512;

export interface TableDigest {
  rows: number;
  /** COPY text bytes (or INSERT statement bytes), the end marker excluded. */
  bytes: number;
  sha256: string;
  /** Only for INSERT data: the number of statements (several rows each with --rows-per-insert). */
  statements: number | null;
  /** Whether the data ended with the COPY end-of-data line "\\.". */
  endMarker: boolean;
}

/**
 * One table's data. Chunks are copied into a staging buffer and hashed and scanned a buffer at a
 * time: with -Z0 pg_dump 15 writes one chunk per row, and a hash update per ~100-byte row would cost
 * more than the hashing itself.
 */
export class TableDigester {
  private readonly hash: Hash = createHash("sha256");
  private fill = 0;
  private processed = 0;
  private newlines = 0;
  /** The last byte already hashed, -1 before any: tells whether the marker starts a line. */
  private lastProcessedByte = -1;
  private readonly lexer: InsertLexer | null;
  private readonly stageView: DataView;

  constructor(
    private readonly stage: Buffer,
    readonly format: "copy" | "inserts",
  ) {
    this.lexer = format === "inserts" ? new InsertLexer() : null;
    this.stageView = new DataView(stage.buffer, stage.byteOffset, stage.length);
  }

  /**
   * `view` is a DataView over `source`: short copies go four bytes at a time through it. COPY
   * text's newlines are counted here, on the way in, a word at a time: a separate search of the
   * stage afterwards cost one native call per row.
   */
  write(source: Buffer, view: DataView, start: number, end: number): void {
    let fill = this.fill;
    if (end - start <= SHORT_COPY && end - start <= this.stage.length - fill) {
      // Buffer.copy's call overhead outweighs a short copy, and most rows are short.
      const stageView = this.stageView;
      const counting = this.lexer === null;
      let newlines = 0;
      const words = end - 3;
      while (start < words) {
        const word = view.getUint32(start);
        stageView.setUint32(fill, word);
        if (counting) {
          // The bytes of `word` that are "\n", exactly: 0x80 in each such byte's place (the
          // zero-byte test on word ^ 0x0a0a0a0a that has no false positives).
          const x = word ^ 0x0a0a0a0a;
          const found = ~(((x & 0x7f7f7f7f) + 0x7f7f7f7f) | x | 0x7f7f7f7f) & 0x80808080;
          if (found !== 0) {
            newlines += ((found >>> 7) & 1) + ((found >>> 15) & 1) + ((found >>> 23) & 1) + (found >>> 31);
          }
        }
        start += 4;
        fill += 4;
      }
      const stage = this.stage;
      while (start < end) {
        const byte = source[start++]!;
        if (byte === NEWLINE) newlines++;
        stage[fill++] = byte;
      }
      this.fill = fill;
      if (counting) this.newlines += newlines;
      return;
    }
    if (this.lexer === null) this.newlines += countNewlines(source, start, end);
    while (start < end) {
      let room = this.stage.length - this.fill;
      if (room === 0) {
        this.process(this.fill - HOLD_BACK);
        room = this.stage.length - this.fill;
      }
      const length = end - start < room ? end - start : room;
      source.copy(this.stage, this.fill, start, start + length);
      this.fill += length;
      start += length;
    }
  }

  finish(): TableDigest {
    const endMarker = this.format === "copy" ? this.markerLength() : 0;
    // The marker's newlines were counted on the way in; they end no row.
    if (endMarker > 0) this.newlines -= countNewlines(this.stage, this.fill - endMarker, this.fill);
    this.process(this.fill - endMarker);
    let rows: number;
    if (this.lexer) {
      rows = this.lexer.finish();
    } else {
      // COPY text ends every row with a newline (a newline inside a value is the escape "\n"); a
      // last line without one is still a row.
      rows = this.newlines + (this.processed > 0 && this.lastProcessedByte !== NEWLINE ? 1 : 0);
    }
    return {
      rows,
      bytes: this.processed,
      sha256: this.hash.digest("hex"),
      statements: this.lexer ? this.lexer.statements : null,
      endMarker: endMarker > 0,
    };
  }

  /** Hashes and scans stage[0, upTo), then moves the rest to the front. */
  private process(upTo: number): void {
    if (upTo <= 0) return;
    const view = this.stage.subarray(0, upTo);
    this.hash.update(view);
    this.lexer?.scan(view);
    this.lastProcessedByte = view[upTo - 1]!;
    this.processed += upTo;
    this.stage.copyWithin(0, upTo, this.fill);
    this.fill -= upTo;
  }

  /** 5 for "\\.\n\n\n", 3 for "\\.\n", when that line starts a line; else 0. */
  private markerLength(): number {
    const stage = this.stage;
    const fill = this.fill;
    const lineStartsAt = (index: number) => {
      const before = index > 0 ? stage[index - 1]! : this.lastProcessedByte;
      return before === -1 || before === NEWLINE;
    };
    const endsWith = (bytes: number[]) =>
      fill >= bytes.length && bytes.every((byte, i) => stage[fill - bytes.length + i] === byte);
    if (endsWith([BACKSLASH, DOT, NEWLINE, NEWLINE, NEWLINE]) && lineStartsAt(fill - 5)) return 5;
    if (endsWith([BACKSLASH, DOT, NEWLINE]) && lineStartsAt(fill - 3)) return 3;
    return 0;
  }
}

/** The newlines in buffer[start, end): COPY text's rows. */
export function countNewlines(buffer: Buffer, start = 0, end = buffer.length): number {
  const range = buffer.subarray(start, end);
  let count = 0;
  let at = range.indexOf(NEWLINE);
  while (at !== -1) {
    count++;
    at = range.indexOf(NEWLINE, at + 1);
  }
  return count;
}

const QUOTE = 39;
const DOUBLE_QUOTE = 34;
const OPEN = 40;
const CLOSE = 41;
const SEMICOLON = 59;

const enum Lex {
  Code,
  String,
  EscapeString,
  StringMaybeEnd,
  Identifier,
  IdentifierMaybeEnd,
}

/**
 * Counts rows in the INSERT statements of --inserts / --column-inserts / --rows-per-insert data:
 * each top-level parenthesised group of a statement is a row, except the column list that comes
 * before VALUES; a statement without any (DEFAULT VALUES, a table without columns) is one row.
 * Quotes are tracked so parentheses and semicolons inside values do not count.
 */
export class InsertLexer {
  statements = 0;
  private rows = 0;
  private state = Lex.Code;
  private depth = 0;
  private groups = 0;
  private firstGroupIsColumns = false;
  private word = "";
  private lastWord = "";
  private previous = 0;
  private beforePrevious = 0;
  private afterBackslash = false;
  private escapes = false;

  scan(bytes: Buffer): void {
    for (let i = 0; i < bytes.length; i++) {
      const byte = bytes[i]!;
      switch (this.state) {
        case Lex.String:
          if (byte === QUOTE) this.state = Lex.StringMaybeEnd;
          break;
        case Lex.EscapeString:
          if (this.afterBackslash) this.afterBackslash = false;
          else if (byte === BACKSLASH) this.afterBackslash = true;
          else if (byte === QUOTE) this.state = Lex.StringMaybeEnd;
          break;
        case Lex.Identifier:
          if (byte === DOUBLE_QUOTE) this.state = Lex.IdentifierMaybeEnd;
          break;
        case Lex.StringMaybeEnd:
          // '' inside a string is a quote, in E'' strings too.
          if (byte === QUOTE) this.state = this.escapes ? Lex.EscapeString : Lex.String;
          else this.code(byte);
          break;
        case Lex.IdentifierMaybeEnd:
          if (byte === DOUBLE_QUOTE) this.state = Lex.Identifier;
          else this.code(byte);
          break;
        default:
          this.code(byte);
      }
      this.beforePrevious = this.previous;
      this.previous = byte;
    }
  }

  finish(): number {
    if (this.groups > 0 || this.word !== "" || this.lastWord !== "") this.endStatement();
    return this.rows;
  }

  private code(byte: number): void {
    this.state = Lex.Code;
    const isWordByte =
      (byte >= 65 && byte <= 90) || (byte >= 97 && byte <= 122) || (byte >= 48 && byte <= 57) || byte === 95;
    if (this.depth === 0 && isWordByte) {
      if (this.word.length < 16) this.word += String.fromCharCode(byte & ~32);
      return;
    }
    if (this.word !== "") {
      this.lastWord = this.word;
      this.word = "";
    }
    switch (byte) {
      case QUOTE: {
        const prefixedE =
          (this.previous === 69 || this.previous === 101) &&
          !(
            (this.beforePrevious >= 65 && this.beforePrevious <= 90) ||
            (this.beforePrevious >= 97 && this.beforePrevious <= 122) ||
            (this.beforePrevious >= 48 && this.beforePrevious <= 57) ||
            this.beforePrevious === 95
          );
        this.escapes = prefixedE;
        this.state = prefixedE ? Lex.EscapeString : Lex.String;
        this.afterBackslash = false;
        break;
      }
      case DOUBLE_QUOTE:
        this.state = Lex.Identifier;
        if (this.depth === 0) this.lastWord = '"';
        break;
      case OPEN:
        if (this.depth === 0) {
          if (this.groups === 0) this.firstGroupIsColumns = this.lastWord !== "VALUES";
          this.groups++;
        }
        this.depth++;
        break;
      case CLOSE:
        if (this.depth > 0) this.depth--;
        break;
      case SEMICOLON:
        if (this.depth === 0) this.endStatement();
        break;
    }
  }

  private endStatement(): void {
    this.statements++;
    if (this.groups === 0) this.rows += 1;
    else this.rows += this.groups - (this.firstGroupIsColumns ? 1 : 0);
    this.groups = 0;
    this.firstGroupIsColumns = false;
    this.word = "";
    this.lastWord = "";
  }
}

export interface LargeObjectsDigest {
  count: number;
  bytes: number;
  /** sha256 over one line per large object, in archive order: "<oid> <bytes> <sha256 hex>\n". */
  sha256: string;
}

/** The large objects of every BLOBS block (1.16 archives may have several). */
export class LargeObjectDigester {
  private readonly summary: Hash = createHash("sha256");
  private count = 0;
  private bytes = 0;
  private current: Hash | null = null;
  private currentOid = 0;
  private currentBytes = 0;

  start(oid: number): void {
    this.current = createHash("sha256");
    this.currentOid = oid;
    this.currentBytes = 0;
  }

  write(source: Buffer, start: number, end: number): void {
    this.current!.update(source.subarray(start, end));
    this.currentBytes += end - start;
  }

  end(): void {
    const digest = this.current!.digest("hex");
    this.summary.update(`${this.currentOid} ${this.currentBytes} ${digest}\n`);
    this.count++;
    this.bytes += this.currentBytes;
    this.current = null;
  }

  get oid(): number {
    return this.currentOid;
  }

  finish(): LargeObjectsDigest {
    return { count: this.count, bytes: this.bytes, sha256: this.summary.digest("hex") };
  }
}
