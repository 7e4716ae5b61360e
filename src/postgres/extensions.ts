/** The extensions installed in a database, with the schema each was installed into. */
import type pg from "pg";

export async function listExtensions(client: pg.Client): Promise<{ name: string; schema: string }[]> {
  const { rows } = await client.query<{ name: string; schema: string }>(
    `SELECT e.extname AS name, n.nspname AS schema
       FROM pg_catalog.pg_extension e JOIN pg_catalog.pg_namespace n ON n.oid = e.extnamespace
      ORDER BY e.extname COLLATE "C"`,
  );
  return rows;
}
