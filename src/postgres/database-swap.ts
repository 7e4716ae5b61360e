/**
 * restore's swap strategy on the server's side: whether the target may be swapped, a new database
 * beside it made like it, and the rename that puts the new one in the target's place while the old
 * one stays under another name. Every statement here runs on a maintenance connection (another
 * database of the same server): a database cannot be renamed while anyone, us included, is
 * connected to it.
 */
import { randomBytes } from "node:crypto";
import type pg from "pg";
import type { DatabaseUrl } from "../domain/database-url.js";
import { describeError, OperationError } from "../domain/errors.js";
import { connect } from "./connect.js";
import { withDatabase } from "./scratch.js";
import { quoteIdent } from "./snapshot.js";

/**
 * Sessions that count as "someone is connected": not autovacuum workers. A database that has just
 * been bulk-loaded (the last restore) or is simply busy has one at work most of the time, and
 * PostgreSQL itself ends them for a RENAME or DROP DATABASE; counting one refused a swap, or failed
 * it after the whole restore, for a session nobody could stop.
 */
const NOT_AUTOVACUUM = "backend_type <> 'autovacuum worker'";

/** PostgreSQL's limit on a database name, in bytes (NAMEDATALEN - 1). */
const MAX_NAME_BYTES = 63;

/** The target's name with a suffix, the target's part shortened to fit PostgreSQL's 63 bytes. */
export function derivedName(target: string, suffix: string): string {
  let base = target;
  while (Buffer.byteLength(`${base}${suffix}`) > MAX_NAME_BYTES) base = base.slice(0, -1);
  return `${base}${suffix}`;
}

/** A UTC time as a database name can hold it: 20261122t013000z. */
function stamp(time: Date): string {
  return time
    .toISOString()
    .replace(/[-:]/g, "")
    .replace(/\.\d+Z$/, "z")
    .toLowerCase();
}

const NEW_MARK = "_lifeboat_new_";
/** What follows the mark: the creation time and a random part, always this long. */
const NEW_TAIL = /^(\d{8}t\d{6}z)_[0-9a-f]{4}$/;
const NEW_TAIL_LENGTH = "20261122t013000z_abcd".length;

/**
 * The new database's name: the target's, Lifeboat's mark, and the time it was made, so that one
 * a killed run left behind is recognisable and its age known.
 */
export function newDatabaseName(target: string, now: Date): string {
  return derivedName(target, `${NEW_MARK}${stamp(now)}_${randomBytes(2).toString("hex")}`);
}

/**
 * The previous database's name after the swap: the target's, with the time of the restore and a
 * random tag, so that two restores in the same second keep two distinct previous databases.
 */
export function oldDatabaseName(target: string, now: Date): string {
  return derivedName(target, `_lifeboat_old_${stamp(now)}_${randomBytes(2).toString("hex")}`);
}

/** Runs killed outright leave their new database; after this long, with no one connected, it goes. */
export const ABANDONED_AFTER_MS = 24 * 3600 * 1000;

/**
 * Drops new databases that earlier restores into this target left behind (SIGKILL, machine lost):
 * named for this target, older than ABANDONED_AFTER_MS by their name, and with no session (a
 * restore still running has pg_restore or its checks connected). Returns the names dropped.
 */
export async function sweepAbandoned(admin: pg.Client, target: string, now: Date): Promise<string[]> {
  const prefix = derivedName(target, `${NEW_MARK}${"x".repeat(NEW_TAIL_LENGTH)}`).slice(0, -NEW_TAIL_LENGTH);
  const { rows } = await admin.query<{ datname: string }>(
    `SELECT datname FROM pg_catalog.pg_database d
      WHERE pg_catalog.starts_with(datname, $1)
        AND NOT EXISTS (SELECT 1 FROM pg_catalog.pg_stat_activity a
                         WHERE a.datname = d.datname AND a.${NOT_AUTOVACUUM})`,
    [prefix],
  );
  const dropped: string[] = [];
  for (const { datname } of rows) {
    const made = NEW_TAIL.exec(datname.slice(prefix.length))?.[1];
    if (!made) continue;
    const time = Date.parse(
      `${made.slice(0, 4)}-${made.slice(4, 6)}-${made.slice(6, 8)}T${made.slice(9, 11)}:${made.slice(11, 13)}:${made.slice(13, 15)}Z`,
    );
    if (!(now.getTime() - time > ABANDONED_AFTER_MS)) continue;
    await admin.query(`DROP DATABASE IF EXISTS ${quoteIdent(datname)}`);
    dropped.push(datname);
  }
  return dropped;
}

