/**
 * Holds a masked table's rows to its CHECK constraints and domains before they are stored, as the
 * restore of the masked copy will: a fake may break a rule the source values kept (an email that
 * must end in the company's domain, a name with a length limit in a domain), and a masked copy that
 * cannot be restored must never be written. The rows the masker writes for such a table are copied
 * into a temporary table made LIKE it INCLUDING CONSTRAINTS INCLUDING GENERATED (a generated
 * column is computed from the masked values, as a restore computes it), in the scratch database, on a
 * connection of its own; the server checks them exactly as a restore would, and the temporary
 * table is emptied after each batch and dropped at the end. Only tables with a CHECK constraint on
 * a masked column, or a masked column of a domain type, are probed (apply.ts, planArchiveMasking).
 *
 * The rows reach the constrained table from a table of text columns, inside a PL/pgSQL block that
 * catches the failure and raises its message alone: a COPY refused straight away would have the
 * scratch server log the failing row (DETAIL, and the COPY line in CONTEXT), whose unmasked columns
 * hold source values, and a server's log can end up in a CI job's output.
 */
import pg from "pg";
import { describeErrorWithoutValues, OperationError } from "../domain/errors.js";
import { quoteIdent } from "./catalog-check.js";

export class ConstraintProbe {
  private readonly tables = new Map<
    string,
    { table: string; name: string; index: number; raw?: string; rows?: string }
  >();
  private failure: Error | undefined;
  private queue: Promise<void> = Promise.resolve();

  constructor(private readonly client: pg.Client) {}

  /**
   * The probe for the plan's relations that need one (RelationPlan.probe), on a connection of its
   * own opened by `connect`; none, and no connection, when no relation does.
   */
  static async forPlan(
    // The plan's shape, not its type: archive-mask.ts imports this module.
    plan: { relations: Map<string, { name: string; quoted: string; probe: boolean }> },
    connect: () => Promise<pg.Client>,
  ): Promise<ConstraintProbe | undefined> {
    const probed = [...plan.relations.values()].filter((relation) => relation.probe);
    if (probed.length === 0) return undefined;
    return ConstraintProbe.open(await connect(), probed);
  }

  /** Sets up the probe tables on `client` (which the probe then owns) inside one transaction. */
  static async open(
    client: pg.Client,
    relations: { name: string; quoted: string }[],
  ): Promise<ConstraintProbe> {
    const probe = new ConstraintProbe(client);
    try {
      await client.query("BEGIN");
      // SQL_ASCII's bytes are in no encoding: the masked rows come as the database holds them.
      const { rows: encoding } = await client.query<{ e: string }>(
        "SELECT current_setting('server_encoding') AS e",
      );
      if (encoding[0]!.e === "SQL_ASCII") await client.query("SET LOCAL client_encoding = 'SQL_ASCII'");
      for (const [index, relation] of relations.entries()) {
        const table = `pg_temp.lifeboat_probe_${index}`;
        // Generated columns are computed from the masked values, as a restore computes them.
        await client.query(
          `CREATE TEMP TABLE lifeboat_probe_${index} (LIKE ${relation.quoted} INCLUDING CONSTRAINTS INCLUDING GENERATED)`,
        );
        // A CHECK added NOT VALID holds only for new rows: pg_dump adds it after the data.
        const { rows: unvalidated } = await client.query<{ conname: string }>(
          "SELECT conname FROM pg_constraint WHERE conrelid = $1::regclass AND contype = 'c' AND NOT convalidated",
          [relation.quoted],
        );
        for (const { conname } of unvalidated) {
          await client.query(`ALTER TABLE ${table} DROP CONSTRAINT IF EXISTS ${quoteIdent(conname)}`);
        }
        // By the quoted name: "a.b"."c" and "a"."b.c" are two relations.
        probe.tables.set(relation.quoted, { table, name: relation.name, index });
      }
    } catch (error) {
      await probe.close();
      throw error;
    }
    return probe;
  }

  probes(relation: string): boolean {
    return this.tables.has(relation);
  }

  /** Copies one batch of masked rows (COPY text, archive column order) into the probe table of `quoted`. */
  check(quoted: string, columns: string[], rows: Buffer): Promise<void> {
    const probe = this.tables.get(quoted)!;
    const { table, name: relation } = probe;
    this.queue = this.queue.then(async () => {
      if (this.failure) throw this.failure;
      try {
        if (probe.raw === undefined) {
          const raw = `lifeboat_probe_raw_${probe.index}`;
          await this.client.query(
            `CREATE TEMP TABLE ${raw} (${columns.map((c) => `${quoteIdent(c)} text`).join(", ")})`,
          );
          probe.raw = `pg_temp.${raw}`;
          // A json or jsonb value goes in as the document its text is, not as a JSON string.
          const { rows: json } = await this.client.query<{ attname: string }>(
            `SELECT a.attname FROM pg_attribute a JOIN pg_type t ON t.oid = a.atttypid
              WHERE a.attrelid = $1::regclass AND a.attnum > 0 AND a.attname = ANY ($2::text[])
                AND ('jsonb'::regtype IN (t.oid, t.typbasetype) OR 'json'::regtype IN (t.oid, t.typbasetype))`,
            [table, columns],
          );
          const documents = json.map(
            ({ attname }) => `${pg.escapeLiteral(attname)}, r.${quoteIdent(attname)}::jsonb`,
          );
          probe.rows =
            documents.length === 0
              ? `to_jsonb(r.*)`
              : `to_jsonb(r.*) || jsonb_build_object(${documents.join(", ")})`;
        }
        await copyIn(this.client, `${probe.raw} (${columns.map(quoteIdent).join(", ")})`, rows);
        // Each value through its type's input function, as COPY reads it (typmods and domains
        // included): jsonb_populate_recordset does that, by column name.
        await this.client.query(
          `DO $probe$
           #variable_conflict use_column
           BEGIN
             INSERT INTO ${table} (${columns.map(quoteIdent).join(", ")})
             SELECT ${columns.map(quoteIdent).join(", ")} FROM jsonb_populate_recordset(NULL::${table}, (SELECT coalesce(jsonb_agg(${probe.rows}), '[]') FROM ${probe.raw} r));
           EXCEPTION WHEN OTHERS THEN
             RAISE EXCEPTION USING MESSAGE = SQLERRM, ERRCODE = SQLSTATE;
           END $probe$`,
        );
        await this.client.query(`TRUNCATE ${table}, ${probe.raw}`);
      } catch (error) {
        // The server's message names the constraint and the type, never the row (its DETAIL would).
        const message = describeErrorWithoutValues(error).replaceAll(
          `"${table.replace("pg_temp.", "")}"`,
          `"${relation}"`,
        );
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
