/**
 * Scratch databases for restore tests: created with a unique name on a server where the user may
 * CREATE DATABASE, dropped afterwards (connections and all).
 */
import { randomBytes } from "node:crypto";
import type pg from "pg";
import type { DatabaseUrl } from "../domain/database-url.js";
import { InputError, OperationError, describeError } from "../domain/errors.js";
import { quoteIdent } from "./snapshot.js";

export function scratchName(backupId: string): string {
  return `lifeboat_rt_${backupId.slice(0, 15).toLowerCase()}_${randomBytes(3).toString("hex")}`;
}

export async function createScratchDatabase(client: pg.Client, name: string, input: string): Promise<void> {
  try {
    await client.query(`CREATE DATABASE ${quoteIdent(name)}`);
  } catch (error) {
    const code = (error as { code?: string }).code;
    if (code === "42501") {
      throw new InputError(
        `--${input}: the role may not CREATE DATABASE on that server (${describeError(error)}); use a connection where it may, such as a service container's superuser`,
        { input, cause: error },
      );
    }
    throw new OperationError(`creating the scratch database ${name} failed: ${describeError(error)}`, {
      cause: error,
    });
  }
}

export async function dropScratchDatabase(client: pg.Client, name: string): Promise<void> {
  // WITH (FORCE) ends leftover sessions (a migration tool that did not disconnect); PostgreSQL 13+.
  const serverVersion = Number((await client.query<{ v: string }>("SHOW server_version_num")).rows[0]!.v);
  const force = serverVersion >= 130000 ? " WITH (FORCE)" : "";
  await client.query(`DROP DATABASE IF EXISTS ${quoteIdent(name)}${force}`);
}

/** The scratch server's URL pointed at another database on it. */
export function withDatabase(url: DatabaseUrl, database: string): DatabaseUrl {
  const bare = new URL(url.withoutPassword);
  bare.pathname = `/${encodeURIComponent(database)}`;
  bare.searchParams.delete("dbname");
  const display = new URL(url.redacted);
  display.pathname = bare.pathname;
  const params = { ...url.params };
  delete params.dbname;
  return { ...url, database, withoutPassword: bare.toString(), redacted: display.toString(), params };
}
