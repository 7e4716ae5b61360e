/**
 * Masks pg_dump's custom-format archive as it streams from pg_dump to the backup's stages: the
 * masked copy of a scratch database is its dump with the masked tables' rows rewritten on the way,
 * never an UPDATE of the database (docs/masking.md, "The order of work"). The header, the TOC,
 * large objects and every table without a rule pass through untouched; a masked table's data block
 * is re-framed around its masked rows (copy-rows.ts), computed in batches by worker threads
 * (fake-pool.ts) and written back in order.
 *
 * The archive on a pipe (src/postgres/archive/README.md): header, TOC with every data position
 * "not set", then per TABLE DATA entry `BLK_DATA dumpId {length bytes}* 0`, and large objects as
 * `BLK_BLOBS dumpId {oid {length bytes}* 0}* 0`. Chunk lengths are free (pg_restore reads chunk
 * by chunk), so a masked block is written as one chunk per batch, its COPY end marker included.
 *
 * The verification runs as the stream ends, before the stream reports success, so a failure stops
 * the backup before its manifest is written: no masked value may be a source value (looked up
 * among the digests of every masked column's source values, taken from the same archive), and no
 * unique key may repeat a value that it did not repeat before masking.
 */
import { Transform, type TransformCallback } from "node:stream";
import { describeError, OperationError } from "../domain/errors.js";
import { parseCopyStatement } from "../postgres/archive/copy-statement.js";
import { ArchiveFormatError, ArchiveTruncatedError } from "../postgres/archive/errors.js";
import {
  ArchiveCursor,
  BLK_BLOBS,
  BLK_DATA,
  NeedMoreBytes,
  readHeader,
  readToc,
  type TocEntry,
} from "../postgres/archive/format.js";
import { quoteTable } from "./catalog-check.js";
import type { ConstraintProbe } from "./constraint-probe.js";
import { maskCopyRows, type FieldRule, type RelationSpec, type RowsResult } from "./copy-rows.js";
import { DigestMap, DigestSet, OTHER_SOURCE, PHONE_SOURCE } from "./digest-set.js";
import { FakePool } from "./fake-pool.js";
import type { MaskingKey } from "./fakes.js";
import { looksFake } from "./fakes.js";

/** What masking does to one relation's columns, by name: the rules of its table (or ancestors). */
export interface RelationPlan {
  /** schema.table of the relation itself, for messages. */
  name: string;
  /** The relation itself, quoted for SQL. */
  quoted: string;
  columns: Map<string, Omit<FieldRule, "field">>;
  /** Unique keys a fake could break, by column names, and whether NULLs count as equal in them. */
  uniques: { name: string; columns: string[]; nullsNotDistinct: boolean }[];
  /** Whether a CHECK constraint or a domain could refuse its masked rows (constraint-probe.ts). */
  probe: boolean;
}

export interface ArchiveMaskPlan {
  /** By the quoted name ("schema"."table", quoteTable) of the relation whose TABLE DATA entry carries the rows. */
  relations: Map<string, RelationPlan>;
  /** What each ValueRule.label names: `schema.table.column[ path]`, and whether it is a phone rule. */
  labels: { name: string; phone: boolean }[];
}

export interface ArchiveMaskResult {
  /** Rows masked, by relation (schema.table), in archive order. */
  relations: { relation: string; rows: number }[];
  /** Distinct source values the masked values were checked against. */
  sourceDigests: number;
  /** Masked values that had to be looked up (not shaped like a fake). */
  lookedUp: number;
}

/** What the verification found, by table and column and counts only: never a value. */
export class MaskingVerificationError extends OperationError {
  constructor(readonly failures: string[]) {
    super(`masking verification failed: ${failures.join("; ")}`);
  }
}

