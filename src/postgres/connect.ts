import { existsSync, readFileSync } from "node:fs";
import { homedir } from "node:os";
import { join } from "node:path";
import type { ConnectionOptions } from "node:tls";
import pg from "pg";
import { InputError, OperationError, describeError } from "../domain/errors.js";
import {
  certificateProblem,
  poolerUserMessage,
  unresolvedHostMessage,
  type SslMode,
} from "../domain/connection-rules.js";
import { connectionString, type DatabaseUrl } from "../domain/database-url.js";

export interface ServerInfo {
  version: string;
  /** pg_database_size() of the current database, for sizing uploads. */
  databaseBytes: number;
  versionNum: number;
  major: number;
  database: string;
  user: string;
  /**
   * The session's bytea_output, which the database's or the role's settings may have made
   * `escape`: pg_dump does not set it, so the archive's bytea text is printed in it.
   */
  byteaOutput: string;
  /** The session's quote_all_identifiers, which decides how pg_dump prints regclass and the like. */
  quoteAllIdentifiers: boolean;
}

/** The URL parameters that only TLS reads; node-postgres gets them as `ssl` options instead. */
const TLS_PARAMS = ["sslmode", "ssl", "sslrootcert", "sslcert", "sslkey", "sslpassword", "uselibpqcompat"];

/**
 * Connects, or fails with a one-line InputError that says which part of the URL is wrong.
 * The password is never part of the message. TLS follows the URL's sslmode with libpq's meaning
 * (docs/connections.md), and the session's timeouts are turned off: a long COPY or a snapshot held
 * open for a whole dump must not be cancelled by a role's statement_timeout.
 */
export async function connect(url: DatabaseUrl, input = "database-url"): Promise<pg.Client> {
  const mode = url.sslmode;
  // prefer: TLS, and plain text when the server has none; allow: the other way round.
  const attempts: SslMode[] =
    mode === "prefer" ? ["require", "disable"] : mode === "allow" ? ["disable", "require"] : [mode];
  let client: pg.Client | undefined;
  for (const [index, attempt] of attempts.entries()) {
    const last = index === attempts.length - 1;
    const ssl = attempt === "disable" ? false : tlsOptions(url, attempt, input);
    try {
      client = await open(url, ssl);
      break;
    } catch (error) {
      if (!last && (isNoTlsError(error) || (mode === "allow" && isHbaRejection(error)))) continue;
      throw connectionError(error, url, input);
    }
  }
  await disableTimeouts(client!).catch(async (error: unknown) => {
    await client!.end().catch(() => undefined);
    throw new OperationError(`turning the session's timeouts off failed: ${describeError(error)}`, {
      cause: error,
    });
  });
  return client!;
}

async function open(url: DatabaseUrl, ssl: false | ConnectionOptions): Promise<pg.Client> {
  const client = new pg.Client({
    // pg lets the URL's fields override separate ones, so the password goes back into the URL
    // (in memory only) rather than beside it; the TLS parameters come out of it (pg would read
    // require as verify-full), and TLS is configured here instead.
    connectionString: withoutTlsParams(connectionString(url)),
    ssl,
    connectionTimeoutMillis: 15_000,
    application_name: "lifeboat",
  });
  // A server that goes away later must not crash the process through an unhandled 'error' event;
  // the query in flight rejects on its own.
  client.on("error", () => undefined);
  try {
    await client.connect();
  } catch (error) {
    await client.end().catch(() => undefined);
    throw error;
  }
  return client;
}

function withoutTlsParams(text: string): string {
  const url = new URL(text);
  for (const key of TLS_PARAMS) url.searchParams.delete(key);
  return url.toString();
}

/**
 * Session settings that cancel a long dump, off for this session: statement_timeout (a COPY or
 * count(*) of a big table), idle_in_transaction_session_timeout (the snapshot holder waits while
 * pg_dump works), lock_timeout, idle_session_timeout (14+) and transaction_timeout (17+). Only
 * the ones the server knows are set, so one statement serves every version.
 */
export const DUMP_TIMEOUTS = [
  "statement_timeout",
  "idle_in_transaction_session_timeout",
  "lock_timeout",
  "idle_session_timeout",
  "transaction_timeout",
] as const;

export async function disableTimeouts(client: pg.Client): Promise<void> {
  await client.query(
    `SELECT pg_catalog.set_config(name, '0', false) FROM pg_catalog.pg_settings WHERE name = ANY($1::text[])`,
    [[...DUMP_TIMEOUTS]],
  );
}

/**
 * node-postgres TLS options with libpq's meaning of each sslmode: require encrypts without
 * verifying (unless a CA is given, then it verifies like verify-ca, as libpq does); verify-ca
 * checks the chain but not the host name; verify-full checks both. The CA comes from
 * sslrootcert, else ~/.postgresql/root.crt as in libpq; sslrootcert=system means the system's
 * trusted roots.
 */