/** What the role may do with the target, and what stands in the way of a swap. */
export interface SwapProbe {
  /** Why a swap is impossible, or undefined when it is possible. */
  impossible: string | undefined;
  /** Sessions connected to the target other than ours, with their application names. */
  otherSessions: { count: number; applications: string[] };
  superuser: boolean;
}

/**
 * Reads, from a connection to the target itself, whether the role may swap it: it may CREATE
 * DATABASE (or is a superuser) and owns the target (ALTER DATABASE ... RENAME needs both). A
 * server's `postgres` database is never swapped by default: platforms (Supabase) and tools
 * connect to it by name, and a managed one cannot be renamed at all.
 */
export async function probeSwap(client: pg.Client, options: { explicit: boolean }): Promise<SwapProbe> {
  const { rows } = await client.query<{
    database: string;
    superuser: boolean;
    createdb: boolean;
    owns: boolean;
    owner: string;
    template: boolean;
  }>(
    `SELECT d.datname AS database, r.rolsuper AS superuser, r.rolcreatedb AS createdb,
            pg_catalog.pg_has_role(d.datdba, 'USAGE') AS owns,
            pg_catalog.pg_get_userbyid(d.datdba) AS owner, d.datistemplate AS template
       FROM pg_catalog.pg_database d, pg_catalog.pg_roles r
      WHERE d.datname = pg_catalog.current_database() AND r.rolname = current_user`,
  );
  const row = rows[0]!;
  const sessions = await client.query<{ count: string; applications: string[] | null }>(
    `SELECT count(*) AS count,
            array_agg(DISTINCT NULLIF(application_name, '')) FILTER (WHERE application_name <> '') AS applications
       FROM pg_catalog.pg_stat_activity
      WHERE datname = pg_catalog.current_database() AND pid <> pg_catalog.pg_backend_pid()
        AND ${NOT_AUTOVACUUM}`,
  );
  const otherSessions = {
    count: Number(sessions.rows[0]!.count),
    applications: sessions.rows[0]!.applications ?? [],
  };
  let impossible: string | undefined;
  if (!row.superuser && !row.createdb) {
    impossible = "the role may not CREATE DATABASE on that server";
  } else if (!row.superuser && !row.owns) {
    impossible = `the role does not own database ${row.database} (its owner is ${row.owner}), so it may not rename it`;
  } else if (row.template) {
    impossible = `${row.database} is a template database`;
  } else if (row.database === "postgres" && !options.explicit) {
    impossible =
      "postgres is the server's default database, which platforms and tools connect to by name (a managed one, such as Supabase's, cannot be renamed)";
  }
  return { impossible, otherSessions, superuser: row.superuser };
}

/** A connection to another database of the target's server, for statements about the target. */
export async function connectMaintenance(target: DatabaseUrl, input: string): Promise<pg.Client> {
  let lastError: unknown;
  for (const database of ["postgres", "template1"].filter((name) => name !== target.database)) {
    try {
      return await connect(withDatabase(target, database), input);
    } catch (error) {
      lastError = error;
    }
  }
  throw new OperationError(
    `no other database of the target's server accepts the role (tried postgres and template1), and a database can only be renamed from another one: ${describeError(lastError)}`,
  );
}

/** Encoding and locale, as the manifest's catalog fingerprint records the source's. */
export interface DatabaseLocale {
  encoding: string;
  collate: string;
  ctype: string;
}

/** Invalid parameter value, wrong object type, undefined object: a locale or encoding refused. */
const LOCALE_REFUSED = new Set(["22023", "42809", "42704"]);

/**
 * Creates the new database beside the target: from template0, owned by the target's owner, in the
 * source's encoding and locale when the server has them (the target's otherwise, with a notice).
 */