export interface ArchiveMaskOptions {
  /** Worker threads (fake-pool.ts); 0 masks every batch in the main thread. */
  workers: number;
  /** COPY bytes per batch (tests use small batches to cross batch boundaries). */
  batchBytes?: number;
  /** "latin1" for a SQL_ASCII database: its bytes are in no encoding (copy-rows.ts). */
  encoding?: "utf8" | "latin1";
  /** Where the masked rows of relations planned with `probe` are checked against their constraints. */
  probe?: ConstraintProbe;
}

const BATCH_BYTES = 4 * 1024 * 1024;
/** Pieces queued behind a batch at most (pass-through pieces are pg_dump's reads, up to 1 MiB). */
const MAX_QUEUED = 64;
const FIRST_HEAD_ATTEMPT = 64 * 1024;
const END_OF_DATA = Buffer.from("\\.\n");
const NEWLINE_END_OF_DATA = Buffer.from("\n\\.\n");

const enum Phase {
  Head,
  BlockType,
  BlockId,
  ChunkLength,
  Chunk,
  LargeObjectOid,
}

/** An output in archive order: bytes ready now, or a batch still being masked. */
interface Piece {
  bytes?: Buffer;
  batch?: Promise<Buffer>;
  settled: boolean;
}

/** The plan's key of the relation a TOC entry names: its quoted name. */
function entryKey(entry: TocEntry): string {
  return quoteTable({ schema: entry.namespace ?? "", table: entry.tag ?? "" });
}

export class ArchiveMasker {
  readonly stream: Transform;
  private phase = Phase.Head;
  private head: Buffer[] = [];
  private headBytes = 0;
  private nextHeadAttempt = FIRST_HEAD_ATTEMPT;
  private leftover: Buffer | null = null;
  private intWidth = 5;
  private intSize = 4;
  private byId = new Map<number, TocEntry>();
  private blockType = 0;
  private remaining = 0;

  // The masked block being read.
  private relation: {
    name: string;
    /** Its key in the plan, and the probe's: its quoted name. */
    key: string;
    columns: string[];
    spec: RelationSpec;
    uniques: DigestMap[];
    uniqueNames: string[];
    probe: boolean;
  } | null = null;
  /** Rows masked by relation, keyed by quoted name ("a.b"."c" and "a"."b.c" are two relations). */
  private rowsOf = new Map<string, { name: string; rows: number }>();
  private collected: Buffer[] = [];
  private collectedBytes = 0;
  /** Whether a newline arrived since the last batch was cut: only then can one be cut again. */
  private rowEnded = false;
  private ended = false;
  /** Masked relations the TOC gives data for: each must bring its block. */
  private readonly expected: string[] = [];

  private readonly queue: Piece[] = [];
  private inFlight = 0;
  private readonly maxInFlight: number;
  private readonly batchBytes: number;
  private readonly pool: FakePool | null;
  private readonly probe: ConstraintProbe | undefined;
  private readonly encoding: "utf8" | "latin1";

  private readonly sources = new DigestSet(1 << 20);
  private readonly lookups: Int32Array[] = [];
  private lookedUp = 0;
  private readonly uniqueFailures = new Map<string, number>();
  private readonly fixedChecks: { label: number; text: string }[] = [];

  constructor(
    private readonly plan: ArchiveMaskPlan,
    private readonly key: MaskingKey,
    options: ArchiveMaskOptions,
  ) {
    this.pool = options.workers > 0 ? new FakePool(key, options.workers) : null;
    this.maxInFlight = Math.max(2, 2 * options.workers);
    this.batchBytes = options.batchBytes ?? BATCH_BYTES;
    this.probe = options.probe;
    this.encoding = options.encoding ?? "utf8";
    for (const relation of plan.relations.values()) {
      for (const rule of relation.columns.values()) {
        // A fixed value is checked once a rule (partitions share their table's rules): as the
        // column's type prints it, or at a jsonb path as #>> reads it.
        const fixed: { label: number; text: string }[] = [];
        // char(n) prints the value padded; source values are recorded as ::text reads them.
        if (rule.strategy?.kind === "fixed")
          fixed.push({
            label: rule.label!,
            text: rule.pad === undefined ? rule.fixed! : rule.fixed!.trimEnd(),
          });
        for (const path of rule.paths ?? []) {
          if (path.strategy.kind === "fixed")
            fixed.push({ label: path.label, text: String(path.strategy.value) });
        }
        for (const check of fixed) {
          if (!this.fixedChecks.some((known) => known.label === check.label)) this.fixedChecks.push(check);
        }
      }
    }
    this.stream = new Transform({
      transform: (chunk: Buffer, _encoding, callback: TransformCallback) => {
        this.write(chunk).then(() => callback(), callback);
      },
      flush: (callback: TransformCallback) => {
        this.finish().then(() => callback(), callback);
      },
      destroy: (error, callback) => {
        void this.pool?.close();
        callback(error);
      },
    });
  }

