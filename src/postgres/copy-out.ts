/**
 * `COPY ... TO STDOUT` hashed (sha256) and counted as it streams, over a node-postgres client's own
 * connection, for restore-test's content digests and row counts.
 *
 * The server sends one CopyData message per row. Through node-postgres each becomes a Buffer, a
 * message object and two event dispatches: for a 6-million-row database that was most of the
 * check phase's CPU. So for the length of the COPY this module reads the connection's socket
 * itself: pg's listener is taken off the stream while the rows arrive, the row payloads of each
 * socket read are moved together in place (dropping the 5-byte message headers) and hashed and
 * counted as one slice, and every other message (CopyOutResponse, notices) goes to pg's parser
 * unchanged. At the first CopyDone, ErrorResponse or ReadyForQuery pg gets its listener back with
 * the rest of the bytes, so pg itself sees the end of the command, the error and the session's
 * state, and the client stays usable after a failed COPY. A byte stream that does not frame as the
 * protocol's messages ends the connection: an error, never a digest of misread bytes.
 *
 * When the connection is not one whose socket can be read this way, the rows come through pg's
 * messages instead (`raw: false` forces that path; both give the same result).
 */
import { createHash, type Hash } from "node:crypto";
import type pg from "pg";
import { OperationError } from "../domain/errors.js";
import { countNewlines } from "./archive/digests.js";

/** What one COPY ... TO STDOUT produced: the sha256 of its text and the rows in it. */
export interface CopyOut {
  sha256: string;
  rows: number;
}

/** The protocol failed: the connection is closed and the COPY's bytes are not trusted. */
export class CopyProtocolError extends OperationError {
  override name = "CopyProtocolError";
}

type DataListener = (chunk: Buffer) => void;

/** The part of pg's Connection this module uses (pg's types do not declare `stream`). */
interface PgConnection {
  stream?: {
    listeners(event: "data"): unknown[];
    on(event: "data", listener: DataListener): unknown;
    removeListener(event: "data", listener: DataListener): unknown;
    destroy(error?: Error): unknown;
  };
  query(text: string): void;
  sendCopyFail(message: string): void;
}

const COPY_DATA = 0x64; // 'd'
const COPY_DONE = 0x63; // 'c'
const COPY_OUT_RESPONSE = 0x48; // 'H'
const ERROR_RESPONSE = 0x45; // 'E'
const READY_FOR_QUERY = 0x5a; // 'Z'
/** The messages a backend may send between a simple Query and the COPY's end, other than those above. */
const PASSED_ON = new Set(
  [
    "N", // NoticeResponse
    "S", // ParameterStatus
    "A", // NotificationResponse
    "G", // CopyInResponse (a COPY FROM: pg answers CopyFail)
    "T", // RowDescription (not a COPY: pg reads it, ReadyForQuery then rejects)
    "D", // DataRow
    "C", // CommandComplete
    "I", // EmptyQueryResponse
  ].map((code) => code.charCodeAt(0)),
);
const HEADER = 5;
/** A message's length is a positive int32: anything else is misframing. */
const MAX_MESSAGE = 0x7fffffff;
/** Bytes gathered before each hash update on pg's message path: one update per row would cost more than the hashing. */
const HASH_BATCH = 256 * 1024;

/**
 * A pg Submittable: pg queues it like a query and calls `submit` when the session is idle (the
 * previous command's ReadyForQuery read), so no bytes of another command are in flight when the
 * socket is taken over. (A half-received asynchronous message would be; these sessions LISTEN to
 * nothing, and misframed bytes end in an error anyway.)
 */
class CopyOutDigest {
  private readonly hash: Hash = createHash("sha256");
  private rows = 0;
  private copying = false;
  private serverRows: number | undefined;
  private failure: Error | undefined;
  private settled = false;
  private settle!: { resolve: (out: CopyOut) => void; reject: (error: Error) => void };
  readonly done = new Promise<CopyOut>((resolve, reject) => (this.settle = { resolve, reject }));

  // The socket reader's state: pg's data listeners while they are off the stream, the bytes of a
  // message header split between two reads, and what is left of the message being read.
  private stream: PgConnection["stream"];
  private pgListeners: DataListener[] | undefined;
  private carry: Buffer | undefined;
  private payloadLeft = 0;
  private passLeft = 0;
  private readonly onData = (chunk: Buffer): void => {
    try {
      this.read(chunk);
    } catch (error) {
      this.abandon(error as Error);
    }
  };
  // pg's message path: rows gathered into one buffer between hash updates.
  private pending: Buffer | undefined;
  private used = 0;

  constructor(
    readonly text: string,
    private readonly raw: boolean,
  ) {}

  submit(connection: PgConnection): void {
    const stream = connection.stream;
    const listeners = stream?.listeners("data");
    // pg's parser is the stream's one data listener; anything else and the rows go through pg.
    if (this.raw && stream && listeners?.length === 1 && typeof listeners[0] === "function") {
      this.stream = stream;
      this.pgListeners = listeners as DataListener[];
      for (const listener of this.pgListeners) stream.removeListener("data", listener);
      stream.on("data", this.onData);
    }
    connection.query(this.text);
  }

