/**
 * Holds a masked table's rows to its CHECK constraints and domains before they are stored, as the
 * restore of the masked copy will: a fake may break a rule the source values kept (an email that
 * must end in the company's domain, a name with a length limit in a domain), and a masked copy that
 * cannot be restored must never be written. The rows the masker writes for such a table are copied
 * into a temporary table made LIKE it INCLUDING CONSTRAINTS, in the scratch database, on a
 * connection of its own; the server checks them exactly as a restore would, and the temporary
 * table is emptied after each batch and dropped at the end. Only tables with a CHECK constraint on
 * a masked column, or a masked column of a domain type, are probed (apply.ts, planArchiveMasking).
 */
import type pg from "pg";
import { describeErrorWithoutValues, OperationError } from "../domain/errors.js";
import { quoteIdent } from "./catalog-check.js";

export class ConstraintProbe {
  private readonly tables = new Map<string, { table: string; name: string }>();
  private failure: Error | undefined;
  private queue: Promise<void> = Promise.resolve();

  constructor(private readonly client: pg.Client) {}

  /** Sets up the probe tables on `client` (which the probe then owns) inside one transaction. */
  static async open(
    client: pg.Client,
    relations: { name: string; quoted: string }[],
  ): Promise<ConstraintProbe> {
    const probe = new ConstraintProbe(client);
    await client.query("BEGIN");
    for (const [index, relation] of relations.entries()) {
      const table = `pg_temp.lifeboat_probe_${index}`;
      await client.query(
        `CREATE TEMP TABLE lifeboat_probe_${index} (LIKE ${relation.quoted} INCLUDING CONSTRAINTS)`,
      );
      // By the quoted name: "a.b"."c" and "a"."b.c" are two relations.
      probe.tables.set(relation.quoted, { table, name: relation.name });
    }
    return probe;
  }

  probes(relation: string): boolean {
    return this.tables.has(relation);
  }

  /** Copies one batch of masked rows (COPY text, archive column order) into the probe table of `quoted`. */
  check(quoted: string, columns: string[], rows: Buffer): Promise<void> {
    const { table, name: relation } = this.tables.get(quoted)!;
    const target = `${table} (${columns.map(quoteIdent).join(", ")})`;
    this.queue = this.queue.then(async () => {
      if (this.failure) throw this.failure;
      try {
        await copyIn(this.client, target, rows);
        await this.client.query(`TRUNCATE ${table}`);
      } catch (error) {
        // The server's message names the constraint and the type, never the row (its DETAIL would).
        const message = describeErrorWithoutValues(error)
          .replace(/(invalid input syntax for type [^:]+):.*/, "$1")
          .replaceAll(`"${table.replace("pg_temp.", "")}"`, `"${relation}"`);
        this.failure = new OperationError(
          `the masked rows of ${relation} break a rule of the table, which a restore would refuse: ${message}`,
        );
        throw this.failure;
      }
    });
    return this.queue;
  }

  async close(): Promise<void> {
    await this.client.query("ROLLBACK").catch(() => undefined);
    await this.client.end().catch(() => undefined);
  }
}

/** COPY `target` FROM STDIN with `data` (rows already in COPY's text format). */
function copyIn(client: pg.Client, target: string, data: Buffer): Promise<void> {
  return new Promise((resolve, reject) => {
    client.query(new CopyIn(`COPY ${target} FROM STDIN`, data, resolve, reject));
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