export async function createDatabaseBeside(
  admin: pg.Client,
  options: { name: string; target: string; like: DatabaseLocale | undefined },
): Promise<string | undefined> {
  const { rows } = await admin.query<DatabaseLocale & { owner: string }>(
    `SELECT pg_catalog.pg_encoding_to_char(encoding) AS encoding, datcollate AS collate, datctype AS ctype,
            pg_catalog.pg_get_userbyid(datdba) AS owner
       FROM pg_catalog.pg_database WHERE datname = $1`,
    [options.target],
  );
  const target = rows[0];
  if (!target) throw new OperationError(`database ${options.target} is gone from its server`);
  const create = (locale: DatabaseLocale) =>
    admin.query(
      `CREATE DATABASE ${quoteIdent(options.name)} OWNER ${quoteIdent(target.owner)} TEMPLATE template0 ENCODING ${literal(locale.encoding)} LC_COLLATE ${literal(locale.collate)} LC_CTYPE ${literal(locale.ctype)}`,
    );
  if (options.like) {
    try {
      await create(options.like);
      return undefined;
    } catch (error) {
      if (!LOCALE_REFUSED.has(String((error as { code?: string }).code))) throw error;
      await create(target);
      return `the server refuses the source's encoding and locale ${options.like.encoding} ${options.like.collate}/${options.like.ctype} (${describeError(error)}): the new database has the target's, ${target.encoding} ${target.collate}/${target.ctype}`;
    }
  }
  await create(target);
  return undefined;
}

/**
 * Gives the new database what belongs to the database rather than to its contents, as the target
 * has it: ALTER DATABASE ... SET and per-role settings, grants on the database, connection limit,
 * comment. pg_dump's archive holds none of them. Returns what could not be copied, one line each.
 */
export async function copyDatabaseProperties(admin: pg.Client, from: string, to: string): Promise<string[]> {
  const problems: string[] = [];
  const run = async (sql: string, what: string) => {
    try {
      await admin.query(sql);
    } catch (error) {
      problems.push(`${what} was not copied to the restored database: ${describeError(error)}`);
    }
  };
  const db = (
    await admin.query<{ oid: number; connlimit: number; acl: string | null; comment: string | null }>(
      `SELECT oid, datconnlimit AS connlimit, datacl::text AS acl,
              pg_catalog.shobj_description(oid, 'pg_database') AS comment
         FROM pg_catalog.pg_database WHERE datname = $1`,
      [from],
    )
  ).rows[0];
  if (!db) return [`database ${from} is gone: nothing of it was copied`];
  const settings = await admin.query<{ role: string | null; settings: string[] }>(
    `SELECT CASE WHEN setrole = 0 THEN NULL ELSE pg_catalog.pg_get_userbyid(setrole) END AS role, setconfig AS settings
       FROM pg_catalog.pg_db_role_setting WHERE setdatabase = $1`,
    [db.oid],
  );
  for (const { role, settings: pairs } of settings.rows) {
    for (const pair of pairs) {
      const eq = pair.indexOf("=");
      const name = pair.slice(0, eq);
      const value = pair.slice(eq + 1);
      const scope =
        role === null
          ? `DATABASE ${quoteIdent(to)}`
          : `ROLE ${quoteIdent(role)} IN DATABASE ${quoteIdent(to)}`;
      await run(
        `ALTER ${scope} SET ${quoteIdent(name)} = ${literal(value)}`,
        `setting ${pair}${role ? ` for ${role}` : ""}`,
      );
    }
  }
  if (db.acl !== null) {
    const grants = await admin.query<{ grantee: string | null; privilege: string; grantable: boolean }>(
      `SELECT CASE WHEN a.grantee = 0 THEN NULL ELSE pg_catalog.pg_get_userbyid(a.grantee) END AS grantee,
              a.privilege_type AS privilege, a.is_grantable AS grantable
         FROM pg_catalog.pg_database d, LATERAL pg_catalog.aclexplode(d.datacl) a
        WHERE d.datname = $1`,
      [from],
    );
    // An explicit ACL replaces the default one (CONNECT and TEMPORARY to PUBLIC) entirely.
    await run(`REVOKE ALL ON DATABASE ${quoteIdent(to)} FROM PUBLIC`, "the database's grants");
    for (const grant of grants.rows) {
      const grantee = grant.grantee === null ? "PUBLIC" : quoteIdent(grant.grantee);
      await run(
        `GRANT ${grant.privilege} ON DATABASE ${quoteIdent(to)} TO ${grantee}${grant.grantable ? " WITH GRANT OPTION" : ""}`,
        `grant ${grant.privilege} to ${grant.grantee ?? "PUBLIC"}`,
      );
    }
  }
  if (db.connlimit !== -1) {
    await run(`ALTER DATABASE ${quoteIdent(to)} CONNECTION LIMIT ${db.connlimit}`, "the connection limit");
  }
  if (db.comment !== null) {
    await run(`COMMENT ON DATABASE ${quoteIdent(to)} IS ${literal(db.comment)}`, "the database's comment");
  }
  return problems;
}

