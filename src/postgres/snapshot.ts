/**
 * The exported snapshot pg_dump dumps.
 *
 * A REPEATABLE READ transaction exports its snapshot and pg_dump runs with --snapshot=<id>: the
 * backup's point in time is fixed before pg_dump starts, and whatever else reads the source for
 * the backup (a catalog fingerprint) can read it in the same snapshot. The transaction must stay
 * open until pg_dump has imported the snapshot; it is kept open until the dump ends. It reads no
 * table and takes no lock: the row counts come from the archive itself (src/postgres/archive).
 */
import type pg from "pg";
import { disableTimeouts } from "./connect.js";

export interface Snapshot {
  id: string;
  /** Ends the transaction (the snapshot stops being importable). */
  release(): Promise<void>;
}

export async function exportSnapshot(client: pg.Client): Promise<Snapshot> {
  // A long dump must not be cancelled by the server's timeouts while this session holds the
  // snapshot (connect() turns them off too; this session must stay, so it makes sure).
  await disableTimeouts(client);
  await client.query("BEGIN ISOLATION LEVEL REPEATABLE READ, READ ONLY");
  const { rows } = await client.query<{ id: string }>("SELECT pg_export_snapshot() AS id");
  let open = true;
  return {
    id: rows[0]!.id,
    async release() {
      if (!open) return;
      open = false;
      await client.query("ROLLBACK");
    },
  };
}

export function quoteIdent(name: string): string {
  return `"${name.replaceAll('"', '""')}"`;
}