  /** What was masked; call once the stream has ended. */
  result(): ArchiveMaskResult {
    return {
      relations: [...this.rowsOf.values()].map(({ name, rows }) => ({ relation: name, rows })),
      sourceDigests: this.sources.size,
      lookedUp: this.lookedUp,
    };
  }

  private async write(chunk: Buffer): Promise<void> {
    this.parse(chunk);
    await this.pump(false);
  }

  private async finish(): Promise<void> {
    try {
      if (this.phase === Phase.Head) this.tryHead(true);
      if (this.phase !== Phase.BlockType || this.leftover !== null) {
        throw new ArchiveTruncatedError("pg_dump archive truncated: the stream ended inside a data block");
      }
      await this.pump(true);
      const missing = this.expected.filter((quoted) => !this.rowsOf.has(quoted));
      if (missing.length > 0) {
        throw new ArchiveTruncatedError(`pg_dump archive: the data of ${missing.join(", ")} never came`);
      }
      this.verify();
    } finally {
      await this.pool?.close();
    }
  }

  /** Pushes the pieces that are ready, in order; waits while too many batches are in flight (or all, at the end). */
  private async pump(all: boolean): Promise<void> {
    while (this.queue.length > 0) {
      const piece = this.queue[0]!;
      // Waits for the oldest batch when too many are in flight, or when too much is queued behind
      // it: pass-through bytes are held in memory until the batches before them are written.
      if (!piece.settled && !all && this.inFlight <= this.maxInFlight && this.queue.length <= MAX_QUEUED)
        return;
      const bytes = piece.bytes ?? (await piece.batch!);
      this.queue.shift();
      if (bytes.length > 0) this.stream.push(bytes);
    }
  }

  private emit(bytes: Buffer): void {
    if (bytes.length === 0) return;
    // With nothing waiting ahead of them, pass-through bytes go out at once.
    if (this.queue.length === 0) this.stream.push(bytes);
    else this.queue.push({ bytes, settled: true });
  }

  private parse(chunk: Buffer): void {
    if (this.phase === Phase.Head) {
      this.head.push(chunk);
      this.headBytes += chunk.length;
      if (this.headBytes >= this.nextHeadAttempt) this.tryHead(false);
      return;
    }
    let buffer = chunk;
    if (this.leftover) {
      buffer = Buffer.concat([this.leftover, chunk]);
      this.leftover = null;
    }
    this.scan(buffer, 0);
  }

  private tryHead(final: boolean): void {
    const bytes = this.head.length === 1 ? this.head[0]! : Buffer.concat(this.head);
    this.head = [bytes];
    const cursor = new ArchiveCursor(bytes);
    try {
      const header = readHeader(cursor);
      if (header.compression.algorithm !== "none") {
        throw new ArchiveFormatError("pg_dump archive: masking needs an archive written with -Z0");
      }
      for (const entry of readToc(cursor)) this.byId.set(entry.dumpId, entry);
      for (const entry of this.byId.values()) {
        if (entry.desc !== "TABLE DATA" || entry.dataState === "none") continue;
        const plan = this.plan.relations.get(entryKey(entry));
        if (plan) this.expected.push(plan.quoted);
      }
      this.intSize = header.intSize;
      this.intWidth = 1 + header.intSize;
    } catch (error) {
      if (!(error instanceof NeedMoreBytes)) throw error;
      if (final)
        throw new ArchiveTruncatedError(`pg_dump archive truncated: the stream ended inside ${error.where}`);
      this.nextHeadAttempt = this.headBytes * 2;
      return;
    }
    this.head = [];
    this.phase = Phase.BlockType;
    this.emit(bytes.subarray(0, cursor.offset));
    this.scan(bytes, cursor.offset);
  }

