/**
 * Roles are cluster-wide, so pg_dump leaves them out: `pg_dumpall --roles-only
 * --no-role-passwords` reads them (from pg_roles, which a non-superuser such as a Supabase
 * project's postgres may read), the reserved ones are filtered out (src/domain/roles-sql.ts), and
 * a restore applies the rest before pg_restore.
 */
import { execFile } from "node:child_process";
import { join } from "node:path";
import type pg from "pg";
import { redactUrls, type DatabaseUrl } from "../domain/database-url.js";
import { describeError, OperationError } from "../domain/errors.js";
import { filterRolesSql, roleStatements, type FilteredRoles } from "../domain/roles-sql.js";
import { pgConnection, pgToolEnv } from "./child-env.js";
import { toolSpawn, type PgTool } from "./pg-dump-finder.js";

const MAX_OUTPUT = 64 * 1024 * 1024;

/** Runs pg_dumpall from `binDir` (the chosen pg_dump's) and returns the filtered roles SQL. */
export async function dumpRoles(options: {
  /** The chosen pg_dump: pg_dumpall is taken from its directory, with its environment. */
  pgDump: Pick<PgTool, "binDir" | "env">;
  url: DatabaseUrl;
  env: NodeJS.ProcessEnv;
  isReserved: (role: string) => boolean;
  header: string;
}): Promise<FilteredRoles> {
  const connection = pgConnection(options.url);
  const { path, env } = toolSpawn(
    { path: join(options.pgDump.binDir, "pg_dumpall"), env: options.pgDump.env },
    {
      ...pgToolEnv(options.env, {
        password: options.url.password,
        sslmode: options.url.sslmode,
        appName: "lifeboat pg_dumpall",
        connectTimeoutSeconds: 15,
      }),
      ...connection.env,
    },
  );
  const args = ["--roles-only", "--no-role-passwords", "--no-password", `--dbname=${connection.dbname}`];
  const stdout = await new Promise<string>((resolve, reject) => {
    execFile(
      path,
      args,
      { env, maxBuffer: MAX_OUTPUT, encoding: "utf8", timeout: 300_000 },
      (error, out, err) => {
        if (!error) return resolve(out);
        const line =
          redactUrls(err)
            .split("\n")
            .map((text) => text.trim())
            .filter(Boolean)
            .find((text) => /error:|FATAL:/.test(text)) ?? describeError(error);
        reject(new OperationError(`pg_dumpall --roles-only failed: ${line}`));
      },
    );
  }).finally(connection.dispose);
  if (!/CREATE ROLE|Roles/.test(stdout)) {
    throw new OperationError("pg_dumpall --roles-only wrote no roles section");
  }
  return filterRolesSql(stdout, options.isReserved, options.header);
}

export interface AppliedRoles {
  /** Roles the script created. */
  created: string[];
  /** Roles the script names that the server had already: left exactly as they were. */
  existing: string[];
  /** Statements that failed, with the server's message. */
  errors: string[];
}

/**
 * Applies a roles script statement by statement and idempotently: a role the server already has is
 * neither created nor altered, and no grant changes it; only roles created here get their
 * attributes, settings, comments and memberships. Nothing is ever dropped afterwards: roles are
 * cluster-wide, and other databases may use them.
 */
export async function applyRoles(client: pg.Client, sql: string): Promise<AppliedRoles> {
  const { rows } = await client.query<{ rolname: string }>("SELECT rolname FROM pg_catalog.pg_roles");
  const before = new Set(rows.map((row) => row.rolname));
  const created = new Set<string>();
  const existing = new Set<string>();
  const errors: string[] = [];
  const run = async (text: string) => {
    try {
      await client.query(text);
      return true;
    } catch (error) {
      // Created meanwhile by someone else: the role is there, which is what was asked.
      if ((error as { code?: string }).code === "42710") return false;
      errors.push(`${describeError(error)} (${oneLine(text)})`);
      return false;
    }
  };
  for (const statement of roleStatements(sql)) {
    switch (statement.kind) {
      case "create":
        if (before.has(statement.role)) existing.add(statement.role);
        else if (await run(statement.sql)) created.add(statement.role);
        break;
      case "alter":
      case "comment":
        if (created.has(statement.role)) await run(statement.sql);
        break;
      case "grant":
        if (created.has(statement.member)) await run(statement.sql);
        break;
      case "session":
        // Session settings of the script (client_encoding, ...) would only change this connection.
        break;
      default:
        await run(statement.sql);
    }
  }
  return { created: [...created], existing: [...existing], errors };
}

function oneLine(text: string): string {
  const line = text.replace(/\s+/g, " ").trim();
  return line.length > 100 ? `${line.slice(0, 97)}...` : line;
}