/** Sessions on a database other than ours, with their application names. */
async function sessionsOn(
  admin: pg.Client,
  database: string,
): Promise<{ pid: number; application: string }[]> {
  const { rows } = await admin.query<{ pid: number; application: string }>(
    `SELECT pid, application_name AS application FROM pg_catalog.pg_stat_activity
      WHERE datname = $1 AND pid <> pg_catalog.pg_backend_pid() AND ${NOT_AUTOVACUUM}`,
    [database],
  );
  return rows;
}

/**
 * Puts `replacement` in `target`'s place and `target` under `old`, both renames in one transaction.
 * New connections to the target are refused meanwhile (ALLOW_CONNECTIONS false, undone afterwards
 * on whichever database then holds the old content). Sessions already connected are waited for a
 * few seconds, or ended with `terminate`; if any remains, nothing is renamed.
 */
export async function swapDatabases(
  admin: pg.Client,
  options: {
    target: string;
    replacement: string;
    old: string;
    terminate: boolean;
    waitMs?: number;
    signal?: AbortSignal | undefined;
  },
): Promise<void> {
  const { target, replacement, old, signal } = options;
  signal?.throwIfAborted();
  await admin.query(`ALTER DATABASE ${quoteIdent(target)} WITH ALLOW_CONNECTIONS false`);
  let holder = target;
  try {
    const deadline = Date.now() + (options.waitMs ?? 5000);
    for (;;) {
      // A signal ends the wait at once, so that the finally below lets connections in again: a
      // second signal (a runner's SIGTERM after its SIGINT) exits the process on the spot, and
      // would leave the user's database refusing every connection.
      signal?.throwIfAborted();
      const sessions = await sessionsOn(admin, target);
      if (sessions.length === 0) break;
      if (Date.now() > deadline) {
        const names = [...new Set(sessions.map((s) => s.application).filter(Boolean))];
        throw new OperationError(
          `${sessions.length} other session(s) are connected to ${target}${names.length ? ` (${names.join(", ")})` : ""}, and PostgreSQL renames a database only when no one is: ${options.terminate ? "they could not be ended" : "stop them, or pass --terminate-connections"}`,
        );
      }
      if (options.terminate) {
        try {
          await admin.query("SELECT pg_catalog.pg_terminate_backend(pid) FROM unnest($1::int[]) pid", [
            sessions.map((session) => session.pid),
          ]);
        } catch (error) {
          throw new OperationError(
            `--terminate-connections: the role may not end the other sessions on ${target}: ${describeError(error)}`,
            { cause: error },
          );
        }
      }
      await new Promise((resolve) => setTimeout(resolve, 200));
    }
    signal?.throwIfAborted();
    await admin.query("BEGIN");
    try {
      await admin.query(`ALTER DATABASE ${quoteIdent(target)} RENAME TO ${quoteIdent(old)}`);
      await admin.query(`ALTER DATABASE ${quoteIdent(replacement)} RENAME TO ${quoteIdent(target)}`);
      await admin.query("COMMIT");
      holder = old;
    } catch (error) {
      await admin.query("ROLLBACK").catch(() => undefined);
      throw error;
    }
  } finally {
    await admin
      .query(`ALTER DATABASE ${quoteIdent(holder)} WITH ALLOW_CONNECTIONS true`)
      .catch(() => undefined);
  }
}

/** Other sessions on the target, as one line for a message, or undefined when there are none. */
export function describeSessions(sessions: SwapProbe["otherSessions"]): string | undefined {
  if (sessions.count === 0) return undefined;
  return `${sessions.count} other session(s)${sessions.applications.length ? ` (${sessions.applications.join(", ")})` : ""}`;
}

function literal(text: string): string {
  return `'${text.replaceAll("'", "''")}'`;
}