  /**
   * The block state machine over `buffer` from `at`. Outside a masked block every byte passes
   * through (as slices of `buffer`); inside one, the chunk lengths are dropped and the chunks'
   * bytes collected into batches of rows, re-framed when masked.
   */
  private scan(buffer: Buffer, at: number): void {
    let passFrom = at;
    const passUntil = (end: number) => {
      if (end > passFrom) this.emit(buffer.subarray(passFrom, end));
      passFrom = end;
    };
    while (at < buffer.length) {
      if (this.phase === Phase.Chunk) {
        const take = Math.min(this.remaining, buffer.length - at);
        if (this.relation) this.collect(buffer.subarray(at, at + take));
        at += take;
        this.remaining -= take;
        if (this.remaining === 0) this.phase = Phase.ChunkLength;
        continue;
      }
      if (this.phase === Phase.BlockType) {
        const type = buffer[at]!;
        if (type !== BLK_DATA && type !== BLK_BLOBS) {
          throw new ArchiveFormatError(
            `pg_dump archive: unknown data block type ${type}: the archive is corrupt`,
          );
        }
        this.blockType = type;
        this.phase = Phase.BlockId;
        at++;
        continue;
      }
      // Every other phase reads an int; one cut by the chunk's end is read with the next chunk.
      if (buffer.length - at < this.intWidth) {
        if (!this.relation) passUntil(at);
        this.leftover = Buffer.from(buffer.subarray(at));
        return;
      }
      const value = this.readInt(buffer, at);
      const intStart = at;
      at += this.intWidth;
      switch (this.phase) {
        case Phase.BlockId: {
          const entry = this.byId.get(value);
          if (!entry) {
            throw new ArchiveFormatError(
              `pg_dump archive: a data block for dump id ${value}, which the TOC does not list`,
            );
          }
          const plan =
            this.blockType === BLK_DATA && entry.desc === "TABLE DATA"
              ? this.plan.relations.get(entryKey(entry))
              : undefined;
          if (plan) {
            // The block's type and id go out as they are; its chunks are written anew.
            passUntil(at);
            this.startRelation(entry, plan);
          }
          this.phase = this.blockType === BLK_DATA ? Phase.ChunkLength : Phase.LargeObjectOid;
          break;
        }
        case Phase.ChunkLength:
          if (value < 0) throw new ArchiveFormatError("pg_dump archive: a negative chunk length");
          if (value > 0) {
            this.remaining = value;
            this.phase = Phase.Chunk;
          } else if (this.blockType === BLK_DATA) {
            if (this.relation) {
              this.endRelation(buffer.subarray(intStart, at));
              passFrom = at;
            }
            this.phase = Phase.BlockType;
          } else {
            this.phase = Phase.LargeObjectOid;
          }
          break;
        case Phase.LargeObjectOid:
          this.phase = value === 0 ? Phase.BlockType : Phase.ChunkLength;
          break;
        default:
          throw new ArchiveFormatError("pg_dump archive: unexpected state");
      }
    }
    if (!this.relation) passUntil(buffer.length);
  }

  private readInt(buffer: Buffer, at: number): number {
    const sign = buffer[at]!;
    let value = 0;
    let scale = 1;
    for (let i = 1; i <= this.intSize; i++) {
      value += buffer[at + i]! * scale;
      scale *= 256;
    }
    if (sign > 1) throw new ArchiveFormatError(`pg_dump archive: bad integer sign byte ${sign}`);
    return sign === 1 ? -value : value;
  }