export function tlsOptions(url: DatabaseUrl, mode: SslMode, input = "database-url"): ConnectionOptions {
  const flag = `--${input}`;
  const read = (param: string, path: string) => {
    try {
      return readFileSync(path, "utf8");
    } catch (error) {
      throw new InputError(`${flag}: ${param} "${path}" cannot be read (${describeError(error)})`, {
        input,
        cause: error,
      });
    }
  };
  const options: ConnectionOptions = {};
  const rootcert = url.params.sslrootcert;
  const defaultRoot = join(homedir(), ".postgresql", "root.crt");
  let ca: string | undefined;
  if (rootcert && rootcert !== "system") ca = read("sslrootcert", rootcert);
  else if (rootcert === undefined && existsSync(defaultRoot)) ca = read("sslrootcert", defaultRoot);
  if (ca !== undefined) options.ca = ca;
  if (url.params.sslcert) options.cert = read("sslcert", url.params.sslcert);
  if (url.params.sslkey) options.key = read("sslkey", url.params.sslkey);
  if (url.params.sslpassword) options.passphrase = url.params.sslpassword;
  const verifyCa = mode === "verify-ca" || (mode === "require" && ca !== undefined);
  if (mode === "verify-ca" || mode === "verify-full") {
    if (ca === undefined && rootcert !== "system") {
      throw new InputError(
        `${flag}: sslmode=${mode} needs the CA that signed the server's certificate: add sslrootcert=/path/to/ca.crt (or sslrootcert=system for the system's trusted roots, with pg_dump 16 or newer)`,
        { input },
      );
    }
  }
  if (mode === "verify-full") options.rejectUnauthorized = true;
  else if (verifyCa) {
    options.rejectUnauthorized = true;
    options.checkServerIdentity = () => undefined;
  } else options.rejectUnauthorized = false;
  return options;
}

function isNoTlsError(error: unknown): boolean {
  return /server does not support SSL/i.test(describeError(error));
}

function isHbaRejection(error: unknown): boolean {
  return (error as { code?: string }).code === "28000" && /no pg_hba\.conf entry/i.test(describeError(error));
}

export function connectionError(error: unknown, url: DatabaseUrl, input: string): InputError {
  const flag = `--${input}`;
  const code = (error as { code?: string }).code;
  const text = describeError(error);
  const where = `${url.host}:${url.port}`;
  const user = url.user ?? "(default user)";
  const certificate = certificateProblemFor(error, url, input);
  if (certificate) return certificate;
  let message: string;
  if (isNoTlsError(error)) {
    message = `${flag}: the server at ${where} does not offer TLS and sslmode is ${url.sslmode}; add ?sslmode=disable only on a network you trust (a service container, a private network)`;
  } else if (/Tenant or user not found/i.test(text)) {
    message = poolerUserMessage(url, input);
  } else if (code === "28000" && /no encryption/i.test(text)) {
    message = `${flag}: the server at ${where} refuses unencrypted connections from this machine for user "${user}" (pg_hba.conf); use sslmode=require`;
  } else if (url.password === undefined && /password must be a string|no password was provided/i.test(text)) {
    message = `${flag}: the server asks for a password for user "${user}" and the URL has none (postgresql://user:password@host/database)`;
  } else {
    switch (code) {
      case "28P01":
      case "28000":
        message = `${flag}: authentication failed for user "${user}" at ${where} (check the user and password)`;
        break;
      case "3D000":
        message = `${flag}: database "${url.database}" does not exist on ${where}`;
        break;
      case "ECONNREFUSED":
        message = `${flag}: nothing accepts connections at ${where} (connection refused: check host and port)`;
        break;
      case "ENOTFOUND":
      case "EAI_AGAIN":
        message = unresolvedHostMessage(url, input);
        break;
      case "ETIMEDOUT":
      case "EHOSTUNREACH":
      case "ENETUNREACH":
        message = `${flag}: ${where} is unreachable (${code}); check the host, the port and the network`;
        break;
      default:
        message = `${flag}: cannot connect to ${where}: ${text}`;
    }
  }
  return new InputError(message, { input, cause: error });
}

/** A TLS certificate the server sent that the sslmode refuses, as one line; else undefined. */
export function certificateProblemFor(
  error: unknown,
  url: DatabaseUrl,
  input: string,
): InputError | undefined {
  const problem = certificateProblem((error as { code?: string }).code, url.sslmode);
  if (!problem) return undefined;
  return new InputError(`--${input}: ${url.host}:${url.port}: ${problem}`, { input, cause: error });
}

export async function readServerInfo(client: pg.Client): Promise<ServerInfo> {
  const result = await client.query<{
    version: string;
    num: string;
    database: string;
    user: string;
    bytes: string;
    bytea: string;
    quote: string;
  }>(
    `SELECT current_setting('server_version') AS version, current_setting('server_version_num') AS num,
            current_database() AS database, current_user AS user, pg_catalog.pg_database_size(current_database()) AS bytes,
            current_setting('bytea_output') AS bytea, current_setting('quote_all_identifiers') AS quote`,
  );
  const row = result.rows[0]!;
  const versionNum = Number(row.num);
  return {
    version: row.version,
    databaseBytes: Number(row.bytes),
    versionNum,
    major: Math.floor(versionNum / 10000),
    database: row.database,
    user: row.user,
    byteaOutput: row.bytea,
    quoteAllIdentifiers: row.quote === "on",
  };
}