  /** One socket read: row payloads hashed and counted, other messages to pg, pg back at the COPY's end. */
  private read(chunk: Buffer): void {
    let buf = chunk;
    if (this.carry) {
      buf = Buffer.concat([this.carry, chunk]);
      this.carry = undefined;
    }
    const end = buf.length;
    let at = 0;
    // Row payloads are moved down to [start, write) over the headers between them; the chunk is
    // this reader's alone while pg's listener is off.
    let start = 0;
    let write = 0;
    while (at < end) {
      if (this.payloadLeft > 0) {
        const n = Math.min(this.payloadLeft, end - at);
        if (write !== at) buf.copyWithin(write, at, at + n);
        write += n;
        at += n;
        this.payloadLeft -= n;
        continue;
      }
      if (this.passLeft > 0) {
        const n = Math.min(this.passLeft, end - at);
        this.pass(buf.subarray(at, at + n));
        at += n;
        this.passLeft -= n;
        start = write = at;
        continue;
      }
      if (end - at < HEADER) {
        this.carry = Buffer.from(buf.subarray(at, end));
        break;
      }
      const code = buf[at]!;
      const length = buf.readUInt32BE(at + 1);
      if (length < 4 || length > MAX_MESSAGE) {
        throw new CopyProtocolError(`a message of length ${length} from the server during COPY`);
      }
      if (code === COPY_DATA) {
        if (!this.copying) throw new CopyProtocolError("CopyData from the server before CopyOutResponse");
        at += HEADER;
        this.payloadLeft = length - 4;
        continue;
      }
      this.digest(buf, start, write);
      start = write = at;
      if (code === COPY_DONE || code === ERROR_RESPONSE || code === READY_FOR_QUERY) {
        this.release();
        this.pass(buf.subarray(at));
        return;
      }
      if (code === COPY_OUT_RESPONSE) this.copying = true;
      else if (!PASSED_ON.has(code)) {
        throw new CopyProtocolError(
          `an unexpected message '${String.fromCharCode(code)}' from the server during COPY`,
        );
      }
      this.passLeft = length + 1;
    }
    this.digest(buf, start, write);
  }

  private digest(buf: Buffer, start: number, end: number): void {
    if (end <= start) return;
    this.hash.update(buf.subarray(start, end));
    this.rows += countNewlines(buf, start, end);
  }

  private pass(bytes: Buffer): void {
    if (bytes.length === 0) return;
    for (const listener of this.pgListeners ?? []) listener(bytes);
  }

  /** pg's listener back on the stream (idempotent). */
  private release(): void {
    const stream = this.stream;
    if (!stream || !this.pgListeners) return;
    this.stream = undefined;
    stream.removeListener("data", this.onData);
    for (const listener of this.pgListeners) stream.on("data", listener);
  }

  /** Misframed bytes: the session cannot be trusted, so it is closed (pg then fails the query). */
  private abandon(error: Error): void {
    const stream = this.stream;
    this.failure ??= error;
    this.release();
    stream?.destroy(error);
    this.reject(error);
  }

  handleCopyOutResponse(): void {}

  handleCopyData(message: { chunk: Buffer }): void {
    // pg's message path (the socket is not read here).
    const { chunk } = message;
    this.rows += countNewlines(chunk);
    this.pending ??= Buffer.allocUnsafe(HASH_BATCH);
    if (this.used + chunk.length > HASH_BATCH) this.flush();
    if (chunk.length > HASH_BATCH) this.hash.update(chunk);
    else this.used += chunk.copy(this.pending, this.used);
    this.copying = true;
  }

  private flush(): void {
    if (this.pending && this.used > 0) this.hash.update(this.pending.subarray(0, this.used));
    this.used = 0;
  }

  handleCommandComplete(message: { text?: string }): void {
    const match = /^COPY (\d+)$/.exec(message.text ?? "");
    if (match) this.serverRows = Number(match[1]);
  }

  /** A server error (pg calls no handleReadyForQuery after it) or the connection's end. */
  handleError(error: Error): void {
    this.release();
    // A COPY FROM's CopyFail comes back as the server's error: the reason is that it was not a COPY TO.
    this.reject(this.failure ?? error);
  }

  handleReadyForQuery(): void {
    this.release();
    if (this.failure) return this.reject(this.failure);
    if (!this.copying && this.serverRows === undefined) {
      return this.reject(new CopyProtocolError(`not a COPY ... TO STDOUT: ${this.text}`));
    }
    this.flush();
    // The server's own row count checks the framing: a misread stream cannot pass.
    if (this.serverRows !== undefined && this.serverRows !== this.rows) {
      return this.reject(
        new CopyProtocolError(`the server sent ${this.serverRows} rows and ${this.rows} were read`),
      );
    }
    this.settled = true;
    this.settle.resolve({ sha256: this.hash.digest("hex"), rows: this.rows });
  }

  private reject(error: Error): void {
    if (this.settled) return;
    this.settled = true;
    this.settle.reject(error);
  }

  handleCopyInResponse(connection: PgConnection): void {
    this.failure ??= new CopyProtocolError(`not a COPY ... TO STDOUT: ${this.text}`);
    connection.sendCopyFail("not a COPY TO STDOUT");
  }
  handleRowDescription(): void {}
  handleDataRow(): void {}
  handleEmptyQuery(): void {}
  handlePortalSuspended(): void {}
}

/**
 * Runs `sql` (a COPY ... TO STDOUT in text format) on the client and returns the sha256 of the
 * text and its rows (COPY's text format ends every row with a newline and escapes newlines in
 * values, so the newlines are the rows). Rejects on a server error (the client stays usable) and
 * on a broken connection or misframed stream (the client is closed).
 */
export function copyOutDigest(
  client: pg.Client,
  sql: string,
  options: { raw?: boolean } = {},
): Promise<CopyOut> {
  const query = new CopyOutDigest(sql, options.raw ?? true);
  void client.query(query as unknown as pg.QueryConfig);
  return query.done;
}