  private writeInt(value: number): Buffer {
    const bytes = Buffer.alloc(this.intWidth);
    let rest = value;
    for (let i = 1; i <= this.intSize; i++) {
      bytes[i] = rest % 256;
      rest = Math.floor(rest / 256);
    }
    return bytes;
  }

  private startRelation(entry: TocEntry, plan: RelationPlan): void {
    const name = plan.name;
    if (this.rowsOf.has(plan.quoted))
      throw new ArchiveFormatError(`pg_dump archive: a second data block for ${name}`);
    const copy = parseCopyStatement(entry.copyStatement ?? "");
    if (!copy)
      throw new OperationError(`masking ${name}: its data is not COPY data (a dump with --inserts?)`);
    const position = new Map(copy.columns.map((column, i) => [column, i]));
    const at = (column: string) => {
      const field = position.get(column);
      if (field === undefined) throw new OperationError(`masking ${name}: the dump has no column ${column}`);
      return field;
    };
    const rules = [...plan.columns].map(([column, rule]): FieldRule => ({ ...rule, field: at(column) }));
    rules.sort((a, b) => a.field - b.field);
    const uniques = plan.uniques.map((unique) => unique.columns.map(at));
    this.relation = {
      name,
      key: plan.quoted,
      columns: copy.columns,
      probe: plan.probe,
      spec: {
        encoding: this.encoding,
        fields: copy.columns.length,
        rules,
        uniques: uniques.map((fields, i) => ({
          fields,
          nullsNotDistinct: plan.uniques[i]!.nullsNotDistinct,
        })),
      },
      uniques: plan.uniques.map(() => new DigestMap()),
      uniqueNames: plan.uniques.map((unique) => unique.name),
    };
    this.rowsOf.set(plan.quoted, { name, rows: 0 });
    this.collected = [];
    this.collectedBytes = 0;
    this.rowEnded = false;
    this.ended = false;
  }

  private collect(bytes: Buffer): void {
    if (this.ended) {
      // What follows the end marker (empty lines) is no row: it goes out as it came.
      this.queue.push({ bytes: this.chunk(Buffer.from(bytes)), settled: true });
      return;
    }
    this.collected.push(bytes);
    this.collectedBytes += bytes.length;
    // A row longer than a batch is collected whole before it is looked at again: searching the
    // growing bytes at every chunk would cost the square of its size.
    if (!this.rowEnded && bytes.includes(0x0a)) this.rowEnded = true;
    if (this.collectedBytes >= this.batchBytes && this.rowEnded) this.dispatch(false);
  }

  /** Sends the complete rows collected so far to be masked; at the block's end, all of it. */
  private dispatch(final: boolean): void {
    if (this.collected.length === 0) return;
    const bytes = Buffer.concat(this.collected, this.collectedBytes);
    // COPY's end marker, a line `\.` (a backslash in a value is always escaped, so no row is
    // one): the rows end before it, and it and what follows go out as they are.
    const marker = bytes.subarray(0, END_OF_DATA.length).equals(END_OF_DATA)
      ? 0
      : bytes.indexOf(NEWLINE_END_OF_DATA) + 1 || -1;
    const rowsEnd = marker >= 0 ? marker : bytes.lastIndexOf(0x0a) + 1;
    const rest = marker >= 0 ? null : bytes.subarray(rowsEnd);
    if (final && rest !== null && rest.length > 0) {
      throw new ArchiveFormatError(`pg_dump archive: the data of ${this.relation!.name} ends inside a row`);
    }
    this.collected = rest !== null && rest.length > 0 ? [rest] : [];
    this.collectedBytes = rest?.length ?? 0;
    // What is left after the last newline holds none.
    this.rowEnded = false;
    if (rowsEnd > 0) this.maskRows(bytes.subarray(0, rowsEnd));
    if (marker >= 0) {
      this.ended = true;
      this.queue.push({ bytes: this.chunk(bytes.subarray(marker)), settled: true });
    }
  }

