/**
 * The two ways masking moves rows between the server and the job: a cursor fetched in batches
 * (every value as PostgreSQL's text, unparsed) and COPY ... FROM STDIN of prepared text. Both run
 * on the masking transaction's own connection, so they see and write its uncommitted state; a
 * cursor, unlike COPY TO, leaves the connection free between batches to COPY the fakes back in.
 */
import type pg from "pg";

const FIRST_BATCH_ROWS = 1_000;
const BATCH_CHARACTERS = 8_000_000;

/** Rows whose characters are counted to size the next batch: a sample, evenly spread. */
const SAMPLED_ROWS = 1_000;

/** The characters of the rows, estimated from a sample (counting every value cost 2% of masking's CPU). */
function characters(rows: (string | null)[][]): number {
  const step = Math.max(1, Math.floor(rows.length / SAMPLED_ROWS));
  let n = 0;
  let counted = 0;
  for (let i = 0; i < rows.length; i += step, counted++) {
    for (const value of rows[i]!) n += value === null ? 1 : value.length;
  }
  return Math.ceil((n * rows.length) / counted);
}

/** Every column as its text (or null): no type parsing, the fakes take text. */
const RAW_TEXT = { getTypeParser: () => (value: string) => value };

/**
 * Runs `select` as a cursor and hands each batch of rows (arrays of text or null) to `onBatch`;
 * what it returns, rows in COPY's text format, is copied into `copyInto`. The connection takes one
 * statement at a time (pg deprecates queueing a second on a busy client), in this order: the next
 * FETCH, then the COPY of the batch just computed; so while `onBatch` computes a batch, the server
 * fetches the next one and copies in the one before.
 */
export async function scanRows(
  client: pg.Client,
  select: string,
  batchRows: number,
  onBatch: (rows: (string | null)[][]) => string | void | Promise<string | void>,
  copyInto?: string,
): Promise<number> {
  await client.query(`DECLARE lifeboat_mask_scan NO SCROLL CURSOR FOR ${select}`);
  // The connection's statements, one after the other; a failure fails every one queued after it.
  let connection: Promise<unknown> = Promise.resolve();
  const serially = <T>(statement: () => Promise<T>): Promise<T> => {
    const result = connection.then(statement);
    connection = result;
    return result;
  };
  const fetch = (size: number) =>
    serially(() =>
      client.query<(string | null)[]>({
        text: `FETCH ${size} FROM lifeboat_mask_scan`,
        rowMode: "array",
        types: RAW_TEXT,
      }),
    );
  // Rows can be a few bytes or megabytes each: the first batch is small, the next ones sized
  // from what the rows weighed, so that a batch holds about BATCH_CHARACTERS of text.
  let size = Math.min(batchRows, FIRST_BATCH_ROWS);
  let total = 0;
  let rows = (await fetch(size)).rows;
  try {
    while (rows.length > 0) {
      total += rows.length;
      const last = rows.length < size;
      size = Math.max(
        1,
        Math.min(batchRows, Math.floor((BATCH_CHARACTERS * rows.length) / (characters(rows) + 1))),
      );
      const next = last ? undefined : fetch(size);
      // Settled here so that a failure while computing leaves no rejection unheard.
      next?.catch(() => undefined);
      const text = await onBatch(rows);
      if (text && copyInto) void serially(() => copyIn(client, copyInto, text)).catch(() => undefined);
      rows = next ? (await next).rows : [];
    }
  } finally {
    // Whatever failed, the statements queued must finish before the caller's ROLLBACK can run.
    await connection.catch(() => undefined);
  }
  await connection;
  await client.query("CLOSE lifeboat_mask_scan");
  return total;
}

/** One field of COPY's text format: backslash, tab, newline and carriage return escaped; null as \N. */
export function copyField(value: string | null): string {
  if (value === null) return "\\N";
  if (!/[\\\t\n\r]/.test(value)) return value;
  return value.replace(/[\\\t\n\r]/g, (c) =>
    c === "\\" ? "\\\\" : c === "\t" ? "\\t" : c === "\n" ? "\\n" : "\\r",
  );
}

/** COPY `target` FROM STDIN with `text` (rows already in COPY's text format). */
export function copyIn(client: pg.Client, target: string, text: string): Promise<void> {
  return new Promise((resolve, reject) => {
    client.query(new CopyIn(`COPY ${target} FROM STDIN`, Buffer.from(text, "utf8"), resolve, reject));
  });
}

/**
 * A pg "submittable": pg hands it the protocol messages of its statement. Only what COPY FROM
 * STDIN needs: send the data when the server asks for it, settle when the server is ready again.
 */
class CopyIn {
  private error: Error | undefined;

  constructor(
    readonly text: string,
    private readonly data: Buffer,
    private readonly resolve: () => void,
    private readonly reject: (error: Error) => void,
  ) {}

  submit(connection: CopyConnection): void {
    connection.query(this.text);
  }

  handleCopyInResponse(connection: CopyConnection): void {
    const chunk = 1 << 20;
    for (let offset = 0; offset < this.data.length; offset += chunk) {
      connection.sendCopyFromChunk(this.data.subarray(offset, offset + chunk));
    }
    connection.endCopyFrom();
  }

  // pg passes a query no ReadyForQuery after its ErrorResponse (nor after a lost connection): the
  // error settles the COPY, or the statements queued after it would wait forever.
  handleError(error: Error): void {
    this.error = error;
    this.reject(error);
  }

  handleReadyForQuery(): void {
    if (this.error) this.reject(this.error);
    else this.resolve();
  }

  handleCommandComplete(): void {}
  handleRowDescription(): void {}
  handleDataRow(): void {}
  handleEmptyQuery(): void {}
  handlePortalSuspended(): void {}
  handleCopyData(): void {}
}

interface CopyConnection {
  query(text: string): void;
  sendCopyFromChunk(chunk: Buffer): void;
  endCopyFrom(): void;
}