  /** One archive chunk: its length, then its bytes. */
  private chunk(bytes: Buffer): Buffer {
    return Buffer.concat([this.writeInt(bytes.length), bytes]);
  }

  private maskRows(rows: Buffer): void {
    const relation = this.relation!;
    const piece: Piece = { settled: false };
    this.inFlight++;
    const masked = this.pool
      ? this.pool.run(relation.spec, rows)
      : Promise.resolve().then(() => maskCopyRows(this.key, relation.spec, rows));
    piece.batch = masked
      .then(
        async (result) => {
          this.take(relation, result);
          if (relation.probe) await this.probe!.check(relation.key, relation.columns, result.output);
          return this.chunk(result.output);
        },
        (error: unknown) => {
          throw new OperationError(`masking ${relation.name} failed: ${describeError(error)}`, {
            cause: error,
          });
        },
      )
      .finally(() => {
        // Settled either way: a failure must reach pump() now, not after the rest of the dump.
        this.inFlight--;
        piece.settled = true;
      });
    // Awaited in order by pump(); a failure is reported there, never as an unhandled rejection.
    piece.batch.catch(() => undefined);
    this.queue.push(piece);
  }

  /** A batch's digests, taken in the main thread as the batches come back. */
  private take(relation: NonNullable<ArchiveMasker["relation"]>, result: RowsResult): void {
    this.rowsOf.get(relation.key)!.rows += result.rows;
    this.sources.addDigests(result.sources);
    if (result.lookups.length > 0) this.lookups.push(result.lookups);
    const u = result.uniques;
    for (let i = 0; i + 4 < u.length; i += 5) {
      const index = u[i]!;
      if (!relation.uniques[index]!.add(u[i + 1]!, u[i + 2]!, u[i + 3]!, u[i + 4]!)) {
        const name = `${relation.name}: unique key ${relation.uniqueNames[index]}`;
        this.uniqueFailures.set(name, (this.uniqueFailures.get(name) ?? 0) + 1);
      }
    }
  }

  private endRelation(endInt: Buffer): void {
    this.dispatch(true);
    this.queue.push({ bytes: Buffer.from(endInt), settled: true });
    this.relation = null;
  }

  private verify(): void {
    const labels = this.plan.labels;
    const hits = labels.map(() => ({ found: 0, other: 0, phones: 0, total: 0 }));
    for (const triples of this.lookups) {
      for (let i = 0; i + 2 < triples.length; i += 3) {
        const label = triples[i + 2]!;
        const flags = this.sources.lookupDigest(triples[i]!, triples[i + 1]!);
        const count = hits[label]!;
        this.lookedUp++;
        if (labels[label]!.phone) {
          // A keyed permutation of a dense number space maps some numbers onto other real ones
          // (1M numbers out of 10^11: about 10). Such a hit is a collision, not this row's own
          // number; a column left unmasked hits on (nearly) every row.
          count.total++;
          if (flags & OTHER_SOURCE) count.other++;
          else if (flags & PHONE_SOURCE) count.phones++;
        } else if (flags !== 0) count.found++;
      }
    }
    const failures: string[] = [];
    for (const { label, text } of this.fixedChecks) {
      if (text !== "" && !looksFake(text) && this.sources.lookup(text) !== 0)
        failures.push(`${labels[label]!.name}: its fixed value is among the source values`);
    }
    labels.forEach((label, i) => {
      const { found, other, phones, total } = hits[i]!;
      if (found > 0) failures.push(`${label.name}: ${found} values found among the source values`);
      if (other > 0)
        failures.push(`${label.name}: ${other} values found among the source values of other strategies`);
      if (phones * 2 > total)
        failures.push(`${label.name}: ${phones} of ${total} values are source phone numbers (not masked)`);
    });
    for (const [name, rows] of this.uniqueFailures) {
      failures.push(`${name}: ${rows} rows would repeat a masked value no source row repeated`);
    }
    if (failures.length > 0) throw new MaskingVerificationError(failures);
  }
}
